"""Property-based tests of the Python API with random but valid scenarios
(hypothesis): no crash, and the invariants of docs/validation.md hold for any
combination of controls and behavioural parameters."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import safesim
from safesim import _core

METRICS = [m[0] for m in _core.metrics()]
KINDS = {m[0]: m[1] for m in _core.metrics()}
MAIN = "platforms.main.controls."
DM = ["open", "requests_inbox", "confirm_before_view", "connected_only", "disabled"]
prob = st.floats(0.0, 1.0, allow_nan=False)

overrides = st.fixed_dictionaries(
    {
        "population.users": st.integers(300, 2500),
        "horizon_days": st.integers(5, 60),
        "warmup_days": st.integers(0, 30),
        "dt_hours": st.sampled_from([24, 12, 6]),
        "population.minor_share": st.floats(0.05, 0.6),
        "offenders.share_of_adults": st.floats(0.0, 0.05),
        "response.accept_scale": st.floats(0.0, 5.0),
        "response.block_prob": prob,
        "response.step_completion": prob,
        MAIN + "dm_policy.under_13": st.sampled_from(DM),
        MAIN + "dm_policy.under_16": st.sampled_from(DM),
        MAIN + "dm_policy.under_18": st.sampled_from(DM),
        MAIN + "age_band_segregation.enabled": st.booleans(),
        MAIN + "age_band_segregation.max_band_gap": st.integers(0, 3),
        MAIN + "safety_nudges.enabled": st.booleans(),
        MAIN + "suspicious_adult_restrictions.enabled": st.booleans(),
        MAIN + "request_filtering.daily_limit_to_minors": st.integers(0, 5),
        MAIN + "age_assurance.method": st.sampled_from(["self_declaration", "estimation", "verification", "inference"]),
        MAIN + "reporting.steps": st.integers(1, 15),
        MAIN + "review.capacity_per_day": st.floats(0.0, 500.0),
        MAIN + "review.accuracy": prob,
        MAIN + "hash_matching.enabled": st.booleans(),
        MAIN + "new_material_classifier.enabled": st.booleans(),
        MAIN + "grooming_detection.enabled": st.booleans(),
        MAIN + "behavioural_risk.enabled": st.booleans(),
        MAIN + "e2ee_share": prob,
        MAIN + "client_side_scanning": st.booleans(),
    }
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sets=overrides, seed=st.integers(0, 2**40))
def test_any_valid_scenario_runs_and_keeps_the_invariants(sets: dict[str, object], seed: int) -> None:
    sc = safesim.Scenario.default()
    for key, value in sets.items():
        sc = sc.set(key, value)
    out = _core.run(sc.spec, seed)
    totals, daily = out["totals"], out["daily"]
    assert totals.shape == (2, len(METRICS))
    assert daily.shape == (2, sets["horizon_days"], len(METRICS))
    for scope in range(totals.shape[0]):
        row = dict(zip(METRICS, totals[scope], strict=True))
        # Nested stage counts.
        assert row["minors_contacted"] >= row["minors_engaged"] >= row["minors_solicited"] >= row["minors_exploited"]
        # Every dyad closes at most once (after a warm-up, dyads opened before
        # day 0 may close in the horizon); every review outcome comes from a report or flag.
        # Closures count every perpetrator's conversations, openings are split into adult
        # offenders' (dyads_opened) and peer perpetrators' (peer_dyads_opened).
        closed = row["dyads_reported"] + row["dyads_exited"] + row["dyads_detected"] + row["dyads_ended_by_ban"]
        if sets["warmup_days"] == 0:
            assert row["dyads_opened"] + row["peer_dyads_opened"] >= closed
            # Likewise for copies, clearinghouse reports and appeals from before day 0.
            assert row["clearinghouse_reports"] >= row["clearinghouse_actionable"]
            assert row["appeals"] >= row["appeals_upheld"]
            assert row["material_copies"] >= row["material_removed"]
        # The kinds of exploitation: their union is minors_exploited.
        kinds = [row["minors_images_obtained"], row["minors_sextorted"], row["minors_met_offline"]]
        assert max(kinds) <= row["minors_exploited"] <= sum(kinds)
        assert row["contact_attempts"] >= row["contacts_prevented"]
        # Nothing negative; shares and per-1k rates in range.
        finite = totals[scope][np.isfinite(totals[scope])]
        assert (finite >= 0).all()
        for name in ("minors_protected_share", "proactive_share"):
            if np.isfinite(row[name]):
                assert 0.0 <= row[name] <= 1.0
        for name in ("minors_contacted_per_1k", "minors_exploited_per_1k"):
            assert row[name] <= 1000.0 + 1e-9
    assert (daily[np.isfinite(daily)] >= 0).all()
    # One platform: the platform's flows are the ecosystem's.
    flows = [i for i, m in enumerate(METRICS) if KINDS[m] == "flow"]
    assert np.array_equal(totals[0, flows], totals[1, flows])
