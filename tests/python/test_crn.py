"""Common random numbers: how much pairing tightens a design comparison (safesim.crn, ``safesim crn``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, SMALL_ARGS, run_cli, small

import safesim as ss
from safesim.crn import INDEPENDENT_SEED_OFFSET, crn_table, shipped_bundles
from safesim.io import json_records


def _small() -> ss.Scenario:
    return ss.Scenario("baseline").set("population.users", 3000).set("horizon_days", 120)


def test_pairing_divides_the_variance_of_effects() -> None:
    # Floors from a measured run of this fixed-seed scenario (30 seeds), on the
    # engine with warm-up, offender replacement, one tie per pair and target
    # memory: user_reports 29.7x, minors_contacted 2.31x, legit_contacts_blocked
    # 3.29x (before every count took one uniform: user_reports about 2x). Teen
    # accounts halve minors_contacted, which caps its ratio near 5 for any
    # coupling (docs/results.md, "Common random numbers"; here the ceiling from
    # the two arms' spreads is 3.5).
    base = _small()
    table = ss.variance_reduction(base, base.with_policy("industry_teen_accounts"), n=30, seed=7).set_index("metric")
    assert table.loc["user_reports", "reduction"] >= 10
    assert table.loc["minors_contacted", "reduction"] >= 2.0
    assert table.loc["legit_contacts_blocked", "reduction"] >= 1.5
    # A share undefined in some runs (no child-safety report in a small run:
    # child_safety_report_action_share) has no variance: NaN, not negative.
    assert (table["var_paired"].dropna() >= 0).all()


def test_the_ratios_are_what_their_definitions_give_on_the_runs_themselves() -> None:
    # Recomputed here from plain replicate() calls: paired on seeds 7..14, the
    # unpaired variance from the variant on seeds 7 + 10^6 .. 14 + 10^6.
    base = small(ss.Scenario.default())
    teen = base.with_policy("industry_teen_accounts")
    table = ss.variance_reduction(base, teen, n=8, seed=7).set_index("metric")

    def totals(sc: ss.Scenario, seed: int) -> pd.DataFrame:
        runs = ss.replicate(sc, n=8, seed=seed, progress=False).runs
        runs = runs[runs["scope"] == "ecosystem"]
        return runs.pivot(index="replicate", columns="metric", values="value")

    a, b, b_ind = totals(base, 7), totals(teen, 7), totals(teen, 7 + INDEPENDENT_SEED_OFFSET)
    for m in ["minors_contacted", "user_reports", "legit_contacts_blocked"]:
        row = table.loc[m]
        var_paired = np.var(b[m] - a[m], ddof=1)
        var_independent = np.var(a[m], ddof=1) + np.var(b_ind[m], ddof=1)
        assert row["effect"] == pytest.approx((b[m] - a[m]).mean(), rel=1e-12)
        assert row["var_paired"] == pytest.approx(var_paired, rel=1e-12)
        assert row["var_independent"] == pytest.approx(var_independent, rel=1e-12)
        assert row["reduction"] == pytest.approx(var_independent / var_paired, rel=1e-12)
        assert row["saved"] == pytest.approx(1 - var_paired / var_independent, rel=1e-12)
        sd_gap = np.std(a[m], ddof=1) - np.std(b[m], ddof=1)
        assert row["ceiling"] == pytest.approx(var_independent / sd_gap**2, rel=1e-12)
    # No pairing of these samples beats perfect correlation (Cauchy-Schwarz).
    assert (table["reduction"] <= table["ceiling"] * (1 + 1e-12)).all()


def test_the_command_prints_what_variance_reduction_computes(tmp_path: Path) -> None:
    args = ["--policy", "industry_teen_accounts", "--reps", "8", "--seed", "7"]
    proc = run_cli("crn", "baseline", *SMALL_ARGS, *args, "--json", "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    base = small(ss.Scenario("baseline"))
    expected = ss.variance_reduction(base, base.with_policy("industry_teen_accounts"), n=8, seed=7)
    got = pd.DataFrame(doc["rows"])
    assert list(got["variant"].unique()) == ["industry_teen_accounts"]
    assert json_records(got.drop(columns="variant")) == json_records(expected)
    assert (doc["seeds"], doc["replicates"], doc["scope"]) == ([7, 14], 8, "ecosystem")
    # The files --out wrote hold the same table; every run is kept (A, B, B on independent seeds).
    assert json.loads((tmp_path / "out" / "crn.json").read_text())["rows"] == doc["rows"]
    assert len(list((tmp_path / "out" / "runs").glob("*.json"))) == 3 * 8
    # The text table shows the same ratios, one row per metric.
    text = run_cli("crn", "baseline", *SMALL_ARGS, *args, "--metric", "user_reports", "--out", tmp_path / "out")
    assert text.returncode == 0, text.stderr
    row = next(line.split() for line in text.stdout.splitlines() if line.strip().startswith("user_reports"))
    ratio = expected.set_index("metric").loc["user_reports", "reduction"]
    assert row[4] == (f"{ratio:,.0f}" if ratio >= 100 else f"{ratio:.3g}")
    low, high = expected.set_index("metric").loc["user_reports", ["reduction_low", "reduction_high"]]
    assert low <= ratio <= high
    assert row[8] == f"{1 - 1 / ratio:.0%}"
    assert row[9] == f"{round(8 * ratio):,}"
    assert "baseline + industry_teen_accounts" in text.stdout


def test_without_policy_every_shipped_bundle_is_compared() -> None:
    proc = run_cli("crn", "baseline", *SMALL_ARGS, "--reps", "3", "--metric", "minors_contacted", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["rows"]
    shipped = sorted(p.stem for p in (REPO / "scenarios" / "policies").glob("*.yaml"))
    assert shipped_bundles() == shipped
    assert len(shipped) >= 5
    # A bundle whose paired differences all vanish would still be listed (ratio inf, shown as null).
    assert sorted({r["variant"] for r in rows}) == shipped


def test_several_variants_share_the_reference_runs() -> None:
    base = small(ss.Scenario.default())
    names = ["industry_teen_accounts", "mandatory_detection"]
    table = crn_table(base, {n: base.with_policy(n) for n in names}, n=4, seed=3, metrics=["minors_contacted"])
    for n in names:
        alone = ss.variance_reduction(base, base.with_policy(n), n=4, seed=3, metrics=["minors_contacted"])
        got = table[table["variant"] == n].drop(columns="variant").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, alone)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            ["--policy", "industry_teen_acounts"],
            "--policy 'industry_teen_acounts': unknown policy bundle (did you mean",
        ),
        (["--metric", "minors_contacted_total"], "--metric 'minors_contacted_total': unknown metric"),
        (["--reps", "1"], "--reps: 1 is out of range (2 to"),
        (["--scope", "mian"], "--scope 'mian': not a platform of baseline (did you mean 'main'?)"),
        (["--set", "population.users=-4"], "population.users: must not be negative"),
    ],
)
def test_bad_input_is_one_clear_line(args: list[str], fragment: str) -> None:
    proc = run_cli("crn", "baseline", *SMALL_ARGS, "--reps", "3", *args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert fragment in lines[0]


def test_the_command_has_help() -> None:
    proc = run_cli("crn", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "usage: safesim crn" in proc.stdout
    assert "crn" in run_cli("--help").stdout


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
