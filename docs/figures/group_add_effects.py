"""What each group-add measure adds to its bundle at the shipped defaults (issue 22): the table
"What each group-add measure does at the defaults" of scenarios/policies/README.md.

    python docs/figures/group_add_effects.py            # prints the table (20 common seeds)

For every shipped measure that sets ``controls.group_add_consent``, the bundle as shipped is
compared on common seeds with the same bundle with that key reset to false (everything else of
the bundle applied), on ``scenarios/baseline.yaml`` with risk-triggered measures applied at once
(``risk_found=True``), so the difference is the measure's own effect. Cells are bundle - bundle
without the measure with the 95% t-interval of the paired differences; the reference mean is in
brackets after each cell. ``safesim compare`` cannot express this pair (``--set`` applies to every
arm, and a scenario file's own keys come before its bundles), so this uses ``ss.compare``, which runs
the same paired design on common seeds.
"""

from __future__ import annotations

import argparse

import yaml
from bundle_tables import cell, num

import safesim as ss

METRICS = ["contacts_prevented", "minors_contacted_per_1k", "minors_exploited_per_1k", "legit_contacts_blocked"]
KEY = "platforms.main.controls.group_add_consent"


def measures() -> list[tuple[str, str]]:
    """(bundle, measure id) of every shipped measure that sets controls.group_add_consent."""
    out = []
    for path in sorted((ss.scenarios_dir() / "policies").glob("*.yaml")):
        for m in yaml.safe_load(path.read_text(encoding="utf-8"))["measures"]:
            if ((m.get("platform") or {}).get("controls") or {}).get("group_add_consent") is True:
                out.append((path.stem, m["id"]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="baseline", help="the scenario the bundles apply to (default: baseline)")
    parser.add_argument("--reps", type=int, default=20, help="paired replicates (default: 20)")
    args = parser.parse_args()
    base = ss.Scenario.load(args.scenario)
    print(f"| measure (bundle) | {' | '.join(f'`{m}`' for m in METRICS)} |")
    print("|---|" + "---:|" * len(METRICS))
    for bundle, measure in measures():
        full = base.with_policy(bundle, risk_found=True)
        arms = {"without": full.set(KEY, False), "with": full}
        cmp = ss.compare(arms, n=args.reps, options=ss.RunOptions(progress=False))
        eff = cmp.effects()
        rows = eff[(eff["scope"] == "ecosystem") & (eff["scenario"] == "with")].set_index("metric")
        means = cmp.means()
        ref = means[(means["scenario"] == "without") & (means["scope"] == "ecosystem")].set_index("metric")["mean"]
        cells = [f"{cell(rows.loc[m])} ({num(ref[m], signed=False)})" for m in METRICS]
        print(f"| `{measure}` (`{bundle}`) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
