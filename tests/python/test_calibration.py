"""Calibration by history matching: arithmetic, a synthetic truth, validation, reproducibility, the CLI."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import yaml
from conftest import REPO, run_cli

import safesim as ss
from safesim.calibration import INTERVAL_Z, Target, implausibility

matplotlib.use("Agg")

SHARE = "offenders.share_of_adults"
DYADS = "offenders.groomer.max_open_dyads"
CONTACTED = "minors_contacted_per_1k"


@pytest.fixture(scope="module")
def truth(small_baseline: ss.Scenario) -> dict[str, float]:
    """Model output at a known share of offending adults, on seeds the calibration does not use."""
    res = ss.replicate(small_baseline.set(SHARE, 0.008), n=10, seed=100)
    s = res.summary()
    row = s[(s.scope == "ecosystem") & (s.metric == CONTACTED)].iloc[0]
    return {"share": 0.008, "mean": float(row["mean"]), "sd": float(row["sd"])}


def synthetic_target(truth: dict[str, float]) -> Target:
    return Target(CONTACTED, truth["mean"], sd=truth["sd"], mapping="the model itself", source="synthetic truth")


# ------------------------------------------------------------------ arithmetic
def test_implausibility_by_hand() -> None:
    # |12 - 10| / sqrt(1 + 6 / 2 + 0) = 2 / 2
    assert implausibility(12.0, 10.0, target_var=1.0, model_var=6.0, reps=2) == pytest.approx(1.0)
    # with a discrepancy: 3 / sqrt(4 + 0 + 5) = 1
    assert implausibility(7.0, 10.0, target_var=4.0, discrepancy_var=5.0) == pytest.approx(1.0)
    assert implausibility(10.0, 10.0) == 0.0
    assert implausibility(10.5, 10.0) == math.inf
    assert implausibility(math.nan, 10.0, target_var=1.0) == math.inf
    arr = implausibility(np.array([10.0, 13.0]), 10.0, target_var=9.0)
    assert arr.tolist() == [0.0, 1.0]


def test_interval_target_is_a_95_percent_interval() -> None:
    t = Target("minors_solicited_per_1k", interval=(0.02, 0.06), transform="share_from_per_1k")
    assert t.value == pytest.approx(0.04)
    assert t.target_sd == pytest.approx(0.04 / (2 * INTERVAL_Z))
    assert t.measure({"minors_solicited_per_1k": 30.0}) == pytest.approx(0.03)


def test_measures_ratio_and_callable() -> None:
    ratio = Target("clearinghouse_actionable / clearinghouse_reports", 0.49, sd=0.05)
    assert ratio.metrics_used() == ["clearinghouse_actionable", "clearinghouse_reports"]
    assert ratio.measure({"clearinghouse_actionable": 1.0, "clearinghouse_reports": 4.0}) == 0.25
    assert math.isnan(ratio.measure({"clearinghouse_actionable": 0.0, "clearinghouse_reports": 0.0}))
    f = Target(lambda t: t["minors_exploited"] / t["minors_solicited"], 0.5, sd=0.1, name="exploited_given_solicited")
    assert f.measure({"minors_exploited": 2.0, "minors_solicited": 8.0}) == 0.25
    assert f.label == "exploited_given_solicited"


# ------------------------------------------------------------------ the method
def test_synthetic_truth_is_kept_and_a_wrong_region_ruled_out(
    small_baseline: ss.Scenario, truth: dict[str, float]
) -> None:
    cal = ss.calibrate(small_baseline, {SHARE: (0.001, 0.06)}, [synthetic_target(truth)], n=16, reps=4, seed=1)
    pts = cal.points
    ok = cal.non_implausible()
    assert ok[SHARE].min() < truth["share"] < ok[SHARE].max()
    near = pts[(pts[SHARE] - truth["share"]).abs() < 0.003]
    assert len(near)
    assert near["non_implausible"].all()
    far = pts[pts[SHARE] > 0.04]
    assert len(far) >= 3
    assert not far["non_implausible"].any()
    # Sampled close around the truth, nothing is ruled out.
    close = ss.calibrate(small_baseline, {SHARE: (0.0075, 0.0085)}, [synthetic_target(truth)], n=6, reps=4, seed=1)
    assert close.points["non_implausible"].all()
    assert close.points[f"{CONTACTED}:I"].max() < 3


def test_waves_sample_within_the_survivors(small_baseline: ss.Scenario, truth: dict[str, float]) -> None:
    cal = ss.calibrate(small_baseline, {SHARE: (0.001, 0.06)}, [synthetic_target(truth)], n=12, reps=3, waves=2, seed=2)
    r = cal.ranges().set_index("wave")
    assert list(r.index) == [1, 2]
    assert r.loc[2, "sampled_high"] < 0.06  # the ruled-out top of the range is not sampled again
    w2 = cal.points[cal.points["wave"] == 2]
    assert w2[SHARE].between(r.loc[2, "sampled_low"], r.loc[2, "sampled_high"]).all()
    assert cal.points["point"].tolist() == list(range(24))


def test_integer_keys_are_sampled_as_integers(small_baseline: ss.Scenario, truth: dict[str, float]) -> None:
    cal = ss.calibrate(small_baseline, {DYADS: (2, 5), SHARE: (0.005, 0.01)}, [synthetic_target(truth)], n=8, reps=1)
    values = cal.points[DYADS]
    assert values.dtype.kind == "i"
    assert set(values) <= {2, 3, 4, 5}
    assert len(set(values)) >= 3
    sc = cal.scenario_at(int(cal.points["point"].iloc[0]))
    assert isinstance(sc.to_dict()["offenders"]["groomer"]["max_open_dyads"], int)


def test_same_seed_same_result(small_baseline: ss.Scenario, truth: dict[str, float]) -> None:
    args = (small_baseline, {SHARE: (0.001, 0.03), DYADS: (2, 8)}, [synthetic_target(truth)])
    a = ss.calibrate(*args, n=6, reps=2, seed=5)
    b = ss.calibrate(*args, n=6, reps=2, seed=5, executor="serial")
    c = ss.calibrate(*args, n=6, reps=2, seed=6)
    assert a.points.equals(b.points)
    assert not np.allclose(a.points[SHARE], c.points[SHARE])


def test_results_api_and_save(small_baseline: ss.Scenario, truth: dict[str, float], tmp_path: Path) -> None:
    import safesim.plotting as sp

    cal = ss.calibrate(
        small_baseline, {SHARE: (0.001, 0.03), DYADS: (2, 8)}, [synthetic_target(truth)], n=6, reps=2, out=tmp_path
    )
    best = cal.best()
    assert best["max_implausibility"] == cal.points["max_implausibility"].min()
    assert cal.scenario_at().diff(small_baseline).keys() == {SHARE, DYADS}
    fit = cal.fit()
    assert fit["target"].tolist() == [CONTACTED]
    assert fit["source"].tolist() == ["synthetic truth"]
    doc = json.loads((tmp_path / "calibration.json").read_text())
    assert doc["provenance"]["method"] == "history matching"
    assert doc["provenance"]["targets"][0]["mapping"] == "the model itself"
    for name in ("points.csv", "ranges.csv", "fit.csv", "best.resolved.yaml"):
        assert (tmp_path / name).is_file()
    assert not list(tmp_path.rglob("*.tmp"))
    assert sp.calibration(cal) is not None
    assert sp.calibration_fit(cal) is not None
    one = ss.calibrate(small_baseline, {SHARE: (0.001, 0.03)}, [synthetic_target(truth)], n=3, reps=1)
    assert sp.calibration(one) is not None


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"offenders.share_of_adult": (0.001, 0.01)}, "did you mean 'share_of_adults'"),
        ({SHARE: (0.001, 1.5)}, "outside the key's bounds [0, 1]"),
        ({SHARE: (0.01, 0.001)}, "range low must be below high"),
        ({SHARE: "0.01"}, "expected a range"),
        ({DYADS: (1.5, 4)}, "needs whole-number range ends"),
        ({"platforms.main.controls.grooming_detection.enabled": (0, 1)}, "a boolean key has no numeric range"),
        ({SHARE: {"range": (0.0, 0.01), "log": True}}, "log sampling needs low > 0"),
        ({DYADS: {"range": (2, 8), "log": True}}, "log sampling is for continuous keys, not a count key"),
        ({}, "at least one parameter"),
    ],
)
def test_bad_parameters(small_baseline: ss.Scenario, parameters: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ss.calibrate(small_baseline, parameters, [Target(CONTACTED, 50, sd=10)], n=2, reps=1)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"metric": "minors_contacted_per_1000", "value": 1, "sd": 1}, "did you mean 'minors_contacted_per_1k'"),
        ({"metric": "minors_exploited / minors_solicted", "value": 1, "sd": 1}, "unknown metric 'minors_solicted'"),
        ({"metric": CONTACTED, "value": 1, "sd": 1, "scope": "tiktok"}, "unknown scope 'tiktok'"),
        ({"metric": CONTACTED, "value": 1, "sd": 1, "transform": "log"}, "unknown transform 'log'"),
        ({"metric": CONTACTED, "value": 1, "sd": 1, "interval": [0, 2]}, "sd or interval, not both"),
        ({"metric": CONTACTED, "sd": 1}, "a finite value (or an interval)"),
        ({"metric": CONTACTED, "value": 1, "weight": 2}, "unknown key(s) weight"),
    ],
)
def test_bad_targets(small_baseline: ss.Scenario, target: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ss.calibrate(small_baseline, {SHARE: (0.001, 0.01)}, [target], n=2, reps=1)


# ------------------------------------------------------------------ command line
def test_cli_end_to_end(tmp_path: Path) -> None:
    plan = {
        "scenario": "baseline",
        "set": {"population.users": 2000, "horizon_days": 60},
        "n": 6,
        "reps": 2,
        "waves": 2,
        "parameters": {SHARE: {"range": [0.001, 0.03], "log": True}, DYADS: [2, 6]},
        "targets": [
            {
                "name": "contacted_share",
                "metric": CONTACTED,
                "transform": "share_from_per_1k",
                "interval": [0.02, 0.1],
                "mapping": "a made-up figure for the test",
                "source": "test",
            }
        ],
    }
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan))
    out = tmp_path / "out"
    proc = run_cli("calibrate", path, "--out", out, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    for text in ("non-implausible ranges", "best point", "fit at the best point", "contacted_share"):
        assert text in proc.stdout
    for name in ("points.csv", "ranges.csv", "fit.csv", "calibration.json", "calibration.png", "calibration_fit.png"):
        assert (out / name).is_file(), name
    assert (out / "wave1" / "runs").is_dir()


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(
        yaml.safe_dump({"scenario": "baseline", "parameters": {SHARE: [0.001, 0.01]}, "targets": [{"metric": "nope"}]})
    )
    proc = run_cli("calibrate", path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "calibrate: error" in proc.stderr
    path.write_text(yaml.safe_dump({"scenario": "baseline", "targets": []}))
    proc = run_cli("calibrate", path)
    assert proc.returncode == 2
    assert "missing 'parameters'" in proc.stderr


def test_baseline_plan_is_valid() -> None:
    """The shipped plan parses and every parameter and target checks out against the baseline."""
    from safesim.scenario import make_parameters

    doc = yaml.safe_load((REPO / "scenarios" / "calibration_baseline.yaml").read_text())
    base = ss.Scenario.default()
    params = make_parameters(base, doc["parameters"])
    assert {p.key for p in params} >= {SHARE, "offenders.groomer.contacts_per_day"}
    for t in doc["targets"]:
        target = Target.from_dict(t)
        target.validate(base)
        assert target.mapping
        assert target.source


def test_rerun_with_out_reads_the_runs_back(
    small_baseline: ss.Scenario, truth: dict[str, float], tmp_path: Path
) -> None:
    args = (small_baseline, {SHARE: (0.001, 0.03)}, [synthetic_target(truth)])
    first = ss.calibrate(*args, n=4, reps=2, waves=2, seed=3, out=tmp_path)
    again = ss.calibrate(*args, n=4, reps=2, waves=2, seed=3, out=tmp_path)
    assert first.points.equals(again.points)
    assert len(list((tmp_path / "wave2" / "runs").glob("*.json"))) == 8  # one record per run


def test_csv_writes_the_wave_runs_as_csv(small_baseline: ss.Scenario, truth: dict[str, float], tmp_path: Path) -> None:
    """``csv=True`` means what it means for the other experiments: the per-run files kept are CSV."""
    args = (small_baseline, {SHARE: (0.001, 0.03)}, [synthetic_target(truth)])
    ss.calibrate(*args, n=2, reps=1, seed=3, out=tmp_path, csv=True, keep_daily=True)
    runs = tmp_path / "wave1" / "runs"
    assert len(list(runs.glob("*.daily.csv"))) == 2
    assert not list(runs.glob("*.parquet"))
    assert (tmp_path / "points.csv").is_file()
    # Without keep_daily a run leaves its record only.
    ss.calibrate(*args, n=2, reps=1, seed=3, out=tmp_path / "records", csv=True)
    assert sorted(p.name.partition(".")[2] for p in (tmp_path / "records" / "wave1" / "runs").iterdir()) == [
        "summary.json",
        "summary.json",
    ]


def test_the_plan_is_not_listed_as_a_scenario() -> None:
    assert "baseline" in ss.installed_scenarios()
    assert "calibration_baseline" not in ss.installed_scenarios()


def test_validate_checks_every_shipped_file_and_a_bad_calibration_plan(tmp_path: Path) -> None:
    """`safesim validate scenarios/*.yaml` (as docs/getting-started.md says) passes on scenarios and both kinds of plan,
    and a calibration plan with an unknown target metric fails with one line, without running."""
    files = sorted((REPO / "scenarios").glob("*.yaml"))
    proc = run_cli("validate", *files)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("OK ") == len(files)
    doc = yaml.safe_load((REPO / "scenarios" / "calibration_baseline.yaml").read_text())
    doc["scenario"] = "baseline"
    doc["targets"][0]["metric"] = "minors_solicted_per_1k"
    bad = tmp_path / "bad_plan.yaml"
    bad.write_text(yaml.safe_dump(doc))
    proc = run_cli("validate", bad)
    assert proc.returncode == 2
    assert "unknown metric 'minors_solicted_per_1k'" in proc.stderr
    assert "Traceback" not in proc.stderr


# ------------------------------------------------------------------ emulators
class ConstantEmulator:
    """A deliberately wrong emulator: the training mean everywhere, claiming to be almost exact."""

    def fit(self, x: np.ndarray, y: np.ndarray, noise_var: np.ndarray) -> ConstantEmulator:
        self.y = np.asarray(y, dtype=np.float64)
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.full(len(x), self.y.mean()), np.full(len(x), 1e-9)

    def loo(self) -> tuple[np.ndarray, np.ndarray]:
        n = len(self.y)
        return (self.y.sum() - self.y) / (n - 1), np.full(n, 1e-9)


LOGSHARE = {SHARE: {"range": (0.001, 0.06), "log": True}, DYADS: (2, 8)}


def test_emulated_waves_keep_the_truth_and_rule_out_the_wrong_region(
    small_baseline: ss.Scenario, truth: dict[str, float]
) -> None:
    pytest.importorskip("sklearn")
    cal = ss.calibrate(small_baseline, LOGSHARE, [synthetic_target(truth)], n=16, reps=3, waves=3, seed=1, emulate=True)
    diag = cal.emulator_diagnostics()
    assert diag["wave"].tolist() == [2, 3]
    assert diag["passed"].all()  # a smooth one-output response: the GP passes its diagnostics
    assert (diag["ruled_out_by_emulator"] > 0).all()
    ok = cal.non_implausible()
    assert ok[SHARE].min() < truth["share"] < ok[SHARE].max()
    # The wrong region (many more offenders) is ruled out by simulation in wave 1 and never simulated again.
    # (Minors contacted per 1,000: about 72 at the truth's 0.008, 255 at 0.03 and 335 at 0.045, with a
    # truth sd of about 32 at this size; a point near 0.03 with few open dyads can stay plausible.)
    far = cal.points[cal.points[SHARE] > 0.045]
    assert len(far) >= 1
    assert not far["non_implausible"].any()
    assert (cal.points[cal.points["wave"] > 1][SHARE] < 0.045).all()
    # The emulators' leave-one-out errors are in the diagnostics frame, one per training point.
    d = cal.diagnostics
    assert len(d[d["wave"] == 2]) == 16
    assert len(d[d["wave"] == 3]) == 32
    assert d["standardized_error"].abs().median() < 2
    # Emulated waves simulate where the emulator could not rule out: none of their points is far off.
    later = cal.points[cal.points["wave"] > 1]
    assert later["non_implausible"].mean() >= 0.9


def test_a_wrong_emulator_fails_its_diagnostics_and_the_wave_is_simulated(
    small_baseline: ss.Scenario, truth: dict[str, float]
) -> None:
    args = (small_baseline, LOGSHARE, [synthetic_target(truth)])
    wrong = ss.calibrate(*args, n=10, reps=2, waves=2, seed=3, emulate=True, emulator=ConstantEmulator)
    plain = ss.calibrate(*args, n=10, reps=2, waves=2, seed=3)
    (w2,) = [w for w in wrong.waves if w["wave"] == 2]
    assert w2["emulated"] is True
    assert w2["passed"] is False
    assert "fallback" in w2
    assert w2["simulated"] == 10
    diag = wrong.emulator_diagnostics()
    assert not diag["passed"].any()
    assert diag["beyond_3"].iloc[0] > 0.5
    # The fallback wave is exactly the wave without emulators (same sampler draws, same runs).
    assert wrong.points.equals(plain.points)


def test_leave_one_out_closed_form_matches_refitting() -> None:
    pytest.importorskip("sklearn")
    from sklearn.gaussian_process import GaussianProcessRegressor

    from safesim.calibration import GaussianProcessEmulator

    rng = np.random.default_rng(0)
    x = rng.uniform(size=(25, 2))
    y = np.sin(4 * x[:, 0]) + x[:, 1] ** 2 + rng.normal(0, 0.05, 25)
    noise = np.full(25, 0.05**2)
    em = GaussianProcessEmulator(seed=1).fit(x, y, noise)
    mean, sd = em.loo()
    for i in (0, 7, 24):
        keep = np.arange(25) != i
        gp = GaussianProcessRegressor(em.gp.kernel_, alpha=em.alpha[keep], optimizer=None, normalize_y=False)
        gp.fit(x[keep], em.z[keep])
        m, s = gp.predict(x[i : i + 1], return_std=True)
        assert mean[i] == pytest.approx(em.center + em.scale * m[0], rel=1e-6, abs=1e-9)
        assert sd[i] == pytest.approx(em.scale * math.sqrt(s[0] ** 2 + em.alpha[i]), rel=1e-6)


def test_calibrate_takes_a_targets_file_and_fits_only_its_fit_targets(
    small_baseline: ss.Scenario, truth: dict[str, float], tmp_path: Path
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        f"""targets:
  - name: contacted_share
    value: {truth["mean"] / 1000}
    sd: {truth["sd"] / 1000}
    source: synthetic truth
    metric: minors_contacted / minors
    window: [0, 59]
    used_for: fit
  - name: only_compared
    value: 1
    source: synthetic
    metric: users
"""
    )
    cal = ss.calibrate(small_baseline, {SHARE: (0.001, 0.06)}, path, n=8, reps=2, seed=1)
    assert [t.label for t in cal.targets] == ["contacted_share"]
    # The measure is the file's expression: the per-1k metric / 1000 on the same runs.
    plain = ss.calibrate(small_baseline, {SHARE: (0.001, 0.06)}, [synthetic_target(truth)], n=8, reps=2, seed=1)
    assert np.allclose(cal.points["contacted_share:mean"] * 1000, plain.points[f"{CONTACTED}:mean"])
    assert cal.points["non_implausible"].tolist() == plain.points["non_implausible"].tolist()
    compared = ss.load_targets(path)[1]
    with pytest.raises(ValueError, match="only targets marked used_for: fit are fitted"):
        ss.calibrate(small_baseline, {SHARE: (0.001, 0.06)}, [compared], n=2, reps=1)
    path.write_text(path.read_text().replace("[0, 59]", "[0, 99]"))
    with pytest.raises(ss.PlanError, match=r"t.yaml:7:5: targets\[0\].window: last day 99 is beyond the run"):
        ss.calibrate(small_baseline, {SHARE: (0.001, 0.06)}, path, n=2, reps=1)


def test_a_plan_names_a_targets_file_and_asks_for_emulators(tmp_path: Path) -> None:
    (tmp_path / "targets").mkdir()
    (tmp_path / "targets" / "t.yaml").write_text(
        """targets:
  - name: contacted_share
    range: [0.005, 0.2]
    source: synthetic
    metric: minors_contacted / minors
    used_for: fit
"""
    )
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        f"""scenario: {REPO / "scenarios" / "baseline.yaml"}
set: {{population.users: 2000, horizon_days: 60}}
n: 8
reps: 2
waves: 2
emulate: true
candidates: 5
parameters:
  offenders.share_of_adults: [0.001, 0.03]
targets: targets/t.yaml
"""
    )
    loaded = ss.load_plan(plan)
    loaded.check()
    cal = loaded.run(options=ss.RunOptions(progress=False))
    assert [t.label for t in cal.targets] == ["contacted_share"]
    assert cal.waves[1]["emulated"] is True
    plan.write_text(plan.read_text().replace("emulate: true", "emulate: yes please"))
    with pytest.raises(ss.PlanError, match=r"plan.yaml:6:\d+: emulate: expected true or false"):
        ss.load_plan(plan)
    plan.write_text(plan.read_text().replace("emulate: yes please", "emulate: false").replace("t.yaml", "missing.yaml"))
    with pytest.raises(ss.PlanError, match=r"missing\.yaml: no such targets file"):
        ss.load_plan(plan).check()
