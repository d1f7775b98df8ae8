"""The experiment API: compare, sweep, executors, oracle, scenario diff and dicts."""

from __future__ import annotations

import pickle
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import safesim as ss
from safesim import _core
from safesim.store import run_id, safe_path

SMALL = {"population.users": 3000, "horizon_days": 60}
DM = "platforms.main.controls.dm_policy.under_16"


@pytest.fixture(scope="module")
def base() -> ss.Scenario:
    return ss.Scenario.default().set_many(SMALL)


@pytest.fixture(scope="module")
def teen_comparison(base: ss.Scenario) -> ss.Comparison:
    return ss.compare({"base": base, "teen": base.with_policy("industry_teen_accounts")}, n=8, progress=False)


# ------------------------------------------------------------------ Scenario
def test_scenario_diff_and_from_dict(base: ss.Scenario) -> None:
    other = base.set(DM, "connected_only").set("population.users", 4000)
    assert base.diff(other) == {"population.users": (3000, 4000), f"{DM}": ("requests_inbox", "connected_only")}
    assert base.diff(base.copy()) == {}
    again = ss.Scenario.from_dict(other.to_dict(), name="edited")
    assert again.hash == other.hash
    with pytest.raises(ss.ScenarioError) as err:
        ss.Scenario.from_dict({**base.to_dict(), "horizon_dayz": 3}, name="mine").spec  # noqa: B018
    assert err.value.file == "mine"
    assert "horizon_dayz" in str(err.value)


def test_scenario_pickles_without_spec(base: ss.Scenario) -> None:
    base.spec  # noqa: B018  (cached; must not travel)
    copy = pickle.loads(pickle.dumps(base))
    assert copy == base
    assert copy.hash == base.hash


# ------------------------------------------------------------------ compare
def test_compare_paired_effects(teen_comparison: ss.Comparison) -> None:
    eff = teen_comparison.summary()
    assert list(eff.columns) == [
        "scenario",
        "reference",
        "scope",
        "metric",
        "ref_mean",
        "mean",
        "diff",
        "diff_ci_low",
        "diff_ci_high",
        "rel_diff",
        "n",
    ]
    assert set(eff["scenario"]) == {"teen"}
    row = eff[(eff.scope == "ecosystem") & (eff.metric == "minors_contacted")].iloc[0]
    assert row["diff"] < 0  # teen defaults cut contact
    assert row["diff_ci_low"] <= row["diff"] <= row["diff_ci_high"]
    assert row["rel_diff"] == pytest.approx(row["diff"] / row["ref_mean"])
    runs = teen_comparison.runs
    base_vals = runs[(runs.scenario == "base") & (runs.scope == "ecosystem") & (runs.metric == "minors_contacted")]
    assert row["ref_mean"] == pytest.approx(base_vals["value"].mean())
    # Common random numbers: both arms use the same seeds.
    assert teen_comparison["base"].seeds == teen_comparison["teen"].seeds
    means = teen_comparison.means()
    assert set(means["scenario"]) == {"base", "teen"}
    assert "Comparison" in repr(teen_comparison)


def test_paired_differences_use_available_pairs() -> None:
    rows = []
    for sc, values in (("a", [1.0, 2.0, np.nan, 4.0]), ("b", [2.0, np.nan, 5.0, 7.0])):
        rows += [
            {"scenario": sc, "replicate": r, "scope": "x", "metric": "m", "value": v} for r, v in enumerate(values)
        ]
    eff = ss.paired_differences(pd.DataFrame(rows), "a").iloc[0]
    assert eff["n"] == 2  # replicates 0 and 3 only
    assert eff["diff"] == pytest.approx(2.0)  # (1 + 3) / 2
    assert eff["ref_mean"] == pytest.approx(2.5)


def test_common_random_numbers_cut_variance_fivefold(base: ss.Scenario) -> None:
    """Paired differences on common seeds vary at least 5x less than on independent seeds."""
    stricter = base.set(DM, "connected_only")
    n = 30
    paired = ss.compare({"a": base, "b": stricter}, n=n, seed=100, progress=False)
    independent = ss.replicate(stricter, n=n, seed=100_000, progress=False)

    def values(res: ss.Results, metric: str) -> np.ndarray:
        r = res.runs
        return r[(r.scope == "ecosystem") & (r.metric == metric)]["value"].to_numpy()

    for metric in ("minors_contacted", "legit_contacts_blocked"):
        a = values(paired["a"], metric)
        d_crn = values(paired["b"], metric) - a
        d_ind = values(independent, metric) - a
        ratio = d_ind.var(ddof=1) / d_crn.var(ddof=1)
        print(f"{metric}: variance ratio independent/paired = {ratio:.1f}")
        assert ratio >= 5, (metric, ratio)


# ------------------------------------------------------------------ sweep
def test_sweep_grid_and_samples(base: ss.Scenario) -> None:
    grid = {"platforms.main.controls.reporting.steps": [1, 9], DM: ["requests_inbox", "connected_only"]}
    sw = ss.sweep(base, grid, n=3, progress=False)
    assert len(sw.points) == 4
    assert sw.parameters == list(grid)
    s = sw.summary()
    assert {"point", *grid, "scope", "metric", "mean", "ci_low", "ci_high"} <= set(s.columns)
    assert len(s[(s.scope == "ecosystem") & (s.metric == "minors_contacted")]) == 4
    eff = sw.effects()
    assert set(eff["point"]) == {1, 2, 3}
    # A point equals the same scenario run directly (same seeds).
    direct = ss.replicate(base.set(DM, "connected_only").set("platforms.main.controls.reporting.steps", 9), n=3)
    assert sw[3].hashes == direct.hashes
    samples = ss.sweep(base, [{"policy": "industry_teen_accounts"}, {"horizon_days": 30}], n=2, progress=False)
    assert samples[0].scenario.policies == ("industry_teen_accounts",)
    assert samples[1].outputs[0]["days"] == 30
    with pytest.raises(TypeError):
        ss.expand_sweep({"a": 3})


# ------------------------------------------------------------------ executors
def test_executors_agree(base: ss.Scenario) -> None:
    ref = ss.replicate(base, n=4, executor="serial", progress=False).hashes
    assert ss.replicate(base, n=4, executor="local", workers=2, progress=False).hashes == ref
    assert ss.replicate(base, n=4, executor="processes", workers=2, progress=False).hashes == ref
    with pytest.raises(ValueError, match="unknown executor"):
        ss.replicate(base, n=2, executor="gpu")


def test_run_options_object_and_keywords_agree(base: ss.Scenario, tmp_path: Path) -> None:
    """``options=RunOptions(...)`` and the five keywords are one thing; keywords win over the object."""
    opts = ss.RunOptions(executor="serial", out=tmp_path / "a", csv=True, progress=False)
    a = ss.replicate(base, n=2, options=opts)
    b = ss.replicate(base, n=2, executor="serial", out=tmp_path / "b", csv=True, progress=False)
    assert a.hashes == b.hashes
    for folder in ("a", "b"):
        assert (tmp_path / folder / "runs.csv").is_file()
        assert len(list((tmp_path / folder / "runs").glob("*.csv"))) == 6  # totals, daily and groups per run
    c = ss.sweep(base, {DM: ["requests_inbox"]}, n=2, options=opts, out=tmp_path / "c", csv=False)
    assert (tmp_path / "c" / "runs.parquet").is_file()
    assert c[0].hashes == a.hashes
    with pytest.raises(TypeError, match="compare\\(\\) got an unexpected keyword argument 'worker'"):
        ss.compare([base, base], n=2, worker=2)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_dask_client_executor(base: ss.Scenario, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        sw = ss.sweep(base, {DM: ["requests_inbox", "connected_only"]}, n=3, executor=client, out=tmp_path)
    local = ss.sweep(base, {DM: ["requests_inbox", "connected_only"]}, n=3, progress=False)
    pd.testing.assert_frame_equal(sw.summary(), local.summary())
    assert len(list((tmp_path / "runs").glob("*.json"))) == 6


def test_long_runs_release_the_gil() -> None:
    """The main thread keeps running Python while a run computes in another thread."""
    spec = ss.Scenario.default().set("population.users", 100_000).spec
    ticks: list[float] = []
    worker = threading.Thread(target=_core.run, args=(spec, 2))
    start = time.perf_counter()
    worker.start()
    while worker.is_alive():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    duration = time.perf_counter() - start
    gaps = np.diff([start, *ticks])
    # With the GIL held for the run, the loop would stall once for (nearly) all of it.
    assert len(ticks) >= 5, (len(ticks), duration)
    assert gaps.max() < 0.5 * duration, (gaps.max(), duration)


# ------------------------------------------------------------------ oracle
@pytest.mark.parametrize("offender_type", ["groomer", "sextortion", "distributor"])
def test_oracle_probabilities_sum_to_one(offender_type: str) -> None:
    sc = ss.Scenario.default()
    o = ss.oracle(sc, platform="main", offender_type=offender_type)
    first = (
        o["exploited"]
        + o["reported_before_exploitation"]
        + o["exited_before_exploitation"]
        + o["detected_before_exploitation"]
    )
    assert first == pytest.approx(1.0, abs=1e-9)
    ends = o["reported"] + o["exited"] + o["detected"] + o["closed_after_exploitation"]
    assert ends == pytest.approx(1.0, abs=1e-9)
    assert all(0.0 <= o[k] <= 1.0 for k in ("exploited", "reported", "exited", "moved", "reach_trust"))
    assert o["expected_days"] > 0
    with pytest.raises(ValueError, match="platform"):
        ss.oracle(sc, platform="nope")


def test_oracle_mixes_over_harvested_images() -> None:
    # Sextortion offenders who saved a public profile's images exploit faster;
    # download restrictions leave only the circumvention share of them.
    sc = ss.Scenario.default().set("response.harvest_leverage_factor", 3.0)
    restricted = sc.set("platforms.main.controls.download_restrictions", True)
    none = ss.oracle(sc, offender_type="sextortion", public_share=0.0)["exploited"]
    full = ss.oracle(sc, offender_type="sextortion")["exploited"]
    kept = ss.oracle(restricted, offender_type="sextortion")["exploited"]
    assert none < kept < full
    circumvention = sc.to_dict()["response"]["download_circumvention"]
    assert kept == pytest.approx((1 - circumvention) * none + circumvention * full, rel=1e-9)
    # Groomers do not harvest: the share does not matter.
    assert ss.oracle(sc, public_share=0.0) == ss.oracle(sc, public_share=1.0)
    with pytest.raises(ValueError, match="public_share"):
        ss.oracle(sc, offender_type="sextortion", public_share=1.5)


# ------------------------------------------------------------------ output paths
def test_output_paths_stay_inside(base: ss.Scenario, tmp_path: Path) -> None:
    out = tmp_path / "out"
    arms = {"../../evil": base, "a/b": base.set("horizon_days", 30), ".hidden": base.set("horizon_days", 20)}
    ss.compare(arms, n=2, out=out, progress=False)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(out in p.parents for p in written)
    names = sorted(p.name for p in (out / "scenarios").iterdir())
    assert names == ["_.._evil.resolved.yaml", "a_b.resolved.yaml", "hidden.resolved.yaml"]
    assert safe_path(out, "..") == (out / "_").resolve()
    assert safe_path(out, "runs", "../../x.json") == (out / "runs" / "_.._x.json").resolve()
    with pytest.raises(ValueError, match="not a scenario hash"):
        run_id("../etc", 1)


def test_plotting_is_the_only_matplotlib_importer() -> None:
    import subprocess

    code = "import sys, safesim, safesim.cli, safesim.executors, safesim.store; print('matplotlib' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert proc.stdout.strip() == "False"


def test_progress_bar(base: ss.Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    ss.replicate(base, n=3, progress=True)
    assert "3/3" in capsys.readouterr().err
    ss.replicate(base, n=3, progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "module", ["safesim.api", "safesim.scenario", "safesim.results", "safesim.analytic", "safesim.plans"]
)
def test_docstring_examples(module: str) -> None:
    import doctest
    import importlib

    failures, tried = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert tried > 0
    assert failures == 0
