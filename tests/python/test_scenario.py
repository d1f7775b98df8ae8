"""Scenario values: immutable changes, resolution, errors from the C++ loader."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import yaml

import safesim
from safesim.scenario import yaml_scalar


def test_default_is_installed_baseline(baseline_path: Path) -> None:
    sc = safesim.Scenario.default()
    assert sc == safesim.Scenario.load(baseline_path)
    assert sc.hash == safesim.Scenario.load(baseline_path).hash
    assert sc.spec.platforms, "the baseline has platforms"


def test_set_returns_new_scenario() -> None:
    base = safesim.Scenario.default()
    changed = base.set("population.users", 1234)
    assert changed is not base
    assert changed.to_dict()["population"]["users"] == 1234
    assert base.to_dict()["population"]["users"] != 1234
    assert changed.spec.users == 1234
    assert changed.hash != base.hash


def test_set_values_of_each_type() -> None:
    sc = (
        safesim.Scenario.default()
        .set("population.minor_share", 0.25)
        .set("horizon_days", 30)
        .set("description", "a: tricky string")
    )
    d = sc.to_dict()
    assert d["population"]["minor_share"] == pytest.approx(0.25)
    assert d["horizon_days"] == 30
    assert d["description"] == "a: tricky string"


def test_with_policy_records_bundle() -> None:
    base = safesim.Scenario.default()
    with_bundle = base.with_policy("industry_teen_accounts")
    assert with_bundle.policies == ("industry_teen_accounts",)
    assert base.policies == ()
    assert "industry_teen_accounts" in with_bundle.spec.policies
    assert with_bundle.hash != base.hash


def test_unknown_policy_is_scenario_error() -> None:
    with pytest.raises(safesim.ScenarioError):
        _ = safesim.Scenario.default().with_policy("no_such_bundle_xyz").spec


def test_copy_is_equal_and_independent() -> None:
    base = safesim.Scenario.default().set("horizon_days", 40)
    dup = base.copy()
    assert dup == base
    assert dup is not base
    assert dup.hash == base.hash
    assert dup.set("horizon_days", 41) != base


def test_to_dict_round_trip(tmp_path: Path) -> None:
    sc = safesim.Scenario.default().set("population.users", 3000).with_policy("industry_teen_accounts")
    d = sc.to_dict()
    assert d["name"] == sc.name
    # The dump is a complete scenario: loading it back gives the same resolved scenario.
    path = tmp_path / "resolved.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    again = safesim.Scenario.load(path)
    assert again.to_dict() == d
    text_again = safesim.Scenario.from_text(sc.dump(), name=str(tmp_path / "text.yaml"))
    assert text_again.hash == sc.hash


def test_scenario_error_attributes(bad_scenario: Path) -> None:
    with pytest.raises(safesim.ScenarioError) as info:
        _ = safesim.Scenario.load(bad_scenario).spec
    err = info.value
    assert isinstance(err, ValueError)
    assert err.file.endswith("bad.yaml")
    assert err.line == 3
    assert err.column >= 1
    assert "populaton" in err.key_path
    assert err.message
    assert "\n" not in str(err)
    assert str(err).startswith(err.file)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.file, copy.line, copy.key_path, str(copy)) == (err.file, err.line, err.key_path, str(err))


def test_override_error_names_key() -> None:
    with pytest.raises(safesim.ScenarioError) as info:
        _ = safesim.Scenario.default().set("population.minor_share", 2.0).spec
    assert "population.minor_share" in info.value.key_path


def test_missing_file_is_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(safesim.ScenarioError) as info:
        safesim.Scenario.load(tmp_path / "missing.yaml")
    assert info.value.file.endswith("missing.yaml")


@pytest.mark.parametrize(
    ("value", "text"),
    [(True, "true"), (False, "false"), (None, "null"), (3, "3"), (0.5, "0.5"), ("open", "open"), ("true", "'true'")],
)
def test_yaml_scalar(value: object, text: str) -> None:
    assert yaml_scalar(value) == text
    assert yaml.safe_load(text) == value


def test_bare_installed_name_works_in_the_constructor_too() -> None:
    sc = safesim.Scenario("baseline")
    assert sc.spec.name == "baseline"
    assert sc == safesim.Scenario.load("baseline")
    with pytest.raises(safesim.ScenarioError, match="no_such_scenario"):
        _ = safesim.Scenario("no_such_scenario").spec


def test_plan_files_are_not_listed_as_installed_scenarios() -> None:
    names = safesim.installed_scenarios()
    assert "baseline" in names
    assert "risk_assessment" in names
    assert "sensitivity_offenders" not in names
    assert "calibration_baseline" not in names
