"""Common random numbers: how much pairing tightens a design comparison (safesim.crn)."""

from __future__ import annotations

import safesim as ss


def _small() -> ss.Scenario:
    return ss.Scenario("baseline").set("population.users", 3000).set("horizon_days", 120)


def test_pairing_divides_the_variance_of_effects() -> None:
    # Floors from a measured run of this fixed-seed scenario (30 seeds):
    # user_reports 55x, minors_contacted 2.5x, legit_contacts_blocked 2.7x
    # (before every count took one uniform: user_reports about 2x). Teen
    # accounts halve minors_contacted, which caps its ratio near 5 for
    # any coupling (see docs/how-to/compare-designs.md, "Common random numbers").
    base = _small()
    table = ss.variance_reduction(base, base.with_policy("industry_teen_accounts"), n=30, seed=7).set_index("metric")
    assert table.loc["user_reports", "reduction"] >= 10
    assert table.loc["minors_contacted", "reduction"] >= 2.0
    assert table.loc["legit_contacts_blocked", "reduction"] >= 1.5
    assert (table["var_paired"] >= 0).all()


def test_a_change_with_no_effect_leaves_every_output_bit_identical() -> None:
    base = _small()
    same = base.set("platforms.main.controls.review.sla_hours", 0)  # its default: no SLA
    a = ss.replicate(base, n=3, seed=11, progress=False)
    b = ss.replicate(same, n=3, seed=11, progress=False)
    assert a.hashes == b.hashes


def test_a_count_drawn_after_a_changed_one_stays_where_it_was() -> None:
    # Every count takes one uniform: disabling DMs changes how many legitimate
    # contacts are blocked, but not the benign reports drawn after them on the
    # same stream (user reports other than child-safety ones).
    base = _small()
    bands = ("under_13", "under_16", "under_18")
    strict = base.set_many({f"platforms.main.controls.dm_policy.{b}": "disabled" for b in bands})

    def totals(sc: ss.Scenario, metric: str):
        runs = ss.replicate(sc, n=3, seed=5, progress=False).runs
        return runs[(runs["scope"] == "main") & (runs["metric"] == metric)]["value"].to_numpy()

    assert (totals(strict, "legit_contacts_blocked") > totals(base, "legit_contacts_blocked")).all()
    benign_a = totals(base, "user_reports") - totals(base, "child_safety_reports")
    benign_b = totals(strict, "user_reports") - totals(strict, "child_safety_reports")
    assert (benign_a == benign_b).all()
