"""Paired comparison: ecosystem_us_operator_e2ee with and without its day-180 rollout.

python docs/figures/operator_rollout.py USERS REPLICATES   (docs/how-to/operators-and-encryption.md)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy import stats

import safesim as ss

ROOT = str(ss.scenarios_dir())
users, n = int(sys.argv[1]), int(sys.argv[2])
text = Path(ROOT, "ecosystem_us_operator_e2ee.yaml").read_text(encoding="utf-8")
text = text.replace("extends: ecosystem_us.yaml", f"extends: {ROOT}/ecosystem_us.yaml")
no_roll = text[: text.index("timeline:")]
a = ss.Scenario.from_text(no_roll, "no_rollout").set("population.users", users)
b = ss.Scenario.from_text(text, "rollout").set("population.users", users)
ra = ss.replicate(a, n=n, seed=1, threads=2)
rb = ss.replicate(b, n=n, seed=1, threads=2)


def vals(res, level, scope, metric):
    f = res.operator_runs if level == "operator" else res.runs
    f = f[(f.scope.astype(str) == scope) & (f.metric.astype(str) == metric)].sort_values("replicate")
    return f["value"].to_numpy()


rows = [
    ("operator", "big_co", "clearinghouse_reports"),
    ("operator", "big_co", "offenders_detected_hash"),
    ("operator", "big_co", "minors_exploited"),
    ("operator", "big_co", "abuse_material_views"),
    ("platform", "msgr_b", "offenders_detected_hash"),
    ("platform", "msgr", "offenders_detected_hash"),
    ("operator", "ecosystem", "clearinghouse_reports"),
    ("operator", "ecosystem", "minors_exploited"),
]
print(f"users={users} replicates={n} (seeds 1..{n}), totals over 365 days, rollout on day 180")
for level, scope, metric in rows:
    x, y = vals(ra, level, scope, metric), vals(rb, level, scope, metric)
    d = y - x
    half = stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n)
    print(
        f"{level:8s} {scope:10s} {metric:26s} no rollout {x.mean():10.1f}  rollout {y.mean():10.1f}  "
        f"diff {d.mean():9.1f}  95% CI [{d.mean() - half:.1f}, {d.mean() + half:.1f}]"
    )
doc = rb.to_json_dict()
print("operators in --json:", list(doc["operators"])[:4], "...", len(doc["operators"]))
