"""Comparisons across an ensemble of parameter sets: equal to compare with one set, wider with a spread one,
the mixture interval by brute force, resume, executors, the file format and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL_ARGS, run_cli
from scipy import optimize, stats

import safesim as ss
from safesim.ensemble import Ensemble, load_ensemble, mixture_interval

SHARE = "offenders.share_of_adults"
TEEN = "industry_teen_accounts"
COLS = ["diff", "diff_ci_low", "diff_ci_high", "rel_diff", "ref_mean", "mean", "n"]


def _arms(base: ss.Scenario) -> dict[str, ss.Scenario]:
    return {"base": base, "teen": base.with_policy(TEEN)}


def _row(frame: pd.DataFrame, metric: str) -> pd.Series:
    return frame[(frame["scope"] == "ecosystem") & (frame["metric"] == metric)].iloc[0]


def test_one_set_equals_the_plain_comparison_on_the_same_seeds(small_baseline: ss.Scenario) -> None:
    x = 0.009
    plain = ss.compare(
        {"base": small_baseline.set(SHARE, x), "teen": small_baseline.with_policy(TEEN).set(SHARE, x)}, n=5, seed=3
    )
    ens = ss.compare(_arms(small_baseline), n=5, seed=3, ensemble=[{SHARE: x}])
    assert isinstance(ens, ss.EnsembleComparison)
    a, b = plain.effects(), ens.effects()
    assert len(a) == len(b)
    for col in COLS:
        assert np.array_equal(a[col].to_numpy(float), b[col].to_numpy(float), equal_nan=True), col
    assert (b["sets"] == 1).all()
    assert b["between_sd"].isna().all()  # one set: no between-set spread


def test_a_spread_ensemble_widens_the_interval(small_baseline: ss.Scenario) -> None:
    sets = [{SHARE: v} for v in (0.003, 0.009, 0.025)]
    plain = ss.compare(
        {"base": small_baseline.set(SHARE, 0.009), "teen": small_baseline.with_policy(TEEN).set(SHARE, 0.009)}, n=6
    )
    ens = ss.compare(_arms(small_baseline), n=6, ensemble=sets)
    per = ens.per_set()
    for metric in ("minors_contacted", "minors_solicited"):
        p, e = _row(plain.effects(), metric), _row(ens.effects(), metric)
        assert e["diff_ci_high"] - e["diff_ci_low"] >= p["diff_ci_high"] - p["diff_ci_low"]
        # the middle set's own effect is the plain comparison's
        mid = per[(per["set"] == 1) & (per["scope"] == "ecosystem") & (per["metric"] == metric)].iloc[0]
        assert mid["diff"] == p["diff"]
        # the combined mean is the mean of the per-set means; the spread is theirs
        sets_diff = per[(per["scope"] == "ecosystem") & (per["metric"] == metric)]["diff"].to_numpy(float)
        assert e["diff"] == pytest.approx(sets_diff.mean())
        assert e["between_sd"] == pytest.approx(sets_diff.std(ddof=1))
        assert e["set_diff_min"] == sets_diff.min()
        assert e["set_diff_max"] == sets_diff.max()
        assert 0 <= e["parameter_share"] <= 1
        assert e["diff_ci_low"] <= sets_diff.min()
        assert e["diff_ci_high"] >= sets_diff.max()


def test_mixture_interval_matches_brute_force() -> None:
    rng = np.random.default_rng(4)
    mid = rng.normal(0, 3, size=(5, 4))
    se = rng.uniform(0.2, 2.0, size=(5, 4))
    dof = np.full((5, 4), 7.0)
    half = stats.t.ppf(0.975, dof) * se
    mid[2, 3] = np.nan  # a set without the row
    lo, hi = mixture_interval(mid - half, mid, mid + half, dof)
    for i in range(5):
        ok = np.isfinite(mid[i])

        def cdf(x: float, i: int = i, ok: np.ndarray = ok) -> float:
            return float(np.mean(stats.t.cdf((x - mid[i, ok]) / se[i, ok], 7)))

        want_lo = optimize.brentq(lambda x, c=cdf: c(x) - 0.025, -100, 100, xtol=1e-12)
        want_hi = optimize.brentq(lambda x, c=cdf: c(x) - 0.975, -100, 100, xtol=1e-12)
        assert lo[i] == pytest.approx(want_lo, abs=1e-8)
        assert hi[i] == pytest.approx(want_hi, abs=1e-8)


def test_mixture_of_point_masses_and_missing_intervals() -> None:
    mid = np.array([[1.0, 3.0], [1.0, 2.0]])
    zero = np.zeros_like(mid)
    lo, hi = mixture_interval(mid, mid, mid, zero + 5)  # no spread within sets: between the sets' values
    assert lo[0] == pytest.approx(1.0)
    assert hi[0] == pytest.approx(3.0)
    nan_lo = np.array([[np.nan, 0.0], [0.5, 1.5]])
    lo, _ = mixture_interval(nan_lo, mid, mid + 1, zero + 5)
    assert np.isnan(lo[0])  # a set with a mean but no interval (one replicate): no combined interval


def test_resume_does_not_redo_runs(small_baseline: ss.Scenario, tmp_path: Path) -> None:
    sets = [{SHARE: 0.004}, {SHARE: 0.012}]
    first = ss.compare(_arms(small_baseline), n=3, ensemble=sets, out=tmp_path)
    assert first.computed_runs == 2 * 2 * 3
    assert first.loaded_runs == 0
    again = ss.compare(_arms(small_baseline), n=3, ensemble=sets, out=tmp_path)
    assert again.computed_runs == 0
    assert again.loaded_runs == 12
    pd.testing.assert_frame_equal(first.effects(), again.effects())
    for name in ("comparison.csv", "comparison_by_set.csv", "summary.csv", "ensemble.csv", "summary.json"):
        assert (tmp_path / name).is_file(), name
    written = pd.read_csv(tmp_path / "comparison.csv")
    assert {"between_sd", "set_diff_min", "set_diff_max", "within_se", "sets"} <= set(written.columns)
    # a third set added later computes only its own runs
    more = ss.compare(_arms(small_baseline), n=3, ensemble=[*sets, {SHARE: 0.02}], out=tmp_path)
    assert more.computed_runs == 2 * 3
    assert more.loaded_runs == 12


def test_processes_give_the_threads_result(small_baseline: ss.Scenario) -> None:
    sets = [{SHARE: 0.004}, {SHARE: 0.012}]
    a = ss.compare(_arms(small_baseline), n=2, ensemble=sets, executor="local", workers=2)
    b = ss.compare(_arms(small_baseline), n=2, ensemble=sets, executor="processes", workers=2)
    pd.testing.assert_frame_equal(a.effects(), b.effects())


def test_file_round_trip_and_errors(tmp_path: Path) -> None:
    ens = Ensemble.of(
        [{SHARE: 0.004, "offenders.groomer.max_open_dyads": 3}, {SHARE: 0.01, "offenders.groomer.max_open_dyads": 7}]
    )
    ens.header = ["two sets", "for a test"]
    path = ens.save(tmp_path / "e.csv")
    back = ss.load_ensemble(path)
    assert back.keys == [SHARE, "offenders.groomer.max_open_dyads"]
    assert list(back) == list(ens)
    assert isinstance(back.values(1)["offenders.groomer.max_open_dyads"], int)
    assert back.header == ["two sets", "for a test"]
    bad = tmp_path / "bad.csv"
    bad.write_text(f"# header\nset,{SHARE}\n0,0.004\n1,lots\n")
    with pytest.raises(ValueError, match=r"bad\.csv:4: column offenders\.share_of_adults: expected a number"):
        load_ensemble(bad)
    short = tmp_path / "short.csv"
    short.write_text(f"set,{SHARE}\n0\n")
    with pytest.raises(ValueError, match=r"short\.csv:2: expected 2 values"):
        load_ensemble(short)
    (tmp_path / "empty.csv").write_text(f"set,{SHARE}\n")
    with pytest.raises(ValueError, match="no parameter sets"):
        load_ensemble(tmp_path / "empty.csv")


def test_unknown_key_in_an_ensemble_is_refused(small_baseline: ss.Scenario) -> None:
    with pytest.raises((ValueError, ss.ScenarioError), match=r"offenders\.share_of_adultz"):
        ss.compare(_arms(small_baseline), n=2, ensemble=[{"offenders.share_of_adultz": 0.01}])


def test_cli_compare_with_an_ensemble(tmp_path: Path) -> None:
    Ensemble.of([{SHARE: 0.004}, {SHARE: 0.012}]).save(tmp_path / "e.csv")
    out = tmp_path / "out"
    args = ["compare", "baseline", "--policy-arm", TEEN, "--reps", "3", *SMALL_ARGS, "--no-progress"]
    proc = run_cli(*args, "--ensemble", tmp_path / "e.csv", "--out", out, "--no-figures")
    assert proc.returncode == 0, proc.stderr
    assert "at 2 parameter set(s)" in proc.stdout
    assert "95% CI (sets + noise)" in proc.stdout
    assert "between sets" in proc.stdout
    table = pd.read_csv(out / "comparison.csv")
    row = table[(table["scope"] == "ecosystem") & (table["metric"] == "minors_contacted")].iloc[0]
    assert row["sets"] == 2
    assert row["n"] == 6
    again = run_cli(*args, "--ensemble", tmp_path / "e.csv", "--out", out, "--no-figures", "--force")
    assert again.returncode == 0, again.stderr
    (tmp_path / "bad.csv").write_text(f"{SHARE}\nx\n")
    bad = run_cli(*args, "--ensemble", tmp_path / "bad.csv")
    assert bad.returncode == 2
    assert "bad.csv:2: column offenders.share_of_adults: expected a number" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_a_dask_client_gives_the_threads_result(small_baseline: ss.Scenario, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    sets = [{SHARE: 0.004}, {SHARE: 0.012}]
    threads = ss.compare(_arms(small_baseline), n=2, ensemble=sets)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0", silence_logs=50
        ) as lc,
        distributed.Client(lc, set_as_default=False) as client,
    ):
        dask = ss.compare(_arms(small_baseline), n=2, ensemble=sets, executor=client, out=tmp_path)
    pd.testing.assert_frame_equal(threads.effects(), dask.effects())
    assert dask.computed_runs == 8


def test_identical_sets_give_the_one_set_interval(small_baseline: ss.Scenario) -> None:
    one = ss.compare(_arms(small_baseline), n=4, ensemble=[{SHARE: 0.009}]).effects()
    three = ss.compare(_arms(small_baseline), n=4, ensemble=[{SHARE: 0.009}] * 3).effects()
    defined = three["sets"] == 3
    assert (three.loc[defined, "between_sd"] == 0).all()  # no spread from rounding the mean
    for col in ("diff", "diff_ci_low", "diff_ci_high"):
        np.testing.assert_allclose(three[col].to_numpy(float), one[col].to_numpy(float), rtol=1e-9, atol=1e-9)


FRONTIER = ["exposure_mean", "exposure_ci_low", "exposure_ci_high", "exposure_diff", "exposure_diff_ci_low"]
FRONTIER += ["exposure_diff_ci_high", "burden_mean", "burden_ci_low", "burden_ci_high", "burden_diff"]
FRONTIER += ["burden_diff_ci_low", "burden_diff_ci_high"]


def test_the_frontier_is_combined_across_sets(small_baseline: ss.Scenario) -> None:
    axes = {"exposure": "minors_contacted", "burden": "legit_contacts_blocked"}
    x = 0.009
    plain = ss.compare(
        {"base": small_baseline.set(SHARE, x), "teen": small_baseline.with_policy(TEEN).set(SHARE, x)}, n=4, seed=3
    ).frontier(**axes)
    one = ss.compare(_arms(small_baseline), n=4, seed=3, ensemble=[{SHARE: x}]).frontier(**axes)
    pd.testing.assert_frame_equal(one, plain)  # one set: exactly the plain comparison's table
    same = ss.compare(_arms(small_baseline), n=4, seed=3, ensemble=[{SHARE: x}] * 3).frontier(**axes)
    np.testing.assert_allclose(same[FRONTIER].to_numpy(float), plain[FRONTIER].to_numpy(float), rtol=1e-9)
    assert same["frontier"].tolist() == plain["frontier"].tolist()
    assert (same["exposure_between_sd"] == 0).all()
    sets = [{SHARE: v} for v in (0.003, 0.009, 0.025)]
    ens = ss.compare(_arms(small_baseline), n=4, seed=3, ensemble=sets)
    table = ens.frontier(**axes).set_index("scenario")
    per = [c.frontier(**axes).set_index("scenario") for c in ens.sets]
    teen = [p.loc["teen", "exposure_diff"] for p in per]
    assert table.loc["teen", "exposure_diff"] == pytest.approx(np.mean(teen))
    assert table.loc["teen", "exposure_between_sd"] == pytest.approx(np.std(teen, ddof=1))
    assert table.loc["teen", "exposure_diff_ci_low"] <= min(teen)
    assert table.loc["teen", "exposure_diff_ci_high"] >= max(teen)
    # the frontier's changes are the combined effects of the two metrics
    eff = ens.effects()
    row = eff[(eff["scenario"] == "teen") & (eff["scope"] == "ecosystem") & (eff["metric"] == "minors_contacted")]
    assert table.loc["teen", "exposure_diff"] == pytest.approx(float(row["diff"].iloc[0]))
    assert table.loc["teen", "exposure_diff_ci_low"] == pytest.approx(float(row["diff_ci_low"].iloc[0]), rel=1e-6)
    assert table.loc["base", "exposure_diff"] == 0.0


def test_cli_frontier_and_report_under_an_ensemble(tmp_path: Path) -> None:
    Ensemble.of([{SHARE: 0.004}, {SHARE: 0.012}]).save(tmp_path / "e.csv")
    out = tmp_path / "out"
    args = ["compare", "baseline", "--policy-arm", TEEN, "--reps", "2", *SMALL_ARGS, "--no-progress"]
    proc = run_cli(*args, "--ensemble", tmp_path / "e.csv", "--burden", "legit_contacts_blocked", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "both sides (ecosystem): exposure minors_exploited_per_1k, burden legit_contacts_blocked" in proc.stdout
    assert "report.html is not written for an ensemble comparison" in proc.stdout
    assert (out / "frontier.png").is_file()
    assert not (out / "report.html").exists()
    report = run_cli("report", out)
    assert report.returncode == 2
    assert "an ensemble comparison folder; reports cover run and compare results" in report.stderr
