"""Operators in the Python layer: the operator scope of Results, --json, saved runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SMALL_ARGS, run_cli, small

import safesim
from safesim import _core

TWO_COMPANIES = """
name: two_companies
population: {users: 3000}
horizon_days: 60
offenders: {share_of_adults: 0.01}
platforms:
  social: {user_share: 0.8, controls: {hash_matching: {enabled: true}}}
  photos: {user_share: 0.6}
  chat: {kind: messaging, user_share: 0.5}
  games: {kind: gaming, user_share: 0.3}
operators:
  big_co:
    platforms: [social, photos, chat]
    enforcement_reach: 1.0
"""


@pytest.fixture(scope="module")
def company_results() -> safesim.Results:
    return safesim.replicate(safesim.Scenario.from_text(TWO_COMPANIES), n=3, threads=2)


def test_spec_lists_every_operator() -> None:
    spec = safesim.Scenario.from_text(TWO_COMPANIES).spec
    assert spec.operators == [("big_co", ["social", "photos", "chat"]), ("games", ["games"])]
    assert safesim.Scenario.default().spec.operators == [("main", ["main"])]


def test_core_run_dict_has_operator_arrays() -> None:
    sc = safesim.Scenario.from_text(TWO_COMPANIES)
    out = _core.run(sc.spec, 3)
    n = len(safesim.metrics())
    assert out["operators"] == ["big_co"]
    assert out["operator_totals"].shape == (1, n)
    assert out["operator_daily"].shape == (1, 60, n)
    plain = _core.run(small(safesim.Scenario.default()).spec, 3)
    assert plain["operators"] == []
    assert plain["operator_totals"].shape == (0, n)


def test_operator_summary_sums_flows_and_keeps_singletons(company_results: safesim.Results) -> None:
    res = company_results
    assert res.operators == {"big_co": ["social", "photos", "chat"], "games": ["games"]}
    plat = res.runs.pivot_table(index=["replicate", "metric"], columns="scope", values="value", observed=True)
    ops = res.operator_runs.pivot_table(index=["replicate", "metric"], columns="scope", values="value", observed=True)
    kinds = {name: kind for name, kind, _unit, _meaning in _core.metrics()}
    for metric in ("clearinghouse_reports", "offenders_banned", "user_reports", "review_hours", "material_copies"):
        assert kinds[metric] == "flow"
        for rep in range(3):
            members = plat.loc[(rep, metric), ["social", "photos", "chat"]].sum()
            assert ops.loc[(rep, metric), "big_co"] == pytest.approx(members, rel=1e-12, abs=1e-12)
    # A platform of its own: its operator figures are its platform figures, exactly.
    np.testing.assert_array_equal(ops["games"].to_numpy(), plat["games"].to_numpy())
    np.testing.assert_array_equal(ops["ecosystem"].to_numpy(), plat["ecosystem"].to_numpy())
    summary = res.summary(level="operator")
    assert set(summary["scope"].astype(str)) == {"ecosystem", "big_co", "games"}
    view = res.transparency(level="operator")
    assert set(view["scope"].astype(str)) == {"big_co", "games"}
    assert {"published", "ground truth"} == set(view["view"].astype(str))
    with pytest.raises(ValueError, match="level must be"):
        res.summary(level="company")


def test_json_has_operators_section(company_results: safesim.Results) -> None:
    doc = company_results.to_json_dict()
    assert list(doc["operators"]) == ["big_co", "games"]
    assert doc["operators"]["big_co"]["platforms"] == ["social", "photos", "chat"]
    assert doc["operators"]["games"]["metrics"] == doc["platforms"]["games"]["metrics"]
    assert set(doc["operators"]["big_co"]["metrics"]) == set(doc["platforms"]["social"]["metrics"])


def test_cli_json_operators_without_declared_operators() -> None:
    proc = run_cli("run", "baseline", "--reps", "2", "--json", *SMALL_ARGS)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert list(doc["operators"]) == list(doc["platforms"])
    for name, entry in doc["operators"].items():
        assert entry["platforms"] == [name]
        assert entry["metrics"] == doc["platforms"][name]["metrics"]


def test_saved_runs_keep_operator_scopes(tmp_path: Path) -> None:
    sc = safesim.Scenario.from_text(TWO_COMPANIES)
    first = safesim.replicate(sc, n=2, threads=1, out=tmp_path)
    again = safesim.replicate(sc, n=2, threads=1, out=tmp_path)
    assert again.loaded_runs == 2
    np.testing.assert_array_equal(first.operator_runs["value"].to_numpy(), again.operator_runs["value"].to_numpy())
