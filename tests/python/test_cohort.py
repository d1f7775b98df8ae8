"""Lifetime measures (population.ageing): Results.cohort(), the *_ever metrics,
the "cohort" section of --json, and the cohort table surviving save and resume."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import safesim as ss
from safesim import _core

# Ages 14-17 over five years: the children who join in the first year reach 18 in the run.
SMALL = ss.Scenario.load("cohort").set_many(
    {"population.users": 3000, "population.youngest_age": 14, "horizon_days": 1825, "offenders.share_of_adults": 0.03}
)


@pytest.fixture(scope="module")
def res() -> ss.Results:
    return ss.replicate(SMALL, n=3)


def test_cohort_table_reads_as_shares_by_age(res: ss.Results) -> None:
    table = res.cohort()
    assert list(table.columns) == ["age", "outcome", "mean", "sd", "n", "ci_low", "ci_high", "members", "count"]
    assert set(table["outcome"]) == set(_core.cohort_columns()[1:])
    assert sorted(set(table["age"])) == [14, 15, 16, 17]  # every age from youngest_age is observed to its end
    assert (table["mean"].between(0, 1)).all()
    assert (table["n"] == 3).all()
    contacted = table[table.outcome == "contacted"].set_index("age")
    exploited = table[table.outcome == "exploited"].set_index("age")
    # Fewer members are observed to the end of each later age; outcomes nest (exploited within contacted).
    assert contacted["members"].is_monotonic_decreasing
    assert (exploited["count"] <= contacted["count"]).all()
    assert contacted.loc[17, "mean"] > contacted.loc[14, "mean"] > 0


def test_ever_metrics_are_the_last_row_of_the_table(res: ss.Results) -> None:
    runs = res.runs
    eco = runs[runs.scope == "ecosystem"].set_index(["replicate", "metric"])["value"]
    columns = _core.cohort_columns()
    for rep, out in enumerate(res.outputs):
        last = np.asarray(out["cohort"])[17]
        assert eco[rep, "cohort_completed"] == last[0] > 0
        for outcome in ("contacted", "engaged", "solicited", "exploited", "accepted_stranger"):
            assert eco[rep, f"minors_{outcome}_ever"] == last[columns.index(outcome)], outcome
    # Platforms carry no *_ever (a lifetime is across platforms).
    main = runs[(runs.scope == "main") & runs.metric.str.endswith("_ever")]
    assert (main["value"] == 0).all()


def test_json_has_a_cohort_section_only_with_ageing(res: ss.Results) -> None:
    doc = res.to_json_dict()
    exploited = doc["cohort"]["exploited"]
    assert set(exploited) == {"14", "15", "16", "17"}
    assert exploited["17"]["members"] > 0
    assert 0 <= exploited["17"]["mean"] <= 1
    plain = ss.replicate(SMALL.set("population.ageing", False).set("horizon_days", 60), n=2)
    assert plain.cohort().empty
    assert "cohort" not in plain.to_json_dict()
    assert np.asarray(plain.outputs[0]["cohort"]).shape == (0, len(_core.cohort_columns()))


def test_cohort_survives_saving_and_resuming(tmp_path: Path) -> None:
    sc = SMALL.set("horizon_days", 800)
    first = ss.replicate(sc, n=2, out=tmp_path / "out", progress=False)
    again = ss.replicate(sc, n=2, out=tmp_path / "out", progress=False)
    assert again.loaded_runs == 2
    for a, b in zip(first.outputs, again.outputs, strict=True):
        np.testing.assert_array_equal(np.asarray(a["cohort"]), np.asarray(b["cohort"]))
    assert again.cohort().equals(first.cohort())


def test_cli_run_json_has_the_cohort() -> None:
    proc = subprocess.run(
        [
            sys.executable, "-m", "safesim", "run", "cohort", "--reps", "2", "--json",
            "--set", "population.users=2000", "--set", "population.youngest_age=16", "--set", "horizon_days=1000",
        ],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc["cohort"]["contacted"]) == {"16", "17"}
    assert doc["metrics"]["cohort_completed"]["mean"] > 0


def test_ageing_is_a_documented_key_off_by_default() -> None:
    assert ("population.ageing", "boolean", "", -np.inf, np.inf) in _core.parameters()
    row = next(line for line in _core.parameter_dictionary().splitlines() if "`population.ageing`" in line)
    assert "false" in row
    assert "docs/model/submodels/ageing.md" in row
