"""Peer perpetrators from Python (offenders.peer, docs/model/submodels/offenders.md): the keys load
and are checked, the oracle takes the type, and the adult-offender and all-perpetrator measures reach
the results apart, by age band too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SMALL_ARGS, run_cli

import safesim as ss
from safesim import _core
from safesim.analytic import OFFENDER_TYPES

SMALL = (
    ss.Scenario.load("baseline")
    .set("population.users", 4000)
    .set("horizon_days", 60)
    .set("offenders.peer_share", 0.03)
    .set("offenders.peer.contacts_per_day", 0.5)
)
ANY = {
    "minors_contacted_any": "minors_contacted",
    "minors_solicited_any": "minors_solicited",
    "minors_exploited_any": "minors_exploited",
    "minors_images_obtained_any": "minors_images_obtained",
    "minors_sextorted_any": "minors_sextorted",
    "minors_met_offline_any": "minors_met_offline",
}
#: The kinds of exploitation by any perpetrator; minors_exploited_any is their union.
KINDS_ANY = ["minors_images_obtained_any", "minors_sextorted_any", "minors_met_offline_any"]
NEW = [*ANY, "peer_contact_attempts", "peer_dyads_opened", "peer_exposure_days"]


@pytest.fixture(scope="module")
def res() -> ss.Results:
    return ss.replicate(SMALL, n=2)


def test_new_metrics_are_in_the_dictionary_and_the_groups() -> None:
    names = {name: unit for name, _kind, unit, _meaning in ss.metrics()}
    groups = set(_core.group_metrics())
    for m in NEW:
        assert m in names, m
        assert m in groups, m
    assert names["minors_contacted_any"] == "minors"


def test_all_perpetrator_counts_hold_the_adult_ones(res: ss.Results) -> None:
    eco = res.summary().query("scope == 'ecosystem'").set_index("metric")["mean"]
    assert eco["peer_contact_attempts"] > 0
    assert eco["peer_dyads_opened"] > 0
    for any_metric, adult in ANY.items():
        assert eco[any_metric] >= eco[adult], any_metric
    # Peers reach minors adult offenders did not.
    assert eco["minors_contacted_any"] > eco["minors_contacted"]
    bands = res.summary(by="age_band").query("scope == 'ecosystem' and metric == 'minors_contacted_any'")
    assert bands["mean"].sum() == pytest.approx(eco["minors_contacted_any"])


def test_exploited_by_anyone_is_the_union_of_its_kinds(res: ss.Results) -> None:
    # Each run, each scope: max of the kinds <= the union <= their sum.
    runs = res.runs
    wide = runs[runs["metric"].isin([*KINDS_ANY, "minors_exploited_any"])].pivot_table(
        index=["replicate", "scope"], columns="metric", values="value", observed=True
    )
    assert len(wide) == 2 * (1 + len(res.platforms))
    kinds = wide[KINDS_ANY]
    assert (kinds.max(axis=1) <= wide["minors_exploited_any"]).all()
    assert (wide["minors_exploited_any"] <= kinds.sum(axis=1)).all()
    assert wide["minors_exploited_any"].sum() > 0, "peers and adults should exploit someone in the runs"


def test_kinds_by_anyone_reach_results_and_json(res: ss.Results) -> None:
    # In every scope's JSON metrics and in the age-band and gender groups.
    doc = res.to_json_dict()
    scopes = [doc["metrics"], *(p["metrics"] for p in doc["platforms"].values())]
    bands = doc["groups"]["ecosystem"]["age_band"]
    for name in KINDS_ANY:
        for metrics in scopes:
            assert metrics[name]["mean"] is not None, name
        assert all(name in band for band in bands.values()), name
        by_band = res.summary(by="age_band").query("scope == 'ecosystem' and metric == @name")
        assert by_band["mean"].sum() == pytest.approx(doc["metrics"][name]["mean"])


def test_kinds_by_anyone_in_the_cli_json() -> None:
    proc = run_cli("run", "baseline", "--reps", "1", "--json", *SMALL_ARGS)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    for name in KINDS_ANY:
        assert name in doc["metrics"], name
        assert all(name in g for g in doc["groups"]["ecosystem"]["gender"].values()), name


def test_oracle_takes_the_peer_type() -> None:
    sc = ss.Scenario.default()
    assert OFFENDER_TYPES.index("peer") == 3
    o = ss.oracle(sc, offender_type="peer")
    first = (
        o["exploited"]
        + o["reported_before_exploitation"]
        + o["exited_before_exploitation"]
        + o["detected_before_exploitation"]
    )
    assert first == pytest.approx(1.0, abs=1e-9)
    assert o == ss.oracle(sc, offender_type=3)
    assert o["exploited"] != ss.oracle(sc, offender_type="groomer")["exploited"]


def test_peer_ages_out_of_order_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "peers.yaml"
    path.write_text("name: peers\noffenders:\n  peer_share: 0.01\n  peer_age_min: 20\n  peer_age_max: 15\n")
    with pytest.raises(ss.ScenarioError) as info:
        _ = ss.Scenario.load(path).spec
    err = info.value
    assert err.key_path.startswith("offenders.peer_age_m")
    assert err.line in (4, 5)
    assert "peer_age_min (20) must not exceed peer_age_max (15)" in str(err)
    assert "\n" not in str(err)
