"""Figures from safesim results (the only module that imports matplotlib).

Each function takes results (``Results``, ``Comparison``, ``SweepResults`` or
``SensitivityResults``)
and an optional matplotlib ``Axes``, and returns the ``Figure``:

- :func:`timeseries`: a metric over time, mean with a 95% band per scenario;
- :func:`effects`: paired effects with intervals, forest-plot style;
- :func:`funnel`: contacted -> engaged -> solicited -> exploited;
- :func:`by_group`: a minor-level metric by age band or gender;
- :func:`sweep_heatmap` and :func:`sweep_lines`: a metric across a sweep;
- :func:`frontier`: child exposure against burden on ordinary users, with
  the Pareto frontier (no other option is better on both);
- :func:`transparency`: per platform, a figure it would publish against the
  harm only the simulation sees;
- :func:`sensitivity`: Morris or Sobol' indices per parameter with their
  intervals and the simulation-noise level, most important first;
- :func:`calibration`: history-matching points in pairs of parameters,
  coloured by implausibility, the non-implausible ones outlined;
  :func:`calibration_fit`: each target against the model at a point.

>>> import safesim as ss, safesim.plotting as sp
>>> base = ss.Scenario.default().set("population.users", 3000)
>>> cmp = ss.compare({"base": base, "teen": base.with_policy("industry_teen_accounts")}, n=5)
>>> fig = sp.effects(cmp)
>>> fig.savefig("effects.png")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy import stats

from safesim import _core
from safesim.results import ECOSYSTEM, Comparison, Results, SweepResults, summarize

if TYPE_CHECKING:
    from safesim.calibration import CalibrationResults
    from safesim.sensitivity import SensitivityResults

__all__ = [
    "FUNNEL",
    "calibration",
    "calibration_fit",
    "effects",
    "emulator_diagnostics",
    "frontier",
    "funnel",
    "save",
    "sensitivity",
    "sweep_heatmap",
    "sweep_lines",
    "timeseries",
    "transparency",
]

#: The exposure funnel, in stage order.
FUNNEL = ("minors_contacted", "minors_engaged", "minors_solicited", "minors_exploited")
DEFAULT_EFFECTS = (
    "minors_contacted",
    "minors_engaged",
    "minors_solicited",
    "minors_exploited",
    "exposure_days",
    "offenders_detected",
    "user_reports",
    "clearinghouse_reports",
    "false_positive_actions",
    "legit_contacts_blocked",
    "review_hours",
    "reporting_effort",
)


def _units() -> dict[str, str]:
    return {row[0]: row[2] for row in _core.metrics()}


def _kinds() -> dict[str, str]:
    return {row[0]: row[1] for row in _core.metrics()}


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig, new_ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, new_ax


def _runs(results: Results | Comparison | SweepResults) -> tuple[str, pd.DataFrame]:
    """(key column, run totals) with a key column even for a single Results."""
    if isinstance(results, Results):
        return "scenario", results.runs.assign(scenario=results.scenario.name)
    return results.key, results.runs


def _results_by_arm(results: Results | Comparison | SweepResults) -> dict[Any, Results]:
    if isinstance(results, Results):
        return {results.scenario.name: results}
    return dict(results.arms)


def _band(values: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and t-interval over axis 0 (replicates)."""
    n = values.shape[0]
    mean = np.nanmean(values, axis=0)
    if n < 2:
        return mean, mean, mean
    sd = np.nanstd(values, axis=0, ddof=1)
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / np.sqrt(n)
    return mean, mean - half, mean + half


def timeseries(
    results: Results | Comparison | SweepResults,
    metric: str = "minors_contacted",
    scope: str = ECOSYSTEM,
    cumulative: bool | None = None,
    confidence: float = 0.95,
    ax: Axes | None = None,
) -> Figure:
    """``metric`` by day: the mean over replicates with its t-interval as a band, one line per arm.

    ``cumulative`` defaults to True for flow metrics (daily counts are small
    and noisy; the running total reads better) and False for levels.
    """
    if cumulative is None:
        cumulative = _kinds().get(metric) == "flow"
    names = [row[0] for row in _core.metrics()]
    if metric not in names:
        raise ValueError(f"no daily values for metric {metric!r} in scope {scope!r}")
    fig, ax = _axes(ax, (7, 4))
    n_runs = 0
    for label, res in _results_by_arm(results).items():
        scopes = [ECOSYSTEM, *res.platforms]
        if scope not in scopes:
            raise ValueError(f"no daily values for metric {metric!r} in scope {scope!r}")
        # Straight from the run arrays: the long daily frame of an ecosystem is large.
        values = np.stack([o["daily"][scopes.index(scope), :, names.index(metric)] for o in res.outputs])
        values = values.astype(np.float64)
        if cumulative:
            values = np.nancumsum(values, axis=1)
        mean, lo, hi = _band(values, confidence)
        days = np.arange(values.shape[1])
        (line,) = ax.plot(days, mean, label=str(_point_label(results, label)))
        ax.fill_between(days, lo, hi, color=line.get_color(), alpha=0.25, linewidth=0)
        n_runs = values.shape[0]
    unit = _units().get(metric, "")
    ax.set_xlabel("day")
    ax.set_ylabel(f"{'cumulative ' if cumulative else ''}{metric}" + (f" ({unit})" if unit else ""))
    ax.set_title(f"{metric}, {scope}: mean and {confidence:.0%} interval over {n_runs} runs")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return fig


def effects(
    comparison: Comparison | SweepResults,
    metrics: Sequence[str] | None = None,
    scope: str = ECOSYSTEM,
    relative: bool = True,
    confidence: float = 0.95,
    ax: Axes | None = None,
) -> Figure:
    """Forest plot of paired effects against the reference: one row per metric, one marker per arm.

    ``relative`` plots the difference as a percentage of the reference mean
    (metrics on very different scales side by side); otherwise raw differences.
    """
    eff = comparison.effects(confidence=confidence)
    key = comparison.key
    metrics = list(metrics or [m for m in DEFAULT_EFFECTS if m in set(eff["metric"].astype(str))])
    eff = eff[(eff["scope"] == scope) & eff["metric"].isin(metrics)]
    arms = [a for a in eff[key].unique()]
    fig, ax = _axes(ax, (7, 0.45 * len(metrics) * max(1, len(arms)) ** 0.5 + 1.5))
    step = 0.7 / max(1, len(arms))
    for i, arm in enumerate(arms):
        part = eff[eff[key] == arm].set_index("metric")
        ys, xs, los, his = [], [], [], []
        for j, m in enumerate(metrics):
            if m not in part.index:
                continue
            row = part.loc[m]
            if relative and (row["ref_mean"] == 0 or not np.isfinite(row["ref_mean"])):
                continue  # no relative change from a zero reference
            scale = 100.0 / row["ref_mean"] if relative else 1.0
            ys.append(j + (i - (len(arms) - 1) / 2) * step)
            xs.append(row["diff"] * scale)
            los.append(row["diff_ci_low"] * scale)
            his.append(row["diff_ci_high"] * scale)
        xs_a, lo_a, hi_a = np.array(xs), np.array(los), np.array(his)
        err = np.vstack([xs_a - lo_a, hi_a - xs_a]) if len(xs) else None
        line = ax.errorbar(xs_a, ys, xerr=err, fmt="o", capsize=3, label=str(arm))
        if "set_diff_min" in part.columns:  # an ensemble comparison: the per-set effects' range behind
            spans = [
                (
                    part.loc[m, "set_diff_min"] * (100.0 / part.loc[m, "ref_mean"] if relative else 1.0),
                    part.loc[m, "set_diff_max"] * (100.0 / part.loc[m, "ref_mean"] if relative else 1.0),
                )
                for m in metrics
                if m in part.index
                and not (relative and (part.loc[m, "ref_mean"] == 0 or not np.isfinite(part.loc[m, "ref_mean"])))
            ]
            for y, (a, b) in zip(ys, spans, strict=True):
                ax.plot([a, b], [y, y], linewidth=7, alpha=0.25, color=line[0].get_color(), solid_capstyle="butt")
    ax.axvline(0, color="0.3", linewidth=1)
    ax.set_yticks(range(len(metrics)), metrics)
    ax.invert_yaxis()
    ref = comparison.reference
    ax.set_xlabel(
        f"{'change vs reference, % of reference mean' if relative else 'paired difference'} ({confidence:.0%} CI)"
    )
    sets = len(getattr(comparison, "sets", [None]))
    if sets > 1:
        ax.set_title(
            f"paired effects vs {ref!r} ({scope}): {sets} parameter sets x {comparison.reps} runs\n"
            "whiskers: sets and noise together; shaded: per-set range"
        )
    else:
        ax.set_title(f"paired effects against {ref!r} ({scope}, {comparison.reps} paired runs)")
    ax.grid(axis="x", alpha=0.3)
    if len(arms) > 1 or key == "scenario":
        ax.legend(frameon=False, loc="best")
    return fig


def funnel(
    results: Results | Comparison | SweepResults,
    scope: str = ECOSYSTEM,
    per_1k: bool = False,
    confidence: float = 0.95,
    ax: Axes | None = None,
) -> Figure:
    """Plot the exposure funnel: minors contacted, engaged, solicited, exploited, grouped bars per arm."""
    key, runs = _runs(results)
    stages = [f"{m}_per_1k" if per_1k else m for m in FUNNEL]
    part = runs[(runs["scope"] == scope) & runs["metric"].isin(stages)]
    s = summarize(part, by=[key, "metric"], confidence=confidence)
    arms = list(dict.fromkeys(s[key]))
    fig, ax = _axes(ax, (7, 4))
    width = 0.8 / max(1, len(arms))
    x = np.arange(len(stages))
    for i, arm in enumerate(arms):
        row = s[s[key] == arm].set_index("metric").reindex(stages)
        mean = row["mean"].to_numpy(dtype=np.float64)
        lo = np.nan_to_num(mean - row["ci_low"].to_numpy(dtype=np.float64))
        hi = np.nan_to_num(row["ci_high"].to_numpy(dtype=np.float64) - mean)
        ax.bar(x + (i - (len(arms) - 1) / 2) * width, mean, width, yerr=[lo, hi], capsize=3, label=str(arm))
    ax.set_xticks(x, [m.replace("minors_", "").replace("_per_1k", "") for m in stages])
    ax.set_ylabel("minors per 1,000 minors" if per_1k else "minors")
    ax.set_title(f"exposure funnel ({scope}): mean and {confidence:.0%} CI")
    ax.legend(frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return fig


def by_group(
    results: Results | Comparison | SweepResults,
    metric: str = "minors_contacted_per_1k",
    by: str = "age_band",
    scope: str = ECOSYSTEM,
    bands: Any = None,
    confidence: float = 0.95,
    ax: Axes | None = None,
) -> Figure:
    """Plot a minor-level metric by age band (or gender, age band and gender, age), grouped bars per arm."""
    arms = _results_by_arm(results)
    frames = []
    for label, res in arms.items():
        s = res.summary(by=by, bands=bands, confidence=confidence)
        frames.append(s[(s["scope"] == scope) & (s["metric"] == metric)].assign(arm=str(label)))
    if not frames or all(f.empty for f in frames):
        raise ValueError(f"no group results for {metric!r} in scope {scope!r} (see safesim.groups)")
    table = pd.concat(frames, ignore_index=True)
    groups = [g for g in table["group"].cat.categories if g in set(table["group"].astype(str))]
    fig, ax = _axes(ax, (7, 4))
    width = 0.8 / max(1, len(arms))
    x = np.arange(len(groups))
    for i, arm in enumerate(dict.fromkeys(table["arm"])):
        row = table[table["arm"] == arm].set_index(table[table["arm"] == arm]["group"].astype(str)).reindex(groups)
        mean = row["mean"].to_numpy(dtype=np.float64)
        lo = np.nan_to_num(mean - row["ci_low"].to_numpy(dtype=np.float64))
        hi = np.nan_to_num(row["ci_high"].to_numpy(dtype=np.float64) - mean)
        ax.bar(x + (i - (len(arms) - 1) / 2) * width, mean, width, yerr=[lo, hi], capsize=3, label=str(arm))
    ax.set_xticks(x, groups)
    ax.set_xlabel(by.replace("_", " "))
    ax.set_ylabel(
        metric
        + (
            f" ({_units().get(metric.removesuffix('_per_1k'), '')})"
            if not metric.endswith("_per_1k")
            else " (per 1,000 minors)"
        )
    )
    ax.set_title(f"{metric} by {by.replace('_', ' ')} ({scope}): mean and {confidence:.0%} CI")
    if len(arms) > 1:
        ax.legend(frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return fig


def _sweep_table(sweep: SweepResults, metric: str, scope: str) -> pd.DataFrame:
    s = sweep.summary()
    return s[(s["metric"] == metric) & (s["scope"] == scope)]


def sweep_heatmap(
    sweep: SweepResults,
    metric: str = "minors_exploited",
    x: str | None = None,
    y: str | None = None,
    scope: str = ECOSYSTEM,
    ax: Axes | None = None,
) -> Figure:
    """Mean of ``metric`` over a two-parameter grid (x and y default to the first two parameters)."""
    params = sweep.parameters
    if len(params) < 2 and (x is None or y is None):
        raise ValueError("a heat map needs two swept parameters")
    x = x or params[0]
    y = y or params[1]
    table = _sweep_table(sweep, metric, scope)
    grid = table.pivot_table(index=y, columns=x, values="mean", aggfunc="mean")
    fig, ax = _axes(ax, (6, 4.5))
    im = ax.imshow(grid.to_numpy(dtype=np.float64), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(grid.shape[1]), [str(c) for c in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [str(i) for i in grid.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    values = grid.to_numpy(dtype=np.float64)
    finite = values[np.isfinite(values)]
    mid = (finite.min() + finite.max()) / 2 if finite.size else 0
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            text = f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
            ax.text(j, i, text, ha="center", va="center", color="white" if v < mid else "black", fontsize=8)
    fig.colorbar(im, ax=ax, label=f"mean {metric}")
    ax.set_title(f"{metric} ({scope}), mean of {sweep.reps} runs per cell")
    return fig


def sweep_lines(
    sweep: SweepResults,
    metric: str = "minors_exploited",
    x: str | None = None,
    hue: str | None = None,
    scope: str = ECOSYSTEM,
    ax: Axes | None = None,
) -> Figure:
    """``metric`` against parameter ``x`` with its 95% band, one line per value of ``hue``."""
    params = sweep.parameters
    x = x or params[0]
    if hue is None and len(params) > 1:
        hue = next(p for p in params if p != x)
    table = _sweep_table(sweep, metric, scope)
    fig, ax = _axes(ax, (7, 4))
    groups = [(None, table)] if hue is None else list(table.groupby(hue, sort=True))
    for value, g in groups:
        g = g.sort_values(x)
        xs = g[x].to_numpy()
        (line,) = ax.plot(xs, g["mean"], marker="o", label=None if hue is None else f"{hue.split('.')[-1]}={value}")
        ax.fill_between(xs, g["ci_low"], g["ci_high"], color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel(x)
    ax.set_ylabel(f"{metric} ({scope})")
    ax.set_title(f"{metric}: mean and 95% CI over {sweep.reps} runs per point")
    if hue is not None:
        ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return fig


def _pareto(points: np.ndarray) -> np.ndarray:
    """Return indices of points not dominated (lower is better on both axes), sorted by x."""
    keep = []
    for i, (px, py) in enumerate(points):
        dominated = np.any((points[:, 0] <= px) & (points[:, 1] <= py) & ((points[:, 0] < px) | (points[:, 1] < py)))
        if not dominated and np.all(np.isfinite([px, py])):
            keep.append(i)
    return np.array(sorted(keep, key=lambda i: points[i, 0]), dtype=int)


def frontier(
    results: Comparison | SweepResults,
    exposure: str | Mapping[str, float] = "minors_exploited_per_1k",
    burden: str | Mapping[str, float] = "legit_contacts_blocked",
    scope: str = ECOSYSTEM,
    label_points: bool = True,
    ax: Axes | None = None,
) -> Figure:
    """Trade-off between child exposure (y) and burden on ordinary users (x), with the Pareto frontier.

    ``burden`` (and ``exposure``) is any metric, a named weighted burden of the
    scenarios (``burden: {name: {metric: weight}}``) or {metric: weight}; the
    rights-side metrics (``benign_private_items_reviewed``,
    ``minors_wrongly_actioned``, ...) are burdens like any other. Every arm
    (scenario or sweep point) is a point with 95% intervals on both axes; the
    line joins the options that no other option beats on both.
    """
    table = results.frontier(exposure=exposure, burden=burden, scope=scope)
    key = results.key
    labels = list(table[key])
    pts = table[["burden_mean", "exposure_mean"]].to_numpy(dtype=np.float64)
    fig, ax = _axes(ax, (7, 5))

    def err(side: str) -> np.ndarray:
        mean = table[f"{side}_mean"].to_numpy(np.float64)
        lo, hi = table[f"{side}_ci_low"].to_numpy(np.float64), table[f"{side}_ci_high"].to_numpy(np.float64)
        return np.nan_to_num(np.vstack([mean - lo, hi - mean]))

    ax.errorbar(
        pts[:, 0], pts[:, 1], xerr=err("burden"), yerr=err("exposure"), fmt="o", capsize=3, color="C0", alpha=0.8
    )
    front = _pareto(pts)
    if len(front) > 1:
        ax.plot(pts[front, 0], pts[front, 1], "-", color="C3", label="frontier (not dominated)")
        ax.legend(frameon=False)
    if label_points:
        for lab, (px, py) in zip(labels, pts, strict=True):
            text = _point_label(results, lab)
            ax.annotate(text, (px, py), textcoords="offset points", xytext=(5, 5), fontsize=8)
    units = _units()

    def axis_label(side: str, axis: str | Mapping[str, float]) -> str:
        if not isinstance(axis, str):
            return f"{side}: " + " + ".join(f"{w:g} * {m}" for m, w in axis.items())
        weights = results.burdens.get(axis)
        if weights and axis not in units:
            return f"{side}: {axis} (" + " + ".join(f"{w:g} * {m}" for m, w in weights.items()) + ")"
        return f"{side}: {axis}" + (f" ({units.get(axis)})" if units.get(axis) else "")

    ax.set_xlabel(axis_label("burden", burden))
    ax.set_ylabel(axis_label("exposure", exposure))
    ax.set_title(f"exposure vs burden ({scope}): lower-left is better")
    ax.grid(alpha=0.3)
    return fig


def transparency(
    results: Results | Comparison,
    published: str = "clearinghouse_reports",
    truth: str = "minors_exploited",
    label_top: int = 6,
    log: bool | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Per platform: a published figure (x) against ground-truth harm (y), with 95% intervals.

    The transparency view of docs/model/design-concepts.md: a regulator reading
    transparency reports sees only x. Points far above the others hold harm
    their reports do not show. One colour per arm of a comparison; the
    ``label_top`` platforms with the most harm are named. ``log`` (default:
    when values span more than two decades) puts both axes on a log scale.
    """
    arms = _results_by_arm(results)
    fig, ax = _axes(ax, (7, 5))
    units = _units()
    spans = []
    for i, (label, res) in enumerate(arms.items()):
        view = res.transparency()
        view = view[view["metric"].astype(str).isin([published, truth])]
        wide = view.pivot_table(index="scope", columns="metric", values=["mean", "ci_low", "ci_high"], observed=True)
        if published not in wide["mean"] or truth not in wide["mean"]:
            raise ValueError(f"need metrics {published!r} and {truth!r} in the transparency view")
        x, y = wide["mean"][published].to_numpy(float), wide["mean"][truth].to_numpy(float)

        name = _point_label(results, label) if len(arms) > 1 else None
        ax.errorbar(
            x,
            y,
            xerr=_clipped_err(wide, published),
            yerr=_clipped_err(wide, truth),
            fmt="o",
            capsize=2,
            alpha=0.75,
            color=f"C{i}",
            label=name,
            markersize=4,
            elinewidth=0.8,
        )
        if i == 0:
            for j in np.argsort(-y)[: max(0, label_top)]:
                ax.annotate(str(wide.index[j]), (x[j], y[j]), textcoords="offset points", xytext=(5, 4), fontsize=8)
        spans.extend(v for v in np.concatenate([x, y]) if v > 0)
    if log is None:
        log = len(spans) > 1 and max(spans) / min(spans) > 100
    if log:
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xlim(left=min(0.0, ax.get_xlim()[0]) if not log else -0.2)
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]) if not log else -0.2)
    ax.set_xlabel(f"published: {published}" + (f" ({units.get(published)})" if units.get(published) else ""))
    ax.set_ylabel(f"ground truth: {truth}" + (f" ({units.get(truth)})" if units.get(truth) else ""))
    ax.set_title("transparency view: what each platform reports vs the harm on it")
    if len(arms) > 1:
        ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return fig


def sensitivity(
    results: SensitivityResults,
    metric: str = "minors_exploited",
    top: int | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Horizontal bars of each parameter's index for ``metric``, most important at the top.

    Morris: ``mu_star`` with its bootstrap interval, ``sigma`` as a diamond
    and ``mu_star_noise`` (what simulation noise alone gives) as a grey tick.
    Sobol': ``S1`` and ``ST`` side by side with their intervals, and the
    metric's ``noise_share`` as a dashed line (indices below it are within
    noise). ``top`` keeps the most important parameters only.
    """
    idx = results.indices(metric)
    if top is not None:
        idx = idx.head(int(top))
    names = [_short_key(k) for k in idx["parameter"]]
    ys = np.arange(len(idx))
    fig, ax = _axes(ax, (8, 0.5 * len(idx) + 1.6))
    level = f"{results.confidence:.0%}"
    if results.method == "morris":
        ax.barh(
            ys,
            idx["mu_star"],
            xerr=idx["mu_star_conf"],
            color="C0",
            alpha=0.8,
            capsize=3,
            label=f"mu* ({level} bootstrap CI)",
        )
        ax.plot(idx["sigma"], ys, "D", color="C1", markerfacecolor="none", label="sigma (non-linearity, interactions)")
        ax.plot(
            idx["mu_star_noise"],
            ys,
            "|",
            color="0.3",
            markersize=16,
            markeredgewidth=2,
            label="noise level (mu* of a null parameter)",
        )
        ax.set_xlabel(f"{metric}: mean absolute change across each parameter's range")
    else:
        h = 0.38
        ax.barh(
            ys - h / 2,
            idx["S1"],
            height=h,
            xerr=idx["S1_conf"],
            color="C0",
            capsize=3,
            label=f"S1 first order ({level} CI)",
        )
        ax.barh(
            ys + h / 2, idx["ST"], height=h, xerr=idx["ST_conf"], color="C1", capsize=3, label=f"ST total ({level} CI)"
        )
        share = float(idx["noise_share"].iloc[0]) if len(idx) else math.nan
        if np.isfinite(share):
            ax.axvline(share, color="0.3", linestyle="--", linewidth=1, label=f"noise share {share:.2f}")
        ax.axvline(0, color="0.3", linewidth=1)
        ax.set_xlabel(f"{metric}: share of variance")
    ax.set_yticks(ys, names)
    ax.invert_yaxis()
    ax.set_title(
        f"{'Morris' if results.method == 'morris' else 'Sobol'} sensitivity of {metric} ({results.scope})\n"
        f"{len(results.sweep.points)} sample points x {results.reps} runs on common seeds",
        fontsize="medium",
    )
    ax.grid(axis="x", alpha=0.3)
    ax.legend(frameon=False, loc="best", fontsize="small")
    return fig


def _short_key(key: str) -> str:
    """Return a key path for an axis label: ``platforms.main.controls.x.y`` -> ``main: x.y``."""
    parts = key.split(".")
    if len(parts) > 3 and parts[0] == "platforms" and parts[2] == "controls":
        return f"{parts[1]}: {'.'.join(parts[3:])}"
    return key


def _clipped_err(wide: pd.DataFrame, metric: str) -> np.ndarray:
    """Error-bar lengths from a wide (mean, ci_low, ci_high) frame, cut at zero.

    Counts and shares are never negative.
    """
    mean = wide["mean"][metric].to_numpy(float)
    lo = np.minimum(np.nan_to_num(mean - wide["ci_low"][metric].to_numpy(float)), np.maximum(mean, 0))
    hi = np.nan_to_num(wide["ci_high"][metric].to_numpy(float) - mean)
    return np.vstack([np.clip(lo, 0, None), np.clip(hi, 0, None)])


def _point_label(results: Any, label: Any) -> str:
    if isinstance(results, SweepResults) and isinstance(label, (int, np.integer)):
        p = results.points[int(label)]
        return ", ".join(f"{k.split('.')[-1]}={v}" for k, v in p.items())
    return str(label)


def _short(key: str) -> str:
    """Return a key path's last two parts, for axis labels."""
    return ".".join(key.split(".")[-2:])


def calibration(
    results: CalibrationResults,
    parameters: Sequence[str] | None = None,
    vmax: float | None = None,
    fig: Figure | None = None,
) -> Figure:
    """History matching in pictures: every sampled point in each pair of parameters.

    Points are coloured by their largest implausibility (clipped at ``vmax``,
    default twice the cutoff); non-implausible points are drawn on top with a
    black outline. The diagonal shows, per parameter, how many points were
    sampled and how many survived. With one parameter, the largest
    implausibility against it, with the cutoff as a line.
    """
    keys = list(parameters or results.keys)
    logs = {p.key for p in results.parameters if p.log}
    pts = results.points
    vmax = 2 * results.cutoff if vmax is None else float(vmax)
    k = len(keys)
    if fig is None:
        size = 2.6 * k if k > 1 else 6.0
        fig = plt.figure(figsize=(size, size if k > 1 else 4.0), layout="constrained")
    ok = pts["non_implausible"].to_numpy(bool)
    imp = np.minimum(pts["max_implausibility"].to_numpy(float), vmax)
    cmap = plt.get_cmap("viridis_r")
    norm = matplotlib.colors.Normalize(vmin=0, vmax=vmax)
    if k == 1:
        ax = fig.add_subplot(1, 1, 1)
        x = pts[keys[0]].to_numpy(float)
        ax.scatter(x[~ok], imp[~ok], c=imp[~ok], cmap=cmap, norm=norm, s=18, alpha=0.8)
        ax.scatter(x[ok], imp[ok], c=imp[ok], cmap=cmap, norm=norm, s=26, edgecolors="black", linewidths=0.8)
        ax.axhline(results.cutoff, color="0.3", ls="--", lw=1, label=f"cutoff {results.cutoff:g}")
        if keys[0] in logs:
            ax.set_xscale("log")
        ax.set_xlabel(keys[0])
        ax.set_ylabel(f"largest implausibility (clipped at {vmax:g})")
        ax.legend(frameon=False)
        ax.grid(alpha=0.3)
        return fig
    axes = fig.subplots(k, k, squeeze=False)
    for i, yk in enumerate(keys):
        for j, xk in enumerate(keys):
            ax = axes[i][j]
            if j > i:
                ax.set_axis_off()
                continue
            x = pts[xk].to_numpy(float)
            if xk in logs:
                ax.set_xscale("log")
                ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            if yk in logs and i != j:
                ax.set_yscale("log")
                ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            if i == j:
                nb = min(15, max(5, len(x) // 4))
                bins = np.geomspace(x.min(), x.max(), nb + 1) if xk in logs else np.histogram_bin_edges(x, bins=nb)
                ax.hist(x, bins=bins, color="0.8", label="sampled")
                ax.hist(x[ok], bins=bins, color="C2", label="non-implausible")
                if i == 0:
                    ax.legend(frameon=False, fontsize=7)
            else:
                y = pts[yk].to_numpy(float)
                order = np.argsort(-imp[~ok])
                ax.scatter(x[~ok][order], y[~ok][order], c=imp[~ok][order], cmap=cmap, norm=norm, s=12, alpha=0.7)
                ax.scatter(x[ok], y[ok], c=imp[ok], cmap=cmap, norm=norm, s=22, edgecolors="black", linewidths=0.7)
            if i == k - 1:
                ax.set_xlabel(_short(xk), fontsize=8)
            if j == 0 and i > 0:
                ax.set_ylabel(_short(yk), fontsize=8)
            ax.tick_params(labelsize=7)
    sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
    # In the empty upper triangle, so the pairs keep the figure's width.
    cax = axes[0][k - 1].inset_axes((0.55, 0.05, 0.08, 0.9))
    bar = fig.colorbar(sm, cax=cax)
    bar.set_label(f"largest implausibility\n(clipped at {vmax:g})", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    n_ok = int(ok.sum())
    fig.suptitle(
        f"history matching: {n_ok} of {len(pts)} points non-implausible (cutoff {results.cutoff:g}, outlined)",
        fontsize=10,
    )
    return fig


def calibration_fit(results: CalibrationResults, point: Any = None, ax: Axes | None = None) -> Figure:
    """Each target with its interval (value +/- 2 sd) beside the model's mean +/- 2 sd of a mean at ``point``.

    ``point`` defaults to the best point; the model's bar is its replicate
    spread over the replicates (sd / sqrt(reps)). Each target is drawn on its
    own scale, as a share of the target value.
    """
    fit = results.fit(point)
    fig, ax = _axes(ax, (7, 0.7 * len(fit) + 1.5))
    y = np.arange(len(fit))[::-1]
    scale = np.where(fit["value"].to_numpy(float) != 0, np.abs(fit["value"].to_numpy(float)), 1.0)
    t_sd = fit["target_sd"].to_numpy(float) / scale
    m_sd = fit["model_sd"].to_numpy(float) / np.sqrt(results.reps) / scale
    ax.errorbar(fit["value"] / scale, y + 0.12, xerr=2 * t_sd, fmt="s", color="C3", capsize=3, label="target +/- 2 sd")
    ax.errorbar(
        fit["model_mean"] / scale, y - 0.12, xerr=2 * m_sd, fmt="o", color="C0", capsize=3, label="model mean +/- 2 se"
    )
    for yi, imp in zip(y, fit["implausibility"], strict=True):
        ax.annotate(
            f"I = {imp:.2f}",
            (1.0, yi),
            xycoords=("axes fraction", "data"),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(y, fit["target"].tolist(), fontsize=8)
    ax.set_xlabel("relative to the target value")
    ax.axvline(1.0, color="0.6", lw=0.8)
    ax.legend(frameon=False, fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("calibration targets against the model at the best point", fontsize=10)
    return fig


def emulator_diagnostics(results: CalibrationResults, ax: Axes | None = None) -> Figure:
    """Leave-one-out standardized errors of a calibration's emulators, per wave and target.

    Each training point's (model mean - leave-one-out prediction) / prediction sd, against the
    leave-one-out prediction; lines at +-2 and +-3. A good emulator keeps about 95% within +-2.
    """
    d = results.diagnostics
    fig, ax = _axes(ax, (7, 4))
    if d.empty:
        ax.text(0.5, 0.5, "no emulator was fitted", ha="center", va="center", transform=ax.transAxes)
        return fig
    for (wave, target), part in d.groupby(["wave", "target"], sort=True):
        errors = part["standardized_error"].to_numpy(dtype=np.float64)
        ax.scatter(np.arange(len(errors)), np.clip(errors, -6, 6), s=14, label=f"wave {wave}: {target}")
    for y, style in ((2, "--"), (3, ":")):
        ax.axhline(y, color="0.4", linestyle=style, linewidth=1)
        ax.axhline(-y, color="0.4", linestyle=style, linewidth=1)
    ax.set_xlabel("training point")
    ax.set_ylabel("leave-one-out standardized error (clipped at +-6)")
    ax.set_title("emulator diagnostics: leave-one-out standardized errors")
    ax.legend(frameon=False, fontsize="small", loc="best")
    return fig


def save(fig: Figure, path: Any, dpi: int = 120) -> Any:
    """Save ``fig`` as PNG atomically and close it; returns the path."""
    from pathlib import Path

    from safesim.io import atomic_path

    target = Path(path)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
    return target
