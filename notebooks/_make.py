"""Write the notebooks in this folder from the cells below (committed without outputs).

Run ``python notebooks/_make.py`` after editing a cell here; edit this file, not the
``.ipynb`` files. Each notebook reads ``SAFESIM_NOTEBOOK_SCALE``: ``small`` shrinks
populations, horizons and replicates so the test suite can run it top to bottom
(tests/python/test_notebooks.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
import os

import pandas as pd

import safesim as ss
import safesim.plotting as sp

SMALL = os.environ.get("SAFESIM_NOTEBOOK_SCALE") == "small"  # the test suite sets this
pd.set_option("display.width", 200)
"""

QUICKSTART = [
    new_markdown_cell(
        "# safesim quickstart\n\n"
        "Load a scenario, change a setting, run replicates, read the results as pandas frames and plot them.\n"
        "All agents and counts are synthetic."
    ),
    new_code_cell(
        SETUP
        + """
USERS, HORIZON, REPS = (3000, 60, 4) if SMALL else (10000, 365, 20)
"""
    ),
    new_markdown_cell(
        "A `Scenario` is an immutable recipe: `set` and `with_policy` return new ones, and `diff` shows what changed."
    ),
    new_code_cell(
        """\
base = ss.Scenario.load("baseline").set("horizon_days", HORIZON).set("population.users", USERS)
stricter = base.set("platforms.main.controls.dm_policy.under_16", "connected_only")
stricter.diff(base)"""
    ),
    new_markdown_cell(
        "`replicate` runs seeds S, S+1, ... on every core (the engine releases the GIL). "
        "The summary has the mean and a 95% t-interval per scope and metric."
    ),
    new_code_cell(
        """\
res = ss.replicate(base, n=REPS)
summary = res.summary()
summary[summary.scope == "ecosystem"].head(8)"""
    ),
    new_code_cell("res.runs.head()  # tidy: one row per run x scope x metric"),
    new_code_cell("res.daily.head()  # and per day"),
    new_code_cell('sp.timeseries(res, "minors_contacted");'),
    new_code_cell("sp.funnel(res);"),
    new_markdown_cell(
        "The analytic oracle gives the per-dyad outcome probabilities of the grooming process without "
        "simulating (an absorbing Markov chain; docs/model/submodels/oracle.md)."
    ),
    new_code_cell('pd.Series(ss.oracle(base, platform="main", offender_type="groomer")).round(4)'),
    new_markdown_cell(
        "With `out=` every run is saved as it finishes; running the same call again reuses the finished runs, "
        "so an interrupted job picks up where it stopped."
    ),
    new_code_cell(
        """\
import tempfile

out = tempfile.mkdtemp(prefix="safesim-")
first = ss.replicate(base, n=REPS, out=out, progress=False)
again = ss.replicate(base, n=REPS, out=out, progress=False)
print(f"computed {first.computed_runs}, then read back {again.loaded_runs}")
sorted(os.listdir(out))"""
    ),
]

COMPARING = [
    new_markdown_cell(
        "# Comparing defaults: teen accounts against the baseline\n\n"
        "`compare` runs every scenario on the same seeds (common random numbers), so each replicate of the "
        "teen-account scenario is paired with the baseline replicate that met the same offenders and the "
        "same users. The paired differences have much tighter intervals than two independent sets of runs."
    ),
    new_code_cell(
        SETUP
        + """
USERS, HORIZON, REPS = (3000, 90, 6) if SMALL else (10000, 365, 30)
base = ss.Scenario.load("baseline").set("population.users", USERS).set("horizon_days", HORIZON)
"""
    ),
    new_code_cell(
        """\
cmp = ss.compare({"baseline": base, "teen accounts": base.with_policy("industry_teen_accounts")}, n=REPS)
effects = cmp.summary()
key = ["minors_contacted", "minors_engaged", "minors_solicited", "minors_exploited",
       "legit_contacts_blocked", "false_positive_actions"]
effects[(effects.scope == "ecosystem") & effects.metric.isin(key)]"""
    ),
    new_code_cell("sp.effects(cmp);"),
    new_code_cell("sp.funnel(cmp, per_1k=True);"),
    new_code_cell('sp.timeseries(cmp, "minors_contacted");'),
    new_markdown_cell(
        "Which parts of the bundle do the work? Each control on its own, on the same seeds, against the same baseline."
    ),
    new_code_cell(
        """\
dm = "platforms.main.controls.dm_policy"
single = {
    "baseline": base,
    "DMs connected only": base.set(f"{dm}.under_16", "connected_only").set(f"{dm}.under_18", "connected_only"),
    "private by default (<18)": base.set("platforms.main.controls.private_by_default.age_threshold", 18),
    "teen accounts": base.with_policy("industry_teen_accounts"),
}
parts = ss.compare(single, n=REPS, progress=False)
sp.effects(parts, metrics=["minors_contacted", "minors_exploited", "legit_contacts_blocked"]);"""
    ),
    new_markdown_cell("Protection has a cost to ordinary users: the trade-off frontier."),
    new_code_cell('sp.frontier(parts, exposure="minors_contacted_per_1k", burden="legit_contacts_blocked");'),
]

REGULATION = [
    new_markdown_cell(
        "# Modelling a regulation across an ecosystem\n\n"
        "`ecosystem_us` is sized from published US usage figures: a dominant operator (`big_co`: a social "
        "network, a photo network and two messengers), four other large platforms and a long tail of 1,500 "
        "small services with uneven practice. "
        "Here we compare today's practice with two regulatory designs:\n\n"
        "- the UK Online Safety Act illegal-content codes, applied only to services above a size threshold "
        "(`where=`), as the codes target large and risky services;\n"
        "- a detection mandate on every service (`mandatory_detection`).\n\n"
        "The transparency view then puts what operators would report beside the harm only the simulation "
        "sees, per operator, as the clearinghouse counts reports by company."
    ),
    new_code_cell(
        SETUP
        + """
USERS, HORIZON, REPS = (20000, 120, 3) if SMALL else (200000, 365, 10)
eco = ss.Scenario.load("ecosystem_us").set("population.users", USERS).set("horizon_days", HORIZON)
len(eco.platforms)"""
    ),
    new_code_cell(
        """\
large = USERS // 10  # a platform with at least 10% of the population counts as large here
arms = {
    "today": eco,
    "UK codes (large services)": eco.with_policy("uk_osa_illegal_content_codes", where={"min_users": large}),
    "detection mandate (all)": eco.with_policy("mandatory_detection"),
}
for name, sc in arms.items():
    print(f"{name}: {len(eco.diff(sc))} settings changed")"""
    ),
    new_code_cell(
        """\
cmp = ss.compare(arms, n=REPS)
eff = cmp.summary()
shown = ["minors_contacted", "minors_exploited", "offenders_detected", "clearinghouse_reports",
         "abuse_material_views", "false_positive_actions"]
eff[(eff.scope == "ecosystem") & eff.metric.isin(shown)]"""
    ),
    new_code_cell("sp.effects(cmp, metrics=shown);"),
    new_markdown_cell(
        "**Transparency view.** Per operator: the figures it would publish (reports, actions, proactive "
        "share, clearinghouse reports) beside the ground truth only the simulation knows. An operator that "
        "reports more is not one with more harm, and the silent tail reports nothing."
    ),
    new_code_cell(
        """\
print(cmp["today"].operators["big_co"])
today = cmp["today"].transparency(level="operator")
big = ["big_co", "video", "short_video", "ephemeral", "gaming"]
today[today.scope.isin(big)].pivot_table(index="scope", columns="metric", values="mean", observed=True).round(1)"""
    ),
    new_code_cell('sp.transparency(cmp, "clearinghouse_reports", "minors_exploited");'),
    new_markdown_cell(
        "How each design moves what each service publishes against how it moves the harm on it (paired "
        "differences against today, with intervals):"
    ),
    new_code_cell(
        """\
moved = cmp.transparency(reference="today")  # per platform: big_co's four services, then the others
services = [*cmp["today"].operators["big_co"], *big[1:]]
moved[moved.scope.isin(services) & moved.metric.isin(["clearinghouse_reports", "minors_exploited"])]"""
    ),
    new_code_cell('sp.frontier(cmp, exposure="minors_exploited_per_1k", burden="false_positive_actions");'),
    new_code_cell('sp.timeseries(cmp, "clearinghouse_reports");'),
    new_markdown_cell(
        "## Risk assessment and uneven awareness\n\n"
        "Regulation often asks platforms to assess their own risk and act on it (Ofcom ICU A1-A7, DSA Art. "
        "34-35). In `risk_assessment` two platforms review their *measured* risk every quarter and switch on "
        "teen-account protections past the same threshold; one has detectors, the other has none. "
        "`risk_response_active` shows who switched, and when."
    ),
    new_code_cell(
        """\
ra = ss.Scenario.load("risk_assessment").set("population.users", USERS)
ra_arms = {"assessed": ra, "no assessment": ra.set("platforms.*.controls.risk_assessment.enabled", False)}
ra_cmp = ss.compare(ra_arms, n=REPS, reference="no assessment")
e = ra_cmp.effects()
e[e.metric.isin(["risk_response_active", "minors_contacted_per_1k", "legit_contacts_blocked"])]"""
    ),
    new_code_cell('sp.timeseries(ra_cmp["assessed"], "risk_response_active", scope="aware");'),
]

SWEEP = [
    new_markdown_cell(
        "# A sweep of reporting friction and detection coverage\n\n"
        "How many steps a user must take to report, against how much of known abuse material the hash list "
        "covers. `sweep` runs every grid point on the same seeds; the summary has one row per point, scope "
        "and metric, with the parameters as columns."
    ),
    new_code_cell(
        SETUP
        + """
USERS, HORIZON, REPS = (3000, 60, 3) if SMALL else (10000, 365, 20)
STEPS = [1, 5, 9] if SMALL else [1, 3, 5, 7, 9]
COVERAGE = [0.3, 0.9] if SMALL else [0.3, 0.5, 0.7, 0.9]
base = ss.Scenario.load("baseline").set("population.users", USERS).set("horizon_days", HORIZON)
grid = {
    "platforms.main.controls.reporting.steps": STEPS,
    "platforms.main.controls.hash_matching.list_coverage": COVERAGE,
}"""
    ),
    new_code_cell(
        """\
sw = ss.sweep(base, grid, n=REPS)
s = sw.summary()
s[(s.scope == "ecosystem") & (s.metric == "user_reports")]"""
    ),
    new_code_cell('sp.sweep_heatmap(sw, "abuse_material_views");'),
    new_code_cell('sp.sweep_lines(sw, "user_reports", x="platforms.main.controls.reporting.steps");'),
    new_code_cell('sp.sweep_lines(sw, "minors_exploited", x="platforms.main.controls.reporting.steps");'),
    new_markdown_cell(
        "Paired effects against the first point (1 step, lowest coverage), and the trade-off between "
        "exposure and the effort users spend reporting."
    ),
    new_code_cell(
        """\
eff = sw.effects()
eff[(eff.scope == "ecosystem") & (eff.metric == "abuse_material_views")].round(3)"""
    ),
    new_code_cell('sp.frontier(sw, exposure="abuse_material_views", burden="reporting_effort");'),
]

SENSITIVITY = [
    new_markdown_cell(
        "# Which uncertain parameters matter? Global sensitivity analysis\n\n"
        "The offender side of the model (how many adults offend, how often they reach out, how many accounts "
        "they run, how often banned ones return) is weakly grounded (docs/validation.md). Instead of pretending "
        "to know these numbers, give them wide ranges and measure how much each one moves the outputs. "
        "`ss.sensitivity` samples the ranges with SALib, runs every sample point on the same seeds and "
        "analyses the replicate means: Morris screening (`mu_star`, the mean absolute change across a "
        "parameter's range) or Sobol' indices (`S1`, `ST`: shares of the output variance)."
    ),
    new_code_cell(
        SETUP
        + """
import yaml

# The plan scenarios/sensitivity_offenders.yaml: twelve offender parameters with wide ranges.
plan = yaml.safe_load((ss.scenarios_dir() / "sensitivity_offenders.yaml").read_text())
HORIZON = 90 if SMALL else 365
N_MORRIS, REPS = (4, 2) if SMALL else (plan["n"], plan["reps"])
N_SOBOL, SOBOL_REPS = (8, 2) if SMALL else (256, 3)
base = ss.Scenario.load("baseline").set("horizon_days", HORIZON)
pd.DataFrame(
    [(k, v["range"] if isinstance(v, dict) else v, v.get("dist", "uniform") if isinstance(v, dict) else "uniform")
     for k, v in plan["parameters"].items()],
    columns=["parameter", "range", "dist"],
)"""
    ),
    new_markdown_cell(
        "Morris screening first: `n` trajectories of one-at-a-time steps, `(parameters + 1) x n` points. "
        "Count keys (here `max_open_dyads`) are sampled as whole numbers."
    ),
    new_code_cell(
        """\
sa = ss.sensitivity(base, plan["parameters"], n=N_MORRIS, reps=REPS)
sa.indices("minors_exploited").round(3)"""
    ),
    new_code_cell('sp.sensitivity(sa, "minors_exploited");'),
    new_markdown_cell(
        "How much of the variation is simulation noise? `noise_share` is the share of the variance of the "
        "analysed point means that replicate noise explains, after what common random numbers cancel; "
        "`mu_star_noise` (the grey ticks above) is the `mu_star` a parameter with no effect would get. "
        "Bars at the tick are within noise: add replicates before reading them."
    ),
    new_code_cell(
        """\
noise = sa.noise()
noise[noise.metric.isin(["minors_contacted", "minors_engaged", "minors_solicited", "minors_exploited"])].round(3)"""
    ),
    new_markdown_cell(
        "Sobol' indices on the most influential parameters: `S1` is the share of the variance a parameter "
        "explains alone, `ST` with its interactions. `n` must be a power of 2; `(parameters + 2) x n` points."
    ),
    new_code_cell(
        """\
top = sa.indices("minors_exploited").parameter.head(4).tolist()
sb = ss.sensitivity(base, {k: plan["parameters"][k] for k in top}, n=N_SOBOL, reps=SOBOL_REPS, method="sobol")
sb.indices(["minors_exploited", "minors_contacted"]).round(3)"""
    ),
    new_code_cell('sp.sensitivity(sb, "minors_exploited");'),
    new_code_cell("sb.samples.head()  # the parameter values each point ran with"),
]

CALIBRATION = [
    new_markdown_cell(
        "# Calibrating weakly grounded offender parameters, and carrying the uncertainty into a comparison\n\n"
        "How many adults offend, how often they reach out and how long grooming takes are weakly grounded "
        "(docs/validation.md). History matching (Vernon, Goldstein & Bower 2010; Andrianakis et al. 2015) does "
        "not pick one best value: it rules out the values at which the model cannot reproduce the published "
        "figures, given the figures' uncertainty, the model's replicate noise and a stated model discrepancy, "
        "and keeps the rest. The targets are data (`scenarios/targets/open.yaml`); Gaussian-process emulators "
        "screen each later wave so that only candidates they cannot rule out are simulated. The shipped "
        "calibrated scenarios in `scenarios/calibrated/` were made this way at full size "
        "(`python docs/figures/calibrate_shipped.py`, record in `scenarios/calibrated/RECORD.md`)."
    ),
    new_code_cell(
        SETUP
        + """
import tempfile
from pathlib import Path

import yaml

from safesim.ensemble import chosen_point, emit_calibrated, region, sample_ensemble

plan = yaml.safe_load((ss.scenarios_dir() / "calibrated" / "plan.yaml").read_text())
targets = ss.load_targets(ss.scenarios_dir() / "targets" / "open.yaml")
# Small: fewer users, points and replicates (the targets need the full year).
USERS, N, REPS, WAVES, K, CMP_REPS = (2000, 10, 2, 2, 4, 3) if SMALL else (10000, plan["n"], plan["reps"], 3, 20, 10)
base = ss.Scenario.load("baseline").set("population.users", USERS)
pd.DataFrame(
    [{"name": t.name, "metric": str(t.expression), "low": t.low, "high": t.high, "used_for": t.used_for,
      "source": t.source} for t in targets]
)"""
    ),
    new_markdown_cell(
        "Only the targets marked `used_for: fit` are fitted; a compared-only figure never is. Each states how the "
        "survey figure maps to the model's own measure:"
    ),
    new_code_cell(
        """for t in targets.fitted():
    print(f"{t.name}: {t.mapping}", end="\\n\\n")"""
    ),
    new_markdown_cell(
        "Wave 1 samples the ranges by Latin hypercube; every point runs `REPS` times on common seeds. A point is "
        "ruled out when, for some target, |model mean - target| / sqrt(target var + model var / reps + "
        "discrepancy var) exceeds 3. Later waves fit an emulator per target on every point simulated so far, "
        "screen many candidates with it and simulate only those it cannot rule out."
    ),
    new_code_cell(
        """cal = ss.calibrate(base, plan["parameters"], targets, n=N, reps=REPS, waves=WAVES, emulate=True, seed=1)
cal"""
    ),
    new_markdown_cell(
        "**Emulator diagnostics.** Each emulator is checked by its leave-one-out standardized errors before it "
        "is trusted: at least 85% within ±2 and at most 5% beyond ±3, else the wave is simulated in full."
    ),
    new_code_cell("cal.emulator_diagnostics()"),
    new_code_cell("sp.emulator_diagnostics(cal);"),
    new_markdown_cell(
        "**The non-implausible region**: the bounds of the points not ruled out and the share of the original "
        "box they occupy (wave 1 is a uniform sample of the box, so its surviving share estimates the volume)."
    ),
    new_code_cell(
        """reg = region(cal)
print(reg["volume_share"])
pd.DataFrame(reg["bounds"]).T"""
    ),
    new_code_cell("sp.calibration(cal);"),
    new_markdown_cell(
        "**The chosen point** of a calibrated scenario is the best fit of the region (the non-implausible "
        "point with the smallest largest implausibility); the region's spread is carried by an ensemble of "
        "parameter sets drawn from it. `emit_calibrated` writes the calibrated scenario (extending the original, only "
        "the fitted keys), an ensemble of parameter sets from the region and the record "
        "(`safesim calibrate PLAN --emit DIR` does the same from the command line)."
    ),
    new_code_cell(
        """chosen, why = chosen_point(cal)
print(why)
folder = Path(tempfile.mkdtemp())
written = emit_calibrated(cal, folder, name="baseline_small", k=K)
print(written["scenario"].read_text())"""
    ),
    new_code_cell('cal.fit(chosen)[["target", "value", "target_sd", "model_mean", "model_sd", "implausibility"]]'),
    new_markdown_cell(
        "Non-implausible is not probable, and one point is not the answer. An **ensemble comparison** runs the "
        "policy question at every parameter set of the ensemble on common seeds. Its interval is the "
        "equal-weight mixture of the per-set paired t distributions: parameter and stochastic uncertainty "
        "together; `between_sd` and the per-set range show how much of it is the parameters."
    ),
    new_code_cell(
        """ensemble = ss.load_ensemble(written["ensemble"])
cmp = ss.compare({"baseline": base, "teen_accounts": base.with_policy("industry_teen_accounts")},
                 n=CMP_REPS, ensemble=ensemble)
eff = cmp.effects()
cols = ["metric", "diff", "diff_ci_low", "diff_ci_high", "between_sd", "set_diff_min", "set_diff_max", "parameter_share"]
eff[(eff.scope == "ecosystem") & eff.metric.isin(["minors_contacted", "minors_solicited", "minors_exploited"])][cols]"""
    ),
    new_code_cell("sp.effects(cmp);"),
    new_markdown_cell(
        "The shipped calibrated baseline and its ensemble are used the same way: "
        "`ss.compare(..., ensemble=ss.scenarios_dir() / \"calibrated\" / \"baseline.ensemble.csv\")`, or "
        "`safesim compare scenarios/calibrated/baseline.yaml --policy-arm industry_teen_accounts --ensemble "
        "scenarios/calibrated/baseline.ensemble.csv`."
    ),
    new_code_cell(
        """shipped = ss.load_ensemble(ss.scenarios_dir() / "calibrated" / "baseline.ensemble.csv")
shipped.sets.describe().T[["min", "50%", "max"]]"""
    ),
]


NOTEBOOKS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_comparing_defaults.ipynb": COMPARING,
    "03_regulation_ecosystem.ipynb": REGULATION,
    "04_sweep_reporting_detection.ipynb": SWEEP,
    "05_sensitivity.ipynb": SENSITIVITY,
    "06_calibration.ipynb": CALIBRATION,
}


def build(cells: list) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"  # stable ids: regenerating gives identical files
    return nb


def main() -> int:
    for name, cells in NOTEBOOKS.items():
        nbformat.write(build(cells), HERE / name)
        print(f"wrote {HERE / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
