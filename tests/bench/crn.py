#!/usr/bin/env python3
"""Variance reduction from common random numbers, per metric: paired against independent seeds.

    tests/bench/crn.py [--policy NAME] [--reps N] [--users N] [SCENARIO]

For each shipped policy bundle (or the one named), prints the effect of the
bundle over the scenario and var(A) + var(B) over var(B - A) on common seeds:
how many times fewer replicates pairing needs for the same interval.
"""

from __future__ import annotations

import argparse
import sys

import safesim as ss

HEADLINE = ["minors_contacted", "legit_contacts_blocked", "user_reports", "minors_exploited", "exposure_days"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="baseline")
    ap.add_argument("--policy", action="append", help="bundle(s) to compare (default: every shipped bundle)")
    ap.add_argument("--reps", type=int, default=60)
    ap.add_argument("--all-metrics", action="store_true", help="every metric, not the headline five")
    args = ap.parse_args(argv)
    base = ss.Scenario(args.scenario)
    policies = args.policy or [
        "industry_teen_accounts",
        "eu_dsa_art28_guidelines",
        "uk_osa_illegal_content_codes",
        "mandatory_detection",
    ]
    for name in policies:
        table = ss.variance_reduction(base, base.with_policy(name), n=args.reps, options=ss.RunOptions(progress=False))
        if not args.all_metrics:
            table = table[table["metric"].isin(HEADLINE)]
        print(f"\n{args.scenario} + {name}, {args.reps} common seeds (reduction = var independent / var paired)")
        print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
