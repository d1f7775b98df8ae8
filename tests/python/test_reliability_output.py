"""Output folders (issue 17, item 1) and verified resumes (item 2).

A job holds its folder from start to its last combined file; it replaces or
removes only files safesim wrote (the folder manifest); it refuses a foreign
non-empty folder without --force and any path that leaves the folder through
a symbolic link; files and folders are fsynced around each rename; a killed
process pool leaves no workers; a reused run is verified by checksum.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import safesim as ss
from safesim import _core, cli, io
from safesim.store import (
    FOLDER_MANIFEST,
    OutputRefused,
    RecomputedRunWarning,
    RunStore,
    job_folder,
    sha256_file,
)

SMALL = ["--set", "population.users=2000", "--set", "horizon_days=30"]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


def small() -> ss.Scenario:
    return ss.Scenario.default().set_many({"population.users": 2000, "horizon_days": 30})


def run_cli(*args: str) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "safesim", *args], capture_output=True, text=True, timeout=120, env=ENV, check=False
    )
    return proc.returncode, proc.stdout, proc.stderr


def try_lock_elsewhere(out: Path) -> str:
    """Whether another process can take ``out`` right now: 'locked' or 'free'."""
    code = (
        "import sys\nfrom safesim.store import RunStore, OutputLocked\n"
        "try:\n    RunStore(sys.argv[1]).open().close()\nexcept OutputLocked:\n    print('locked')\nelse:\n"
        "    print('free')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(out)], capture_output=True, text=True, timeout=60, env=ENV, check=True
    )
    return proc.stdout.strip()


# ------------------------------------------------------------------ the lock covers the whole job
def test_lock_is_held_while_combined_outputs_and_figures_are_written(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    seen: list[str] = []
    real = cli._outputs

    def outputs(args, results, metrics):  # the save phase of compare: figures and the 'wrote' lines
        seen.append(try_lock_elsewhere(out))
        real(args, results, metrics)

    monkeypatch.setattr(cli, "_outputs", outputs)
    argv = ["compare", "baseline", "--policy-arm", "industry_teen_accounts", "--reps", "2", *SMALL]
    status = cli.main([*argv, "--out", str(out), "--no-figures", "--no-progress"])
    assert status == 0
    assert seen == ["locked"]
    assert try_lock_elsewhere(out) == "free"


def test_two_concurrent_jobs_one_completes_the_other_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    slow = [sys.executable, "-m", "safesim", "run", "baseline", "--reps", "40", "--threads", "1",
            "--set", "population.users=20000", "--set", "horizon_days=365", "--out", str(out)]  # fmt: skip
    first = subprocess.Popen(slow, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.monotonic() + 60
    while not (out / FOLDER_MANIFEST).exists():  # the first job holds the folder
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    status, _, err = run_cli("run", "baseline", "--reps", "2", *SMALL, "--seed", "99", "--out", str(out))
    assert first.poll() is None, "the first job ended before the second tried: make it longer"
    assert status == 2
    assert err.strip().endswith(f"another safesim job is writing to {out.resolve()}")
    assert len(err.strip().splitlines()) == 1
    _, ferr = first.communicate(timeout=120)
    assert first.returncode == 0, ferr
    summary = json.loads((out / "summary.json").read_text())
    runs = pd.read_parquet(out / "runs.parquet")
    assert sorted(set(runs["seed"])) == summary["provenance"]["seeds"]
    assert len(summary["provenance"]["seeds"]) == 40  # the first job's complete set, nothing of the second
    assert json.loads((out / FOLDER_MANIFEST).read_text())["job"]["state"] == "complete"


# ------------------------------------------------------------------ never delete what safesim did not write
def test_foreign_non_empty_folder_is_refused_without_force(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    (out / "points.csv").write_text("my,data\n")
    status, _, err = run_cli("run", "baseline", "--reps", "1", *SMALL, "--out", str(out))
    assert status == 2
    assert "was not written by safesim" in err
    assert "--force" in err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "points.csv"]  # untouched, no lock left
    status, stdout, err = run_cli("run", "baseline", "--reps", "1", *SMALL, "--out", str(out), "--force")
    assert status == 0, err
    assert (out / "notes.txt").read_text() == "keep me"
    assert (out / "points.csv").read_text() == "my,data\n"  # a run writes no points.csv: never removed
    assert "notes.txt" not in stdout
    assert "points.csv" not in stdout
    assert (out / "summary.json").is_file()


def test_unlisted_file_with_an_output_name_is_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli("run", "baseline", "--reps", "1", *SMALL, "--out", str(out))[0] == 0
    (out / "comparison.csv").write_text("hand-made\n")  # a compare would write this name
    status, _, err = run_cli(
        "compare", "baseline", "--policy-arm", "industry_teen_accounts", "--reps", "1", *SMALL,
        "--out", str(out), "--no-figures",
    )  # fmt: skip
    assert status == 2
    assert "comparison.csv: exists and was not written by safesim" in err
    assert (out / "comparison.csv").read_text() == "hand-made\n"


def test_a_failing_job_leaves_the_previous_outputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli("run", "baseline", "--reps", "1", *SMALL, "--out", str(out))[0] == 0
    before = (out / "summary.json").read_bytes()
    status, _, err = run_cli("run", "baseline", "--reps", "1", *SMALL, "--set", "horizon_days=-3", "--out", str(out))
    assert status == 2, err
    assert (out / "summary.json").read_bytes() == before
    assert json.loads((out / FOLDER_MANIFEST).read_text())["job"]["state"] == "failed"


def test_previous_safesim_outputs_are_replaced_not_mixed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli("run", "baseline", "--reps", "1", *SMALL, "--out", str(out))[0] == 0
    assert (out / "scenario.resolved.yaml").exists()
    status, _, err = run_cli(
        "compare", "baseline", "--policy-arm", "industry_teen_accounts", "--reps", "1", *SMALL,
        "--out", str(out), "--no-figures",
    )  # fmt: skip
    assert status == 0, err
    assert not (out / "scenario.resolved.yaml").exists()  # the run's own file: safesim's, replaced by the new set
    assert (out / "comparison.csv").exists()
    doc = json.loads((out / FOLDER_MANIFEST).read_text())
    assert "scenario.resolved.yaml" not in doc["files"]
    assert len({info["job"] for info in doc["files"].values()}) == 1


# ------------------------------------------------------------------ symbolic links
def test_runs_folder_linked_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "runs").symlink_to(elsewhere)
    with pytest.raises(OutputRefused, match="symbolic link"):
        RunStore(out, force=True).open()
    assert list(elsewhere.iterdir()) == []


def test_output_file_linked_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli("run", "baseline", "--reps", "1", *SMALL, "--out", str(out))[0] == 0
    target = tmp_path / "precious.txt"
    target.write_text("precious")
    (out / "summary.csv").unlink()
    (out / "summary.csv").symlink_to(target)
    status, _, err = run_cli("run", "baseline", "--reps", "1", *SMALL, "--out", str(out))
    assert status == 2
    assert "symbolic link" in err
    assert target.read_text() == "precious"


def test_lock_file_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("x")
    (out / ".safesim.lock").symlink_to(victim)
    with pytest.raises(OutputRefused):
        RunStore(out, force=True).open()
    assert victim.read_text() == "x"


# ------------------------------------------------------------------ durable writes
def test_file_then_folder_are_fsynced_around_the_rename(tmp_path: Path, monkeypatch) -> None:
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst) -> None:
        events.append(("replace", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "t.csv"
    io.write_frame(pd.DataFrame({"a": [1]}), target)
    kinds = [(kind, Path(name).name if kind == "fsync" else name) for kind, name in events]
    assert kinds[0][0] == "fsync"
    assert kinds[0][1].startswith(".t.csv.")
    assert kinds[0][1].endswith(".tmp")
    assert kinds[1] == ("replace", str(target))
    assert events[2] == ("fsync", str(tmp_path))


# ------------------------------------------------------------------ process pool
def _children(pid: int) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_killed_process_pool_leaves_no_workers(tmp_path: Path) -> None:
    code = (
        "import safesim as ss\nif __name__ == '__main__':\n"
        "    sc = ss.Scenario.default().set_many({'population.users': 20000, 'horizon_days': 400})\n"
        "    ss.replicate(sc, n=40, executor='processes', workers=2, progress=False)\n"
    )
    script = tmp_path / "pool.py"
    script.write_text(code)
    proc = subprocess.Popen([sys.executable, str(script)], env=ENV)
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while len(workers) < 2:
        assert proc.poll() is None
        assert time.monotonic() < deadline, "no workers started"
        workers = {c for c in _children(proc.pid) if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()}
        time.sleep(0.05)
    time.sleep(0.5)  # the workers are inside a batch
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.monotonic() + 5
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [w for w in workers if _alive(w)]
    for w in left:
        os.kill(w, signal.SIGKILL)
    assert not left, f"workers still alive 5 s after their parent was killed: {left}"


# ------------------------------------------------------------------ resume verifies what it reuses
def test_altered_run_file_is_recomputed_and_reported(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = ss.replicate(small(), n=3, out=out, progress=False)
    victim = sorted((out / "runs").glob("*.daily.parquet"))[0]
    data = bytearray(victim.read_bytes())
    # Same size, other content: a value changed in place (the size check alone passes).
    frame = pd.read_parquet(victim)
    frame.iloc[0, 2] = frame.iloc[0, 2] + 1
    frame.to_parquet(victim, index=False)
    if victim.stat().st_size != len(data):  # keep the size equal so only the checksum can tell
        data[len(data) // 2] ^= 0x01
        victim.write_bytes(bytes(data))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = ss.replicate(small(), n=3, out=out, progress=False)
    assert again.loaded_runs == 2
    assert again.computed_runs == 1
    assert again.hashes == first.hashes
    pd.testing.assert_frame_equal(again.daily, first.daily)
    assert [w for w in caught if issubclass(w.category, RecomputedRunWarning)]


def test_output_hash_of_a_reused_run_is_recomputed_from_its_data() -> None:
    """_core.output_hash of a run's arrays is the engine's hash; any changed value changes it."""
    out = ss.run(small(), seed=4).outputs[0]
    groups = {"group_totals": out["group_totals"], "group_minors": out["group_minors"]}
    assert _core.output_hash(out["totals"], out["daily"], **groups) == out["hash"]
    daily = np.array(out["daily"], copy=True)
    daily[0, 5, 3] += 1
    assert _core.output_hash(out["totals"], daily, **groups) != out["hash"]
    group_totals = out["group_totals"].copy()
    group_totals.flat[0] += 1
    assert (
        _core.output_hash(out["totals"], out["daily"], group_totals=group_totals, group_minors=out["group_minors"])
        != out["hash"]
    )


@pytest.mark.parametrize("csv", [False, True])
def test_run_edited_with_its_checksums_is_caught_by_the_output_hash(tmp_path: Path, csv: bool) -> None:
    """A run file changed and its manifest's size and SHA-256 updated to match passes the
    checksums; the output hash recomputed from the data read does not, so it is recomputed."""
    out = tmp_path / "out"
    first = ss.replicate(small(), n=2, out=out, csv=csv, progress=False)
    again = ss.replicate(small(), n=2, out=out, csv=csv, progress=False)
    assert again.loaded_runs == 2  # read back bit for bit: the recomputed hashes agree
    assert again.hashes == first.hashes
    assert all("hash_carried" not in o for o in again.outputs)
    manifest_path = sorted((out / "runs").glob("*.json"))[0]
    manifest = json.loads(manifest_path.read_text())
    info = manifest["files"]["totals"]
    victim = out / "runs" / info["name"]
    frame = pd.read_csv(victim) if csv else pd.read_parquet(victim)
    frame.loc[0, "minors_contacted"] += 1
    if csv:
        frame.to_csv(victim, index=False)
    else:
        frame.to_parquet(victim, index=False)
    info["bytes"], info["sha256"] = victim.stat().st_size, sha256_file(victim)
    manifest_path.write_text(json.dumps(manifest))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        third = ss.replicate(small(), n=2, out=out, csv=csv, progress=False)
    assert (third.loaded_runs, third.computed_runs) == (1, 1)
    assert third.hashes == first.hashes
    assert any("differ from the run's output hash" in str(w.message) for w in caught)


def test_run_manifest_records_checksums(tmp_path: Path) -> None:
    out = tmp_path / "out"
    ss.replicate(small(), n=1, out=out, progress=False)
    manifest = json.loads(next((out / "runs").glob("*.json")).read_text())
    for info in manifest["files"].values():
        assert len(info["sha256"]) == 64


def test_job_folder_is_reentrant_in_one_process_and_exclusive_across(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with job_folder(out):
        RunStore(out).open().close()  # the same job: nests
        assert try_lock_elsewhere(out) == "locked"
    assert try_lock_elsewhere(out) == "free"


# ------------------------------------------------------------------ the library's out=DIR
def test_library_job_records_its_combined_files_and_keeps_foreign_ones(tmp_path: Path) -> None:
    out = tmp_path / "out"
    ss.replicate(small(), n=1, out=out, progress=False)
    doc = json.loads((out / FOLDER_MANIFEST).read_text())
    assert {"summary.json", "summary.csv", "runs.parquet", "daily.parquet"} <= set(doc["files"])
    assert len({info["job"] for info in doc["files"].values()}) == 1  # runs and combined files: one job
    ss.replicate(small(), n=2, out=out, progress=False)  # a second job replaces the first one's set
    assert len(pd.read_parquet(out / "runs.parquet")["seed"].unique()) == 2
    (out / "summary.csv").unlink()
    (out / "summary.csv").write_text("mine\n")  # no longer safesim's file (same name)
    doc = json.loads((out / FOLDER_MANIFEST).read_text())
    doc["files"].pop("summary.csv")
    (out / FOLDER_MANIFEST).write_text(json.dumps(doc))
    with pytest.raises(OutputRefused, match=r"summary\.csv: exists and was not written by safesim"):
        ss.replicate(small(), n=2, out=out, progress=False)
    assert (out / "summary.csv").read_text() == "mine\n"


def test_library_save_into_a_folder_another_process_holds_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = ss.replicate(small(), n=1, out=out, progress=False)
    code = (
        "import sys, time\nfrom safesim.store import RunStore\nRunStore(sys.argv[1]).open()\n"
        "print('held', flush=True)\ntime.sleep(30)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ss.store.OutputLocked):
            res.save(out)
    finally:
        holder.kill()
        holder.communicate(timeout=10)  # reaps it and closes its pipe


def test_a_later_write_into_a_finished_folder_removes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = ["compare", "baseline", "--policy-arm", "industry_teen_accounts", "--reps", "1", *SMALL]
    assert run_cli(*argv, "--out", str(out), "--no-figures")[0] == 0
    before = {p.name for p in out.iterdir()}
    assert {"summary.json", "comparison.csv"} <= before
    status, _, err = run_cli("report", str(out))  # another process adds a file to the finished set
    assert status == 0, err
    after = {p.name for p in out.iterdir()}
    assert before <= after
    doc = json.loads((out / FOLDER_MANIFEST).read_text())
    assert "report.html" in doc["files"]
    assert len({info["job"] for info in doc["files"].values()}) == 1
