"""The Markdown tables of docs/results.md for the shipped bundles against the baseline: what each
prevents, and both sides (what it prevents and what it costs in privacy and wrongful actions).

    python docs/figures/bundle_tables.py     # prints both tables (20 common seeds, about a minute)

On the calibrated baseline with ensemble intervals (issue 15, item 6): every bundle compared at each
of the ensemble's parameter sets, the interval combining parameter and stochastic uncertainty
(docs/how-to/calibrate.md), the between-set sd after it:

    python docs/figures/bundle_tables.py --scenario scenarios/calibrated/baseline.yaml \
        --ensemble scenarios/calibrated/baseline.ensemble.csv --reps 10

Cells are bundle - baseline with the 95% t-interval of the paired differences, "0" when every
paired difference is zero; the baseline's mean is in each column's heading.
"""

from __future__ import annotations

import argparse
import math

import safesim as ss

RISK = ["uk_osa_illegal_content_codes", "uk_osa_protection_of_children_codes", "eu_csar_council_2025"]
ORDER = [
    "industry_teen_accounts",
    "uk_osa_illegal_content_codes",
    "uk_osa_illegal_content_codes (risk found)",
    "eu_dsa_art28_guidelines",
    "uk_osa_protection_of_children_codes",
    "uk_osa_protection_of_children_codes (risk found)",
    "eu_csar_council_2025",
    "eu_csar_council_2025 (risk found)",
    "mandatory_detection",
    "voluntary_baseline",
    "us_2258a_report_act",
    "au_online_safety_standards",
    "au_social_media_minimum_age",
]
PREVENTS = ["minors_contacted_per_1k", "minors_exploited_per_1k", "legit_contacts_blocked"]
BOTH = [
    "minors_exploited_per_1k",
    "legit_contacts_blocked",
    "private_items_scanned",
    "benign_private_items_reviewed",
    "users_private_content_reviewed",
    "minors_wrongly_actioned",
    "accounts_wrongly_banned",
    "clearinghouse_reports_benign",
]


def num(x: float, signed: bool = True) -> str:
    """A figure in the tables' style: three significant digits, thousands separated, U+2212 minus."""
    if x == 0:
        return "0"
    mag = abs(x)
    digits = max(0, 2 - math.floor(math.log10(mag))) if mag < 1000 else 0
    text = f"{mag:,.{digits}f}" if mag < 1000 else f"{round(mag, -math.floor(math.log10(mag)) + 3):,.0f}"
    sign = ("+" if x > 0 else "\u2212") if signed else ("" if x > 0 else "\u2212")
    return sign + text


def cell(row) -> str:
    if row["diff"] == 0 and row["diff_ci_low"] == 0 and row["diff_ci_high"] == 0:
        return "0"
    text = f"{num(row['diff'])} [{num(row['diff_ci_low'])}, {num(row['diff_ci_high'])}]"
    between = row.get("between_sd", math.nan)
    if isinstance(between, float) and math.isfinite(between) and between > 0:
        text += f" (sets sd {num(between, signed=False)})"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="baseline", help="the reference scenario (default: baseline)")
    parser.add_argument("--ensemble", default=None, help="an ensemble file: compare at each of its parameter sets")
    parser.add_argument("--reps", type=int, default=20, help="paired replicates (per set with --ensemble)")
    args = parser.parse_args()
    base = ss.Scenario.load(args.scenario)
    arms = {"baseline": base}
    for name in sorted(p.stem for p in (ss.scenarios_dir() / "policies").glob("*.yaml")):
        arms[name] = base.with_policy(name)
    for name in RISK:
        arms[name + " (risk found)"] = base.with_policy(name, risk_found=True)
    cmp = ss.compare(arms, n=args.reps, ensemble=args.ensemble, options=ss.RunOptions(progress=False))
    eff = cmp.effects()
    eff = eff[eff["scope"] == "ecosystem"]
    means = cmp.means()
    ref = means[(means["scenario"] == "baseline") & (means["scope"] == "ecosystem")].set_index("metric")["mean"]

    def label(arm: str) -> str:
        return "same, `risk_found=True`" if arm.endswith("(risk found)") else f"`{arm}`"

    for title, metrics in (("what each prevents", PREVENTS), ("both sides", BOTH)):
        print(f"\n{title}\n")
        heads = " | ".join(f"`{m}` ({num(ref[m], signed=False)})" for m in metrics)
        print(f"| bundle | {heads} |")
        print("|---|" + "---:|" * len(metrics))
        for arm in ORDER:
            rows = eff[eff["scenario"] == arm].set_index("metric")
            print(f"| {label(arm)} | " + " | ".join(cell(rows.loc[m]) for m in metrics) + " |")


if __name__ == "__main__":
    main()
