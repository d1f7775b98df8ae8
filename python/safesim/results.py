"""Run outputs as tidy pandas frames, with replicate summaries and provenance.

Each run dict from ``safesim._core`` holds ``totals`` (scopes x metrics) and
``daily`` (scopes x days x metrics); scope 0 is the ecosystem, scope 1 + p is
platform p. Here they become long frames:

- ``runs``: replicate, seed, scope, metric, value (one row per run total);
- ``daily``: replicate, scope, day, metric, value.

Operators (companies running one or more platforms) are a second set of
scopes: the declared ones come from the engine (``operator_totals`` and
``operator_daily``), and a platform no operator names is an operator of its
own, whose figures are its platform's. :meth:`Results.summary` and
:meth:`Results.transparency` take ``level="operator"`` for them; the frames
are ``operator_runs`` and ``operator_daily``, with the operator in ``scope``.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from safesim import _core
from safesim.groups import groups_frame, groups_wide, parse_bands, summarize_groups
from safesim.io import json_number, json_records, safe_path, write_frame, write_frames, write_json, write_text

if TYPE_CHECKING:
    from safesim.scenario import Scenario

__all__ = [
    "ECOSYSTEM",
    "GROUND_TRUTH",
    "PUBLISHED",
    "RIGHTS",
    "Comparison",
    "Results",
    "SweepResults",
    "burden_runs",
    "burdens_of",
    "daily_frame",
    "frontier_table",
    "metric_names",
    "operator_outputs",
    "paired_differences",
    "runs_frame",
    "summarize",
    "transparency_view",
]

ECOSYSTEM = "ecosystem"

#: The transparency view (docs/model/design-concepts.md): what each platform would
#: publish in a transparency report, from one pool of counts: reports received
#: per category (child safety, other harms), the share of reports actioned, the
#: share of actions restored on appeal and the proactive share, per category
#: and overall (docs/model/submodels/review-enforcement.md, "Other harm categories") ...
PUBLISHED = (
    "user_reports",
    "reports_actioned",
    "proactive_share",
    "clearinghouse_reports",
    "appeals_upheld",
    "child_safety_reports",
    "other_harm_reports",
    "report_action_share",
    "child_safety_report_action_share",
    "other_harm_report_action_share",
    "restored_share",
    "child_safety_restored_share",
    "other_harm_restored_share",
    "proactive_share_all",
    "other_harm_proactive_share",
)
#: ... beside the ground truth only the simulation knows.
GROUND_TRUTH = (
    "minors_contacted",
    "minors_exploited",
    "material_never_detected",
    "abuse_material_views",
    "benign_private_items_reviewed",
    "minors_wrongly_actioned",
)
#: The rights side of the trade-off: privacy intrusion and wrongful actions on
#: ordinary users (docs/model/submodels/review-enforcement.md).
RIGHTS = (
    "private_items_scanned",
    "benign_private_items_reviewed",
    "minor_private_items_reviewed",
    "users_private_content_reviewed",
    "minors_private_content_reviewed",
    "false_positive_actions",
    "minors_wrongly_actioned",
    "accounts_wrongly_banned",
    "accounts_reinstated",
    "clearinghouse_reports_benign",
    "legit_contacts_blocked",
)


class Table(pd.DataFrame):
    """A DataFrame that prints wide: summaries read as a table in a terminal or a log."""

    @property
    def _constructor(self) -> type[Table]:
        return Table

    def __repr__(self) -> str:
        with pd.option_context("display.width", 250, "display.max_columns", 30, "display.min_rows", 20):
            return super().__repr__()


def metric_names() -> list[str]:
    """Metric names in the column order of ``totals`` and ``daily``."""
    return [row[0] for row in _core.metrics()]


#: About how many rows a chunk of :meth:`Results.daily_chunks` holds (whole scopes; 4 million rows
#: are about 130 MB as a frame).
DAILY_CHUNK_ROWS = 4_000_000


def _scopes(outputs: Sequence[dict[str, Any]]) -> list[str]:
    platforms = list(outputs[0]["platforms"]) if outputs else []
    return [ECOSYSTEM, *platforms]


def operator_outputs(
    outputs: Sequence[dict[str, Any]], operators: Sequence[tuple[str, Sequence[str]]]
) -> list[dict[str, Any]]:
    """Run dicts whose scopes are the ecosystem and the operators (in ``operators`` order).

    ``operators`` is ``(name, platform names)`` for every operator, as
    ``ScenarioSpec.operators`` gives it. A declared operator's rows come from
    the run's operator arrays; an undeclared one (a platform of its own) takes
    its platform's rows, which are its figures exactly.
    """
    out = []
    for o in outputs:
        platforms = list(o["platforms"])
        declared = [str(x) for x in o.get("operators", [])]
        totals = np.asarray(o["totals"], dtype=np.float64)
        op_totals = np.asarray(o.get("operator_totals", np.empty((0, totals.shape[1]))), dtype=np.float64)
        rows_t, picks = [totals[0]], [("daily", 0)]
        for name, members in operators:
            if name in declared:
                j = declared.index(name)
                rows_t.append(op_totals[j])
                picks.append(("operator_daily", j))
            elif len(members) == 1 and members[0] in platforms:
                p = 1 + platforms.index(members[0])
                rows_t.append(totals[p])
                picks.append(("daily", p))
            else:
                raise ValueError(f"run output has no figures for operator {name!r}")
        out.append(
            {
                "platforms": [name for name, _ in operators],
                "days": o["days"],
                "seed": o["seed"],
                "totals": np.stack(rows_t),
                "daily": _DailyRows(o, picks),
            }
        )
    return out


class _DailyRows:
    """Scope rows picked from a run's daily arrays, stacked when used (``np.asarray``, indexing).

    The operator view of a run holds no copy of its daily values (which may be kept on disk,
    :class:`safesim.store.DailyOnDisk`).
    """

    def __init__(self, output: dict[str, Any], picks: list[tuple[str, int]]) -> None:
        self._output = output
        self._picks = picks

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        arrays = {key: np.asarray(self._output[key], dtype=np.float64) for key in {k for k, _ in self._picks}}
        rows = np.stack([arrays[key][i] for key, i in self._picks])
        return rows if dtype is None else rows.astype(dtype, copy=False)

    def __getitem__(self, key: Any) -> Any:
        return np.asarray(self)[key]


def _categorical(values: np.ndarray, categories: Sequence[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(values, categories=list(categories), ordered=True)


def runs_frame(outputs: Sequence[dict[str, Any]], replicates: Sequence[int] | None = None) -> pd.DataFrame:
    """One row per (replicate, seed, scope, metric) with the run total as ``value``."""
    names = metric_names()
    scopes = _scopes(outputs)
    n_runs, n_scopes, n_metrics = len(outputs), len(scopes), len(names)
    reps = np.arange(n_runs) if replicates is None else np.asarray(replicates)
    per_run = n_scopes * n_metrics
    values = (
        np.concatenate([np.asarray(o["totals"], dtype=np.float64).ravel() for o in outputs]) if outputs else np.empty(0)
    )
    return pd.DataFrame(
        {
            "replicate": np.repeat(reps, per_run).astype(np.int64),
            "seed": np.repeat(np.array([o["seed"] for o in outputs], dtype=np.uint64), per_run),
            "scope": _categorical(np.tile(np.repeat(np.arange(n_scopes), n_metrics), n_runs), scopes),
            "metric": _categorical(np.tile(np.arange(n_metrics), n_runs * n_scopes), names),
            "value": values,
        }
    )


def daily_frame(
    outputs: Sequence[dict[str, Any]],
    replicates: Sequence[int] | None = None,
    scopes_from: int = 0,
    scopes_to: int = -1,
) -> pd.DataFrame:
    """One row per (replicate, scope, day, metric) with the day's value.

    ``scopes_from`` and ``scopes_to`` (exclusive; -1: to the last) take a run's
    scopes in that range only (scope 0 is the ecosystem), so a large
    ecosystem's daily values can be written a block of scopes at a time; the
    scope column keeps every scope as a category.
    """
    names = metric_names()
    scopes = _scopes(outputs)
    s0, s1 = scopes_from, len(scopes) if scopes_to < 0 else scopes_to
    n_runs, n_scopes, n_metrics = len(outputs), s1 - s0, len(names)
    days = int(outputs[0]["days"]) if outputs else 0
    reps = np.arange(n_runs) if replicates is None else np.asarray(replicates)
    per_run = n_scopes * days * n_metrics
    values = (
        np.concatenate([np.asarray(o["daily"], dtype=np.float64)[s0:s1].ravel() for o in outputs])
        if outputs
        else np.empty(0)
    )
    return pd.DataFrame(
        {
            "replicate": np.repeat(reps, per_run).astype(np.int64),
            "scope": _categorical(np.tile(np.repeat(np.arange(s0, s1), days * n_metrics), n_runs), scopes),
            "day": np.tile(np.repeat(np.arange(days, dtype=np.int64), n_metrics), n_runs * n_scopes),
            "metric": _categorical(np.tile(np.arange(n_metrics), n_runs * n_scopes * days), names),
            "value": values,
        }
    )


def summarize(df: pd.DataFrame, by: Sequence[str] | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Mean, sd, n and a two-sided t-interval (ci_low, ci_high) of ``value`` per group.

    ``by`` defaults to whichever of scenario, scope and metric the frame has.
    With n = 1 the sd and interval are NaN; with sd = 0 the interval is the mean.
    """
    if by is None:
        by = [c for c in ("scenario", "scope", "metric") if c in df.columns]
    grouped = df.groupby(list(by), observed=True, sort=True)["value"]
    out = grouped.agg(mean="mean", sd="std", n="count").reset_index()
    return _with_interval(out, confidence)


def summarize_wide(
    frame: pd.DataFrame, by: Sequence[str], values: Sequence[str] | None = None, confidence: float = 0.95
) -> pd.DataFrame:
    """:func:`summarize` of a wide frame: a column per metric (``values``), a row per run and ``by`` group.

    The result has a row per ``by`` group x metric (``metric`` after the ``by`` columns), in the
    groups' sorted order and the columns' order, with the figures :func:`summarize` gives for the
    tidy frame (the same grouped mean, sd and count, over the same runs in the same order), without
    a row per metric and run. ``values`` defaults to every column but ``by`` and ``replicate``.
    """
    if values is None:
        values = [c for c in frame.columns if c not in by and c != "replicate"]
    grouped = frame.groupby(list(by), observed=True, sort=True)[list(values)]
    parts = {}
    for stat, table in (("mean", grouped.mean()), ("sd", grouped.std()), ("n", grouped.count())):
        table.columns.name = "metric"
        parts[stat] = table.stack(future_stack=True)
    return _with_interval(pd.DataFrame(parts).reset_index(), confidence)


def _with_interval(out: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """``out`` (mean, sd, n per group) with its two-sided t-interval as ci_low and ci_high."""
    n = out["n"].to_numpy(dtype=np.float64)
    sd = out["sd"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        dof = np.where(n > 1, n - 1, np.nan)
        t = stats.t.ppf(0.5 + confidence / 2.0, dof)
        half = np.where(n > 1, t * sd / np.sqrt(n), np.nan)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    out["n"] = out["n"].astype(np.int64)
    return out


def summarize_totals(outputs: Sequence[dict[str, Any]], confidence: float = 0.95) -> pd.DataFrame:
    """:func:`summarize` of :func:`runs_frame`, from the runs' totals (a scopes x metrics array each).

    Equal to ``summarize(runs_frame(outputs))``, without building the tidy frame of every run.
    """
    if not outputs:
        return summarize(runs_frame(outputs), confidence=confidence)
    names = metric_names()
    scopes = _scopes(outputs)
    values = np.concatenate(
        [np.asarray(o["totals"], dtype=np.float64).reshape(len(scopes), len(names)) for o in outputs]
    )
    frame = pd.DataFrame(values, columns=names)
    frame.insert(0, "scope", _categorical(np.tile(np.arange(len(scopes)), len(outputs)), scopes))
    out = summarize_wide(frame, ["scope"], names, confidence=confidence)
    out["metric"] = pd.Categorical(out["metric"], categories=names, ordered=True)
    return out


def burdens_of(scenario: Any) -> dict[str, dict[str, float]]:
    """Return the named weighted burdens a scenario defines (its ``burden:`` key): name -> {metric: weight}."""
    return {name: dict(weights) for name, weights in scenario.spec.burdens}


def _axis_weights(axis: str | Mapping[str, float], burdens: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """``axis`` as {metric: weight}: a metric (weight 1), a named burden, or weights given directly."""
    names = metric_names()
    if isinstance(axis, Mapping):
        weights = {str(k): float(v) for k, v in axis.items()}
    elif axis in names:
        return {axis: 1.0}
    elif axis in burdens:
        weights = dict(burdens[axis])
    else:
        close = difflib.get_close_matches(str(axis), [*names, *burdens], n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        known = ", ".join(burdens) or "none defined"
        raise ValueError(f"unknown metric or burden {axis!r}{hint}; named burdens: {known}")
    for metric in weights:
        if metric not in names:
            raise ValueError(f"burden weight on unknown metric {metric!r}")
    return weights


def burden_runs(
    runs: pd.DataFrame, axis: str | Mapping[str, float], burdens: Mapping[str, Mapping[str, float]] | None = None
) -> pd.DataFrame:
    """Run totals of one axis: a metric's rows, or a weighted burden's sum per run and scope.

    ``axis`` is a metric, the name of a burden in ``burdens`` (a scenario's
    ``burden:`` key, :func:`burdens_of`), or {metric: weight}. A weighted
    burden's rows carry its name (or "weighted burden") as ``metric``; a run
    in which a weighted metric is NaN gives NaN.
    """
    weights = _axis_weights(axis, burdens or {})
    label = axis if isinstance(axis, str) else "weighted burden"
    metric = runs["metric"].astype(str)
    if isinstance(axis, str) and weights == {axis: 1.0}:
        out = runs[metric == axis].copy()
        out["metric"] = out["metric"].astype(str)
        return out
    part = runs[metric.isin(list(weights))].copy()
    part["value"] = part["value"] * part["metric"].astype(str).map(weights).astype(np.float64)
    keys = [c for c in part.columns if c not in ("metric", "value")]
    out = part.groupby(keys, observed=True, sort=False, dropna=False)["value"].agg(
        lambda v: v.sum(min_count=len(weights))
    )
    out = out.reset_index()
    out["metric"] = label
    return out[[*keys, "metric", "value"]]


def frontier_table(
    runs: pd.DataFrame,
    key: str,
    labels: Sequence[Any],
    reference: Any,
    exposure: str | Mapping[str, float],
    burden: str | Mapping[str, float],
    burdens: Mapping[str, Mapping[str, float]] | None = None,
    scope: str = ECOSYSTEM,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Tabulate both sides per arm.

    Exposure and burden means with intervals, paired changes against ``reference`` with intervals, and whether the
    arm is on the frontier (no arm is lower on both).
    """
    sides = {}
    for side, axis in (("exposure", exposure), ("burden", burden)):
        r = burden_runs(runs, axis, burdens)
        r = r[r["scope"].astype(str) == scope].copy()
        r["metric"] = side
        sides[side] = r
    both = pd.concat(sides.values(), ignore_index=True)
    means = summarize(both, by=[key, "metric"], confidence=confidence)
    effects = paired_differences(both.assign(scope=scope), reference, by=key, confidence=confidence)
    rows = []
    for label in labels:
        row: dict[str, Any] = {key: label}
        for side, axis in (("exposure", exposure), ("burden", burden)):
            m = means[(means[key] == label) & (means["metric"] == side)]
            e = effects[(effects[key] == label) & (effects["metric"] == side)]
            row[side] = axis if isinstance(axis, str) else "weighted burden"
            for col in ("mean", "ci_low", "ci_high"):
                row[f"{side}_{col}"] = float(m[col].iloc[0]) if len(m) else math.nan
            for col in ("diff", "diff_ci_low", "diff_ci_high"):
                row[f"{side}_{col}"] = 0.0 if label == reference else float(e[col].iloc[0]) if len(e) else math.nan
        rows.append(row)
    out = pd.DataFrame(rows)
    out["frontier"] = on_frontier(out["burden_mean"], out["exposure_mean"])
    return Table(out)


def on_frontier(burden: Any, exposure: Any) -> list[bool]:
    """Whether each option is on the frontier: finite, and no other option lower on both sides (lower on one)."""
    x, y = np.asarray(burden, dtype=np.float64), np.asarray(exposure, dtype=np.float64)
    dominated = [
        bool(np.any((x <= x[i]) & (y <= y[i]) & ((x < x[i]) | (y < y[i]))))
        or not (np.isfinite(x[i]) and np.isfinite(y[i]))
        for i in range(len(x))
    ]
    return [not d for d in dominated]


def transparency_view(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of a summary or effects frame for the transparency view, per platform.

    Keeps the platforms (not the ecosystem, unless it is the only scope) and
    the metrics of :data:`PUBLISHED` and :data:`GROUND_TRUTH`, adds a ``view``
    column ("published" or "ground truth") and orders rows platform by
    platform, published figures first.
    """
    metrics = [*PUBLISHED, *GROUND_TRUTH]
    scopes = [s for s in pd.unique(frame["scope"].astype(str)) if s != ECOSYSTEM] or [ECOSYSTEM]
    out = frame[frame["metric"].astype(str).isin(metrics) & frame["scope"].astype(str).isin(scopes)].copy()
    out["scope"] = pd.Categorical(out["scope"].astype(str), categories=scopes)
    out["metric"] = pd.Categorical(out["metric"].astype(str), categories=metrics)
    views = np.where(out["metric"].astype(str).isin(PUBLISHED), "published", "ground truth")
    out.insert(list(out.columns).index("metric"), "view", pd.Categorical(views, ["published", "ground truth"]))
    order = [c for c in ("scenario", "point") if c in out.columns] + ["scope", "metric"]
    return Table(out.sort_values(order, kind="stable").reset_index(drop=True))


class Results:
    """Replicate runs of one scenario: frames, summary and provenance."""

    def __init__(self, scenario: Scenario, outputs: list[dict[str, Any]], seeds: Sequence[int]) -> None:
        self.scenario = scenario
        self.outputs = outputs
        self.seeds = [int(s) for s in seeds]
        #: runs read back from an output folder / computed in this call (set by the API)
        self.loaded_runs = 0
        self.computed_runs = len(outputs)

    @property
    def platforms(self) -> list[str]:
        """The scenario's platforms, in the engine's order (the scopes after the ecosystem)."""
        return list(self.outputs[0]["platforms"]) if self.outputs else []

    @property
    def operators(self) -> dict[str, list[str]]:
        """Every operator with its platforms: the declared ones, then each platform no operator names."""
        return {name: list(members) for name, members in self.scenario.spec.operators}

    @property
    def reps(self) -> int:
        """Number of replicates."""
        return len(self.outputs)

    @property
    def hashes(self) -> list[int]:
        """``output_hash`` of each run, in replicate order (a determinism fingerprint)."""
        return [int(o["hash"]) for o in self.outputs]

    @cached_property
    def runs(self) -> pd.DataFrame:
        """Run totals, one row per (replicate, seed, scope, metric)."""
        return runs_frame(self.outputs)

    def runs_chunks(self, size: int = 64) -> Iterator[pd.DataFrame]:
        """:attr:`runs` ``size`` runs at a time (its rows in order), for writing without holding it."""
        return self._chunked(runs_frame, size)

    def _chunked(self, frame_of: Callable[..., pd.DataFrame], size: int) -> Iterator[pd.DataFrame]:
        """``frame_of(runs, replicates=...)`` of the runs, ``size`` runs at a time, numbered as in the job."""
        for i in range(0, len(self.outputs), size):
            part = self.outputs[i : i + size]
            yield frame_of(part, replicates=range(i, i + len(part)))

    @cached_property
    def daily(self) -> pd.DataFrame:
        """Daily values, one row per (replicate, scope, day, metric); large: see :meth:`daily_chunks`."""
        return daily_frame(self.outputs)

    def daily_chunks(self) -> Iterator[pd.DataFrame]:
        """:attr:`daily` a run at a time (its rows in order), for writing without holding it.

        A run of many scopes (an ecosystem of 1,509 has 80 million daily rows) comes in blocks of
        scopes of about :data:`DAILY_CHUNK_ROWS` rows.
        """
        for i, output in enumerate(self.outputs):
            output = {**output, "daily": np.asarray(output["daily"], dtype=np.float64)}  # read from disk once
            n_scopes = 1 + len(output["platforms"])
            per_scope = max(1, int(output["days"]) * len(metric_names()))
            step = max(1, DAILY_CHUNK_ROWS // per_scope)
            for s0 in range(0, n_scopes, step):
                yield daily_frame([output], replicates=[i], scopes_from=s0, scopes_to=min(n_scopes, s0 + step))

    @cached_property
    def _operator_outputs(self) -> list[dict[str, Any]]:
        return operator_outputs(self.outputs, list(self.operators.items()))

    @cached_property
    def operator_runs(self) -> pd.DataFrame:
        """Run totals per operator: like :attr:`runs`, with the ecosystem and the operators as scopes."""
        return runs_frame(self._operator_outputs)

    @cached_property
    def operator_daily(self) -> pd.DataFrame:
        """Daily values per operator: like :attr:`daily`, with the ecosystem and the operators as scopes."""
        return daily_frame(self._operator_outputs)

    @cached_property
    def groups(self) -> pd.DataFrame:
        """Minor-level metrics by age (0-17) and gender per run: replicate, scope, age, gender, metric, value."""
        return groups_frame(self.outputs)

    def _groups_chunks(self, size: int = 16) -> Iterator[pd.DataFrame]:
        """:func:`~safesim.groups.groups_wide` of the runs, ``size`` runs at a time."""
        return self._chunked(groups_wide, size)

    def _level_outputs(self, level: str) -> list[dict[str, Any]]:
        if level == "platform":
            return self.outputs
        if level == "operator":
            return self._operator_outputs
        raise ValueError(f"level must be 'platform' or 'operator', got {level!r}")

    def age_bands(self, bands: str | Sequence[Sequence[int]] | None = None) -> list[tuple[int, int]]:
        """Return the age bands of :meth:`summary` (``by="age_band"``).

        ``bands``, the scenario's ``population.age_bands``, or youngest age to 12, 13-15 and 16-17.
        """
        spec = self.scenario.spec
        return parse_bands(bands if bands is not None else spec.population_age_bands, spec.population_youngest_age)

    def summary(
        self,
        confidence: float = 0.95,
        level: str = "platform",
        by: str | None = None,
        bands: str | Sequence[Sequence[int]] | None = None,
    ) -> pd.DataFrame:
        """Mean, sd, n and t-interval per scope x metric over the replicates.

        ``level="operator"``: the scopes are the ecosystem and the operators.
        ``by="age_band"`` (or ``"gender"``, ``"age_band_gender"``, ``"age"``):
        the minor-level metrics per group, with a ``group`` column, each
        group's ``minors`` and its ``*_per_1k`` rates; ``bands`` as in
        :meth:`age_bands`.
        """
        if by is not None:
            if level != "platform":
                raise ValueError("by= summarises the ecosystem and the platforms (level='platform')")
            # From the runs' group arrays, wide (a row per run x scope x age x gender), not the tidy
            # frame, reduced to per-run group sums a chunk of runs at a time.
            return Table(summarize_groups(self._groups_chunks(), by, self.age_bands(bands), confidence=confidence))
        # From the runs' totals (a scopes x metrics array each), not the tidy frame of every run.
        return Table(summarize_totals(self._level_outputs(level), confidence=confidence))

    def cohort(self, confidence: float = 0.95) -> pd.DataFrame:
        """Lifetime measures (``population.ageing``): per age and outcome, the share of the cohort who ever had it.

        The cohort is the children who joined at ``youngest_age`` during the
        measured horizon (with an account); a row for age ``a`` reads "of the
        members observed to the end of age ``a``, the share who had been
        contacted (solicited, exploited, ...) by then", as surveys of young
        adults ask. Columns: age, outcome, mean (the share), sd, n, ci_low,
        ci_high (t-interval over replicates), members and count (per run,
        means). Empty without ``population.ageing``. See
        docs/how-to/results-by-age.md.
        """
        from safesim.cohort import cohort_frame, summarize_cohort

        return Table(summarize_cohort(cohort_frame(self.outputs), confidence=confidence))

    def transparency(self, confidence: float = 0.95, level: str = "platform") -> pd.DataFrame:
        """Per platform (or operator), what it would publish beside the harm only the simulation sees.

        The rows of :meth:`summary` for :data:`PUBLISHED` (reports received,
        items actioned, proactive share, clearinghouse reports, and the rates a
        transparency report publishes per category, child safety and other
        harms, and overall: share of reports actioned, share of actions
        restored on appeal, proactive share) and
        :data:`GROUND_TRUTH` (minors contacted and exploited, material never
        detected, views of abuse material), with a ``view`` column.
        ``level="operator"`` reads them per operator, as the clearinghouse
        publishes its report counts (by company).
        """
        return transparency_view(self.summary(confidence, level=level))

    @cached_property
    def provenance(self) -> dict[str, Any]:
        """What produced these runs: scenario, hash, seeds, versions, policies and overrides."""
        return {
            "scenario": self.scenario.name,
            "scenario_hash": self.scenario.hash,
            "seed": self.seeds[0] if self.seeds else None,
            "seeds": list(self.seeds),
            "reps": self.reps,
            "version": _core.version,
            "build_type": _core.build_type,
            "policies": list(self.scenario.spec.policies),
            "source_file": self.scenario.spec.source_file,
            "overrides": [list(kv) for kv in self.scenario.overrides],
        }

    def to_json_dict(self) -> dict[str, Any]:
        """Return the summary as plain data: ecosystem metrics, then per platform, then per operator."""

        def by_scope(summary: pd.DataFrame) -> dict[str, dict[str, dict[str, float | None]]]:
            out: dict[str, dict[str, dict[str, float | None]]] = {}
            for row in summary.itertuples(index=False):
                out.setdefault(str(row.scope), {})[str(row.metric)] = {
                    "mean": json_number(row.mean),
                    "ci_low": json_number(row.ci_low),
                    "ci_high": json_number(row.ci_high),
                }
            return out

        platforms = by_scope(self.summary())
        operators = by_scope(self.summary(level="operator"))
        groups: dict[str, dict[str, Any]] = {}
        for by in ("age_band", "gender"):
            for row in self.summary(by=by).itertuples(index=False):
                groups.setdefault(str(row.scope), {}).setdefault(by, {}).setdefault(str(row.group), {})[
                    str(row.metric)
                ] = {
                    "mean": json_number(row.mean),
                    "ci_low": json_number(row.ci_low),
                    "ci_high": json_number(row.ci_high),
                }
        prov = self.provenance
        extra: dict[str, Any] = {}
        cohort = self.cohort()
        if not cohort.empty:  # population.ageing: share ever, by age and outcome
            extra["cohort"] = {
                str(outcome): {
                    str(int(row.age)): {
                        "mean": json_number(row.mean),
                        "ci_low": json_number(row.ci_low),
                        "ci_high": json_number(row.ci_high),
                        "members": json_number(row.members),
                    }
                    for row in part.itertuples(index=False)
                }
                for outcome, part in cohort.groupby("outcome", sort=False)
            }
        return {
            "scenario": prov["scenario"],
            "scenario_hash": prov["scenario_hash"],
            "seed": prov["seed"],
            "reps": prov["reps"],
            "version": prov["version"],
            "metrics": platforms.get(ECOSYSTEM, {}),
            "groups": groups,
            "platforms": {p: {"metrics": platforms.get(p, {})} for p in self.platforms},
            "operators": {
                name: {"platforms": members, "metrics": operators.get(name, {})}
                for name, members in self.operators.items()
            },
            **extra,
        }

    def save(self, out_dir: str | os.PathLike[str], csv: bool = False) -> list[Path]:
        """Write summary.json, summary.csv, runs and daily frames and scenario.resolved.yaml to ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = [
            write_frames(self.runs_chunks(), out / "runs", csv),
            write_frames(self.daily_chunks(), out / "daily", csv),
            write_text(out / "scenario.resolved.yaml", self.scenario.dump()),
            write_frame(self.summary(), out / "summary.csv", csv=True),
        ]
        doc = self.to_json_dict()
        doc["provenance"] = self.provenance
        written.append(write_json(out / "summary.json", doc))  # last: marks the set complete
        return written

    def to_html(self, title: str = "", question: str = "") -> str:
        """Return a self-contained HTML brief of these replicates (:mod:`safesim.report`)."""
        from safesim.report import results_html

        return results_html(self, title=title, question=question)

    def __repr__(self) -> str:
        return f"<Results {self.scenario.name!r}: {self.reps} replicate(s), platforms {self.platforms}>"


def paired_differences(
    runs: pd.DataFrame,
    reference: Any,
    by: str = "scenario",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Paired effects of every ``by`` group against ``reference``, per scope x metric.

    Runs pair on ``replicate`` (the same seed under common random numbers).
    For each pair d = treatment - reference; ``diff`` is the mean of d with a
    two-sided t-interval (``diff_ci_low``, ``diff_ci_high``), ``rel_diff`` is
    ``diff / ref_mean`` over the same pairs, ``n`` the number of pairs where
    both values are defined (NaN values drop their pair only).
    """
    keys = ["replicate", "scope", "metric"]
    ref = runs[runs[by] == reference][[*keys, "value"]].rename(columns={"value": "ref"})
    if ref.empty:
        raise ValueError(f"reference {reference!r} not found in column {by!r}")
    rows = []
    for label in runs[by].unique():
        if label == reference:
            continue
        treat = runs[runs[by] == label][[*keys, "value"]]
        merged = treat.merge(ref, on=keys, how="inner", sort=False).dropna(subset=["value", "ref"])
        merged["d"] = merged["value"] - merged["ref"]
        g = merged.groupby(["scope", "metric"], observed=True, sort=True)
        part = g.agg(
            ref_mean=("ref", "mean"), mean=("value", "mean"), diff=("d", "mean"), diff_sd=("d", "std"), n=("d", "count")
        ).reset_index()
        part.insert(0, by, label)
        rows.append(part)
    if not rows:
        return pd.DataFrame(columns=[by, "scope", "metric", "ref_mean", "mean", "diff", "diff_ci_low", "diff_ci_high"])
    out = pd.concat(rows, ignore_index=True)
    n = out["n"].to_numpy(dtype=np.float64)
    sd = out["diff_sd"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        dof = np.where(n > 1, n - 1, np.nan)
        half = np.where(n > 1, stats.t.ppf(0.5 + confidence / 2.0, dof) * sd / np.sqrt(n), np.nan)
        ref_mean = out["ref_mean"].to_numpy(dtype=np.float64)
        rel = np.where(ref_mean != 0, out["diff"].to_numpy(dtype=np.float64) / ref_mean, np.nan)
    out["diff_ci_low"] = out["diff"] - half
    out["diff_ci_high"] = out["diff"] + half
    out["rel_diff"] = rel
    out["n"] = out["n"].astype(np.int64)
    out.insert(1, "reference", reference)
    return out[
        [by, "reference", "scope", "metric", "ref_mean", "mean", "diff", "diff_ci_low", "diff_ci_high", "rel_diff", "n"]
    ]


class _Arms:
    """Several Results on the same seeds (common random numbers), keyed by a label."""

    key = "scenario"

    def __init__(self, arms: dict[Any, Results], reference: Any, seeds: Sequence[int]) -> None:
        if reference not in arms:
            raise ValueError(f"reference {reference!r} is not one of {list(arms)}")
        self.arms = arms
        self.reference = reference
        self.seeds = [int(s) for s in seeds]

    @property
    def labels(self) -> list[Any]:
        return list(self.arms)

    @property
    def reps(self) -> int:
        return len(self.seeds)

    @property
    def loaded_runs(self) -> int:
        return sum(r.loaded_runs for r in self.arms.values())

    @property
    def computed_runs(self) -> int:
        return sum(r.computed_runs for r in self.arms.values())

    def __getitem__(self, label: Any) -> Results:
        return self.arms[label]

    def _key_values(self, label: Any) -> Any:
        return label

    def _labelled(self, frame: pd.DataFrame, i: int) -> pd.DataFrame:
        """``frame`` with arm ``i``'s label as its first column (in place).

        A comparison's arm labels are one categorical column built from codes: a label string per
        row took seconds per chunk of an ecosystem run's daily values, and more to categorise.
        """
        if self.key == "scenario":
            codes = np.full(len(frame), i, dtype=np.int32)
            frame.insert(0, self.key, pd.Categorical.from_codes(codes, categories=self.labels, ordered=True))
        else:
            frame.insert(0, self.key, self.labels[i])
        return frame

    def _concat(self, frames: list[pd.DataFrame]) -> pd.DataFrame:
        parts = [self._labelled(frame.copy(), i) for i, frame in enumerate(frames)]
        # Scopes may differ between arms: keep them categorical over the union.
        cats = {col: self._union([f[col].cat.categories for f in frames]) for col in ("scope", "metric")}
        return self._categorise(pd.concat(parts, ignore_index=True), cats)

    @staticmethod
    def _union(categories: Iterable[Iterable[str]]) -> list[str]:
        out: list[str] = []
        for cats in categories:
            out += [c for c in cats if c not in out]
        return out

    def _categorise(self, out: pd.DataFrame, cats: dict[str, list[str]]) -> pd.DataFrame:
        for col, values in cats.items():
            if isinstance(out[col].dtype, pd.CategoricalDtype) and set(out[col].cat.categories) <= set(values):
                # Recoded through the categories, not row by row: an ecosystem run's daily
                # chunk has tens of millions of rows, and a string per row took minutes.
                out[col] = out[col].cat.set_categories(values, ordered=True)
            else:
                out[col] = pd.Categorical(out[col].astype(str), categories=values, ordered=True)
        return out

    def _labelled_daily_chunks(self) -> Iterator[pd.DataFrame]:
        """:attr:`daily` one run at a time, as :meth:`_concat` labels and types it."""
        cats = {
            "scope": self._union([ECOSYSTEM, *r.platforms] for r in self.arms.values()),
            "metric": metric_names(),
        }
        for i, res in enumerate(self.arms.values()):
            for chunk in res.daily_chunks():
                yield self._categorise(self._labelled(chunk, i), cats)

    def daily_chunks(self) -> Iterator[pd.DataFrame]:
        """:attr:`daily` one run at a time (its rows in order), for writing without holding it."""
        yield from self._labelled_daily_chunks()

    @cached_property
    def runs(self) -> pd.DataFrame:
        """Run totals, one row per (arm, replicate, scope, metric)."""
        return self._concat([r.runs for r in self.arms.values()])

    @cached_property
    def daily(self) -> pd.DataFrame:
        """Daily values, one row per (arm, replicate, scope, day, metric)."""
        return self._concat([r.daily for r in self.arms.values()])

    def means(self, confidence: float = 0.95) -> pd.DataFrame:
        """Mean, sd, n and t-interval per arm x scope x metric."""
        return Table(summarize(self.runs, by=[self.key, "scope", "metric"], confidence=confidence))

    @property
    def burdens(self) -> dict[str, dict[str, float]]:
        """The named weighted burdens the arms' scenarios define (``burden:``); one definition per name."""
        out: dict[str, dict[str, float]] = {}
        for label, res in self.arms.items():
            for name, weights in burdens_of(res.scenario).items():
                if name in out and out[name] != weights:
                    raise ValueError(f"burden {name!r} is defined differently in arm {label!r}")
                out[name] = weights
        return out

    def frontier(
        self,
        exposure: str | Mapping[str, float] = "minors_exploited_per_1k",
        burden: str | Mapping[str, float] = "false_positive_actions",
        scope: str = ECOSYSTEM,
        confidence: float = 0.95,
    ) -> pd.DataFrame:
        """Both sides of the trade-off per arm: what it prevents and what it costs.

        ``exposure`` and ``burden`` are each a metric, a named burden of the
        scenarios (``burden: {name: {metric: weight}}``) or {metric: weight}.
        One row per arm: each side's mean with its t-interval, its paired
        change against the reference with the interval of the paired
        differences, and ``frontier`` (True when no arm is lower on both).
        """
        return frontier_table(
            self.runs, self.key, self.labels, self.reference, exposure, burden, self.burdens, scope, confidence
        )

    def effects(self, reference: Any = None, confidence: float = 0.95) -> pd.DataFrame:
        """Paired differences of each arm against ``reference`` (default: this object's reference)."""
        ref = self.reference if reference is None else reference
        return Table(paired_differences(self.runs, ref, by=self.key, confidence=confidence))

    def transparency(self, reference: Any = None, confidence: float = 0.95) -> pd.DataFrame:
        """How each platform's published figures moved beside how its harm moved.

        The rows of :meth:`effects` for the transparency metrics, per platform,
        with a ``view`` column: a fall in published reports after a change
        (encryption, say) that comes with a rise in ground-truth harm shows
        here as two intervals of opposite sign.
        """
        return transparency_view(self.effects(reference, confidence))

    def _provenance_arms(self) -> dict[str, Any]:
        out = {}
        for label, res in self.arms.items():
            sc = res.scenario
            out[str(label)] = {
                "scenario": sc.name,
                "scenario_hash": sc.hash,
                "policies": list(sc.spec.policies),
                "source_file": sc.spec.source_file,
                "overrides": [list(kv) for kv in sc.overrides],
            }
        return out

    def _save(
        self,
        out_dir: str | os.PathLike[str],
        csv: bool,
        tables: dict[str, pd.DataFrame],
        doc: dict[str, Any],
        scenario_file: str,
    ) -> list[Path]:
        """Write the runs and daily frames, ``tables``, each arm's resolved scenario and summary.json to ``out_dir``.

        ``tables`` are CSV, by file name; each arm's scenario goes under ``scenarios/`` as ``scenario_file``
        formatted with its label; summary.json (the provenance and ``doc``) is written last to mark the set
        complete.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = [write_frame(self.runs, out / "runs", csv), write_frames(self.daily_chunks(), out / "daily", csv)]
        written += [write_frame(frame, out / name, csv=True) for name, frame in tables.items()]
        for label, res in self.arms.items():
            path = safe_path(out, "scenarios", scenario_file.format(label))
            written.append(write_text(path, res.scenario.dump()))
        written.append(write_json(out / "summary.json", {"provenance": self.provenance, **doc}))
        return written

    @cached_property
    def provenance(self) -> dict[str, Any]:
        return {
            "kind": type(self).__name__,
            "reference": self.reference,
            "seed": self.seeds[0] if self.seeds else None,
            "seeds": list(self.seeds),
            "reps": self.reps,
            "version": _core.version,
            "build_type": _core.build_type,
            "arms": self._provenance_arms(),
        }


class Comparison(_Arms):
    """Scenarios run on the same seeds; ``summary()`` gives the paired effects.

    >>> import safesim as ss
    >>> base = ss.Scenario.default().set("population.users", 3000)
    >>> cmp = ss.compare({"base": base, "teen": base.with_policy("industry_teen_accounts")}, n=5)
    >>> cmp.summary().columns[:4].tolist()
    ['scenario', 'reference', 'scope', 'metric']
    """

    key = "scenario"

    def summary(self, confidence: float = 0.95) -> pd.DataFrame:
        """Paired effects against the reference: ref_mean, mean, diff with its t-interval, rel_diff, n."""
        return self.effects(confidence=confidence)

    def save(self, out_dir: str | os.PathLike[str], csv: bool = False) -> list[Path]:
        """Write runs, daily, summary (per arm), comparison (paired effects) and resolved scenarios."""
        means = self.means()
        effects = self.effects()
        return self._save(
            out_dir,
            csv,
            {"summary.csv": means, "comparison.csv": effects},
            {"summary": json_records(means), "comparison": json_records(effects)},
            "{}.resolved.yaml",
        )

    def to_html(
        self, title: str = "", question: str = "", exposure: str | None = None, burden: str | None = None
    ) -> str:
        """Return a self-contained HTML brief.

        What differs, paired effects in words and tables, funnel, frontier (``exposure`` against ``burden``: metrics
        or named burdens), the rights side, time series, transparency view, sources and provenance
        (:mod:`safesim.report`).
        """
        from safesim.report import BURDEN, EXPOSURE, comparison_html

        return comparison_html(
            self, title=title, question=question, exposure=exposure or EXPOSURE, burden=burden or BURDEN
        )

    def __repr__(self) -> str:
        return f"<Comparison {self.labels} (reference {self.reference!r}), {self.reps} paired replicate(s)>"


class SweepResults(_Arms):
    """A sweep: one arm per point (an int), with the point's parameter values as columns."""

    key = "point"

    def __init__(self, arms: dict[Any, Results], points: list[dict[str, Any]], seeds: Sequence[int]) -> None:
        super().__init__(arms, 0, seeds)
        self.points = points

    @property
    def parameters(self) -> list[str]:
        """The key paths the sweep varies, in order of first appearance among the points."""
        names: list[str] = []
        for p in self.points:
            names += [k for k in p if k not in names]
        return names

    def points_frame(self) -> pd.DataFrame:
        """One row per point: ``point`` and each swept parameter."""
        rows = [{"point": i, **{k: _cell(p.get(k)) for k in self.parameters}} for i, p in enumerate(self.points)]
        return pd.DataFrame(rows)

    def _with_params(self, frame: pd.DataFrame) -> pd.DataFrame:
        params = self.points_frame()
        out = frame.merge(params, on="point", how="left", sort=False)
        cols = ["point", *self.parameters]
        return out[cols + [c for c in out.columns if c not in cols]]

    @cached_property
    def runs(self) -> pd.DataFrame:
        """Run totals, one row per (point, replicate, scope, metric), with the point's parameters."""
        return self._with_params(self._concat([r.runs for r in self.arms.values()]))

    @cached_property
    def daily(self) -> pd.DataFrame:
        """Daily values, one row per (point, replicate, scope, day, metric), with the point's parameters."""
        return self._with_params(self._concat([r.daily for r in self.arms.values()]))

    def daily_chunks(self) -> Iterator[pd.DataFrame]:
        """Yield :attr:`daily` one run at a time (its rows in order), for writing without holding it."""
        for chunk in self._labelled_daily_chunks():
            yield self._with_params(chunk)

    def summary(self, confidence: float = 0.95) -> pd.DataFrame:
        """Mean, sd, n and t-interval per point x scope x metric, with the point's parameters."""
        base = self._concat([r.runs for r in self.arms.values()])
        return Table(self._with_params(summarize(base, by=["point", "scope", "metric"], confidence=confidence)))

    def effects(self, reference: Any = None, confidence: float = 0.95) -> pd.DataFrame:
        """Paired differences of each point against point ``reference`` (default 0)."""
        ref = 0 if reference is None else int(reference)
        base = self._concat([r.runs for r in self.arms.values()])
        return Table(self._with_params(paired_differences(base, ref, by="point", confidence=confidence)))

    def save(self, out_dir: str | os.PathLike[str], csv: bool = False) -> list[Path]:
        """Write runs, daily, summary, comparison (effects against point 0), points and resolved scenarios."""
        summary = self.summary()
        tables = {"summary.csv": summary, "comparison.csv": self.effects(), "points.csv": self.points_frame()}
        return self._save(
            out_dir, csv, tables, {"points": self.points, "summary": json_records(summary)}, "point{}.resolved.yaml"
        )

    @cached_property
    def provenance(self) -> dict[str, Any]:
        """The provenance of the arms, with the sweep's points."""
        prov = dict(super().provenance)
        prov["points"] = self.points
        return prov

    def __repr__(self) -> str:
        return f"<SweepResults {len(self.points)} point(s) over {self.parameters}, {self.reps} replicate(s) each>"


def _cell(value: Any) -> Any:
    """Return a parameter value as a frame cell (lists become text so they can be grouped)."""
    if isinstance(value, (list, tuple, dict)):
        import json

        return json.dumps(value)
    return value
