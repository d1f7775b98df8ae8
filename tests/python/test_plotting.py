"""safesim.plotting: every kind of figure draws from real results and saves as PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

import safesim as ss
from safesim import plotting as sp

SMALL = {"population.users": 3000, "horizon_days": 60}
DM = "platforms.main.controls.dm_policy.under_16"
STEPS = "platforms.main.controls.reporting.steps"


@pytest.fixture(scope="module")
def cmp() -> ss.Comparison:
    base = ss.Scenario.default().set_many(SMALL)
    return ss.compare({"base": base, "teen": base.with_policy("industry_teen_accounts")}, n=4, progress=False)


@pytest.fixture(scope="module")
def sw() -> ss.SweepResults:
    base = ss.Scenario.default().set_many(SMALL)
    return ss.sweep(base, {STEPS: [1, 5, 9], DM: ["requests_inbox", "connected_only"]}, n=3, progress=False)


def is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_comparison_figures(cmp: ss.Comparison, tmp_path: Path) -> None:
    figures = {
        "timeseries": sp.timeseries(cmp, "minors_contacted"),
        "timeseries_level": sp.timeseries(cmp["base"], "review_backlog"),
        "effects": sp.effects(cmp),
        "effects_raw": sp.effects(cmp, metrics=["minors_contacted"], relative=False),
        "funnel": sp.funnel(cmp, per_1k=True),
        "frontier": sp.frontier(cmp),
    }
    for name, fig in figures.items():
        path = sp.save(fig, tmp_path / f"{name}.png")
        assert is_png(path), name
    ax = figures["effects"].axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()][:4] == list(sp.FUNNEL)
    with pytest.raises(ValueError, match="no daily values"):
        sp.timeseries(cmp, "no_such_metric")


def test_sweep_figures(sw: ss.SweepResults, tmp_path: Path) -> None:
    for name, fig in {
        "heatmap": sp.sweep_heatmap(sw, "minors_contacted"),
        "lines": sp.sweep_lines(sw, "user_reports", x=STEPS),
        "frontier": sp.frontier(sw, exposure="minors_contacted_per_1k"),
        "funnel": sp.funnel(sw),
    }.items():
        assert is_png(sp.save(fig, tmp_path / f"{name}.png")), name


def test_pareto_frontier() -> None:
    import numpy as np

    pts = np.array([[1.0, 5.0], [2.0, 2.0], [3.0, 3.0], [4.0, 1.0]])
    assert sp._pareto(pts).tolist() == [0, 1, 3]  # (3, 3) is beaten by (2, 2)
