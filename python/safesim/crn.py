"""How much common random numbers tighten a paired comparison.

A design change is judged by the paired difference of a metric between two
scenarios run on the same seeds. Its variance decides how many replicates an
interval of a given width needs. Run on independent seeds instead, the
difference has variance ``var(A) + var(B)``; the ratio of that to the
variance of the paired difference is the *variance reduction* that common
random numbers buy: the factor by which pairing divides the replicates
needed for the same interval width.

>>> import safesim as ss
>>> base = ss.Scenario.default().set("population.users", 2000).set("horizon_days", 60)
>>> table = ss.variance_reduction(base, base.with_policy("industry_teen_accounts"), n=6)
>>> list(table.columns)
['metric', 'effect', 'var_paired', 'var_independent', 'reduction']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from safesim.api import PathLike, RunOptions, as_scenario, replicate
from safesim.results import Results
from safesim.scenario import Scenario

__all__ = ["INDEPENDENT_SEED_OFFSET", "variance_reduction"]

#: Arm B's independent replicates use seeds this far from the common ones.
INDEPENDENT_SEED_OFFSET = 1_000_000


def _totals(results: Results, scope: str) -> pd.DataFrame:
    runs = results.runs
    runs = runs[runs["scope"] == scope]
    return runs.pivot(index="replicate", columns="metric", values="value")


def variance_reduction(
    a: Scenario | PathLike,
    b: Scenario | PathLike,
    n: int = 60,
    seed: int | None = None,
    scope: str = "ecosystem",
    metrics: list[str] | None = None,
    *,
    options: RunOptions | None = None,
) -> pd.DataFrame:
    """Paired against independent variance of the effect of B over A, per metric.

    Arm A and arm B run on the common seeds ``seed .. seed + n - 1``; arm B
    also runs on ``n`` independent seeds (offset by
    :data:`INDEPENDENT_SEED_OFFSET`). Columns: ``effect`` (mean paired
    difference B - A), ``var_paired`` (sample variance of the paired
    differences), ``var_independent`` (var(A) + var(B on independent seeds))
    and ``reduction`` (their ratio: how many times fewer replicates pairing
    needs for the same interval). Metrics that do not vary are left out.
    """
    sa, sb = as_scenario(a), as_scenario(b)
    start = sa.seed if seed is None else seed
    ra = _totals(replicate(sa, n, seed=start, options=options), scope)
    rb = _totals(replicate(sb, n, seed=start, options=options), scope)
    rb_ind = _totals(replicate(sb, n, seed=start + INDEPENDENT_SEED_OFFSET, options=options), scope)
    names = metrics if metrics is not None else [m for m in ra.columns if m in rb.columns]
    rows = []
    for m in names:
        diff = (rb[m] - ra[m]).to_numpy(dtype=float)
        var_paired = float(np.var(diff, ddof=1))
        var_independent = float(
            np.var(ra[m].to_numpy(dtype=float), ddof=1) + np.var(rb_ind[m].to_numpy(dtype=float), ddof=1)
        )
        if not np.isfinite(var_independent) or var_independent == 0:
            continue
        reduction = var_independent / var_paired if var_paired > 0 else float("inf")
        rows.append((m, float(diff.mean()), var_paired, var_independent, reduction))
    return pd.DataFrame(rows, columns=["metric", "effect", "var_paired", "var_independent", "reduction"])
