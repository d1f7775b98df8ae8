"""A calibration keeps a record per run instead of its daily files (issue 15, item 3).

Each run is reduced, as it finishes, to what the judge reads: its totals and the windowed value of every
metric a windowed target reads. The judged table must be the one the daily files give, bit for bit; a
rerun reuses the records (checked by their SHA-256), recomputes a damaged one and says so, and reuses runs
whose daily files were kept (``keep_daily``) or left by an earlier safesim without computing them again.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from conftest import run_cli

import safesim as ss
from safesim.calibration import _judge, as_targets
from safesim.store import RecomputedRunWarning, RunStore, _content_sha256, job_folder, run_id

SHARE = "offenders.share_of_adults"
PARAMS = {SHARE: (0.002, 0.03)}

# Windowed flows (summed) and a windowed level (averaged), on the ecosystem and on a platform, next to a
# target without a window (read from the run's totals): every path of the judge.
TARGETS = """targets:
  - name: contacted_share_late
    range: [0.01, 0.2]
    source: synthetic
    metric: minors_contacted / minors
    window: [10, 49]
    used_for: fit
  - name: solicited_per_contacted_on_main
    range: [0.01, 0.9]
    source: synthetic
    metric: (minors_solicited + 1) / (minors_contacted + 1)
    scope: {platform: main}
    window: [5, 59]
    used_for: fit
  - name: users_early
    range: [1000, 3000]
    source: synthetic
    metric: users
    window: [0, 29]
    used_for: fit
  - name: exploited_per_1k_whole_run
    range: [0.0, 50.0]
    source: synthetic
    metric: minors_exploited_per_1k
    used_for: fit
"""


@pytest.fixture(scope="module")
def targets_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("targets") / "t.yaml"
    path.write_text(TARGETS)
    return path


def calibrate(base: ss.Scenario, targets: Path, **kw) -> ss.CalibrationResults:
    return ss.calibrate(base, PARAMS, targets, n=4, reps=2, waves=2, cutoff=1e9, seed=5, progress=False, **kw)


def records(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in sorted(out.glob("wave*/runs/*.summary.json"))}


def judged_from_daily_files(cal: ss.CalibrationResults, out: Path) -> list:
    """Each wave judged again from the runs' daily files (what calibrate read before the records)."""
    tables = []
    for wave in sorted({int(w) for w in cal.points["wave"]}):
        part = cal.points[cal.points["wave"] == wave]
        points = [{p.key: row[p.key] for p in cal.parameters} for _, row in part.iterrows()]
        with job_folder(out), RunStore(out / f"wave{wave}") as store:
            arms = []
            for p in points:
                sc = cal.scenario_at(p)
                runs = [store.load(run_id(sc.hash, s), sc.hash, s) for s in cal.seeds]
                assert all(r is not None for r in runs)
                assert all(r["daily"].shape[1] == 60 for r in runs)  # judged from the daily arrays
                arms.append(runs)
        tables.append(_judge(points, arms, cal.targets, cal.scenario, cal.cutoff))
    return tables


def test_the_judged_table_is_the_one_the_daily_files_give(
    small_baseline: ss.Scenario, targets_file: Path, tmp_path: Path
) -> None:
    kept = calibrate(small_baseline, targets_file, out=tmp_path / "kept", keep_daily=True)
    assert len(kept.points) == 8
    cols = [c for c in kept.points.columns if c not in ("wave", "point")]
    for wave, table in enumerate(judged_from_daily_files(kept, tmp_path / "kept"), start=1):
        part = kept.points[kept.points["wave"] == wave].reset_index(drop=True)
        assert part[cols].equals(table[cols])  # bit for bit, every mean, sd and implausibility
    # Without the daily files, in memory or with records on disk: the same table.
    plain = calibrate(small_baseline, targets_file)
    recorded = calibrate(small_baseline, targets_file, out=tmp_path / "records")
    assert plain.points.equals(kept.points)
    assert recorded.points.equals(kept.points)
    runs = tmp_path / "records" / "wave1" / "runs"
    assert len(list(runs.glob("*.summary.json"))) == 8
    assert not list(runs.glob("*.parquet"))
    assert not list(runs.glob("*.csv"))
    assert len(list((tmp_path / "kept" / "wave1" / "runs").glob("*.daily.parquet"))) == 8
    # A record holds the totals and the windowed values its targets read, with a checksum.
    doc = json.loads(next(runs.glob("*.summary.json")).read_text())
    assert {(w["scope"], tuple(w["window"]), w["metric"]) for w in doc["windows"]} == {
        ("ecosystem", (10, 49), "minors_contacted"),
        ("ecosystem", (10, 49), "minors"),
        ("main", (5, 59), "minors_solicited"),
        ("main", (5, 59), "minors_contacted"),
        ("ecosystem", (0, 29), "users"),
    }
    assert len(doc["totals"]) == 2
    assert len(doc["sha256"]) == 64


def test_a_rerun_reads_the_records_and_computes_nothing(
    small_baseline: ss.Scenario, targets_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = calibrate(small_baseline, targets_file, out=tmp_path, executor="serial")
    before = records(tmp_path)
    assert len(before) == 16

    def no_run(*args, **kwargs):
        raise AssertionError("a finished run was computed again")

    monkeypatch.setattr("safesim.executors.SerialExecutor.map_runs", no_run)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RecomputedRunWarning)
        again = calibrate(small_baseline, targets_file, out=tmp_path, executor="serial")
    assert again.points.equals(first.points)
    assert records(tmp_path) == before  # read, not rewritten


def test_a_damaged_record_is_computed_again_and_reported(
    small_baseline: ss.Scenario, targets_file: Path, tmp_path: Path
) -> None:
    first = calibrate(small_baseline, targets_file, out=tmp_path)
    paths = sorted((tmp_path / "wave1" / "runs").glob("*.summary.json"))
    edited, truncated = paths[0], paths[1]
    doc = json.loads(edited.read_text())
    doc["windows"][0]["value"] += 1.0  # a changed figure, its checksum left as it was
    edited.write_text(json.dumps(doc))
    truncated.write_text(truncated.read_text()[:100])
    with pytest.warns(RecomputedRunWarning) as caught:
        again = calibrate(small_baseline, targets_file, out=tmp_path)
    messages = " | ".join(str(w.message) for w in caught)
    assert f"{edited.name}: checksum differs from the record's content" in messages
    assert f"{truncated.name}: unreadable summary record" in messages
    assert again.points.equals(first.points)
    for path in (edited, truncated):  # written again, whole and verifiable
        doc = json.loads(path.read_text())
        assert doc.pop("sha256") == _content_sha256(doc)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RecomputedRunWarning)
        assert calibrate(small_baseline, targets_file, out=tmp_path).points.equals(first.points)


def test_kept_daily_files_are_reused_without_a_record(
    small_baseline: ss.Scenario, targets_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs with daily files and no record (an earlier safesim, or a kill between the two writes)."""
    first = calibrate(small_baseline, targets_file, out=tmp_path, keep_daily=True, executor="serial")
    for path in tmp_path.glob("wave*/runs/*.summary.json"):
        path.unlink()
    monkeypatch.setattr(
        "safesim.executors.SerialExecutor.map_runs", lambda *a, **k: (_ for _ in ()).throw(AssertionError("ran"))
    )
    again = calibrate(small_baseline, targets_file, out=tmp_path, executor="serial")
    assert again.points.equals(first.points)
    assert len(records(tmp_path)) == 16  # the records made from the daily files


def test_records_made_for_other_targets_are_computed_again_quietly(
    small_baseline: ss.Scenario, targets_file: Path, tmp_path: Path
) -> None:
    calibrate(small_baseline, targets_file, out=tmp_path)
    other = tmp_path / "other.yaml"
    other.write_text(TARGETS.replace("[10, 49]", "[20, 49]"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RecomputedRunWarning)
        cal = calibrate(small_baseline, other, out=tmp_path)
    assert cal.points.equals(calibrate(small_baseline, other).points)
    doc = json.loads(next((tmp_path / "wave1" / "runs").glob("*.summary.json")).read_text())
    assert ["ecosystem", [20, 49], "minors"] in [[w["scope"], w["window"], w["metric"]] for w in doc["windows"]]


def test_keep_daily_needs_an_output_folder(small_baseline: ss.Scenario, targets_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="keep_daily needs an output folder"):
        calibrate(small_baseline, targets_file, keep_daily=True)
    assert len(as_targets(targets_file)) == 4


def test_cli_writes_daily_files_only_when_asked(tmp_path: Path, targets_file: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        f"scenario: baseline\nset: {{population.users: 2000, horizon_days: 60}}\nn: 2\nreps: 1\ncutoff: 1000\n"
        f"parameters:\n  {SHARE}: [0.002, 0.03]\ntargets: {targets_file}\n"
    )
    refused = run_cli("calibrate", plan, "--keep-daily")
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert "--keep-daily needs --out DIR (the daily files are written there)" in refused.stderr
    for flag, daily in (([], 0), (["--keep-daily"], 2)):
        out = tmp_path / f"out{len(flag)}"
        done = run_cli("calibrate", plan, "--out", out, "--no-figures", "--no-progress", *flag)
        assert done.returncode == 0, done.stderr
        runs = out / "wave1" / "runs"
        assert len(list(runs.glob("*.summary.json"))) == 2
        assert len(list(runs.glob("*.daily.parquet"))) == daily
