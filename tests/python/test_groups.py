"""Results by age band and gender (safesim.groups): the groups add up to the
totals, bands are read and checked, and the groups survive saving and resuming."""

from __future__ import annotations

import numpy as np
import pytest

import safesim as ss
from safesim import _core
from safesim.groups import GENDERS, parse_bands

SMALL = ss.Scenario.load("baseline").set("population.users", 4000).set("horizon_days", 60)


@pytest.fixture(scope="module")
def res() -> ss.Results:
    return ss.replicate(SMALL, n=3)


def test_groups_add_up_to_the_totals(res: ss.Results) -> None:
    groups = res.groups
    runs = res.runs
    for metric in _core.group_metrics():
        got = groups[groups.metric == metric].groupby(["replicate", "scope"])["value"].sum()
        want = runs[runs.metric == metric].set_index(["replicate", "scope"])["value"]
        want = want.loc[got.index]
        np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12, atol=1e-9, err_msg=metric)
    # The ecosystem's minors are the groups' minors.
    minors = groups[(groups.metric == "minors") & (groups.scope == "ecosystem")].groupby("replicate")["value"].sum()
    total = runs[(runs.metric == "minors") & (runs.scope == "ecosystem")].set_index("replicate")["value"]
    np.testing.assert_array_equal(minors.to_numpy(), total.loc[minors.index].to_numpy())


def test_summary_by_band_and_gender(res: ss.Results) -> None:
    bands = res.summary(by="age_band")
    assert list(bands["group"].cat.categories) == ["8-12", "13-15", "16-17"]
    eco = bands[bands.scope == "ecosystem"].set_index(["group", "metric"])["mean"]
    total = res.summary().set_index(["scope", "metric"])["mean"]
    assert eco.xs("minors_contacted", level="metric").sum() == pytest.approx(total["ecosystem", "minors_contacted"])
    # A band's rate is its count per 1,000 of its minors, replicate by replicate.
    g = res.groups[(res.groups.scope == "ecosystem") & (res.groups.age >= 13) & (res.groups.age <= 15)]
    per_rep = g.groupby(["replicate", "metric"])["value"].sum().unstack()
    rate = (1000 * per_rep["minors_contacted"] / per_rep["minors"]).mean()
    assert eco["13-15", "minors_contacted_per_1k"] == pytest.approx(rate)
    by_gender = res.summary(by="gender")
    assert set(by_gender["group"].astype(str)) == set(GENDERS)
    both = res.summary(by="age_band_gender")
    assert "13-15 boy" in set(both["group"].astype(str))
    with pytest.raises(ValueError, match="by must be one of"):
        res.summary(by="height")


def test_bands_from_the_call_and_the_scenario() -> None:
    assert parse_bands("9-12,13-15,16-17") == [(9, 12), (13, 15), (16, 17)]
    assert parse_bands(None, youngest=8) == [(8, 12), (13, 15), (16, 17)]
    with pytest.raises(ValueError, match="overlaps"):
        parse_bands("9-13,13-15")
    with pytest.raises(ValueError, match="LOW-HIGH"):
        parse_bands("teens")
    declared = ss.replicate(SMALL.set("population.age_bands", "10-13,14-17"), n=2)
    assert list(declared.summary(by="age_band")["group"].cat.categories) == ["10-13", "14-17"]
    with pytest.raises(ss.ScenarioError, match=r"population\.age_bands"):
        ss.run(SMALL.set("population.age_bands", "14-19"))


def test_json_has_groups_per_scope(res: ss.Results) -> None:
    d = res.to_json_dict()
    eco = d["groups"]["ecosystem"]
    assert set(eco) == {"age_band", "gender"}
    assert set(eco["gender"]) == set(GENDERS)
    assert {"mean", "ci_low", "ci_high"} <= set(eco["age_band"]["13-15"]["minors_contacted"])


def test_groups_survive_saving_and_resuming(tmp_path) -> None:
    first = ss.replicate(SMALL, n=2, out=tmp_path / "r")
    again = ss.replicate(SMALL, n=2, out=tmp_path / "r")
    assert again.loaded_runs == 2
    assert again.computed_runs == 0
    np.testing.assert_array_equal(first.groups["value"].to_numpy(), again.groups["value"].to_numpy())


def test_group_figure(res: ss.Results) -> None:
    import safesim.plotting as sp

    fig = sp.by_group(res, "minors_contacted_per_1k", by="gender")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == list(GENDERS)
