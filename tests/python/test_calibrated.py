"""Calibrated scenarios: the emitted scenario loads and lies in the region, a synthetic truth is recovered
through it, calibrate --emit, and the shipped scenarios/calibrated/ files agree with their record."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, run_cli

import safesim as ss
from safesim.ensemble import chosen_point, emit_calibrated, region, sample_ensemble

SHARE = "offenders.share_of_adults"
DYADS = "offenders.groomer.max_open_dyads"
TRUTH = 0.008
SHIPPED = REPO / "scenarios" / "calibrated"


@pytest.fixture(scope="module")
def small_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small scenario file with a known share of offending adults (the truth)."""
    folder = tmp_path_factory.mktemp("small")
    path = folder / "small.yaml"
    path.write_text(
        f"name: small\nextends: {(REPO / 'scenarios' / 'baseline.yaml').as_posix()}\n"
        f"horizon_days: 60\npopulation:\n  users: 2000\noffenders:\n  share_of_adults: {TRUTH}\n"
    )
    return path


@pytest.fixture(scope="module")
def targets_file(small_file: Path) -> Path:
    """A fit target made from the truth's own runs, on seeds the calibration does not use."""
    res = ss.replicate(ss.Scenario.load(small_file), n=10, seed=100)
    s = res.summary()
    row = s[(s.scope == "ecosystem") & (s.metric == "minors_contacted_per_1k")].iloc[0]
    path = small_file.parent / "targets.yaml"
    path.write_text(
        f"""targets:
  - name: contacted_share
    value: {float(row["mean"]) / 1000}
    sd: {float(row["sd"]) / 1000}
    source: synthetic truth
    metric: minors_contacted / minors
    mapping: the model itself
    used_for: fit
"""
    )
    return path


@pytest.fixture(scope="module")
def calibration(small_file: Path, targets_file: Path) -> ss.CalibrationResults:
    params = {SHARE: {"range": [0.001, 0.06], "log": True}, DYADS: [2, 8]}
    return ss.calibrate(ss.Scenario.load(small_file), params, targets_file, n=16, reps=3, waves=2, seed=1)


def test_the_emitted_scenario_loads_extends_and_lies_in_the_region(
    calibration: ss.CalibrationResults, small_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "calibrated"
    written = emit_calibrated(calibration, out, name="small", k=5, command="pytest", commit="abc123")
    text = written["scenario"].read_text()
    data = yaml.safe_load(text)
    assert not Path(data["extends"]).is_absolute()
    assert (out / data["extends"]).resolve() == small_file.resolve()
    assert set(data) == {"name", "extends", "offenders"}  # the fitted keys only
    assert data["name"] == "small_calibrated"
    assert "commit abc123" in text
    assert "Made by: pytest" in text
    emitted = ss.Scenario.load(written["scenario"])
    base = ss.Scenario.load(small_file)
    assert set(emitted.diff(base)) <= {"name", SHARE, DYADS}
    value = float(emitted.to_dict()["offenders"]["share_of_adults"])
    dyads = int(emitted.to_dict()["offenders"]["groomer"]["max_open_dyads"])
    chosen, _ = chosen_point(calibration)
    assert value == float(chosen[SHARE])
    assert dyads == int(chosen[DYADS])
    assert bool(chosen["non_implausible"])
    bounds = region(calibration)["bounds"]
    assert bounds[SHARE]["low"] <= value <= bounds[SHARE]["high"]
    assert bounds[DYADS]["low"] <= dyads <= bounds[DYADS]["high"]
    # the same values resolve to the same scenario as setting them on the base
    assert emitted.hash == base.set(SHARE, value).set(DYADS, dyads).set("name", "small_calibrated").hash
    rec = json.loads(written["record"].read_text())
    assert rec["chosen"]["values"] == {SHARE: value, DYADS: dyads}
    assert rec["commit"] == "abc123"
    assert rec["region"]["volume_share"]["estimate"] is not None
    assert rec["emulator_diagnostics"] == []  # no emulators in this calibration
    ens = ss.load_ensemble(written["ensemble"])
    assert len(ens) == 5
    assert ens.keys == [SHARE, DYADS]
    judged = calibration.points.set_index("point")
    for point in ens.sets["point"]:
        assert bool(judged.loc[int(point), "non_implausible"])


def test_a_synthetic_truth_is_recovered_through_the_emitted_scenario(
    calibration: ss.CalibrationResults, targets_file: Path, tmp_path: Path
) -> None:
    bounds = region(calibration)["bounds"][SHARE]
    assert bounds["low"] < TRUTH < bounds["high"]
    assert bounds["high"] < 0.06  # a wrong region (many more offenders) is ruled out
    written = emit_calibrated(calibration, tmp_path, name="small", k=3, commit="x")
    check = ss.check_targets(written["scenario"], targets_file, n=6, seed=200)
    table = check.table()
    assert table["verdict"].tolist() == ["within"]
    # the emitted value is within a factor of two of the truth the targets came from
    value = float(ss.Scenario.load(written["scenario"]).to_dict()["offenders"]["share_of_adults"])
    assert TRUTH / 2 < value < TRUTH * 2


def test_ensemble_sampling_is_seeded_and_without_replacement(calibration: ss.CalibrationResults) -> None:
    a, b = sample_ensemble(calibration, 6), sample_ensemble(calibration, 6)
    pd.testing.assert_frame_equal(a.sets, b.sets)
    assert a.sets["point"].is_unique
    many = sample_ensemble(calibration, 10_000)
    assert len(many) == int(calibration.points["non_implausible"].sum())
    assert "fewer sets than" in many.header[-1]


def test_cli_calibrate_emit(small_file: Path, targets_file: Path, tmp_path: Path) -> None:
    plan = {
        "scenario": str(small_file),
        "set": {"horizon_days": 50},
        "n": 6,
        "reps": 2,
        "targets": str(targets_file),
        "parameters": {SHARE: {"range": [0.002, 0.03], "log": True}},
    }
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan))
    out = tmp_path / "emitted"
    proc = run_cli("calibrate", path, "--emit", out, "--ensemble-size", "3", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    name = "small"
    for suffix in (".yaml", ".ensemble.csv", ".record.json", ".points.csv"):
        assert (out / f"{name}{suffix}").is_file(), suffix
        assert f"wrote {out / (name + suffix)}" in proc.stdout
    data = yaml.safe_load((out / "small.yaml").read_text())
    assert data["horizon_days"] == 50  # the plan's set: is carried into the calibrated scenario
    assert "safesim calibrate" in (out / "small.yaml").read_text()
    assert int(ss.Scenario.load(out / "small.yaml").spec.horizon_days) == 50


# ------------------------------------------------------------------ the shipped files
def test_shipped_calibrated_scenarios_agree_with_their_record() -> None:
    plan = yaml.safe_load((SHIPPED / "plan.yaml").read_text())
    keys = list(plan["parameters"])
    targets = ss.load_targets(REPO / "scenarios" / "targets" / "open.yaml")
    fitted = {t.name for t in targets.fitted()}
    # Each calibrated scenario (the ecosystem is calibrated directly) sits at its own record's chosen
    # point, inside its own non-implausible bounds, fitted to the fitted targets only.
    for name, parent in (("baseline", "baseline"), ("ecosystem_us", "ecosystem_us")):
        rec = json.loads((SHIPPED / f"{name}.record.json").read_text())
        assert {t["name"] for t in rec["provenance"]["targets"]} == fitted  # never a compared-only figure
        points = pd.read_csv(SHIPPED / f"{name}.points.csv")
        ok = points[points["non_implausible"]]
        assert len(ok) == rec["non_implausible"]
        # the chosen point is the best fit of the region (or of every point when none is non-implausible)
        best = (ok if len(ok) else points)["max_implausibility"].min()
        assert rec["chosen"]["max_implausibility"] == pytest.approx(best), name
        data = yaml.safe_load((SHIPPED / f"{name}.yaml").read_text())
        assert data["extends"] == f"../{parent}.yaml"
        assert data["name"] == f"{parent}_calibrated"
        sc = ss.Scenario.load(SHIPPED / f"{name}.yaml")
        flat = sc.to_dict()
        for key in keys:
            node = flat
            for part in key.split("."):
                node = node[part]
            assert node == pytest.approx(rec["chosen"]["values"][key]), (name, key)
            b = rec["region"]["bounds"][key]
            assert b["low"] <= node <= b["high"], (name, key)
    record_md = (SHIPPED / "RECORD.md").read_text()
    assert "python docs/figures/calibrate_shipped.py" in record_md.split("## Plan")[0]
    for name in ("baseline", "ecosystem_us"):
        ens = ss.load_ensemble(SHIPPED / f"{name}.ensemble.csv")
        assert ens.keys == keys
        assert len(ens) >= 2
        for key in keys:
            lo, hi = (
                plan["parameters"][key]["range"]
                if isinstance(plan["parameters"][key], dict)
                else plan["parameters"][key]
            )
            assert np.all((ens.sets[key] >= lo) & (ens.sets[key] <= hi)), (name, key)
