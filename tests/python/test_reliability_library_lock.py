"""The library's sensitivity(), calibrate() and check_targets() hold their output folder from the
first run to the last combined file (issue 17, item 1), with a calibration's
wave sub-folders part of the same job, and a killed job resumes without
--force (its lock ended with its process).

Each job runs in a child process (the script below), small and serial. Two
hooks make the interleavings deterministic, without timing: ``--hold DIR``
stops the job just before its first combined file (it writes DIR/saving and
waits for DIR/go), ``--kill-after K`` kills the job (SIGKILL, itself) right
after its K-th run is saved.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from safesim.store import FOLDER_MANIFEST, RunStore

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}

SCRIPT = r"""
import argparse, contextlib, os, signal, sys, time
from pathlib import Path
import safesim as ss
from safesim import io, store

ap = argparse.ArgumentParser()
ap.add_argument("kind")
ap.add_argument("out", type=Path)
ap.add_argument("--hold", default="")
ap.add_argument("--kill-after", type=int, default=0)
a = ap.parse_args()

if a.hold:  # stop before the first combined file (a top-level output) until DIR/go exists
    real, held = io.atomic_path, []

    @contextlib.contextmanager
    def holding(path):
        p = Path(path)
        if not held and p.parent.resolve() == a.out.resolve() and not p.name.startswith("."):
            held.append(p)
            Path(a.hold, "saving").write_text(p.name)
            while not Path(a.hold, "go").exists():
                time.sleep(0.01)
        with real(path) as tmp:
            yield tmp

    io.atomic_path = holding

if a.kill_after:  # SIGKILL this process right after its K-th saved run (a calibration saves a record per run)
    saved = []

    def then_maybe_die(save):
        def save_then_maybe_die(self, *args, **kwargs):
            save(self, *args, **kwargs)
            saved.append(1)
            if len(saved) == a.kill_after:
                os.kill(os.getpid(), signal.SIGKILL)

        return save_then_maybe_die

    store.RunStore.save = then_maybe_die(store.RunStore.save)
    store.RunStore.save_summary = then_maybe_die(store.RunStore.save_summary)

sc = ss.Scenario.load("baseline").set_many({"population.users": 300, "horizon_days": 20})
params = {"offenders.share_of_adults": (0.002, 0.01), "platforms.main.controls.reporting.steps": (1, 9)}
try:
    if a.kind == "sensitivity":
        r = ss.sensitivity(sc, params, n=2, reps=2, executor="serial", out=a.out, progress=False)
        print("DONE", r.sweep.loaded_runs, r.sweep.computed_runs)
    elif a.kind == "targets":
        targets = [{"name": "contacted", "metric": "minors_contacted", "range": [0, 1000], "source": "test"}]
        r = ss.check_targets(sc, targets, n=6, executor="serial", out=a.out, progress=False)
        print("DONE", len(r.table()))
    else:
        targets = [{"metric": "minors_contacted", "value": 5, "sd": 3}]
        r = ss.calibrate(sc, params, targets, n=3, reps=2, waves=2, cutoff=1e9, executor="serial", out=a.out,
                         progress=False)
        print("DONE", len(r.points))
except store.OutputLocked as err:
    print("LOCKED", err)
    sys.exit(3)
"""

FINAL = {"sensitivity": "sensitivity.json", "calibrate": "calibration.json", "targets": "targets.json"}
TABLE = {"sensitivity": "indices.csv", "calibrate": "points.csv", "targets": "targets.csv"}
RUNS = {"sensitivity": "runs", "calibrate": "wave1/runs", "targets": "runs"}


@pytest.fixture(scope="module")
def script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("script") / "job.py"
    path.write_text(SCRIPT)
    return path


def job(script: Path, kind: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), kind, str(out), *extra],
        capture_output=True,
        text=True,
        timeout=600,
        env=ENV,
        check=False,
    )


def manifest(out: Path) -> dict:
    return json.loads((out / FOLDER_MANIFEST).read_text())


def one_complete_job(out: Path, kind: str) -> str:
    """The folder holds one job's complete set: its final file, every listed file of that job."""
    doc = manifest(out)
    assert doc["job"]["state"] == "complete"
    jobs = {info["job"] for info in doc["files"].values()}
    assert jobs == {doc["job"]["id"]}, jobs
    assert FINAL[kind] in doc["files"]
    assert TABLE[kind] in doc["files"]
    for rel in doc["files"]:
        assert (out / rel).is_file(), rel
    return doc["job"]["id"]


@pytest.mark.parametrize("kind", ["sensitivity", "calibrate", "targets"])
def test_a_second_job_during_the_first_ones_save_is_refused(tmp_path: Path, script: Path, kind: str) -> None:
    out, signals = tmp_path / "out", tmp_path / "signals"
    signals.mkdir()
    first = subprocess.Popen(
        [sys.executable, str(script), kind, str(out), "--hold", str(signals)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        deadline = time.monotonic() + 600  # a safety net only: nothing asserts on time
        while not (signals / "saving").exists():
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first job never reached its combined files"
            time.sleep(0.02)
        # The first job has run everything and is about to write its combined files.
        second = job(script, kind, out)
        assert second.returncode == 3, (second.stdout, second.stderr)
        assert second.stdout.startswith("LOCKED")
        assert "another safesim job is writing to" in second.stdout
        assert manifest(out)["job"]["state"] == "running"
        (signals / "go").write_text("")
        stdout, stderr = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 0, (stdout, stderr)
    assert stdout.startswith("DONE")
    one_complete_job(out, kind)


@pytest.mark.parametrize("kind", ["sensitivity", "calibrate", "targets"])
def test_a_killed_job_resumes_without_force(tmp_path: Path, script: Path, kind: str) -> None:
    clean, out = tmp_path / "clean", tmp_path / "out"
    assert job(script, kind, clean).returncode == 0
    killed = job(script, kind, out, "--kill-after", "3")
    assert killed.returncode == -9, (killed.stdout, killed.stderr)
    assert manifest(out)["job"]["state"] == "running"  # as the kill left it; its lock went with it
    kept = {p.name: p.stat().st_mtime_ns for p in (out / RUNS[kind]).glob("*.json")}
    assert len(kept) == 3
    resumed = job(script, kind, out)
    assert resumed.returncode == 0, (resumed.stdout, resumed.stderr)
    if kind == "sensitivity":
        assert resumed.stdout.split()[1] == "3"  # loaded runs: the three the killed job saved
    assert {n: (out / RUNS[kind] / n).stat().st_mtime_ns for n in kept} == kept  # reused, not rewritten
    one_complete_job(out, kind)
    assert (out / TABLE[kind]).read_bytes() == (clean / TABLE[kind]).read_bytes()
    assert not (out / "wave1" / FOLDER_MANIFEST).exists()  # sub-folders belong to the one job


def test_a_calibration_folder_of_an_earlier_safesim_is_adopted(tmp_path: Path, script: Path) -> None:
    """Before this change a library calibration held only its wave folders (each with its own
    manifest); such a folder, left by a killed job, resumes without --force."""
    out = tmp_path / "out"
    RunStore(out / "wave1").open().close()
    assert (out / "wave1" / FOLDER_MANIFEST).is_file()
    assert not (out / FOLDER_MANIFEST).exists()
    done = job(script, "calibrate", out)
    assert done.returncode == 0, (done.stdout, done.stderr)
    one_complete_job(out, "calibrate")
    (out / "mine.txt").write_text("not safesim's\n")
    stranger = tmp_path / "stranger"
    (stranger / "wave1").mkdir(parents=True)
    (stranger / "notes.txt").write_text("x\n")  # not only safesim sub-folders: still refused
    refused = job(script, "calibrate", stranger)
    assert refused.returncode == 1
    assert "folder is not empty and was not written by safesim" in refused.stderr
