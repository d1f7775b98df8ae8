"""Run outputs: array shapes, tidy frames, summaries, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import safesim
from safesim import _core


def test_core_run_dict(small_baseline: safesim.Scenario) -> None:
    out = _core.run(small_baseline.spec, 5)
    scopes = 1 + len(out["platforms"])
    n = len(safesim.metrics())
    assert out["seed"] == 5
    assert out["days"] == 60
    assert out["totals"].shape == (scopes, n)
    assert out["daily"].shape == (scopes, 60, n)
    assert out["totals"].dtype == np.float64
    assert out["daily"].flags.c_contiguous
    assert out["run_seconds"] >= out["build_seconds"] >= 0
    assert isinstance(out["hash"], int)


def test_runs_and_daily_frames(small_results: safesim.Results) -> None:
    res = small_results
    scopes = 1 + len(res.platforms)
    n = len(safesim.metrics())
    assert res.reps == 4
    assert list(res.runs.columns) == ["replicate", "seed", "scope", "metric", "value"]
    assert len(res.runs) == 4 * scopes * n
    assert list(res.daily.columns) == ["replicate", "scope", "day", "metric", "value"]
    assert len(res.daily) == 4 * scopes * 60 * n
    assert sorted(res.runs["seed"].unique()) == res.seeds
    # Frames agree with the raw arrays.
    out = res.outputs[2]
    row = res.runs[
        (res.runs.replicate == 2) & (res.runs.scope == "ecosystem") & (res.runs.metric == "minors_contacted")
    ]
    assert row["value"].item() == out["totals"][0, 0]
    day = res.daily[(res.daily.replicate == 2) & (res.daily.scope == "ecosystem") & (res.daily.day == 59)]
    np.testing.assert_array_equal(day["value"].to_numpy(), out["daily"][0, 59, :])


def test_summary_matches_t_interval(small_results: safesim.Results) -> None:
    summary = small_results.summary()
    scopes = 1 + len(small_results.platforms)
    assert len(summary) == scopes * len(safesim.metrics())
    assert list(summary.columns) == ["scope", "metric", "mean", "sd", "n", "ci_low", "ci_high"]
    assert summary["n"].between(0, 4).all()  # n counts replicates where the metric is defined
    full = summary[summary["n"] == 4]
    assert len(full) > len(summary) // 2
    assert (full["ci_low"] <= full["mean"]).all()
    assert (full["mean"] <= full["ci_high"]).all()


def test_summarize_known_values() -> None:
    df = pd.DataFrame({"scope": ["a"] * 4 + ["b"], "metric": ["m"] * 5, "value": [1.0, 2.0, 3.0, 4.0, 9.0]})
    s = safesim.summarize(df).set_index("scope")
    half = stats.t.ppf(0.975, 3) * np.std([1, 2, 3, 4], ddof=1) / 2.0
    assert s.loc["a", "mean"] == pytest.approx(2.5)
    assert s.loc["a", "ci_low"] == pytest.approx(2.5 - half)
    assert s.loc["a", "ci_high"] == pytest.approx(2.5 + half)
    assert s.loc["b", "n"] == 1
    assert np.isnan(s.loc["b", "ci_low"])


def test_provenance_and_json(small_results: safesim.Results, small_baseline: safesim.Scenario) -> None:
    prov = small_results.provenance
    assert prov["scenario"] == small_baseline.name
    assert prov["scenario_hash"] == small_baseline.hash
    assert prov["seed"] == small_baseline.seed
    assert prov["reps"] == 4
    assert prov["version"] == safesim.__version__
    assert prov["build_type"]
    doc = small_results.to_json_dict()
    assert set(doc["platforms"]) == set(small_results.platforms)


def test_results_independent_of_thread_count(small_baseline: safesim.Scenario) -> None:
    one = safesim.replicate(small_baseline, n=3, seed=11, threads=1)
    two = safesim.replicate(small_baseline, n=3, seed=11, threads=2)
    assert one.hashes == two.hashes
    single = safesim.run(small_baseline, seed=12)
    assert single.hashes == [one.hashes[1]]


def test_bad_arguments(small_baseline: safesim.Scenario) -> None:
    with pytest.raises(ValueError, match="n must be"):
        safesim.replicate(small_baseline, n=0)
    with pytest.raises(ValueError, match="seed"):
        safesim.run(small_baseline, seed=-1)
