"""Plan files in the library (safesim.plans): what `safesim sweep/sensitivity/calibrate` run, from Python."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO

import safesim as ss
from safesim.plans import check_file, load_plan

STEPS = "platforms.main.controls.reporting.steps"


def test_the_shipped_plans_are_recognised_and_check_out() -> None:
    sens = load_plan(REPO / "scenarios" / "sensitivity_offenders.yaml")
    cal = load_plan(REPO / "scenarios" / "calibration_baseline.yaml")
    assert (sens.kind, cal.kind) == ("sensitivity", "calibration")
    assert sens.settings()["method"] == "morris"
    assert sens.settings(reps=2, n=None)["reps"] == 2  # None keeps the file's value
    assert sens.settings(n=None)["n"] == sens.data["n"]
    sens.check()
    cal.check()


def test_a_sweep_plan_runs_as_the_sweep_it_describes(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "scenario": "baseline",
                "set": {"population.users": 1500, "horizon_days": 30},
                "reps": 2,
                "grid": {STEPS: [1, 9]},
            }
        )
    )
    plan = load_plan(path)
    assert plan.kind == "sweep"
    sw = plan.run(ss.RunOptions(progress=False), reps=1)
    base = ss.Scenario.load("baseline").set_many({"population.users": 1500, "horizon_days": 30})
    direct = ss.sweep(base, {STEPS: [1, 9]}, n=1, progress=False)
    assert sw.reps == 1
    pd.testing.assert_frame_equal(sw.summary(), direct.summary())
    # --set on top of the plan's own set
    assert plan.scenario([("horizon_days", "20")]).to_dict()["horizon_days"] == 20


@pytest.mark.parametrize(
    ("kind", "doc", "message"),
    [
        ("sweep", {"scenario": "baseline", "gird": {STEPS: [1]}}, "gird: unknown key (did you mean 'grid'?)"),
        (None, {"scenario": "baseline", "grid": {STEPS: [1]}, "samples": [{STEPS: 1}]}, "give exactly one of 'grid'"),
        (None, {"scenario": "baseline", "grid": {STEPS: 3}}, f"grid.{STEPS}: expected a non-empty list of values"),
        (None, {"scenario": "baseline", "parameters": {}}, "parameters: expected a mapping {key.path: [low, high]}"),
        (None, {"scenario": "baseline", "parameters": {STEPS: [0, 9]}}, f"{STEPS}: range (0, 9) is outside the key's"),
        (None, {"scenario": "baseline"}, "not a plan"),
        ("calibration", {"scenario": "baseline", "parameters": {STEPS: [1, 9]}}, "missing 'targets'"),
    ],
)
def test_plan_problems_are_one_plan_error_naming_the_file(
    tmp_path: Path, kind: str | None, doc: dict, message: str
) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ss.PlanError) as err:
        load_plan(path, kind).check()
    assert re.match(rf"{re.escape(str(path))}:[0-9]+:[0-9]+: ", str(err.value))  # file, line and column
    assert message in str(err.value)
    assert str(err.value).count(str(path)) == 1


def test_check_file_tells_scenarios_bundles_and_plans_apart(tmp_path: Path) -> None:
    check_file(REPO / "scenarios" / "baseline.yaml")
    check_file(REPO / "scenarios" / "policies" / "industry_teen_accounts.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"scenario": "baseline", "parameters": {STEPS: [0, 9]}}))
    with pytest.raises(ss.PlanError, match="outside the key's bounds"):
        check_file(bad)
    with pytest.raises(ss.ScenarioError):
        check_file(tmp_path / "missing.yaml")
