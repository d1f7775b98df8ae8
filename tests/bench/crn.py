#!/usr/bin/env python3
"""Variance reduction from common random numbers for the headline metrics, as Markdown rows.

    tests/bench/crn.py [--policy NAME] [--reps N] [--seed S] [--all-metrics] [SCENARIO]

The same computation as ``safesim crn`` (safesim.crn.crn_table: the bundles
share the reference's runs), printed as the Markdown table of docs/results.md:
for each shipped policy bundle (or the ones named), the effect of the bundle
over the scenario, the paired and unpaired variance of the effect, their ratio
(how many times fewer replicates pairing needs for the same interval width),
the ceiling of that ratio set by the two arms' spreads, and their correlation.
"""

from __future__ import annotations

import argparse
import math
import sys

import safesim as ss
from safesim.crn import crn_table, shipped_bundles

HEADLINE = ["minors_contacted", "legit_contacts_blocked", "user_reports", "minors_exploited", "exposure_days"]


def _num(x: float) -> str:
    if not math.isfinite(x):
        return "inf"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="baseline")
    ap.add_argument("--policy", action="append", help="bundle(s) to compare (default: every shipped bundle)")
    ap.add_argument("--reps", type=int, default=60)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--all-metrics", action="store_true", help="every metric, not the headline five")
    args = ap.parse_args(argv)
    base = ss.Scenario(args.scenario)
    policies = args.policy or shipped_bundles()
    table = crn_table(
        base,
        {name: base.with_policy(name) for name in policies},
        n=args.reps,
        seed=args.seed,
        metrics=None if args.all_metrics else HEADLINE,
        options=ss.RunOptions(progress=False),
    )
    print(f"{args.scenario}, {args.reps} common seeds; ratio = var unpaired / var paired")
    print("\n| policy | metric | effect | var paired | var unpaired | ratio [95% CI] | ceiling | correlation |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in table.itertuples(index=False):
        print(
            f"| {r.variant} | `{r.metric}` | {r.effect:+.4g} | {_num(r.var_paired)} | {_num(r.var_independent)} "
            f"| {_num(r.reduction)} [{_num(r.reduction_low)}, {_num(r.reduction_high)}] | {_num(r.ceiling)} | {r.correlation:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
