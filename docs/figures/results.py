"""Print the measured tables of docs/results.md: ``python docs/figures/results.py NAME ...``.

NAME is one of ``ecosystem``, ``e2ee``, ``risk``, ``flaggers``, ``sla``, ``downloads``, ``bundles``,
``scanning`` (no NAME: all). ``bundles`` prints both sides of each bundle: what it prevents and what it
costs ordinary users in privacy and wrongful actions.
Each is a paired comparison on common seeds 1..N at the sizes the page states; the page quotes
the numbers this prints, beside the command. The teen-account table comes from
``safesim compare`` directly (see the page).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

import safesim as ss

QUIET = ss.RunOptions(progress=False)


def paired(a: np.ndarray, b: np.ndarray) -> str:
    """Mean of b - a with its 95% t-interval."""
    d = np.asarray(b, float) - np.asarray(a, float)
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return f"{d.mean():+.4g} [{d.mean() - half:+.4g}, {d.mean() + half:+.4g}]"


def effects(cmp: ss.Comparison, rows: list[tuple[str, str]]) -> None:
    """Print reference mean, treatment mean and paired difference per (scope, metric)."""
    s = cmp.summary()
    for scope, metric in rows:
        for _, r in s[(s["scope"] == scope) & (s["metric"] == metric)].iterrows():
            print(
                f"  {r['scenario']:<22} {scope:<10} {metric:<28} {r['ref_mean']:>12.4g} {r['mean']:>12.4g}"
                f"  {r['diff']:+.4g} [{r['diff_ci_low']:+.4g}, {r['diff_ci_high']:+.4g}]  {r['rel_diff']:+.1%}"
            )


BIG = ["social_a", "photo", "msgr", "msgr_b", "video", "short_video", "ephemeral", "gaming"]
ECO_METRICS = [
    "clearinghouse_reports",
    "minors_contacted",
    "minors_exploited",
    "material_copies",
    "material_never_detected",
    "offenders_detected",
    "offenders_detected_trusted_flagger",
]


SHARE_METRICS = ["clearinghouse_reports", "minors_exploited", "material_copies", "material_never_detected"]


def operator_table(res: ss.Results) -> pd.DataFrame:
    """Run totals per (replicate, operator), one column per metric of ECO_METRICS, the ecosystem left out."""
    ops = res.operator_runs
    ops = ops[ops["metric"].isin(ECO_METRICS) & (ops["scope"] != "ecosystem")]
    return ops.groupby(["replicate", "scope", "metric"])["value"].sum().unstack("metric")


def by_operator(sc: ss.Scenario, label: str) -> ss.Results:
    """Print the five operators sending most reports and their shares of reports, harm and copies; 4 replicates."""
    res = ss.replicate(sc, n=4, options=QUIET)
    per_run = operator_table(res)
    totals = per_run.groupby("replicate").sum()
    top = per_run.groupby("scope")["clearinghouse_reports"].mean().nlargest(5).index
    print(f"\n{label}, 300,000 users, 4 replicates, by operator: the five operators sending most reports")
    print(per_run.groupby("scope").mean().loc[top].round(0).astype(int).to_string())
    share = per_run.loc[(slice(None), list(top)), :].groupby("replicate").sum() / totals
    for m in SHARE_METRICS:
        v = share[m].to_numpy()
        half = 2.776 * v.std(ddof=1) / np.sqrt(len(v))  # t(0.975, 3)
        print(f"  share of the five in {m:<24} {v.mean():.3f} [{v.mean() - half:.3f}, {v.mean() + half:.3f}]")
    return res


def ecosystem() -> None:
    """ecosystem_us at 300,000 users, 4 replicates: by operator (as the clearinghouse counts), then by platform
    with and without trusted flaggers.
    """
    sc = ss.Scenario.load("ecosystem_us").set("population.users", 300_000)
    res = by_operator(sc, "ecosystem_us")
    for label, s in [("as shipped", sc), ("no trusted flaggers", sc.set("content.trusted_flagger_find_per_day", 0))]:
        runs = res.runs if label == "as shipped" else ss.replicate(s, n=4, options=QUIET).runs
        means = runs[runs["metric"].isin(ECO_METRICS)].groupby(["scope", "metric"])["value"].mean().unstack()
        means = means.drop(index="ecosystem", errors="ignore")
        table = means.loc[BIG].copy()
        table.loc[f"{len(means) - len(BIG)} small services"] = means.drop(index=BIG).sum()
        print(f"\necosystem_us, 300,000 users, mean of 4 replicates, {label}")
        print(table.round(0).astype(int).to_string())
        share = table.loc[BIG].sum() / table.sum()
        print(f"share of the {len(BIG)} large platforms:", (share.round(3)).to_dict())


def e2ee() -> None:
    """e2ee_rollout against the same scenario without its timeline, 20 seeds, days 180-364."""
    roll = ss.Scenario.load("e2ee_rollout")
    plain = roll.to_dict()
    plain.pop("timeline")
    cmp = ss.compare(
        {"no rollout": ss.Scenario.from_dict(plain, name="no_rollout"), "rollout": roll}, n=20, options=QUIET
    )
    d = cmp.daily
    d = d[(d["scope"] == "ecosystem") & (d["day"] >= 180)]
    tot = d.groupby(["scenario", "metric", "replicate"])["value"].sum()
    print("\ne2ee_rollout vs no rollout, 20 seeds, totals over days 180-364")
    for m in ["detections", "clearinghouse_reports", "minors_exploited", "abuse_material_views"]:
        a, b = tot.loc["no rollout", m].sort_index(), tot.loc["rollout", m].sort_index()
        print(f"  {m:<24} rollout {b.mean():>9.4g}  no rollout {a.mean():>9.4g}  difference {paired(a, b)}")


def risk() -> None:
    """risk_assessment against the same scenario with both assessments off, 20 seeds."""
    sc = ss.Scenario.load("risk_assessment")
    off = sc
    for p in ["aware", "unaware"]:
        off = off.set(f"platforms.{p}.controls.risk_assessment.enabled", False)
    cmp = ss.compare({"assessments off": off, "assessments on": sc}, n=20, options=QUIET)
    print("\nrisk_assessment vs assessments off, 20 seeds")
    rows = [
        (p, m)
        for p in ["aware", "unaware"]
        for m in [
            "risk_response_active",
            "minors_contacted_per_1k",
            "minors_exploited_per_1k",
            "child_safety_reports",
            "detections",
            "legit_contacts_blocked",
        ]
    ]
    effects(cmp, rows)


def flaggers() -> None:
    """Trusted-flagger channel on the baseline, and on the baseline without hash matching; 20 seeds."""
    base = ss.Scenario.load("baseline")
    ch = "platforms.main.controls.trusted_flaggers.channel"
    rows = [
        ("ecosystem", m)
        for m in ["trusted_flagger_reports", "abuse_material_views", "material_never_detected", "time_to_removal_hours"]
    ]
    print("\ntrusted-flagger channel on the baseline, 20 seeds")
    effects(ss.compare({"no channel": base, "channel": base.set(ch, True)}, n=20, options=QUIET), rows)
    nohash = base.set("platforms.main.controls.hash_matching.enabled", False)
    arms = {
        "no channel": nohash,
        "channel": nohash.set(ch, True),
        "no flaggers": nohash.set("content.trusted_flagger_find_per_day", 0),
    }
    print("\nthe same without hash matching, 20 seeds (against flaggers' notices in the normal queue)")
    effects(ss.compare(arms, n=20, options=QUIET), rows)


def sla() -> None:
    """An under-staffed baseline (0.3 reviews a day, 24 h SLA) with and without surge capacity; 20 seeds."""
    rv = "platforms.main.controls.review"
    short = ss.Scenario.load("baseline").set(f"{rv}.capacity_per_day", 0.3).set(f"{rv}.sla_hours", 24)
    cmp = ss.compare(
        {"no surge": short, "surge 10/day": short.set(f"{rv}.surge_capacity_per_day", 10)}, n=20, options=QUIET
    )
    print("\nreview SLA with surge capacity, 20 seeds")
    effects(cmp, [("ecosystem", m) for m in ["review_sla_breaches", "surge_reviews", "review_hours", "review_backlog"]])


def downloads() -> None:
    """Download restrictions on the baseline; 20 seeds."""
    base = ss.Scenario.load("baseline")
    cmp = ss.compare(
        {"baseline": base, "download restrictions": base.set("platforms.main.controls.download_restrictions", True)},
        n=20,
        options=QUIET,
    )
    print("\ndownload restrictions on the baseline, 20 seeds")
    effects(cmp, [("ecosystem", m) for m in ["minors_exploited", "exploitation_events", "minors_contacted"]])


BUNDLE_METRICS = [
    ("ecosystem", "minors_contacted_per_1k"),
    ("ecosystem", "minors_exploited_per_1k"),
    ("ecosystem", "legit_contacts_blocked"),
    ("ecosystem", "user_reports"),
]
#: The rights side of each bundle (docs/model/submodels/review-enforcement.md).
RIGHTS_METRICS = [
    ("ecosystem", m)
    for m in [
        "private_items_scanned",
        "benign_private_items_reviewed",
        "users_private_content_reviewed",
        "minors_private_content_reviewed",
        "false_positive_actions",
        "minors_wrongly_actioned",
        "accounts_wrongly_banned",
        "clearinghouse_reports_benign",
    ]
]


def bundles() -> None:
    """Every shipped bundle applied to the baseline (law as of its as_of), 20 common seeds; the
    bundles whose measures wait for the risk assessment also with ``risk_found=True``."""
    base = ss.Scenario.default()
    names = sorted(p.stem for p in (ss.scenarios_dir() / "policies").glob("*.yaml"))
    arms = {"baseline": base}
    for name in names:
        arms[name] = base.with_policy(name)
    for name in ["uk_osa_illegal_content_codes", "uk_osa_protection_of_children_codes", "eu_csar_council_2025"]:
        arms[name + " (risk found)"] = base.with_policy(name, risk_found=True)
    cmp = ss.compare(arms, n=20, options=QUIET)
    print("\nbundles against the baseline, 20 seeds: what each prevents")
    effects(cmp, BUNDLE_METRICS)
    print("\n... and what each costs ordinary users in privacy and wrongful actions")
    effects(cmp, RIGHTS_METRICS)
    print("\nreference means (baseline):")
    m = cmp.means()
    for scope, metric in RIGHTS_METRICS:
        r = m[(m["scenario"] == "baseline") & (m["scope"] == scope) & (m["metric"] == metric)].iloc[0]
        print(f"  {metric:<34} {r['mean']:.4g} [{r['ci_low']:.4g}, {r['ci_high']:.4g}]")


def scanning() -> None:
    """An end-to-end encrypted baseline (every direct message), mandatory detection without and with
    client-side scanning; 20 seeds. The privacy side of scanning encrypted messages."""
    e2ee = ss.Scenario.default().set("platforms.main.controls.e2ee_share", 1.0)
    md = e2ee.with_policy("mandatory_detection")
    arms = {
        "e2ee": e2ee,
        "e2ee + detection": md,
        "e2ee + detection + CSS": md.set("platforms.main.controls.client_side_scanning", True),
    }
    cmp = ss.compare(arms, n=20, options=QUIET)
    print("\nmandatory detection on an encrypted baseline, 20 seeds")
    effects(cmp, [("ecosystem", "minors_exploited_per_1k"), *RIGHTS_METRICS])


ENSEMBLE = "scenarios/calibrated/baseline.ensemble.csv"
ECO_ENSEMBLE = "scenarios/calibrated/ecosystem_us.ensemble.csv"


def ecosystem_calibrated() -> None:
    """The operator view of scenarios/calibrated/ecosystem_us.yaml (calibrated directly), 300,000 users."""
    path = Path(__file__).resolve().parents[2] / "scenarios" / "calibrated" / "ecosystem_us.yaml"
    by_operator(ss.Scenario.load(path).set("population.users", 300_000), "calibrated ecosystem_us")


def ensemble_effects(arms: dict[str, ss.Scenario], rows: list[tuple[str, str]], reps: int = 5) -> None:
    """Paired effects at every parameter set of the calibrated ensemble, intervals combined."""
    cmp = ss.compare(arms, n=reps, ensemble=str(Path(__file__).resolve().parents[2] / ENSEMBLE), options=QUIET)
    eff = cmp.effects()
    print(f"  ({len(cmp.sets)} parameter sets x {reps} common seeds; 95% interval over both)")
    for scope, metric in rows:
        r = eff[(eff["scope"].astype(str) == scope) & (eff["metric"].astype(str) == metric)].iloc[0]
        print(
            f"  {scope:<10} {metric:<24} ref {r['ref_mean']:>10.4g}  arm {r['mean']:>10.4g}  "
            f"diff {r['diff']:+.4g} [{r['diff_ci_low']:+.4g}, {r['diff_ci_high']:+.4g}]  sets sd {r['between_sd']:.3g}"
        )


def ecosystem_ensemble() -> None:
    """The five large operators' shares in the calibrated ecosystem at each set of its own ensemble (2 seeds each)."""
    root = Path(__file__).resolve().parents[2]
    base = ss.Scenario.load(root / "scenarios" / "calibrated" / "ecosystem_us.yaml").set("population.users", 300_000)
    ens = ss.load_ensemble(root / ECO_ENSEMBLE)
    five = ["big_co", "video", "ephemeral", "short_video", "gaming"]
    per_set = []
    for i in range(len(ens)):
        t = operator_table(ss.replicate(ens.apply(base, i), n=2, options=QUIET)).groupby("scope").sum()
        per_set.append(t.loc[five, SHARE_METRICS].sum() / t[SHARE_METRICS].sum())
    shares = pd.DataFrame(per_set)
    print(f"\ncalibrated ecosystem_us, 300,000 users, {len(ens)} parameter sets x 2 seeds: the five operators' shares")
    for m in SHARE_METRICS:
        v = shares[m]
        print(
            f"  {m:<24} mean over sets {v.mean():.3f}  range {v.min():.3f}-{v.max():.3f}  sets sd {v.std(ddof=1):.3f}"
        )


def e2ee_ensemble() -> None:
    """e2ee_rollout against no rollout at the calibrated ensemble's 20 parameter sets, 5 seeds each (whole year)."""
    roll = ss.Scenario.load("e2ee_rollout")
    plain = roll.to_dict()
    plain.pop("timeline")
    arms = {"no rollout": ss.Scenario.from_dict(plain, name="no_rollout"), "rollout": roll}
    print("\ne2ee_rollout vs no rollout on the calibrated ensemble, totals over the year")
    m = ["detections", "clearinghouse_reports", "minors_exploited", "abuse_material_views"]
    ensemble_effects(arms, [("ecosystem", x) for x in m])


def risk_ensemble() -> None:
    """risk_assessment against assessments off at the calibrated ensemble's 20 parameter sets, 5 seeds each."""
    sc = ss.Scenario.load("risk_assessment")
    off = sc
    for p in ["aware", "unaware"]:
        off = off.set(f"platforms.{p}.controls.risk_assessment.enabled", False)
    print("\nrisk_assessment vs assessments off on the calibrated ensemble")
    rows = [(p, x) for p in ["aware", "unaware"] for x in ["minors_contacted_per_1k", "minors_exploited_per_1k"]]
    ensemble_effects({"assessments off": off, "assessments on": sc}, rows)


def main() -> None:
    names = sys.argv[1:] or ["ecosystem", "e2ee", "risk", "flaggers", "sla", "downloads", "bundles", "scanning"]
    for name in names:
        globals()[name]()


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    main()
