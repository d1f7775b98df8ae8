"""Interrupted jobs: SIGKILL or SIGINT part way, then a rerun finishes exactly the missing runs.

Each test starts a real process (the API through ``python -c``, or the
``safesim`` command), waits until a few runs have finished on disk, kills it,
checks that nothing on disk looks complete that is not, then reruns and
compares with an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

import safesim as ss

# Runs of ~50 ms each, one at a time: slow enough to stop a job part way.
SETS = {"population.users": 20000, "horizon_days": 120}
REPS = 24
GRID = {
    "platforms.main.controls.reporting.steps": [1, 9],
    "platforms.main.controls.dm_policy.under_16": ["requests_inbox", "connected_only"],
}
SWEEP_REPS = 6
COMBINED = ("summary.json", "summary.csv", "runs.parquet", "daily.parquet")


def scenario() -> ss.Scenario:
    return ss.Scenario.default().set_many(SETS)


def manifests(out: Path) -> dict[str, int]:
    """Finished runs: manifest name -> mtime_ns."""
    folder = out / "runs"
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.json")} if folder.is_dir() else {}


def start_and_stop(cmd: list[str], out: Path, sig: int, at_least: int = 2) -> tuple[int, str, str]:
    """Start ``cmd``, send ``sig`` once ``at_least`` runs are on disk; (exit status, stdout, stderr)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(manifests(out)) < at_least:
        if proc.poll() is not None:
            raise AssertionError(f"finished before it could be stopped: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("no runs finished in time")
        time.sleep(0.005)
    os.kill(proc.pid, sig)
    stdout, stderr = proc.communicate(timeout=60)
    return proc.returncode, stdout, stderr


def assert_nothing_looks_complete(out: Path, total: int) -> dict[str, int]:
    """After a stop: some runs finished, not all; no combined outputs; every manifest's files whole."""
    done = manifests(out)
    assert 0 < len(done) < total, len(done)
    for name in COMBINED:
        assert not (out / name).exists(), name
    # running after SIGKILL, failed after Ctrl-C: never complete
    assert json.loads((out / ".safesim.json").read_text())["job"]["state"] in ("running", "failed")
    for path in (out / "runs").glob("*.json"):
        manifest = json.loads(path.read_text())
        assert manifest["complete"] is True
        for info in manifest["files"].values():
            assert (out / "runs" / info["name"]).stat().st_size == info["bytes"]
    # Anything else is either a whole data file of an unfinished run or a hidden temporary.
    for path in (out / "runs").iterdir():
        assert path.name.startswith(".") or path.name.split(".")[0] + ".json" in done or path.suffix == ".parquet"
    return done


def api_cmd(call: str) -> list[str]:
    code = textwrap.dedent(
        f"""
        import safesim as ss
        sc = ss.Scenario.default().set_many({SETS!r})
        {call}
        print("DONE")
        """
    )
    return [sys.executable, "-c", code]


def test_replicate_sigkill_then_rerun_equals_uninterrupted(tmp_path: Path) -> None:
    out = tmp_path / "rep"
    out.mkdir()
    (out / "summary.json").write_text("{}")  # not safesim's: the folder is refused, the file kept
    with pytest.raises(ss.store.OutputRefused, match="not written by safesim"):
        ss.replicate(scenario(), n=REPS, out=out, workers=1, progress=False)
    assert [p.name for p in out.iterdir()] == ["summary.json"]
    (out / "summary.json").unlink()
    status, _, _ = start_and_stop(
        api_cmd(f"ss.replicate(sc, n={REPS}, out={str(out)!r}, workers=1, progress=False)"), out, signal.SIGKILL
    )
    assert status == -signal.SIGKILL
    before = assert_nothing_looks_complete(out, REPS)

    res = ss.replicate(scenario(), n=REPS, out=out, workers=1, progress=False)
    assert res.loaded_runs == len(before)
    assert res.computed_runs == REPS - len(before)
    after = manifests(out)
    assert len(after) == REPS
    assert all(after[name] == mtime for name, mtime in before.items())  # finished runs were not redone
    assert not list(out.rglob("*.tmp"))

    clean = ss.replicate(scenario(), n=REPS, workers=2, progress=False)
    pd.testing.assert_frame_equal(res.summary(), clean.summary())
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), clean.runs)
    assert res.hashes == clean.hashes


def test_sweep_sigkill_then_rerun_equals_uninterrupted(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    total = 4 * SWEEP_REPS
    status, _, _ = start_and_stop(
        api_cmd(f"ss.sweep(sc, {GRID!r}, n={SWEEP_REPS}, out={str(out)!r}, workers=1, progress=False)"),
        out,
        signal.SIGKILL,
    )
    assert status == -signal.SIGKILL
    before = assert_nothing_looks_complete(out, total)

    sw = ss.sweep(scenario(), GRID, n=SWEEP_REPS, out=out, workers=1, progress=False)
    assert sw.loaded_runs == len(before)
    assert sw.computed_runs == total - len(before)
    clean = ss.sweep(scenario(), GRID, n=SWEEP_REPS, progress=False)
    pd.testing.assert_frame_equal(sw.summary(), clean.summary())
    pd.testing.assert_frame_equal(sw.runs, clean.runs)


def write_sweep_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sweep.yaml"
    path.write_text(
        yaml.safe_dump({"scenario": "baseline", "reps": SWEEP_REPS, "set": SETS, "grid": GRID}, sort_keys=False)
    )
    return path


def cli_sweep(sweep_file: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "safesim", "sweep", str(sweep_file), "--out", str(out), "--workers", "1",
            "--no-figures", "--no-progress"]  # fmt: skip


def test_cli_sweep_sigkill_then_rerun(tmp_path: Path) -> None:
    sweep_file = write_sweep_file(tmp_path / "spec")
    out = tmp_path / "out"
    start_and_stop(cli_sweep(sweep_file, out), out, signal.SIGKILL)
    before = assert_nothing_looks_complete(out, 4 * SWEEP_REPS)

    proc = subprocess.run(cli_sweep(sweep_file, out), capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    after = manifests(out)
    assert len(after) == 4 * SWEEP_REPS
    assert all(after[name] == mtime for name, mtime in before.items())

    ref = tmp_path / "ref"
    clean = ss.sweep(scenario(), GRID, n=SWEEP_REPS, out=ref, progress=False)
    assert (out / "summary.csv").read_bytes() == (ref / "summary.csv").read_bytes()
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), pd.read_parquet(ref / "runs.parquet"))
    assert len(clean.points) == 4


def test_cli_sweep_sigint_leaves_no_partial_files(tmp_path: Path) -> None:
    sweep_file = write_sweep_file(tmp_path / "spec")
    out = tmp_path / "out"
    status, _, stderr = start_and_stop(cli_sweep(sweep_file, out), out, signal.SIGINT)
    assert status == 130, stderr
    assert "Traceback" not in stderr
    before = assert_nothing_looks_complete(out, 4 * SWEEP_REPS)
    assert not list(out.rglob("*.tmp"))  # Ctrl-C removes the temporary of a write in progress

    proc2 = subprocess.run(cli_sweep(sweep_file, out), capture_output=True, text=True, timeout=300, check=False)
    assert proc2.returncode == 0, proc2.stderr
    after = manifests(out)
    assert len(after) == 4 * SWEEP_REPS
    assert all(after[name] == mtime for name, mtime in before.items())


def test_stale_and_damaged_runs_are_redone(tmp_path: Path) -> None:
    sc = ss.Scenario.default().set_many({"population.users": 2000, "horizon_days": 30})
    out = tmp_path / "out"
    first = ss.replicate(sc, n=3, out=out, progress=False)
    runs = out / "runs"
    stale = runs / ".abc.parquet.123.tmp"
    stale.write_bytes(b"half")
    damaged = sorted(runs.glob("*.json"))[0]
    damaged.write_text("{not json")
    with pytest.warns(ss.store.RecomputedRunWarning, match="unreadable run manifest"):  # reported, not trusted
        again = ss.replicate(sc, n=3, out=out, progress=False)
    assert not stale.exists()
    assert again.loaded_runs == 2
    assert again.computed_runs == 1
    assert again.hashes == first.hashes
    # A different scenario in the same folder does not reuse these runs.
    other = ss.replicate(sc.set("horizon_days", 20), n=3, out=out, progress=False)
    assert other.loaded_runs == 0


def test_one_writer_per_folder(tmp_path: Path) -> None:
    from safesim.store import RunStore

    # One job per folder: another process is refused while this one holds it (a store
    # opened again inside the same job nests instead).
    probe = [sys.executable, "-c", "import sys; from safesim.store import RunStore; RunStore(sys.argv[1]).open()"]
    with RunStore(tmp_path):
        proc = subprocess.run([*probe, str(tmp_path)], capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode != 0
        assert "OutputLocked: another safesim job is writing to" in proc.stderr
    proc = subprocess.run([*probe, str(tmp_path)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr  # free again once released
