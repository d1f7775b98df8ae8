"""Risk assessment through the Python API (docs/model/submodels, "Platform behaviour").

scenarios/risk_assessment.yaml gives two platforms the same quarterly risk
assessment (detections per 1,000 members) and the same response; one has
detectors, the other none. Paired runs with the assessment switched off show
what the response bought, and the platform that measures nothing never fires.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import safesim

SEEDS = 8


@pytest.fixture(scope="module")
def arms() -> safesim.Comparison:
    sc = safesim.Scenario.load("risk_assessment").set("population.users", 8000)
    off = sc.set("platforms.*.controls.risk_assessment.enabled", False)
    return safesim.compare({"assessed": sc, "not assessed": off}, n=SEEDS, reference="not assessed")


def _totals(results: safesim.Results, scope: str, metric: str) -> np.ndarray:
    runs = results.runs
    return runs[(runs.scope == scope) & (runs.metric == metric)].sort_values("replicate").value.to_numpy()


def test_only_the_platform_that_measures_its_risk_switches(arms: safesim.Comparison) -> None:
    assessed = arms["assessed"]
    aware = _totals(assessed, "aware", "risk_response_active")
    unaware = _totals(assessed, "unaware", "risk_response_active")
    # aware crosses at its first or second quarterly review in every run;
    # unaware, with no detectors, measures zero and never does.
    assert np.all(aware >= (365 - 180) / 365 - 1e-9), aware
    assert np.all(unaware == 0), unaware
    assert np.all(_totals(assessed, "unaware", "actioned_by_detection") == 0)
    # ...although it receives child-safety reports all year.
    assert np.all(_totals(assessed, "unaware", "child_safety_reports") > 0)
    not_assessed = arms["not assessed"]
    assert np.all(_totals(not_assessed, "aware", "risk_response_active") == 0)


def test_the_response_lowers_contact_on_the_platform_that_switched(arms: safesim.Comparison) -> None:
    d = _totals(arms["assessed"], "aware", "minors_contacted") - _totals(
        arms["not assessed"], "aware", "minors_contacted"
    )
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    assert d.mean() + half < 0, f"paired difference {d.mean():.1f} +- {half:.1f} should be below zero"
    effects = arms.effects()
    row = effects[(effects.scope == "aware") & (effects.metric == "minors_contacted")]
    assert len(row) == 1
    assert row.iloc[0].diff_ci_high < 0


def test_run_prints_when_each_platform_switched() -> None:
    from conftest import run_cli

    proc = run_cli("run", "risk_assessment", "--reps", "2", "--set", "population.users=6000")
    assert proc.returncode == 0, proc.stderr
    tail = proc.stdout.split("Risk response (risk_assessment crossed its threshold):", 1)[1]
    assert "aware: from day 90 in 2 of 2 runs (teen-account protections after a risk review)" in tail
    assert "unaware: never, in 2 runs" in tail
