"""Science tests of the model through the Python API (docs/validation.md).

Every direction is a paired comparison with common random numbers: the two
scenarios run on the same seeds and differ in one control, and the test
requires the 95% interval of the mean paired difference to exclude zero in
the expected direction. Sizes are small so the whole file runs in seconds.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import safesim
from safesim import _core

METRICS = [m[0] for m in _core.metrics()]
SEEDS = list(range(300, 312))


def scenario(**sets: object) -> safesim.Scenario:
    sc = safesim.Scenario.default().set("population.users", 6000).set("horizon_days", 180)
    sc = sc.set("offenders.share_of_adults", 0.01)
    for key, value in sets.items():
        sc = sc.set(key.replace("__", "."), value)
    return sc


def totals(sc: safesim.Scenario, metric: str, scope: int = 0, seeds: list[int] = SEEDS) -> np.ndarray:
    runs = _core.run_many(sc.spec, seeds, 2)
    return np.array([r["totals"][scope, METRICS.index(metric)] for r in runs])


def paired_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean of b - a and its 95% t-interval."""
    d = b - a
    mean = float(np.mean(d))
    half = float(stats.t.ppf(0.975, len(d) - 1) * np.std(d, ddof=1) / np.sqrt(len(d)))
    return mean, mean - half, mean + half


def assert_lower(a: safesim.Scenario, b: safesim.Scenario, metric: str, seeds: list[int] = SEEDS) -> None:
    """b's metric is lower than a's, with a paired 95% interval below zero."""
    mean, lo, hi = paired_interval(totals(a, metric, seeds=seeds), totals(b, metric, seeds=seeds))
    assert hi < 0, f"{metric}: paired difference {mean:.3g} [{lo:.3g}, {hi:.3g}] should be below zero"


def assert_higher(a: safesim.Scenario, b: safesim.Scenario, metric: str, seeds: list[int] = SEEDS) -> None:
    mean, lo, hi = paired_interval(totals(a, metric, seeds=seeds), totals(b, metric, seeds=seeds))
    assert lo > 0, f"{metric}: paired difference {mean:.3g} [{lo:.3g}, {hi:.3g}] should be above zero"


MAIN = "platforms.main.controls."


def test_stage_counts_are_nested_and_nothing_is_negative() -> None:
    for r in _core.run_many(scenario().spec, SEEDS[:4], 2):
        t = r["totals"]
        for scope in range(t.shape[0]):
            row = dict(zip(METRICS, t[scope], strict=True))
            assert row["minors_contacted"] >= row["minors_engaged"] >= row["minors_solicited"]
            assert row["minors_solicited"] >= row["minors_exploited"]
            # Each dyad closes at most once (an exploited dyad may close later, after repeats).
            # Closures count every perpetrator's dyads; openings are split into adult and peer.
            closed = row["dyads_reported"] + row["dyads_exited"] + row["dyads_detected"] + row["dyads_ended_by_ban"]
            opened = row["dyads_opened"] + row["peer_dyads_opened"]
            assert opened >= closed
            assert opened >= row["dyads_exploited"]
            finite = t[scope][np.isfinite(t[scope])]
            assert (finite >= 0).all()
        assert (r["daily"][np.isfinite(r["daily"])] >= 0).all()


def test_stricter_dm_policy_contacts_fewer_minors() -> None:
    open_ = scenario(**{f"{MAIN}dm_policy.{band}": "open" for band in ("under_13", "under_16", "under_18")})
    strict = open_
    for band in ("under_13", "under_16", "under_18"):
        strict = strict.set(f"{MAIN}dm_policy.{band}", "connected_only")
    assert_lower(open_, strict, "minors_contacted")


def test_more_reporting_steps_fewer_reports_more_exploitation() -> None:
    easy = scenario().set(f"{MAIN}reporting.steps", 1)
    hard = scenario().set(f"{MAIN}reporting.steps", 12)
    assert_lower(easy, hard, "user_reports")
    # Fewer reports end fewer grooming dyads before exploitation. Few dyads are ever reported, so the
    # effect is a few percent of the minors exploited: at this file's size the interval spans zero,
    # and its sign alone would pass half the time with no effect at all. A larger population on more
    # seeds (about a second) resolves it.
    larger = {"population.users": 20000}
    assert_higher(easy.set_many(larger), hard.set_many(larger), "minors_exploited", seeds=list(range(300, 330)))


def test_stricter_age_bands_block_more_legitimate_contacts() -> None:
    loose = scenario()
    strict = (
        scenario()
        .set(f"{MAIN}age_band_segregation.enabled", True)
        .set(f"{MAIN}age_band_segregation.max_band_gap", 0)
        .set(f"{MAIN}age_band_segregation.trusted_links_exempt", False)
    )
    assert_higher(loose, strict, "legit_contacts_blocked")


def test_better_age_assurance_protects_more_minors() -> None:
    self_declared = scenario()
    verified = scenario().set(f"{MAIN}age_assurance.method", "verification")
    assert_higher(self_declared, verified, "minors_protected_share")


def test_more_hash_coverage_fewer_abuse_material_views() -> None:
    low = scenario().set(f"{MAIN}hash_matching.list_coverage", 0.1)
    high = scenario().set(f"{MAIN}hash_matching.list_coverage", 0.99)
    assert_lower(low, high, "abuse_material_views")


def test_encryption_without_scanning_lowers_detections_and_clearinghouse_reports() -> None:
    readable = (
        scenario()
        .set(f"{MAIN}new_material_classifier.enabled", True)
        .set(f"{MAIN}new_material_classifier.private_surfaces", True)
        .set(f"{MAIN}grooming_detection.enabled", True)
    )
    encrypted = readable.set(f"{MAIN}e2ee_share", 1.0)
    assert_lower(readable, encrypted, "detections")
    assert_lower(readable, encrypted, "clearinghouse_reports")
    # Client-side scanning restores what encryption hid.
    scanned = encrypted.set(f"{MAIN}client_side_scanning", True)
    assert_higher(encrypted, scanned, "detections")


def test_more_review_capacity_shortens_time_to_removal() -> None:
    # Removal through review only: the classifier flags, reviewers confirm.
    base = (
        scenario()
        .set(f"{MAIN}hash_matching.enabled", False)
        .set(f"{MAIN}new_material_classifier.enabled", True)
        .set(f"{MAIN}new_material_classifier.private_surfaces", True)
    )
    scarce = base.set(f"{MAIN}review.capacity_per_day", 2)
    ample = base.set(f"{MAIN}review.capacity_per_day", 500)
    assert_lower(scarce, ample, "time_to_removal_hours")


def test_higher_report_completeness_more_law_enforcement_actions() -> None:
    base = scenario().set("clearinghouse.le_capacity_per_million_users_day", 2000)
    poor = base.set(f"{MAIN}clearinghouse_reporting.completeness", 0.1)
    rich = base.set(f"{MAIN}clearinghouse_reporting.completeness", 0.95)
    assert_higher(poor, rich, "clearinghouse_actionable")
    assert_higher(poor, rich, "law_enforcement_actions")


def test_teen_accounts_bundle_cuts_minors_contacted_per_1k() -> None:
    base = scenario()
    teen = base.with_policy("industry_teen_accounts")
    assert_lower(base, teen, "minors_contacted_per_1k")


def test_results_do_not_depend_on_thread_count() -> None:
    spec = scenario().spec
    one = [r["hash"] for r in _core.run_many(spec, SEEDS[:4], 1)]
    two = [r["hash"] for r in _core.run_many(spec, SEEDS[:4], 2)]
    four = [r["hash"] for r in _core.run_many(spec, SEEDS[:4], 4)]
    assert one == two == four
    assert len(set(one)) == 4, "different seeds must give different runs"


@pytest.mark.parametrize("offender_type", [0, 1])
def test_oracle_solver_is_consistent_with_default_scenario(offender_type: int) -> None:
    # The analytic solver is exercised in C++ (tests/cpp/test_oracle.cpp); here
    # check that the binding returns first-outcome probabilities that sum to 1.
    o = _core.dyad_outcome(scenario().spec, 0, offender_type)
    first_outcome = (
        "exploited",
        "reported_before_exploitation",
        "exited_before_exploitation",
        "detected_before_exploitation",
    )
    assert abs(sum(o[k] for k in first_outcome) - 1.0) < 1e-9


def test_education_lowers_engagement() -> None:
    base = scenario()
    educated = scenario().set(f"{MAIN}education.uptake", 1.0)
    assert_lower(base, educated, "minors_engaged")
    # Educated minors block more (education.block_factor). Reports move less:
    # report intent rises but fewer conversations open to be reported from
    # (paired change in minor_reports +2.0 [0.2, 3.8] on these seeds, too
    # close to zero to hold as a test).
    assert_higher(base, educated, "minor_blocks")


def test_sensitive_media_shield_lowers_exploitation() -> None:
    base = scenario()
    shield = (
        scenario()
        .set(f"{MAIN}sensitive_media_shield.enabled", True)
        .set(f"{MAIN}sensitive_media_shield.exploit_factor", 0.3)
    )
    assert_lower(base, shield, "minors_exploited")


def test_livestream_restrictions_contact_fewer_minors() -> None:
    base = scenario().set("response.livestream_share", 0.8)
    restricted = base.set(f"{MAIN}livestream_restrictions", True)
    assert_lower(base, restricted, "minors_contacted")
