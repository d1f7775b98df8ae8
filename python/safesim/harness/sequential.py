"""The decision procedure: a group-sequential t-test with a Bonferroni split of alpha.

An expectation plans ``K = ceil(budget / batch)`` looks at the replicates, after
``n_k = min(k * batch, budget)`` of them. At look ``k`` the procedure computes a
two-sided Student-t interval for the quantity of interest at level
``1 - alpha / K`` (``alpha = 1 - confidence``) and

- PASSES when the whole interval lies on the passing side of the threshold,
- FAILS when the whole interval lies on the failing side,
- otherwise runs the next batch; after look ``K`` the verdict is INCONCLUSIVE
  and the last interval is reported.

Why this is sound under peeking: by the union (Bonferroni) bound, the K
intervals all cover the true value at once with probability at least
``1 - sum_k alpha / K = 1 - alpha`` whatever the correlation between looks, so
the reported interval sequence is a ``confidence``-level confidence sequence
over the planned looks. A wrong verdict needs the interval at the deciding look
to miss the truth on one given side, so P(FAIL | the expectation holds) and
P(PASS | it does not) are each at most ``alpha / 2`` (at most ``alpha`` for
``within``, whose two edges can each be missed). Each look's interval is
exact for normally distributed replicate statistics and asymptotically valid
otherwise (replicate totals of a simulation are sums over many agents, and the
expectation schema requires ``batch >= 5``). The split is conservative (the
error is well under ``alpha`` for correlated looks) and spends the same alpha
at every look, like Pocock's design, so clear cases stop at the first batch;
``tests/python/test_harness_sequential.py`` measures the error rate by
simulation at the boundary where the expectation holds with equality.

Quantities:

- ``absolute`` without a reference: the mean of the metric over replicates.
- ``absolute`` with a reference: the mean paired difference ``T_r - R_r``
  (treatment and reference run with the same seeds: common random numbers).
- ``relative`` (reference only): ``mean(T) / mean(R) - 1``. The interval is
  Fieller's: the set of ratios ``rho`` for which the paired t-interval of
  ``T_r - rho R_r`` contains 0, i.e. the roots of a quadratic. It is exact
  under bivariate normality (no delta-method linearisation), and unbounded
  when ``mean(R)`` is not clearly away from 0, in which case the procedure
  keeps sampling. Deciding "relative difference <= c" with it is the same as
  the paired t-test of ``T - (1 + c) R <= 0`` when ``mean(R) > 0``.

Everything here is vectorised over leading axes so the error-rate tests can
run tens of thousands of simulated procedures in a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = [
    "RELATIONS",
    "Decision",
    "Plan",
    "Rule",
    "Verdict",
    "decide",
    "fieller_interval",
    "sequential_decide",
    "t_interval",
]

RELATIONS = ("<", "<=", ">", ">=", "within")

Array = npt.NDArray[np.float64]


class Verdict(str, Enum):
    """The outcome of an expectation: PASS, FAIL, or INCONCLUSIVE when the budget ran out undecided."""

    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"

    def __str__(self) -> str:
        return self.value


# Codes used by the vectorised functions.
CONTINUE, PASS, FAIL = 0, 1, 2


@dataclass(frozen=True)
class Plan:
    """When to look: after ``batch``, ``2 batch``, ... replicates, at most ``budget``."""

    budget: int = 100
    batch: int = 10
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if not 0.5 <= self.confidence < 1:
            raise ValueError(f"confidence must be in [0.5, 1), got {self.confidence}")
        if self.batch < 2 or self.budget < self.batch:
            raise ValueError(f"need 2 <= batch <= budget, got batch {self.batch}, budget {self.budget}")

    @property
    def looks(self) -> int:
        """Number of looks: the budget in batches, the last one possibly short."""
        return math.ceil(self.budget / self.batch)

    @property
    def sizes(self) -> list[int]:
        """Replicates available at each look."""
        return [min((k + 1) * self.batch, self.budget) for k in range(self.looks)]

    @property
    def alpha(self) -> float:
        """Error rate of the whole plan: 1 - confidence."""
        return 1.0 - self.confidence

    @property
    def alpha_per_look(self) -> float:
        """Error rate spent at each look (Bonferroni: ``alpha`` over the looks)."""
        return self.alpha / self.looks


@dataclass(frozen=True)
class Rule:
    """What must hold of the quantity: ``relation`` against ``threshold`` (and ``tolerance`` for within)."""

    relation: str
    threshold: float = 0.0
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        if self.relation not in RELATIONS:
            raise ValueError(f"relation must be one of {', '.join(RELATIONS)}, got {self.relation!r}")
        if self.relation == "within" and not self.tolerance >= 0:
            raise ValueError(f"tolerance must be >= 0, got {self.tolerance}")

    def describe(self) -> str:
        """Describe the rule in words, e.g. ``< 5`` or ``within 3 ± 0.5``."""
        if self.relation == "within":
            return f"within {self.threshold:g} ± {self.tolerance:g}"
        return f"{self.relation} {self.threshold:g}"


def _t_quantile(alpha: float, df: Array | int) -> Array:
    return np.asarray(stats.t.ppf(1.0 - alpha / 2.0, df), dtype=float)


def t_interval(x: npt.ArrayLike, alpha: float) -> tuple[Array, Array, Array]:
    """Mean and two-sided ``1 - alpha`` Student-t interval over the last axis."""
    x = np.asarray(x, dtype=float)
    n = x.shape[-1]
    if n < 2:
        raise ValueError("need at least 2 replicates for an interval")
    mean = x.mean(axis=-1)
    half = _t_quantile(alpha, n - 1) * x.std(axis=-1, ddof=1) / math.sqrt(n)
    return mean, mean - half, mean + half


def fieller_interval(t: npt.ArrayLike, r: npt.ArrayLike, alpha: float) -> tuple[Array, Array, Array]:
    """``mean(t) / mean(r) - 1`` and its two-sided ``1 - alpha`` Fieller interval (paired, last axis).

    The interval is ``(-inf, inf)`` when ``mean(r)`` is not significantly away from 0.
    """
    t = np.asarray(t, dtype=float)
    r = np.asarray(r, dtype=float)
    n = t.shape[-1]
    if n < 2:
        raise ValueError("need at least 2 replicates for an interval")
    q2 = float(_t_quantile(alpha, n - 1)) ** 2
    tm, rm = t.mean(axis=-1), r.mean(axis=-1)
    dt, dr = t - tm[..., None], r - rm[..., None]
    s_tt = (dt * dt).sum(axis=-1) / (n - 1) / n
    s_rr = (dr * dr).sum(axis=-1) / (n - 1) / n
    s_tr = (dt * dr).sum(axis=-1) / (n - 1) / n
    # (tm - rho rm)^2 <= q2 (s_tt - 2 rho s_tr + rho^2 s_rr)  <=>  a rho^2 - 2 b rho + c <= 0
    a = rm * rm - q2 * s_rr
    b = tm * rm - q2 * s_tr
    c = tm * tm - q2 * s_tt
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.where(rm != 0, tm / np.where(rm != 0, rm, 1.0), np.nan) - 1.0
        disc = np.sqrt(np.maximum(b * b - a * c, 0.0))
        bounded = a > 0
        a_safe = np.where(bounded, a, 1.0)
        lo = np.where(bounded, (b - disc) / a_safe - 1.0, -np.inf)
        hi = np.where(bounded, (b + disc) / a_safe - 1.0, np.inf)
    return est, lo, hi


def decide(lo: npt.ArrayLike, hi: npt.ArrayLike, rule: Rule) -> npt.NDArray[np.int8]:
    """CONTINUE (0), PASS (1) or FAIL (2) for intervals ``[lo, hi]`` (vectorised)."""
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    c = rule.threshold
    if rule.relation == "<":
        passing, failing = hi < c, lo >= c
    elif rule.relation == "<=":
        passing, failing = hi <= c, lo > c
    elif rule.relation == ">":
        passing, failing = lo > c, hi <= c
    elif rule.relation == ">=":
        passing, failing = lo >= c, hi < c
    else:  # within: |value - c| <= tolerance
        low, high = c - rule.tolerance, c + rule.tolerance
        passing, failing = (lo >= low) & (hi <= high), (hi < low) | (lo > high)
    out = np.zeros(np.broadcast(lo, hi).shape, dtype=np.int8)
    out[passing] = PASS
    out[failing & ~passing] = FAIL
    return out


@dataclass(frozen=True)
class Decision:
    """The state after a look: a verdict (None while undecided), the estimate and interval, replicates used."""

    verdict: Verdict | None
    estimate: float
    low: float
    high: float
    n: int
    look: int


def interval_at(t: npt.ArrayLike, r: npt.ArrayLike | None, difference: str, alpha: float) -> tuple[Array, Array, Array]:
    """Return the estimate and interval of the quantity from treatment (and reference) replicates."""
    if r is None:
        return t_interval(t, alpha)
    if difference == "relative":
        return fieller_interval(t, r, alpha)
    return t_interval(np.asarray(t, dtype=float) - np.asarray(r, dtype=float), alpha)


def look(t: npt.ArrayLike, r: npt.ArrayLike | None, difference: str, plan: Plan, rule: Rule, k: int) -> Decision:
    """Look ``k`` (0-based) at the first ``plan.sizes[k]`` replicates of one expectation."""
    n = plan.sizes[k]
    t = np.asarray(t, dtype=float)[:n]
    rr = None if r is None else np.asarray(r, dtype=float)[:n]
    est, lo, hi = interval_at(t, rr, difference, plan.alpha_per_look)
    code = int(decide(lo, hi, rule))
    if code == PASS:
        verdict: Verdict | None = Verdict.PASS
    elif code == FAIL:
        verdict = Verdict.FAIL
    else:
        verdict = Verdict.INCONCLUSIVE if k == plan.looks - 1 else None
    return Decision(verdict, float(est), float(lo), float(hi), n, k)


def sequential_decide(
    t: npt.ArrayLike, r: npt.ArrayLike | None, difference: str, plan: Plan, rule: Rule
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int64]]:
    """Run the whole procedure on pre-drawn replicates (shape ``(..., budget)``), vectorised.

    Returns the final codes (PASS, FAIL, or CONTINUE meaning INCONCLUSIVE) and the
    replicates used. This is the same rule ``look`` applies one look at a time.
    """
    t = np.asarray(t, dtype=float)
    rr = None if r is None else np.asarray(r, dtype=float)
    shape = t.shape[:-1]
    final = np.zeros(shape, dtype=np.int8)
    used = np.full(shape, plan.budget, dtype=np.int64)
    open_ = np.ones(shape, dtype=bool)
    for n in plan.sizes:
        _, lo, hi = interval_at(t[..., :n], None if rr is None else rr[..., :n], difference, plan.alpha_per_look)
        code = decide(lo, hi, rule)
        newly = open_ & (code != CONTINUE)
        final[newly] = code[newly]
        used[newly] = n
        open_ &= ~newly
        if not open_.any():
            break
    return final, used
