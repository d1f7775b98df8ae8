"""The command line on a real Dask cluster: a ``dask scheduler`` process and two
``dask worker`` processes on this machine, reached by address.

One cluster serves the module (starting it is most of the cost). The sweep
runs through ``safesim sweep --executor dask --scheduler ADDRESS`` as a user
would run it; ``run``, ``compare``, ``sensitivity`` and ``calibrate`` go
through :func:`safesim.cli.main` in this process, connecting to the same
scheduler by address. Every result is checked bit for bit (output hashes)
against the serial executor.

A worker lost mid-sweep: the scheduler is started with a preload that adds a
plugin; armed by a file, it SIGKILLs the worker that has just finished the
second batch of the sweep (its nanny starts a fresh one). That batch's result
was only on the dead worker, so it is certainly lost and computed again; the
sweep must still save every run exactly once and report the retries.

Also here, without a cluster: the executor's own retry and failure accounting
on an in-process cluster, and the command-line errors of the options.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import safesim as ss
from safesim import cli
from safesim.executors import DaskExecutor, RunsFailed, Task
from safesim.plans import load_plan
from safesim.store import run_id

distributed = pytest.importorskip("distributed")

SMALL = {"population.users": 2000, "horizon_days": 45}
POINT_KEY = "platforms.main.controls.dm_policy.under_16"
POINTS = ["requests_inbox", "connected_only"]
START_TIMEOUT = 120  # seconds for the scheduler file and the workers (a loaded shared machine)

PRELOAD = '''
"""Scheduler preload of test_dask_cli: kill a worker once the sweep's batch K has finished."""
import os
import signal
from pathlib import Path

from distributed.diagnostics.plugin import SchedulerPlugin

ARM = Path(os.environ["SAFESIM_TEST_ARM"])  # holds K while armed


class KillWorkerAt(SchedulerPlugin):
    name = "safesim-test-kill-worker"

    def __init__(self, scheduler):
        self.scheduler = scheduler
        self.finished = 0

    def transition(self, key, start, finish, *args, **kwargs):
        if not str(key).startswith("_run_batch-") or (start, finish) != ("processing", "memory"):
            return
        if not ARM.exists():
            return
        self.finished += 1
        if self.finished >= int(ARM.read_text()):
            ARM.unlink()
            self.finished = 0
            (ws,) = self.scheduler.tasks[key].who_has
            (ARM.parent / "killed").write_text(ws.address)
            os.kill(ws.pid, signal.SIGKILL)


def dask_setup(scheduler):
    scheduler.add_plugin(KillWorkerAt(scheduler))
'''


class Cluster:
    def __init__(self, address: str, root: Path) -> None:
        self.address = address
        self.root = root
        self.arm = root / "arm"
        self.killed = root / "killed"


def _start(cmd: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    # A session of its own: the worker's nanny and its worker process stop together.
    with open(log, "wb") as f:
        return subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("dask-cluster")
    (root / "preload_kill.py").write_text(PRELOAD)
    env = {
        **os.environ,
        "SAFESIM_TEST_ARM": str(root / "arm"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    env.pop(cli.SCHEDULER_ENV, None)
    sched_file = root / "scheduler.json"
    dask = [sys.executable, "-m", "dask"]
    procs = [
        _start(
            [
                *dask,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(sched_file),
                "--preload",
                "preload_kill",
                "--idle-timeout",
                "600",  # a scheduler orphaned by a killed test run ends by itself
            ],
            root / "scheduler.log",
            env,
        )
    ]
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not sched_file.is_file() or not sched_file.read_text().strip():
            if procs[0].poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"dask scheduler did not start:\n{(root / 'scheduler.log').read_text()}")
            time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        for i in range(2):
            procs.append(
                _start(
                    [
                        *dask,
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--no-dashboard",
                        "--memory-limit",
                        "0",
                        "--name",
                        f"w{i}",
                        "--local-directory",
                        str(root / f"w{i}"),
                        "--death-timeout",
                        "60",
                    ],
                    root / f"worker{i}.log",
                    env,
                )
            )
        with distributed.Client(address, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=START_TIMEOUT)
        yield Cluster(address, root)
    finally:
        for proc in reversed(procs):
            _stop(proc)


def _safesim(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != cli.SCHEDULER_ENV}
    return subprocess.run(
        [sys.executable, "-m", "safesim", *args],
        capture_output=True,
        text=True,
        env={**environ, **(env or {})},
        timeout=300,
        check=False,
    )


def _sweep_plan(folder: Path, reps: int) -> Path:
    path = folder / "sweep.yaml"
    sets = "\n".join(f"  {k}: {v}" for k, v in SMALL.items())
    path.write_text(f"scenario: baseline\nreps: {reps}\nset:\n{sets}\ngrid:\n  {POINT_KEY}: [{', '.join(POINTS)}]\n")
    return path


def _status(stderr: str) -> tuple[int, int, int]:
    """(done, failed, retried) from the last 'dask:' status line the command printed."""
    lines = re.findall(r"dask: ([\d,]+) run\(s\) done, ([\d,]+) failed, ([\d,]+) retried", stderr)
    assert lines, stderr
    done, failed, retried = (int(x.replace(",", "")) for x in lines[-1])
    return done, failed, retried


def _saved_hashes(out: Path) -> dict[str, int]:
    """run id -> output hash, from the run manifests in OUT/runs."""
    found = {}
    for path in sorted((out / "runs").glob("*.json")):
        manifest = json.loads(path.read_text())
        assert manifest["complete"] is True
        found[manifest["run_id"]] = int(manifest["output_hash"])
    return found


def _serial_sweep_hashes(plan: Path) -> dict[str, int]:
    sp = load_plan(plan, "sweep")
    sc = sp.scenario([])
    sw = sp.run(ss.RunOptions(executor="serial", progress=False), scenario=sc)
    return {
        run_id(res.scenario.hash, seed): h
        for res in (sw[label] for label in sw.labels)
        for seed, h in zip(sw.seeds, res.hashes, strict=True)
    }


def test_sweep_on_the_cluster_from_the_command_line_equals_serial(cluster: Cluster, tmp_path: Path) -> None:
    plan = _sweep_plan(tmp_path, reps=3)
    out = tmp_path / "out"
    proc = _safesim("sweep", str(plan), "--executor", "dask", "--scheduler", cluster.address, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"dask: connected to {cluster.address}: 2 worker(s), 2 thread(s)" in proc.stderr
    assert _status(proc.stderr) == (6, 0, 0)
    assert (out / "summary.json").is_file()
    assert _saved_hashes(out) == _serial_sweep_hashes(plan)
    assert not list(out.rglob("*.tmp"))


def test_worker_killed_mid_sweep_from_the_command_line_loses_nothing(cluster: Cluster, tmp_path: Path) -> None:
    reps = 8  # 16 runs in 8 batches of 2, at most 4 on the two workers at a time
    plan = _sweep_plan(tmp_path, reps=reps)
    out = tmp_path / "out"
    cluster.killed.unlink(missing_ok=True)
    cluster.arm.write_text("2")  # kill the worker that finishes the sweep's second batch
    try:
        proc = _safesim(
            "sweep", str(plan), "--executor", "dask", "--out", str(out), env={cli.SCHEDULER_ENV: cluster.address}
        )
    finally:
        cluster.arm.unlink(missing_ok=True)
    assert proc.returncode == 0, proc.stderr
    assert cluster.killed.is_file(), "no worker was killed during the sweep"
    done, failed, retried = _status(proc.stderr)
    # The finished batch that died with its worker (2 runs) at least was recomputed.
    assert (done, failed) == (16, 0)
    assert retried >= 2, proc.stderr
    # Every run exactly once on disk, each equal to the serial run.
    serial = _serial_sweep_hashes(plan)
    assert len(serial) == 16
    assert _saved_hashes(out) == serial
    assert sorted(p.name for p in (out / "runs").glob("*.json")) == sorted(f"{rid}.json" for rid in serial)
    assert not list(out.rglob("*.tmp"))
    # A rerun into the same folder finds every run finished.
    sp = load_plan(plan, "sweep")
    again = sp.run(ss.RunOptions(executor="serial", out=out, progress=False), scenario=sp.scenario([]))
    assert again.computed_runs == 0


def _sets() -> list[str]:
    return [a for k, v in SMALL.items() for a in ("--set", f"{k}={v}")]


def test_run_and_compare_reach_the_cluster(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(cli.SCHEDULER_ENV, cluster.address)
    argv = ["run", "baseline", "--reps", "3", *_sets(), "--json"]
    assert cli.main([*argv, "--executor", "dask"]) == 0
    got = capsys.readouterr()
    assert _status(got.err) == (3, 0, 0)
    assert cli.main([*argv, "--executor", "serial"]) == 0
    assert capsys.readouterr().out == got.out

    monkeypatch.delenv(cli.SCHEDULER_ENV)
    argv = ["compare", "baseline", "--policy-arm", "industry_teen_accounts", "--reps", "2", *_sets()]
    assert cli.main([*argv, "--scheduler", cluster.address, "--no-progress"]) == 0
    shown = capsys.readouterr()
    assert "dask:" not in shown.err  # --no-progress: no status lines
    assert cli.main([*argv, "--executor", "serial"]) == 0
    assert capsys.readouterr().out == shown.out


def test_sensitivity_and_calibrate_reach_the_cluster(
    cluster: Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sets = "\n".join(f"  {k}: {v}" for k, v in SMALL.items())
    sens = tmp_path / "sens.yaml"
    sens.write_text(
        f"scenario: baseline\nmethod: morris\nn: 2\nreps: 1\nset:\n{sets}\nparameters:\n"
        "  offenders.share_of_adults: [0.002, 0.01]\n  platforms.main.controls.reporting.steps: [1, 9]\n"
    )
    cal = tmp_path / "cal.yaml"
    cal.write_text(
        f"scenario: baseline\nn: 4\nreps: 1\nwaves: 1\nset:\n{sets}\nparameters:\n"
        "  offenders.share_of_adults: [0.002, 0.01]\ntargets:\n"
        "  - metric: minors_contacted\n    value: 10\n    sd: 5\n    mapping: test\n    source: test\n"
    )
    for argv, runs in ((["sensitivity", str(sens)], 6), (["calibrate", str(cal)], 4)):
        assert cli.main([*argv, "--scheduler", cluster.address]) == 0
        dask_out = capsys.readouterr()
        assert _status(dask_out.err) == (runs, 0, 0)
        assert cli.main([*argv, "--executor", "serial"]) == 0
        assert capsys.readouterr().out == dask_out.out


# ------------------------------------------------------------------ the executor, in-process
@pytest.fixture(scope="module")
def local_client() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0", silence_logs=50
        ) as lc,
        distributed.Client(lc, set_as_default=False) as client,
    ):
        yield client


def _tasks(n: int) -> list[Task]:
    sc = ss.Scenario.default().set_many(SMALL)
    return [Task(run_id(sc.hash, s), sc, s) for s in range(1, n + 1)]


def test_a_batch_that_keeps_failing_is_retried_then_reported(
    local_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safesim import executors

    real = executors._run_batch

    def flaky(dump: str, name: str, seeds: list[int], version: str | None = None) -> list[dict[str, Any]]:
        if 3 in seeds:
            raise RuntimeError("engine failure on seed 3")
        return real(dump, name, seeds, version)

    monkeypatch.setattr(executors, "_run_batch", flaky)
    ex = DaskExecutor(local_client, batch_size=2, retries=2)
    got = []

    def consume() -> None:
        for task, out in ex.map_runs(_tasks(6)):
            got.append((task.seed, out["seed"]))

    with pytest.raises(RunsFailed, match=r"2 run\(s\) failed .* after 2 retries .*seed 3") as err:
        consume()
    # Seeds 3 and 4 share a batch: both fail, every other run is handed back first.
    assert sorted(got) == [(1, 1), (2, 2), (5, 5), (6, 6)]
    assert sorted(t.seed for t in err.value.failed) == [3, 4]
    assert ex.counts == {"done": 4, "failed": 2, "retried": 4}


def test_a_batch_that_fails_once_is_retried_and_equals_serial(
    local_client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from safesim import executors

    real = executors._run_batch

    def once(dump: str, name: str, seeds: list[int], version: str | None = None) -> list[dict[str, Any]]:
        mark = tmp_path / f"failed-{seeds[0]}"  # a file: Dask runs a copy of this function
        if not mark.exists():
            mark.touch()
            raise OSError("worker disk full")
        return real(dump, name, seeds, version)

    monkeypatch.setattr(executors, "_run_batch", once)
    tasks = _tasks(5)
    ex = DaskExecutor(local_client, batch_size=2, workers=1)
    got = {t.seed: int(out["hash"]) for t, out in ex.map_runs(tasks)}
    serial = {t.seed: int(out["hash"]) for t, out in executors.SerialExecutor().map_runs(tasks)}
    assert got == serial
    assert ex.counts == {"done": 5, "failed": 0, "retried": 5}


def test_a_worker_of_another_version_refuses() -> None:
    from safesim import executors

    sc = ss.Scenario.default().set_many(SMALL)
    with pytest.raises(RuntimeError, match="install the same safesim on every worker"):
        executors._run_batch(sc.dump(), sc.name, [1], "0.0.0-other")


# ------------------------------------------------------------------ command-line errors
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["run", "baseline", "--executor", "dask"],
            "--executor dask needs --scheduler ADDRESS (or $SAFESIM_SCHEDULER)",
        ),
        (
            ["sweep", "x.yaml", "--executor", "processes", "--scheduler", "tcp://h:1"],
            "--scheduler is for --executor dask",
        ),
        (["calibrate", "x.yaml", "--scheduler", " "], "--scheduler: empty address"),
    ],
)
def test_option_errors_are_one_line(
    argv: list[str], message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(cli.SCHEDULER_ENV, raising=False)
    assert cli.main(argv) == cli.EXIT_INPUT_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert message in err


def test_an_unreachable_scheduler_is_one_line_and_takes_no_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = cli.main(
            ["run", "baseline", "--reps", "1", "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "o")]
        )
    assert code == cli.EXIT_INPUT_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "cannot reach the Dask scheduler" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["run", "compare", "sweep", "sensitivity", "calibrate", "targets"])
def test_every_running_command_takes_the_cluster_options(command: str) -> None:
    parser = cli.build_parser()
    first = {"run": ["baseline"], "compare": ["baseline"], "targets": ["baseline", "t.yaml"]}.get(
        command, ["plan.yaml"]
    )
    args = parser.parse_args([command, *first, "--executor", "dask", "--scheduler", "tcp://10.0.0.5:8786"])
    assert cli._executor_choice(args) == ("dask", "tcp://10.0.0.5:8786")
