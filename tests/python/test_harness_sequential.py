"""The sequential decision procedure, tested by simulation on cases with a known answer.

No simulator here: replicate statistics are drawn from distributions whose
true value is known, so the error rates can be measured over many repetitions
of the whole procedure (all looks, as the runner applies them).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from safesim.harness.sequential import (
    CONTINUE,
    FAIL,
    PASS,
    Plan,
    Rule,
    Verdict,
    decide,
    fieller_interval,
    look,
    sequential_decide,
    t_interval,
)

REPS = 20_000  # repetitions of the whole procedure per case


def upper_bound(rate: float, n: int) -> float:
    """Rate plus three binomial standard errors: the allowance for simulation error."""
    return rate + 3 * math.sqrt(rate * (1 - rate) / n)


PLAN = Plan(budget=100, batch=10, confidence=0.95)


def test_plan_looks() -> None:
    assert Plan(budget=60, batch=10).sizes == [10, 20, 30, 40, 50, 60]
    assert Plan(budget=25, batch=10).sizes == [10, 20, 25]
    assert Plan(budget=25, batch=10).alpha_per_look == pytest.approx(0.05 / 3)


@pytest.mark.parametrize(("relation", "shift"), [("<=", 0.0), ("<", 0.0), (">=", 0.0), (">", 0.0)])
def test_false_fail_rate_at_boundary_normal(relation: str, shift: float) -> None:
    # The true mean equals the threshold: "<=" and ">=" hold (at the boundary), so a
    # FAIL is an error. For "<" and ">" the boundary is where they just fail, so a
    # PASS is the error there.
    rng = np.random.default_rng(11)
    x = rng.normal(3.0 + shift, 2.0, size=(REPS, PLAN.budget))
    final, _ = sequential_decide(x, None, "absolute", PLAN, Rule(relation, 3.0))
    wrong = FAIL if relation in ("<=", ">=") else PASS
    rate = float(np.mean(final == wrong))
    assert rate <= upper_bound(PLAN.alpha, REPS), rate
    # The Bonferroni split makes it conservative: one side gets at most alpha / 2.
    assert rate <= upper_bound(PLAN.alpha / 2, REPS), rate


def test_false_fail_rate_paired_difference_skewed() -> None:
    # Paired, skewed counts (Poisson with a shared random intensity): the true mean
    # difference T - R is exactly 0, the expectation "T - R <= 0" holds at its boundary.
    rng = np.random.default_rng(12)
    lam = rng.gamma(4.0, 10.0, size=(REPS, PLAN.budget))
    t = rng.poisson(lam).astype(float)
    r = rng.poisson(lam).astype(float)
    final, _ = sequential_decide(t, r, "absolute", PLAN, Rule("<=", 0.0))
    rate = float(np.mean(final == FAIL))
    assert rate <= upper_bound(PLAN.alpha, REPS), rate


def test_false_fail_rate_relative_difference_at_boundary() -> None:
    # mean(T) / mean(R) - 1 is exactly 0.05; "at most 5% above the reference" holds.
    rng = np.random.default_rng(13)
    lam = rng.gamma(5.0, 8.0, size=(REPS, PLAN.budget))
    r = rng.poisson(lam).astype(float)
    t = rng.poisson(1.05 * lam).astype(float)
    final, _ = sequential_decide(t, r, "relative", PLAN, Rule("<=", 0.05))
    rate = float(np.mean(final == FAIL))
    assert rate <= upper_bound(PLAN.alpha, REPS), rate


def test_peeking_without_correction_would_inflate_the_error() -> None:
    # The reason for the split: the same ten looks each at the full 95% level fail
    # far more often than 2.5% at the boundary; the procedure does not.
    rng = np.random.default_rng(14)
    x = rng.normal(0.0, 1.0, size=(REPS, PLAN.budget))
    naive = Plan(budget=100, batch=100, confidence=0.95)  # one look: the per-look level of a naive peeker
    fails = np.zeros(REPS, dtype=bool)
    for n in PLAN.sizes:
        _, lo, _ = t_interval(x[:, :n], naive.alpha)
        fails |= lo > 0
    final, _ = sequential_decide(x, None, "absolute", PLAN, Rule("<=", 0.0))
    assert fails.mean() > 0.06
    assert np.mean(final == FAIL) < 0.03


def test_power_on_a_clearly_passing_case() -> None:
    # True relative change -30% with noise: "< -10%" passes almost always, early.
    rng = np.random.default_rng(15)
    lam = rng.gamma(5.0, 8.0, size=(4000, PLAN.budget))
    r = rng.poisson(lam).astype(float)
    t = rng.poisson(0.7 * lam).astype(float)
    final, used = sequential_decide(t, r, "relative", PLAN, Rule("<", -0.10))
    assert np.mean(final == PASS) > 0.99
    assert np.mean(final == FAIL) == 0
    assert used.mean() < 25


def test_power_absolute_and_within() -> None:
    rng = np.random.default_rng(16)
    x = rng.normal(1.0, 2.0, size=(4000, PLAN.budget))
    final, _ = sequential_decide(x, None, "absolute", PLAN, Rule(">", 0.0))
    assert np.mean(final == PASS) > 0.95
    final, _ = sequential_decide(x, None, "absolute", PLAN, Rule("within", 1.0, 1.0))
    assert np.mean(final == PASS) > 0.9
    final, _ = sequential_decide(x, None, "absolute", PLAN, Rule("within", 5.0, 1.0))
    assert np.mean(final == FAIL) > 0.99


def test_inconclusive_when_the_budget_is_too_small() -> None:
    rng = np.random.default_rng(17)
    x = rng.normal(0.1, 5.0, size=(1, 20))
    d = None
    plan = Plan(budget=20, batch=10)
    for k in range(plan.looks):
        d = look(x[0], None, "absolute", plan, Rule("<=", 0.0), k)
        if d.verdict is not None:
            break
    assert d is not None
    assert d.verdict is Verdict.INCONCLUSIVE
    assert d.n == 20
    assert d.low < 0 < d.high


def test_look_matches_vectorised_procedure() -> None:
    rng = np.random.default_rng(18)
    t = rng.normal(1.0, 3.0, size=(50, 60))
    r = t - rng.normal(0.5, 2.0, size=(50, 60))
    plan, rule = Plan(budget=60, batch=10), Rule("<", 0.0)
    final, used = sequential_decide(t, r, "absolute", plan, rule)
    for i in range(50):
        for k in range(plan.looks):
            d = look(t[i], r[i], "absolute", plan, rule, k)
            if d.verdict is not None:
                break
        code = {Verdict.PASS: PASS, Verdict.FAIL: FAIL, Verdict.INCONCLUSIVE: CONTINUE}[d.verdict]
        assert code == final[i]
        assert d.n == used[i]


def test_fieller_interval_cases() -> None:
    t = np.array([10.0, 12, 11, 13, 9])
    est, lo, hi = fieller_interval(t, t / 2, 0.05)
    assert est == pytest.approx(1.0)
    assert lo == pytest.approx(1.0)
    assert hi == pytest.approx(1.0)
    est, lo, hi = fieller_interval(np.array([1.0, 2, 3]), np.array([-1.0, 1, 0.5]), 0.05)
    assert np.isinf(lo)
    assert np.isinf(hi)


def test_decide_edges() -> None:
    assert decide(0.0, 0.0, Rule("<=", 0.0)) == PASS
    assert decide(0.0, 0.0, Rule("<", 0.0)) == FAIL
    assert decide(-1.0, 1.0, Rule("<", 0.0)) == CONTINUE
    assert decide(np.inf * -1, np.inf, Rule(">", 0.0)) == CONTINUE
