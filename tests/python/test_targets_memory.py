"""``check_targets`` (``safesim targets``) keeps a small record per run, not every run's daily array.

Each run is reduced as it finishes to what the targets read (its totals and their windowed values,
``safesim.api.execute_summaries``, shared with the calibration): the figures are those of the runs'
full results, bit for bit; the daily arrays do not pile up with the runs; the memory guard counts
only the runs in flight; and with ``out=DIR`` the runs are kept there and a rerun reads them back.
"""

from __future__ import annotations

import copy
import json
import math
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from conftest import CountingExecutor

import safesim as ss
from safesim import cli, resources
from safesim.executors import SerialExecutor
from safesim.results import ECOSYSTEM
from safesim.targets import _interval, as_target_set, check_targets, paired_relative, run_values

STEPS = "platforms.main.controls.reporting.steps"
TARGETS = [
    {"name": "reports_window", "metric": "user_reports", "value": 10, "source": "s", "window": [5, 24]},
    {"name": "backlog_window", "metric": "review_backlog", "value": 1, "source": "s", "window": [10, 19]},
    {"name": "contacted", "metric": "minors_contacted / minors * 1000", "value": 50, "source": "s"},
    {
        "name": "main_reports",
        "metric": "user_reports / users",
        "value": 0.1,
        "source": "s",
        "scope": {"platform": "main"},
        "window": [0, 29],
    },
    {"name": "fewer_steps", "metric": "user_reports", "value": 0.2, "source": "s", "relative_to": {STEPS: 9}},
    {
        "name": "fewer_steps_window",
        "metric": "minors_contacted",
        "value": 0.1,
        "source": "s",
        "window": [0, 19],
        "relative_to": {STEPS: 9},
    },
]
FIGURES = ("model_mean", "model_ci_low", "model_ci_high", "runs")


def small(users: int = 300, days: int = 40) -> ss.Scenario:
    return ss.Scenario.load("baseline").set("population.users", users).set("horizon_days", days)


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def by_hand(sc: ss.Scenario, n: int, seed: int) -> dict[str, tuple]:
    """Each target's figures computed as check_targets did before: from the full results of every run."""
    base = ss.replicate(sc, n=n, seed=seed, executor="serial")
    variant = ss.replicate(sc.set(STEPS, 9), n=n, seed=seed, executor="serial")
    scopes = [ECOSYSTEM, *base.platforms]
    want = {}
    for t in as_target_set(TARGETS):
        scope = 0 if t.scope.kind == "ecosystem" else scopes.index(t.scope.name)
        values = run_values(base.outputs, t, scope)
        if t.relative_to is None:
            want[t.name] = _interval(values)
        else:
            want[t.name] = paired_relative(values, run_values(variant.outputs, t, scope))
    return want


def test_figures_equal_those_of_the_full_results_bit_for_bit(tmp_path: Path) -> None:
    sc, n, seed = small(), 4, 3
    want = by_hand(sc, n, seed)
    held = check_targets(sc, TARGETS, n=n, seed=seed, executor="serial")
    kept = check_targets(sc, TARGETS, n=n, seed=seed, executor="serial", out=tmp_path / "out")
    again = check_targets(sc, TARGETS, n=n, seed=seed, out=tmp_path / "out")  # read back, threads
    threads = check_targets(sc, TARGETS, n=n, seed=seed, executor="local", workers=2)
    for check in (held, kept, again, threads):
        assert [r["name"] for r in check.rows] == [t["name"] for t in TARGETS]
        for r in check.rows:
            got = tuple(r[k] for k in FIGURES)
            assert all(same(a, b) for a, b in zip(got, want[r["name"]], strict=True)), (r["name"], got)
        assert check.to_json_dict() == held.to_json_dict()
    assert all(r["runs"] == n for r in held.rows)
    assert all(math.isfinite(r["model_mean"]) for r in held.rows)


def test_the_daily_arrays_do_not_pile_up_with_the_runs(tmp_path: Path) -> None:
    # Every run's daily array was held until the last run finished (execute's Results): peak n.
    sc, n = small(days=30), 8
    ex = CountingExecutor()
    check = check_targets(sc, TARGETS, n=n, executor=ex, workers=1)
    assert ex.runs == 2 * n  # the scenario and its relative_to variant
    assert ex.peak == 1
    assert ex.live == 0
    assert check.reps == n
    # With an output folder too: each run is saved, its summary taken, its array dropped.
    ex = CountingExecutor()
    check_targets(sc, TARGETS, n=n, executor=ex, workers=1, out=tmp_path / "out")
    assert ex.runs == 2 * n
    assert ex.peak == 1


def test_traced_peak_grows_by_a_small_record_per_run() -> None:
    """Python's traced peak of check_targets for 12 and 48 runs, each run's daily array copied into
    memory Python traces (the engine's own are not traced): 36 more runs add at most 16 KB each (the
    record: totals and the windowed values, about 3 KB here), against 70 KB for one run's daily array.
    Holding every run's array (as before) grew the peak by 73 KB a run."""
    sc = small(users=200, days=30)
    targets = [t for t in TARGETS if "relative_to" not in t]
    one_run = (1 + len(sc.platforms)) * 30 * len(ss.metric_names()) * 8

    class Copying:
        def map_runs(self, tasks):
            for task, out in SerialExecutor().map_runs(tasks):
                yield task, {**out, "daily": np.array(out["daily"], copy=True)}

    def peak(n: int) -> int:
        tracemalloc.start()
        try:
            check_targets(sc, targets, n=n, executor=Copying(), progress=False)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak(2)  # imports and caches out of the way
    small_job, big_job = peak(12), peak(48)
    assert big_job - small_job < 36 * 16 * 1024 < 36 * one_run / 4, (small_job, big_job, one_run)


def test_guard_counts_only_the_runs_in_flight(tmp_path: Path, monkeypatch) -> None:
    # A limit between one run in flight and every run held: refused before, now it runs, from the
    # library and from the command line, with or without an output folder.
    sc, n = small(days=30), 12
    shape = [(len(sc.platforms), 30)] * (2 * n)
    streamed = resources.runs_memory_bytes(shape, streamed=True, in_flight=1)
    held = resources.runs_memory_bytes(shape)
    assert streamed * 4 < held
    monkeypatch.setattr(resources, "memory_limit_bytes", lambda: (streamed + held) // 2)
    ex = CountingExecutor()
    check = check_targets(sc, TARGETS, n=n, executor=ex, workers=1)
    assert ex.runs == 2 * n
    assert check.reps == n
    path = tmp_path / "s.yaml"
    path.write_text(sc.dump())
    tfile = tmp_path / "t.yaml"
    tfile.write_text(json.dumps({"targets": TARGETS}))
    assert cli.main(["targets", str(path), str(tfile), "--reps", str(n), "--executor", "serial", "--json"]) == 0
    # Not even one run in flight fits: refused before any run, in one line.
    alone = resources.runs_memory_bytes(shape, streamed=True, in_flight=1, writes=False)
    monkeypatch.setattr(resources, "memory_limit_bytes", lambda: alone // 2)
    ex = CountingExecutor()
    with pytest.raises(ValueError, match="runs in flight") as err:
        check_targets(sc, TARGETS, n=n, executor=ex, workers=1)
    assert "\n" not in str(err.value)
    assert ex.runs == 0


def test_guard_counts_no_write_copies_when_no_daily_file_is_written(tmp_path: Path, monkeypatch) -> None:
    # Without an output folder a targets job writes no daily file: the guard counts the runs in flight
    # alone, not the copies the combined daily file would need (7 runs' worth, resources.WRITE_COPIES).
    sc, n = small(days=30), 4
    shape = [(len(sc.platforms), 30)] * (2 * n)
    reduced = resources.runs_memory_bytes(shape, streamed=True, in_flight=1, writes=False)
    written = resources.runs_memory_bytes(shape, streamed=True, in_flight=1)
    assert reduced * 3 < written
    monkeypatch.setattr(resources, "memory_limit_bytes", lambda: (reduced + written) // 2)
    assert check_targets(sc, TARGETS, n=n, executor=CountingExecutor(), workers=1).reps == n
    # With an output folder the run files are written (keep_daily): refused, saying so.
    with pytest.raises(ValueError, match="even streamed to the output folder, the runs in flight"):
        check_targets(sc, TARGETS, n=n, executor=CountingExecutor(), workers=1, out=tmp_path / "out")
    # Below even the runs in flight: refused, without claiming an output folder it does not have.
    monkeypatch.setattr(resources, "memory_limit_bytes", lambda: reduced // 2)
    with pytest.raises(ValueError, match="even with each run reduced to its record as it finishes, the runs in flight"):
        check_targets(sc, TARGETS, n=n, executor=CountingExecutor(), workers=1)


def test_a_rerun_with_out_reads_the_runs_back(tmp_path: Path) -> None:
    sc, n, out = small(days=30), 3, tmp_path / "out"
    first = check_targets(sc, TARGETS, n=n, seed=5, executor="serial", out=out)
    runs = out / "runs"
    # The run files are kept (daily arrays and all, as every job with an output folder keeps them),
    # with each run's summary record beside them.
    assert len(list(runs.glob("*.daily.parquet"))) == 2 * n
    assert len(list(runs.glob("*.summary.json"))) == 2 * n
    assert (out / "targets.json").is_file()
    ex = CountingExecutor()
    again = check_targets(sc, TARGETS, n=n, seed=5, executor=ex, out=out)
    assert ex.runs == 0
    assert again.to_json_dict() == first.to_json_dict()
    # A folder an earlier safesim wrote (run files, no summary records) is read back too, not recomputed.
    for path in runs.glob("*.summary.json"):
        path.unlink()
    ex = CountingExecutor()
    older = check_targets(sc, TARGETS, n=n, seed=5, executor=ex, out=out)
    assert ex.runs == 0
    assert older.to_json_dict() == first.to_json_dict()
    assert len(list(runs.glob("*.summary.json"))) == 2 * n
    # More replicates in the same folder: only the new ones are computed.
    ex = CountingExecutor()
    more = check_targets(sc, TARGETS, n=n + 2, seed=5, executor=ex, out=out)
    assert ex.runs == 2 * 2
    assert more.reps == n + 2


def test_a_variant_without_a_platform_another_target_reads(tmp_path: Path) -> None:
    # The windowed values are taken on the scopes each run has: a relative_to variant without the
    # platform a windowed target of the scenario reads is judged by its own targets only.
    data = small(days=30).to_dict()
    data["platforms"]["side"] = copy.deepcopy(data["platforms"]["main"])
    data["platforms"]["main"]["user_share"] = data["platforms"]["side"]["user_share"] = 0.5
    two = ss.Scenario.from_dict(data, name="two")
    del data["platforms"]["side"]
    data["platforms"]["main"]["user_share"] = 1.0
    variant = tmp_path / "one.yaml"
    variant.write_text(ss.Scenario.from_dict(data, name="one").dump())
    targets = [
        {"name": "side", "metric": "user_reports", "value": 1, "source": "s", "scope": {"platform": "side"},
         "window": [0, 9]},
        {"name": "vs_one", "metric": "user_reports", "value": 0.1, "source": "s", "window": [0, 9],
         "relative_to": str(variant)},
    ]  # fmt: skip
    check = check_targets(two, targets, n=3, executor="serial")
    base = ss.replicate(two, n=3, executor="serial")
    one = ss.replicate(variant, n=3, executor="serial")
    tset = as_target_set(targets)
    assert check.rows[0]["model_mean"] == _interval(run_values(base.outputs, tset[0], 2))[0]
    want = paired_relative(run_values(base.outputs, tset[1], 0), run_values(one.outputs, tset[1], 0))
    assert tuple(check.rows[1][k] for k in FIGURES) == want
