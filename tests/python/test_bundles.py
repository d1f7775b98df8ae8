"""No silent bundle: every shipped policy bundle changes at least one resolved key on a
platform of each kind it names, and says so in the resolved scenario's provenance
(``ScenarioSpec.policy_log``, written as ``# policy:`` lines in the dump) where it has no
measure to apply."""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml
from scipy import stats

import safesim as ss
from safesim import _core

KINDS = ["social", "messaging", "gaming", "video", "file_hosting"]
BUNDLES = sorted((ss.scenarios_dir() / "policies").glob("*.yaml"))


def _doc(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _kinds_named(doc) -> set[str]:
    """Kinds the bundle or one of its keyed measures names (all kinds when none does)."""
    scope = set((doc.get("applies_to") or {}).get("kinds") or KINDS)
    named: set[str] = set()
    for m in doc.get("measures") or []:
        if not m.get("platform"):
            continue
        trig = m.get("applies_to") or {}
        conds = trig if isinstance(trig, list) else [trig]
        for c in conds:
            named |= set(c.get("kinds") or scope) & scope
    return named


def _platform_block(dump: str) -> str:
    """The resolved platforms, risk responses included, without comment lines."""
    body = "\n".join(line for line in dump.splitlines() if not line.startswith("#"))
    return body[body.index("\nplatforms:") :]


SCANS_PRIVATELY = (
    "controls: {hash_matching: {enabled: true, private_surfaces: true}, grooming_detection: {enabled: true}}"
)


def _one_platform(kind: str, extra: str = "") -> ss.Scenario:
    # The spec.hpp defaults (not the baseline, which already hash-matches everywhere) on a
    # provider that neither reports to a clearinghouse nor offers in-product reporting (the
    # defaults have both on, so a bundle that requires them would pin, not change, them), with
    # the risk assessment on, so measures that wait for it resolve into the platform's risk
    # response, and a population standing for 10 million users in every jurisdiction, so size
    # triggers (700,000 UK users) are met.
    juris = "{UK: 1.0e7, EU: 1.0e7, AU: 1.0e7, US: 1.0e7}"
    text = (
        "population: {users: 2000}\n"
        f"jurisdiction_users: {juris}\n"
        f"platforms:\n  main:\n    kind: {kind}\n    controls: {{risk_assessment: {{enabled: true}}, "
        "clearinghouse_reporting: {enabled: false}, reporting: {in_product: false}}\n"
    )
    if extra:
        text += f"platform_defaults: {{{extra}}}\n"
    return ss.Scenario.from_text(text, name=f"one_{kind}.yaml")


@pytest.mark.parametrize("path", BUNDLES, ids=lambda p: p.stem)
def test_bundle_states_law_as_of_a_date(path):
    doc = _doc(path)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(doc.get("as_of"))), f"{path.name}: as_of missing"
    for m in doc["measures"]:
        assert m.get("status") in {"in_force", "lapsed", "proposed", "practice"}, f"{path.name}: {m['id']}"
        assert m.get("source"), f"{path.name}: {m['id']} has no source"


@pytest.mark.parametrize("path", BUNDLES, ids=lambda p: p.stem)
def test_bundle_changes_a_key_on_every_kind_it_names(path):
    name = path.stem
    named = _kinds_named(_doc(path))
    assert named, f"{name} names no kind with a keyed measure"
    for kind in sorted(named):
        # Two providers of this kind: one that does little (so a duty to switch something on
        # shows) and one that scans private messages (so a duty to stop scanning shows).
        changed = False
        for extra in ("", SCANS_PRIVATELY):
            base = _one_platform(kind, extra)
            with_bundle = base.with_policy(name)
            assert with_bundle.spec.policy_log, name
            changed = changed or _platform_block(with_bundle.dump()) != _platform_block(base.dump())
        assert changed, f"{name} changes no resolved key on a {kind} platform: {with_bundle.spec.policy_log}"


@pytest.mark.parametrize("path", BUNDLES, ids=lambda p: p.stem)
def test_bundle_without_a_measure_says_so(path):
    name = path.stem
    missing = sorted(set(KINDS) - _kinds_named(_doc(path)))
    if not missing:
        pytest.skip(f"{name} has a measure for every kind")
    for kind in missing:
        base = _one_platform(kind)
        sc = base.with_policy(name)
        assert _platform_block(sc.dump()) == _platform_block(base.dump()), f"{name} changed a {kind} platform"
        log = " ".join(sc.spec.policy_log)
        assert "no measure applies" in log or "outside the bundle's scope" in log, (name, kind, log)
        assert "# policy: " in sc.dump()


def test_law_on_a_date_before_a_measure_leaves_it_out():
    base = _one_platform("messaging")
    before = base.with_policy("eu_dsa_art28_guidelines", law_on="2026-01-01")
    after = base.with_policy("eu_dsa_art28_guidelines", law_on="2026-05-01")
    assert "eu-no-private-scanning-after-lapse (not in force until 2026-04-03)" in " ".join(before.spec.policy_log)
    assert "applied eu-no-private-scanning-after-lapse" in " ".join(after.spec.policy_log)
    assert _platform_block(before.dump()) == _platform_block(base.dump())


def test_risk_measures_wait_for_the_risk_assessment():
    base = _one_platform("social")
    waits = base.with_policy("uk_osa_illegal_content_codes")
    found = base.with_policy("uk_osa_illegal_content_codes", risk_found=True)
    main_w = waits.to_dict()["platforms"]["main"]
    main_f = found.to_dict()["platforms"]["main"]
    # Waiting: F1's DM default only in the risk response; found: on the platform itself.
    assert main_w["controls"]["dm_policy"]["under_16"] != "connected_only"
    assert main_w["risk_response"]["set"]["controls"]["dm_policy"]["under_16"] == "connected_only"
    assert main_f["controls"]["dm_policy"]["under_16"] == "connected_only"
    assert main_f["controls"]["hash_matching"]["enabled"] is True  # C9: 10 million users stand for the UK


def test_size_triggers_use_simulated_users_without_a_jurisdiction():
    sc = ss.Scenario.default().with_policy("uk_osa_illegal_content_codes", risk_found=True)
    # The baseline has 10,000 simulated users and declares no jurisdiction_users.
    log = " ".join(sc.spec.policy_log)
    assert "sizes in simulated users: no jurisdiction_users for UK" in log
    assert "icu-c9-hash-matching (10000 users < 700000)" in log


def _main_controls(sc: ss.Scenario) -> dict:
    return sc.to_dict()["platforms"]["main"]["controls"]


# The contact protections each source requires (issue 22): against whom, group-add consent
# and who may loosen the private default. The base protects against believed adults only
# and lets every minor loosen the default, so a bundle that pins a value shows it.
REQUIRED = [
    # Ofcom ICU F1: suggestions, lists and DMs against every unconnected user (risk found).
    ("uk_osa_illegal_content_codes", "social", {"contact_protections_against": "all_unconnected"}),
    # EU Art. 28 guidelines: only accepted accounts interact; no group add without consent.
    # ... and minors' accounts are not discoverable by default: not suggested, not searchable.
    (
        "eu_dsa_art28_guidelines",
        "social",
        {
            "contact_protections_against": "all_unconnected",
            "group_add_consent": True,
            "network_expansion": {"mode": "off"},
            "search_restriction": True,
        },
    ),
    # Teen accounts: DMs and group adds only from people followed; under-16s need a parent, to
    # loosen the private default and to go Live; existing accounts made private under 16.
    (
        "industry_teen_accounts",
        "social",
        {
            "contact_protections_against": "per_surface",
            "group_add_consent": True,
            "private_by_default": {
                "minors_can_change": True,
                "minors_can_change_from_age": 16,
                "age_threshold": 18,
                "existing_age_threshold": 16,
            },
            "livestream_restrictions": True,
            "livestream_age_threshold": 16,
        },
    ),
    # Ofcom children's codes: children can decline group-chat invitations.
    ("uk_osa_protection_of_children_codes", "messaging", {"group_add_consent": True}),
]


@pytest.mark.parametrize(("name", "kind", "expected"), REQUIRED, ids=[r[0] for r in REQUIRED])
def test_bundle_sets_the_contact_protections_its_source_requires(name, kind, expected):
    base = _one_platform(kind, "controls: {contact_protections_against: believed_adults}")
    assert _main_controls(base)["contact_protections_against"] == "believed_adults"
    assert _main_controls(base)["group_add_consent"] is False
    controls = _main_controls(base.with_policy(name, risk_found=True))
    for key, want in expected.items():
        if isinstance(want, dict):
            for sub, value in want.items():
                assert controls[key][sub] == value, (name, key, sub)
        else:
            assert controls[key] == want, (name, key)


def _leaf_keys(block: dict) -> set[str]:
    keys: set[str] = set()
    for k, v in block.items():
        keys |= _leaf_keys(v) if isinstance(v, dict) else {k}
    return keys


NEW_KEYS = {
    "contact_protections_against",
    "group_add_consent",
    "minors_can_change_from_age",
    "existing_age_threshold",
    "livestream_age_threshold",
}


@pytest.mark.parametrize("path", BUNDLES, ids=lambda p: p.stem)
def test_new_contact_keys_are_named_in_the_measures_note(path):
    """A measure that sets one of the contact keys of issue 22 says so in its note (no silent key)."""
    for m in _doc(path)["measures"]:
        for key in _leaf_keys(m.get("platform") or {}) & NEW_KEYS:
            assert m.get("modelled") is True, (path.stem, m["id"], key)
            assert key in (m.get("note") or ""), (path.stem, m["id"], key)


def test_au_minimum_age_moves_removed_children_outside_the_law():
    sc = ss.Scenario.load(ss.scenarios_dir() / "au_minimum_age.yaml")
    d = sc.to_dict()
    assert d["population"]["displaced_join_prob"] == 0.3
    log = " ".join(sc.spec.policy_log)
    # Applied on the restricted kinds on day 120, outside its scope on the others.
    assert "timeline day 120: au_social_media_minimum_age (law on 2025-12-10) -> social, video: applied" in log
    for name in ("messaging", "gaming"):
        assert f"{name}: outside the bundle's scope" in log
        assert d["platforms"][name]["controls"]["minimum_age"] == 13


# ---------------------------------------------------------------- group adds at the defaults


def _group_add_measures() -> list[tuple[str, str]]:
    """(bundle, measure id) of every shipped measure that sets controls.group_add_consent."""
    found = []
    for path in BUNDLES:
        for m in _doc(path)["measures"]:
            controls = (m.get("platform") or {}).get("controls") or {}
            if controls.get("group_add_consent") is True:
                found.append((path.stem, m["id"]))
    return found


GROUP_ADD_MEASURES = _group_add_measures()
_METRICS = [m[0] for m in _core.metrics()]


def _paired(a: ss.Scenario, b: ss.Scenario, metric: str, seeds: list[int]) -> tuple[float, float, float]:
    """Mean of b - a over common seeds and its 95% t-interval."""
    col = _METRICS.index(metric)
    ta = np.array([r["totals"][0, col] for r in _core.run_many(a.spec, seeds, 2)])
    tb = np.array([r["totals"][0, col] for r in _core.run_many(b.spec, seeds, 2)])
    d = tb - ta
    half = float(stats.t.ppf(0.975, len(d) - 1) * np.std(d, ddof=1) / np.sqrt(len(d)))
    return float(d.mean()), float(d.mean()) - half, float(d.mean()) + half


def test_the_group_add_measures_are_the_three_known_ones():
    assert sorted(GROUP_ADD_MEASURES) == [
        ("eu_dsa_art28_guidelines", "eu-group-consent"),
        ("industry_teen_accounts", "teen-group-add"),
        ("uk_osa_protection_of_children_codes", "pcc-group-invitations"),
    ]


@pytest.mark.parametrize(("name", "measure"), GROUP_ADD_MEASURES, ids=[m for _, m in GROUP_ADD_MEASURES])
def test_group_add_measure_changes_outcomes_at_the_defaults(name, measure):
    """No silent measure: at the shipped defaults (no scenario sets the group-add volumes), the
    bundle with its group-add measure prevents more offender contacts and blocks more legitimate
    adds than the same bundle with the measure's key reset, each with a paired interval above 0."""
    base = (
        ss.Scenario.default()
        .set("population.users", 6000)
        .set("horizon_days", 120)
        .set("offenders.share_of_adults", 0.01)
    )
    with_bundle = base.with_policy(name, risk_found=True)
    applied = re.findall(r"applied ([^;]*)", " ".join(with_bundle.spec.policy_log))
    assert any(measure in part.split(", ") for part in applied), with_bundle.spec.policy_log
    assert _main_controls(with_bundle)["group_add_consent"] is True
    without = with_bundle.set("platforms.main.controls.group_add_consent", False)
    seeds = list(range(500, 510))
    for metric in ("contacts_prevented", "legit_contacts_blocked"):
        mean, lo, hi = _paired(without, with_bundle, metric, seeds)
        assert lo > 0, f"{name} {measure}: {metric} {mean:.3g} [{lo:.3g}, {hi:.3g}] should be above zero"
