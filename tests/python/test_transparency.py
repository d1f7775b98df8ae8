"""The transparency view (docs/model/design-concepts.md): published figures beside ground truth, per platform."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import safesim as ss
from safesim import plotting as sp
from safesim.results import GROUND_TRUTH, PUBLISHED

SMALL = {"population.users": 4000, "horizon_days": 120}


@pytest.fixture(scope="module")
def two_platforms() -> ss.Comparison:
    sc = ss.Scenario.load("risk_assessment").set_many(SMALL)
    off = sc.set("platforms.*.controls.risk_assessment.enabled", False)
    return ss.compare({"assessed": sc, "off": off}, n=4, reference="off", progress=False)


def test_results_view_has_every_platform_and_both_sides(two_platforms: ss.Comparison) -> None:
    res = two_platforms["off"]
    view = res.transparency()
    assert list(view["scope"].cat.categories) == ["aware", "unaware"]
    assert set(view["scope"].astype(str)) == {"aware", "unaware"}
    for scope in ("aware", "unaware"):
        rows = view[view["scope"] == scope]
        assert list(rows["metric"].astype(str)) == [*PUBLISHED, *GROUND_TRUTH]
        assert list(rows["view"].astype(str)) == ["published"] * len(PUBLISHED) + ["ground truth"] * len(GROUND_TRUTH)
    # The view is the summary's numbers, not new ones.
    summary = res.summary()
    for row in view.itertuples(index=False):
        s = summary[(summary["scope"] == row.scope) & (summary["metric"] == row.metric)]
        assert np.isclose(s["mean"].iloc[0], row.mean, equal_nan=True)
    # The platform without detectors publishes no proactive share and leaves
    # more material undetected: the view shows what its reports hide.
    mean = view.set_index(["scope", "metric"])["mean"]
    assert mean[("unaware", "proactive_share")] == 0
    assert mean[("unaware", "material_never_detected")] > mean[("aware", "material_never_detected")]


def test_single_platform_view_keeps_that_platform() -> None:
    res = ss.replicate(ss.Scenario.default().set_many({"population.users": 2000, "horizon_days": 30}), n=2)
    view = res.transparency()
    assert set(view["scope"].astype(str)) == {"main"}
    assert len(view) == len(PUBLISHED) + len(GROUND_TRUTH)


def test_comparison_view_is_paired_effects(two_platforms: ss.Comparison) -> None:
    view = two_platforms.transparency()
    effects = two_platforms.effects()
    assert {"diff", "diff_ci_low", "diff_ci_high", "view"} <= set(view.columns)
    row = view[(view["scope"] == "aware") & (view["metric"] == "minors_contacted")].iloc[0]
    e = effects[(effects["scope"] == "aware") & (effects["metric"] == "minors_contacted")].iloc[0]
    assert row["diff"] == e["diff"]
    assert row["diff_ci_low"] == e["diff_ci_low"]


def test_transparency_figure(two_platforms: ss.Comparison, tmp_path: Path) -> None:
    for obj in (two_platforms, two_platforms["off"]):
        fig = sp.transparency(obj)
        ax = fig.axes[0]
        assert "published" in ax.get_xlabel()
        assert "ground truth" in ax.get_ylabel()
        path = sp.save(fig, tmp_path / "t.png")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_transparency_figure_plots_the_figures_asked_for(two_platforms: ss.Comparison) -> None:
    """Each point is a platform at (its published figure, its ground truth), from the summary."""
    res = two_platforms["off"]
    fig = sp.transparency(res, published="user_reports", truth="minors_contacted")
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("published: user_reports")
    assert ax.get_ylabel().startswith("ground truth: minors_contacted")
    mean = res.summary().set_index(["scope", "metric"])["mean"]
    expected = sorted((mean[(p, "user_reports")], mean[(p, "minors_contacted")]) for p in ("aware", "unaware"))
    line = ax.lines[0]
    plotted = sorted(zip(line.get_xdata(), line.get_ydata(), strict=True))
    np.testing.assert_allclose(plotted, expected)
    # review_hours is moderator workload in hours: no transparency report counts it, and the
    # view refuses it by name rather than plotting hours as if they were reports.
    with pytest.raises(ValueError, match="need metrics 'review_hours' and 'minors_exploited'"):
        sp.transparency(res, published="review_hours")
