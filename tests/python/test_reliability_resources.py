"""The resource guard (issue 17, item 5): estimates that include what a job
keeps in memory, against the process's real limit (rlimit, cgroup), with bounds
on --reps and plan sizes; refused before any run, in one line."""

from __future__ import annotations

import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from safesim import _core, cli, resources

GB = 1_000_000_000


def test_limit_follows_the_rlimit_not_the_ram(monkeypatch) -> None:
    ram = resources.memory_limit_bytes()
    assert ram > 0
    real = resource.getrlimit

    def fake(which: int) -> tuple[int, int]:
        if which == resource.RLIMIT_AS:
            return (GB // 2, resource.RLIM_INFINITY)
        return real(which)

    monkeypatch.setattr(resource, "getrlimit", fake)
    assert resources.memory_limit_bytes() == GB // 2


def test_cgroup_limit_of_an_ancestor_binds(tmp_path: Path) -> None:
    """v2: this process's cgroup has no limit, its parent has; v1: the memory controller's path."""
    root = tmp_path / "cg"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "memory.max").write_text("max\n")
    (root / "a" / "memory.max").write_text(f"{GB}\n")
    (root / "memory" / "job").mkdir(parents=True)
    (root / "memory" / "job" / "memory.limit_in_bytes").write_text(f"{3 * GB}\n")
    (root / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")  # v1's "no limit"
    proc = tmp_path / "cgroup"
    proc.write_text("4:memory:/job\n1:cpu:/\n0::/a/b\n")
    assert sorted(resources.cgroup_limits(root, proc)) == [GB, 3 * GB]
    proc.write_text("0::/\n")
    assert resources.cgroup_limits(root, proc) == []


def test_job_estimate_counts_every_run_daily_array() -> None:
    metrics = len(_core.metrics())
    run = 2 * 365 * metrics * 8
    held = run * 10 * resources.RESULT_COPIES + run * resources.WRITE_COPIES
    assert resources.job_memory_bytes(platforms=1, days=365, runs=10) == int(held)
    # Arms of different sizes (a compare): each run counted at its own size.
    eco = 206 * 365 * metrics * 8
    assert resources.runs_memory_bytes([(1, 365), (205, 365)]) == int(
        (run + eco) * resources.RESULT_COPIES + eco * resources.WRITE_COPIES
    )


@pytest.mark.parametrize("kind", ["sensitivity", "calibration"])
def test_sensitivity_and_calibration_jobs_are_guarded(tmp_path: Path, monkeypatch, capsys, kind: str) -> None:
    """points x reps x daily array, checked before any run, with the plan's line."""
    monkeypatch.setattr(resources, "memory_limit_bytes", lambda: GB // (10 if kind == "sensitivity" else 1000))
    plan = tmp_path / "plan.yaml"
    text = (
        "scenario: baseline\nn: 20\nreps: 40\nset: {horizon_days: 3650, population.users: 300}\n"
        "parameters:\n  offenders.share_of_adults: [0.002, 0.01]\n"
    )
    if kind == "calibration":
        text += "targets:\n  - {metric: minors_exploited, value: 3, sd: 1}\n"
    plan.write_text(text)
    ran = []
    monkeypatch.setattr("safesim.executors.SerialExecutor.map_runs", lambda *a: ran.append(a) or iter(()))
    command = "sensitivity" if kind == "sensitivity" else "calibrate"
    assert cli.main([command, str(plan), "--executor", "serial", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    if kind == "sensitivity":
        points = 20 * 2  # Morris: n (k + 1) points
        assert f"{points * 40:,} runs of up to 3,650 days over 2 scope(s)" in err
    else:
        # A calibration keeps no run's daily array (each run is reduced to its record as it finishes):
        # only the runs in flight count (and no copies for writing a daily file it does not write), so this
        # job fits and a far smaller limit refuses it.
        assert "even with each run reduced to its record as it finishes" in err
        assert "the runs in flight of up to 3,650 days over 2 scope(s)" in err
    assert str(plan) in err
    assert not ran


def test_run_refuses_a_job_whose_results_exceed_the_process_limit(monkeypatch, capsys) -> None:
    monkeypatch.setattr(resources, "memory_limit_bytes", lambda: GB // 10)
    argv = ["run", "baseline", "--reps", "2000", "--set", "population.users=500", "--set", "horizon_days=3650"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "daily results in memory; this process may use 0.1 GB" in err


def test_sweep_plan_refuses_too_many_runs_before_running(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(resources, "memory_limit_bytes", lambda: GB // 10)
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "scenario: baseline\nreps: 500\nset: {horizon_days: 3650, population.users: 500}\n"
        "grid:\n  platforms.main.controls.reporting.steps: [1, 2, 3, 4]\n"
    )
    assert cli.main(["validate", str(plan)]) == 2
    err = capsys.readouterr().err
    assert f"{plan}:2:1: reps: baseline: 2,000 runs" in err


def _under_rlimit(limit: int, *argv: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({limit}, resource.RLIM_INFINITY))\n"
        "from safesim import cli\n"
        f"sys.exit(cli.main({list(argv)!r}))\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_AS"), reason="needs RLIMIT_AS")
def test_loader_compares_against_the_address_space_limit() -> None:
    # About 4.5 GB for one run: fits the machine, not a 3 GiB address space.
    argv = ["run", "baseline", "--reps", "1", "--set", "population.users=5000000", "--set", "horizon_days=1"]
    proc = _under_rlimit(3 * 2**30, *argv)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "population.users: a population of 5000000 users needs about" in proc.stderr
    assert "this process may use 3.2 GB" in proc.stderr


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_AS"), reason="needs RLIMIT_AS")
def test_loader_blames_the_horizon_when_the_daily_array_dominates() -> None:
    # 88 years of daily outputs over the ecosystem's 1,509 scopes: about 57 GB (issue 17's bad_alloc).
    proc = _under_rlimit(6 * 2**30, "run", "ecosystem_us", "--reps", "1", "--set", "horizon_days=32000")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert re.search(r"horizon_days: a horizon of 32000 days over [0-9,]+ platform\(s\) needs about", proc.stderr)


@pytest.mark.parametrize(("csv", "chunk_rows"), [(False, 4_000_000), (True, 4_000_000), (False, 3000)])
def test_daily_written_a_run_at_a_time_reads_back_as_the_whole_frame(
    tmp_path: Path, csv: bool, chunk_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The combined daily file is streamed a run at a time (so a job holds one run's long
    frame, not all of them), a block of scopes at a time when a run's frame is large (an
    ecosystem's is 80 million rows: chunk_rows 3000 cuts these runs' 2 or 3 scopes of 20 x 145
    rows one scope a chunk), and reads back as the frame the results hold."""
    import pandas as pd

    import safesim as ss
    import safesim.results
    from safesim.io import write_frame, write_frames

    monkeypatch.setattr(safesim.results, "DAILY_CHUNK_ROWS", chunk_rows)

    base = ss.Scenario.load("risk_assessment").set_many({"population.users": 1000, "horizon_days": 20})
    small = ss.Scenario.default().set_many({"population.users": 1000, "horizon_days": 20})
    res = ss.replicate(small, n=3, executor="serial", progress=False)
    # Arms whose scopes differ (categories over the union), and a sweep's parameter columns.
    cmp = ss.compare({"one": small, "many": base}, n=2, executor="serial", progress=False)
    sw = ss.sweep(small, {"platforms.main.controls.reporting.steps": [1, 5]}, n=2, executor="serial", progress=False)
    for i, obj in enumerate([res, cmp, sw]):
        whole = write_frame(obj.daily, tmp_path / f"whole{i}", csv)
        chunks = list(obj.daily_chunks())
        runs = len(obj.outputs) if i == 0 else sum(len(r.outputs) for r in obj.arms.values())
        assert len(chunks) > runs if chunk_rows < 20 * 145 * 2 else len(chunks) == runs
        streamed = write_frames(iter(chunks), tmp_path / f"streamed{i}", csv)
        read = pd.read_csv if csv else pd.read_parquet
        pd.testing.assert_frame_equal(read(streamed), read(whole))
        if not csv:
            pd.testing.assert_frame_equal(read(streamed), obj.daily)
