"""Regenerate the README figures: ``.venv/bin/python docs/figures/make_figures.py``.

One figure of each kind in safesim.plotting, from the baseline scenario at its
full size (10,000 users, 365 days); the transparency view from ecosystem_us
(1,000,000 users, 205 platforms); the sensitivity and calibration figures from
the plans scenarios/sensitivity_offenders.yaml and
scenarios/calibration_baseline.yaml. ``make_figures.py NAME ...`` redraws only
the named figures (e.g. ``transparency``, ``sensitivity`` or ``calibration``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import sys

import safesim as ss
import safesim.plotting as sp

HERE = Path(__file__).resolve().parent


def transparency() -> None:
    eco = ss.replicate(ss.Scenario.load("ecosystem_us"), n=5)
    sp.save(sp.transparency(eco, "clearinghouse_reports", "minors_exploited"), HERE / "transparency.png")


def sensitivity() -> None:
    """Morris screening of the offender plan (scenarios/sensitivity_offenders.yaml) for minors_exploited."""
    import yaml

    plan = yaml.safe_load((ss.scenarios_dir() / "sensitivity_offenders.yaml").read_text())
    sa = ss.sensitivity(plan["scenario"].removesuffix(".yaml"), plan["parameters"], n=plan["n"], reps=plan["reps"])
    print(sa.indices("minors_exploited").round(3).to_string(index=False))
    sp.save(sp.sensitivity(sa, "minors_exploited"), HERE / "sensitivity.png")


def calibration() -> None:
    """History matching of the baseline plan (scenarios/calibration_baseline.yaml) as shipped."""
    import yaml

    plan = yaml.safe_load((ss.scenarios_dir() / "calibration_baseline.yaml").read_text())
    targets = [ss.Target.from_dict(t) for t in plan["targets"]]
    cal = ss.calibrate(
        ss.Scenario.load("baseline"),
        plan["parameters"],
        targets,
        n=plan["n"],
        reps=plan["reps"],
        waves=plan["waves"],
        cutoff=plan["cutoff"],
        seed=1,
    )
    print(cal.ranges().to_string())
    print(cal.fit().drop(columns=["mapping", "source"]).to_string())
    sp.save(sp.calibration(cal), HERE / "calibration.png")


def main() -> None:
    if len(sys.argv) > 1:
        for name in sys.argv[1:]:
            globals()[name]()
        return
    transparency()
    sensitivity()
    calibration()
    base = ss.Scenario.load("baseline")
    cmp = ss.compare({"baseline": base, "teen accounts": base.with_policy("industry_teen_accounts")}, n=20)
    sp.save(sp.timeseries(cmp, "minors_contacted"), HERE / "timeseries.png")
    sp.save(sp.effects(cmp), HERE / "effects.png")
    sp.save(sp.funnel(cmp), HERE / "funnel.png")

    grid = {
        "platforms.main.controls.reporting.steps": [1, 3, 5, 7, 9],
        "platforms.main.controls.hash_matching.list_coverage": [0.3, 0.5, 0.7, 0.9],
    }
    sw = ss.sweep(base, grid, n=10)
    sp.save(sp.sweep_heatmap(sw, "abuse_material_views"), HERE / "sweep_heatmap.png")
    sp.save(sp.sweep_lines(sw, "user_reports", x="platforms.main.controls.reporting.steps"), HERE / "sweep_lines.png")

    dm = "platforms.main.controls.dm_policy"
    options = {
        "baseline": base,
        "DMs connected only": base.set(f"{dm}.under_16", "connected_only").set(f"{dm}.under_18", "connected_only"),
        "private by default (<18)": base.set("platforms.main.controls.private_by_default.age_threshold", 18),
        "age-band segregation": base.set("platforms.main.controls.age_band_segregation.enabled", True),
        "teen accounts": base.with_policy("industry_teen_accounts"),
    }
    sp.save(sp.frontier(ss.compare(options, n=20), exposure="minors_contacted_per_1k"), HERE / "frontier.png")


if __name__ == "__main__":
    main()
