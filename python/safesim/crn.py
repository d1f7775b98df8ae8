"""How much common random numbers tighten a paired comparison.

A design change is judged by the paired difference of a metric between two
scenarios run on the same seeds. Its variance decides how many replicates an
interval of a given width needs. Run on independent seeds instead, the
difference has variance ``var(A) + var(B)``; the ratio of that to the
variance of the paired difference is the *variance reduction* that common
random numbers buy: the factor by which pairing divides the replicates
needed for the same interval width (an interval's half-width is
``t * sqrt(variance / n)``, so equal widths need ``n`` in proportion to the
variance).

No coupling can push the ratio past a ceiling set by the two arms' own
spreads: ``var(B - A) = sd_A² + sd_B² - 2 rho sd_A sd_B >= (sd_A - sd_B)²``,
so the ratio is at most ``(sd_A² + sd_B²) / (sd_A - sd_B)²``, reached only if
the arms are perfectly correlated. The spreads are properties of each
scenario alone, which common random numbers cannot change.

>>> import safesim as ss
>>> base = ss.Scenario.default().set("population.users", 2000).set("horizon_days", 60)
>>> table = ss.variance_reduction(base, base.with_policy("industry_teen_accounts"), n=6)
>>> list(table.columns)[:5]
['metric', 'effect', 'var_paired', 'var_independent', 'reduction']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from safesim import _core
from safesim.api import PathLike, RunOptions, as_scenario, common_seeds, execute
from safesim.io import json_records, write_frame, write_json
from safesim.results import ECOSYSTEM, Results
from safesim.scenario import Scenario, scenarios_dir
from safesim.store import job_folder

__all__ = ["COLUMNS", "INDEPENDENT_SEED_OFFSET", "crn_table", "shipped_bundles", "variance_reduction"]

#: Arm B's independent replicates use seeds this far from the common ones.
INDEPENDENT_SEED_OFFSET = 1_000_000

#: Resamples of the bootstrap interval of the reduction, and the seed of their generator.
BOOTSTRAP_DRAWS = 2000
BOOTSTRAP_SEED = 20261201

#: The columns of :func:`variance_reduction` (:func:`crn_table` puts ``variant`` first).
COLUMNS = [
    "metric",
    "effect",
    "var_paired",
    "var_independent",
    "reduction",
    "reduction_low",
    "reduction_high",
    "saved",
    "ceiling",
    "correlation",
    "mean_a",
    "mean_b",
    "sd_a",
    "sd_b",
]


def shipped_bundles() -> list[str]:
    """Names of the policy bundles that ship with safesim (``scenarios/policies/*.yaml``)."""
    folder = scenarios_dir() / "policies"
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def _totals(results: Results, scope: str) -> pd.DataFrame:
    runs = results.runs
    scopes = [str(s) for s in pd.unique(runs["scope"])]
    if scope not in scopes:
        platforms = [s for s in scopes if s != ECOSYSTEM]
        raise ValueError(
            f"scope {scope!r}: not a platform of {results.scenario.name} (one of {', '.join([ECOSYSTEM, *platforms])})"
        )
    runs = runs[runs["scope"] == scope]
    return runs.pivot(index="replicate", columns="metric", values="value")


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.inf)


def _interval(a: np.ndarray, b: np.ndarray, b_ind: np.ndarray, draws: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Return the 95% percentile-bootstrap interval of the reduction.

    Pairs (A, B) resampled together, the independent B runs apart (the resamples are the same for every metric of a
    variant).
    """
    pairs, alone = draws
    num = np.var(a[pairs], axis=1, ddof=1) + np.var(b_ind[alone], axis=1, ddof=1)
    ratios = _ratio(num, np.var((b - a)[pairs], axis=1, ddof=1))
    return np.quantile(ratios, [0.025, 0.975], method="inverted_cdf")


def _row(
    a: np.ndarray, b: np.ndarray, b_ind: np.ndarray, draws: tuple[np.ndarray, np.ndarray]
) -> tuple[float, ...] | None:
    """Return the COLUMNS after ``metric`` for one metric, or None if it varies in neither arm."""
    diff = b - a
    var_paired = float(np.var(diff, ddof=1))
    sd_a, sd_b = float(np.std(a, ddof=1)), float(np.std(b, ddof=1))
    var_independent = float(np.var(a, ddof=1) + np.var(b_ind, ddof=1))
    if not np.isfinite(var_independent) or var_independent == 0:
        return None
    reduction = var_independent / var_paired if var_paired > 0 else float("inf")
    low, high = _interval(a, b, b_ind, draws)
    # var(B - A) >= (sd_A - sd_B)² on these very samples (Cauchy-Schwarz), so reduction <= ceiling.
    gap = (sd_a - sd_b) ** 2
    ceiling = var_independent / gap if gap > 0 else float("inf")
    correlation = float(np.corrcoef(a, b)[0, 1]) if sd_a > 0 and sd_b > 0 else float("nan")
    return (
        float(diff.mean()),
        var_paired,
        var_independent,
        reduction,
        float(low),
        float(high),
        1.0 - 1.0 / reduction,
        ceiling,
        correlation,
        float(a.mean()),
        float(b.mean()),
        sd_a,
        sd_b,
    )


def crn_table(
    reference: Scenario | PathLike,
    variants: Mapping[str, Scenario | PathLike],
    n: int = 60,
    seed: int | None = None,
    scope: str = ECOSYSTEM,
    metrics: Sequence[str] | None = None,
    *,
    options: RunOptions | None = None,
) -> pd.DataFrame:
    """Paired against independent variance of each variant's effect over ``reference``, per metric.

    The reference and every variant run on the common seeds ``S .. S + n - 1``
    (``S`` is ``seed``, default the reference's seed); each variant also runs
    on ``n`` independent seeds (offset by :data:`INDEPENDENT_SEED_OFFSET`).
    One row per (variant, metric), columns ``variant`` and :data:`COLUMNS`:

    - ``effect``: mean paired difference B - A;
    - ``var_paired``: sample variance of the paired differences;
    - ``var_independent``: var(A) + var(B on the independent seeds), the
      variance of the difference of two independent runs;
    - ``reduction``: their ratio, how many times the replicates independent
      seeds need for an interval as wide as the paired one;
    - ``reduction_low``, ``reduction_high``: its 95% percentile-bootstrap
      interval (:data:`BOOTSTRAP_DRAWS` resamples of the seeds, pairs kept
      together; the same resamples at every call, so the table is reproducible);
    - ``saved``: ``1 - 1 / reduction``, the share of those replicates pairing saves;
    - ``ceiling``: ``var_independent / (sd_a - sd_b)²``, the reduction if the
      arms were perfectly correlated with the spreads they have (never below
      ``reduction``; noisy when ``sd_a`` is close to ``sd_b``);
    - ``correlation``: of A and B over the common seeds;
    - ``mean_a``, ``mean_b``, ``sd_a``, ``sd_b``: each arm on the common seeds.

    Metrics that vary in neither arm are left out; ``metrics`` picks some.
    With ``options.out`` every run is kept in ``OUT/runs/`` (a rerun reuses
    them) and the table is written to ``OUT/crn.csv`` and ``OUT/crn.json``.
    """
    opts = options if options is not None else RunOptions()
    if n < 2:
        raise ValueError(f"n must be at least 2 (a variance needs two replicates), got {n}")
    ref = as_scenario(reference)
    arms = {str(label): as_scenario(sc) for label, sc in variants.items()}
    if not arms:
        raise ValueError("no variant to compare with the reference")
    if scope not in (ECOSYSTEM, *ref.platforms):
        raise ValueError(
            f"scope {scope!r}: not a platform of {ref.name} (one of {', '.join([ECOSYSTEM, *ref.platforms])})"
        )
    seeds = common_seeds(ref, seed, n)
    independent = [s + INDEPENDENT_SEED_OFFSET for s in seeds]
    with job_folder(opts.out):
        paired = execute([ref, *arms.values()], seeds, opts, "crn: common seeds")
        unpaired = execute(list(arms.values()), independent, opts, "crn: independent seeds")
        ra = _totals(paired[0], scope)
        rows = []
        for label, rb_res, ri_res in zip(arms, paired[1:], unpaired, strict=True):
            rb, ri = _totals(rb_res, scope), _totals(ri_res, scope)
            names = list(metrics) if metrics is not None else [m for m in ra.columns if m in rb.columns]
            rng = np.random.default_rng(BOOTSTRAP_SEED)  # the same resamples for every variant and call
            draws = (rng.integers(0, n, (BOOTSTRAP_DRAWS, n)), rng.integers(0, n, (BOOTSTRAP_DRAWS, n)))
            for m in names:
                row = _row(*(x[m].to_numpy(dtype=float) for x in (ra, rb, ri)), draws)
                if row is not None:
                    rows.append((label, m, *row))
        table = pd.DataFrame(rows, columns=["variant", *COLUMNS])
        if opts.out is not None:
            _save(table, ref, arms, seeds, independent, scope, Path(opts.out))
    return table


def _save(
    table: pd.DataFrame,
    ref: Scenario,
    arms: Mapping[str, Scenario],
    seeds: list[int],
    independent: list[int],
    scope: str,
    out: Path,
) -> list[Path]:
    doc: dict[str, Any] = {
        "reference": {"name": ref.name, "hash": ref.hash},
        "variants": {label: {"name": sc.name, "hash": sc.hash} for label, sc in arms.items()},
        "common_seeds": [seeds[0], seeds[-1]],
        "independent_seeds": [independent[0], independent[-1]],
        "replicates": len(seeds),
        "scope": scope,
        "safesim": _core.version,
        "rows": json_records(table),
    }
    return [write_frame(table, out / "crn.csv"), write_json(out / "crn.json", doc)]


def variance_reduction(
    a: Scenario | PathLike,
    b: Scenario | PathLike,
    n: int = 60,
    seed: int | None = None,
    scope: str = ECOSYSTEM,
    metrics: list[str] | None = None,
    *,
    options: RunOptions | None = None,
) -> pd.DataFrame:
    """Paired against independent variance of the effect of B over A, per metric.

    Arm A and arm B run on the common seeds ``seed .. seed + n - 1``; arm B
    also runs on ``n`` independent seeds (offset by
    :data:`INDEPENDENT_SEED_OFFSET`). Columns :data:`COLUMNS`: ``effect``
    (mean paired difference B - A), ``var_paired`` (sample variance of the
    paired differences), ``var_independent`` (var(A) + var(B on independent
    seeds)), ``reduction`` (their ratio: how many times fewer replicates
    pairing needs for the same interval), then ``saved``, ``ceiling``,
    ``correlation`` and each arm's mean and sd as in :func:`crn_table`.
    Metrics that do not vary are left out.
    """
    sb = as_scenario(b)
    table = crn_table(a, {sb.name: sb}, n=n, seed=seed, scope=scope, metrics=metrics, options=options)
    return table.drop(columns="variant").reset_index(drop=True)
