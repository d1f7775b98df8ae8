#!/usr/bin/env python3
"""Variance reduction from common random numbers for the headline metrics, as Markdown rows.

    tests/bench/crn.py [--policy NAME] [--reps N] [--seed S] [--all-metrics] [SCENARIO]
    tests/bench/crn.py --checks K [--scenarios DIR]

The same computation as ``safesim crn`` (safesim.crn.crn_table: the bundles
share the reference's runs), printed as the Markdown table of docs/results.md:
for each shipped policy bundle (or the ones named), the effect of the bundle
over the scenario, the paired and unpaired variance of the effect, their ratio
(how many times fewer replicates pairing needs for the same interval width),
the ceiling of that ratio set by the two arms' spreads, and their correlation.

With ``--checks K``: how many replicates the safety harness's sequential tests
use on scenarios/checks, for K seed sets (the small baseline's seed set to 1,
1001, 2001, ...: sets 1,000 apart share no seed within the budget of 100). A
stopping time is one draw from a noisy distribution: compare engines over
many sets, not one. ``--scenarios`` names the scenarios folder to copy (an
older checkout's, to measure an older build put first on PYTHONPATH).
"""

from __future__ import annotations

import argparse
import math
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HEADLINE = ["minors_contacted", "legit_contacts_blocked", "user_reports", "minors_exploited", "exposure_days"]


def _num(x: float) -> str:
    if not math.isfinite(x):
        return "inf"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def check_replicates(scenarios: Path, seed: int) -> list[int]:
    """Replicates each expectation of ``safesim check`` used, with the checks' small baseline on ``seed``."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "scenarios"
        shutil.copytree(scenarios, copy)
        with open(copy / "checks" / "small_baseline.yaml", "a", encoding="utf-8") as f:
            f.write(f"\nseed: {seed}\n")
        proc = subprocess.run(
            [sys.executable, "-m", "safesim", "check", str(copy / "checks")],
            capture_output=True,
            text=True,
            check=False,
        )
    used = [int(m.group(1)) for line in proc.stdout.splitlines() if (m := re.search(r"(\d+)/\d+\s*$", line))]
    if proc.returncode not in (0, 1) or not used:
        raise RuntimeError(f"safesim check failed: {proc.stderr.strip()}")
    return used


def checks(sets: int, scenarios: Path) -> int:
    totals = []
    for k in range(sets):
        used = check_replicates(scenarios, 1 + 1000 * k)
        totals.append(sum(used))
        print(f"seed {1 + 1000 * k}: {' '.join(map(str, used))}  total {sum(used)}", flush=True)
    mean = sum(totals) / len(totals)
    sd = (sum((t - mean) ** 2 for t in totals) / max(1, len(totals) - 1)) ** 0.5
    print(f"{sets} seed sets: total replicates mean {mean:.1f}, sd {sd:.1f}, range {min(totals)}-{max(totals)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="baseline")
    ap.add_argument("--policy", action="append", help="bundle(s) to compare (default: every shipped bundle)")
    ap.add_argument("--reps", type=int, default=60)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--all-metrics", action="store_true", help="every metric, not the headline five")
    ap.add_argument("--checks", type=int, metavar="K", help="replicates of safesim check over K seed sets instead")
    ap.add_argument("--scenarios", type=Path, default=Path(__file__).resolve().parents[2] / "scenarios")
    args = ap.parse_args(argv)
    if args.checks:
        return checks(args.checks, args.scenarios)
    import safesim as ss  # here: --checks also measures older builds, which have no safesim.crn
    from safesim.crn import crn_table, shipped_bundles

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
