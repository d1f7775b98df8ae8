"""Calibration by history matching: which parameter values the published figures do not rule out.

docs/validation.md lists published figures; offender-side parameters are weakly
grounded. Rather than a single "best fit", history matching (Vernon, Goldstein
& Bower 2010; Andrianakis et al. 2015, the usual method for calibrating
agent-based models) rules out the parameter values at which the model cannot
match the targets, given every source of uncertainty, and keeps the rest:

1. sample the parameter ranges with a Latin hypercube (``scipy.stats.qmc``);
2. run every point ``reps`` times on common seeds (the machinery of
   :func:`safesim.sweep`: executors, resumable per-run files, progress);
3. for each target, the implausibility of a point is

   ``I = |model mean - target| / sqrt(target var + model var / reps + discrepancy var)``

   where the model variance is the replicate variance of the target's measure
   at that point (the mean of ``reps`` runs is compared, so it is divided by
   ``reps``), the target variance is the published figure's uncertainty and
   the discrepancy variance says how far the model's own measure may sit from
   the survey's even at the right parameters;
4. a point is ruled out when its largest implausibility exceeds ``cutoff``
   (3, Pukelsheim's three-sigma rule);
5. further waves sample within the bounding box of the survivors (widened by
   a margin, never beyond the original ranges) and are judged the same way.

Every point is judged by simulation against every target (no emulator), so a
survivor of any wave stays a survivor. A target's measure is a metric total
(``minors_solicited_per_1k``), a ratio of two (``"clearinghouse_actionable /
clearinghouse_reports"``) or a callable over a run's totals, optionally
transformed (``transform="share_from_per_1k"``). The calibration method insists the mapping
from a survey figure to the model's measure is stated: each target carries a
``mapping`` sentence and a ``source``.

>>> import safesim as ss
>>> base = ss.Scenario.default().set("population.users", 2000).set("horizon_days", 60)
>>> t = ss.Target("minors_contacted_per_1k", 60.0, sd=20.0, mapping="synthetic", source="doctest")
>>> cal = ss.calibrate(base, {"offenders.share_of_adults": (0.001, 0.02)}, [t], n=6, reps=2, seed=1)
>>> len(cal.points)
6
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from safesim import _core
from safesim.api import PathLike, RunOptions, as_scenario, check_n, common_seeds, execute, point_scenario
from safesim.io import json_number, json_records, write_frame, write_json, write_text
from safesim.results import ECOSYSTEM, Results, Table, metric_names
from safesim.scenario import Parameter, Scenario, make_parameters

__all__ = [
    "TRANSFORMS",
    "CalibrationResults",
    "Parameter",
    "Target",
    "calibrate",
    "implausibility",
]

#: Named transforms of a target's measure (the plan file can only name them).
TRANSFORMS: dict[str, Callable[[float], float]] = {
    "identity": lambda x: x,
    "share_from_per_1k": lambda x: x / 1000.0,
    "percent_from_per_1k": lambda x: x / 10.0,
    "percent_from_share": lambda x: x * 100.0,
}

#: Keys of a target in a plan file.
TARGET_KEYS = ("metric", "value", "sd", "interval", "scope", "transform", "discrepancy_sd", "mapping", "source", "name")

#: A two-sided interval target is read as a 95% interval of a normal target.
INTERVAL_Z = 1.959963984540054

_RATIO = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*/\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")


# ------------------------------------------------------------------ implausibility
def implausibility(
    model_mean: Any,
    target: float,
    target_var: float = 0.0,
    model_var: Any = 0.0,
    reps: int = 1,
    discrepancy_var: float = 0.0,
) -> Any:
    """Return the implausibility ``|model_mean - target| / sqrt(target_var + model_var / reps + discrepancy_var)``.

    Works on scalars or arrays. Where the total variance is zero the
    implausibility is 0 for an exact match and infinite otherwise; a NaN model
    mean (the measure undefined in every run) gives an infinite implausibility.

    >>> float(implausibility(12.0, 10.0, target_var=1.0, model_var=6.0, reps=2))
    1.0
    """
    mean = np.asarray(model_mean, dtype=np.float64)
    var = float(target_var) + np.asarray(model_var, dtype=np.float64) / max(int(reps), 1) + float(discrepancy_var)
    var = np.where(np.isnan(var), float(target_var) + float(discrepancy_var), var)
    diff = np.abs(mean - float(target))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(var > 0, diff / np.sqrt(np.where(var > 0, var, 1.0)), np.where(diff == 0, 0.0, np.inf))
    out = np.where(np.isnan(mean), np.inf, out)
    return out if out.ndim else float(out)


# ------------------------------------------------------------------ targets
@dataclass(frozen=True)
class Target:
    """A published figure and the model measure it is compared with.

    ``metric`` is a metric name, ``"a / b"`` (ratio of two metric totals, per
    run) or a callable taking one run's totals for ``scope`` as ``{metric:
    value}`` and returning a number (give it a ``name``). ``transform`` (a
    name in :data:`TRANSFORMS` or a callable) is applied per run, e.g.
    ``"share_from_per_1k"`` turns ``minors_solicited_per_1k`` into a share.
    Give the figure's uncertainty as ``sd`` or as ``interval=(lo, hi)``, read
    as a 95% interval (``value`` defaults to its midpoint).
    ``discrepancy_sd`` is the model discrepancy: how far the model's measure
    may differ from the survey's at the right parameters. ``mapping`` says in
    a sentence how the survey figure maps to the model's measure.
    """

    metric: str | Callable[[Mapping[str, float]], float]
    value: float | None = None
    sd: float | None = None
    interval: tuple[float, float] | None = None
    scope: str = ECOSYSTEM
    transform: str | Callable[[float], float] | None = None
    discrepancy_sd: float = 0.0
    mapping: str = ""
    source: str = ""
    name: str | None = None

    def __post_init__(self) -> None:
        if self.interval is not None:
            lo, hi = (float(v) for v in self.interval)
            if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
                raise ValueError(f"target {self.label}: interval must be (lo, hi) with lo < hi, got {self.interval}")
            if self.sd is not None:
                raise ValueError(f"target {self.label}: give sd or interval, not both")
            object.__setattr__(self, "interval", (lo, hi))
            if self.value is None:
                object.__setattr__(self, "value", (lo + hi) / 2.0)
        if self.value is None or not math.isfinite(float(self.value)):
            raise ValueError(f"target {self.label}: a finite value (or an interval) is required")
        object.__setattr__(self, "value", float(self.value))
        if self.sd is not None and (not math.isfinite(float(self.sd)) or float(self.sd) < 0):
            raise ValueError(f"target {self.label}: sd must be a finite number >= 0, got {self.sd}")
        if not math.isfinite(float(self.discrepancy_sd)) or float(self.discrepancy_sd) < 0:
            raise ValueError(f"target {self.label}: discrepancy_sd must be >= 0, got {self.discrepancy_sd}")
        if not (self.transform is None or isinstance(self.transform, str) or callable(self.transform)):
            raise ValueError(f"target {self.label}: transform must be a name or a callable, got {self.transform!r}")
        if isinstance(self.transform, str) and self.transform not in TRANSFORMS:
            raise ValueError(
                f"target {self.label}: unknown transform {self.transform!r} (known: {', '.join(TRANSFORMS)})"
            )
        if callable(self.metric) and not self.name:
            raise ValueError("a target whose metric is a callable needs a name")

    @property
    def label(self) -> str:
        """The target's name in tables: ``name``, else the metric (with the scope if not the ecosystem)."""
        if self.name:
            return self.name
        base = self.metric if isinstance(self.metric, str) else getattr(self.metric, "__name__", "measure")
        base = " ".join(str(base).split())
        if self.transform is not None:
            tname = self.transform if isinstance(self.transform, str) else getattr(self.transform, "__name__", "f")
            base = f"{tname}({base})"
        return base if self.scope == ECOSYSTEM else f"{base}@{self.scope}"

    @property
    def target_sd(self) -> float:
        if self.interval is not None:
            return (self.interval[1] - self.interval[0]) / (2.0 * INTERVAL_Z)
        return float(self.sd or 0.0)

    @property
    def target_var(self) -> float:
        return self.target_sd**2

    @property
    def discrepancy_var(self) -> float:
        return float(self.discrepancy_sd) ** 2

    def metrics_used(self) -> list[str]:
        """Metric names the measure reads (empty for a callable)."""
        if callable(self.metric):
            return []
        m = _RATIO.match(self.metric)
        return [m.group(1), m.group(2)] if m else [self.metric.strip()]

    def validate(self, scenario: Scenario) -> None:
        """Known metrics, an existing scope: a ValueError naming the target otherwise."""
        known = metric_names()
        for name in self.metrics_used():
            if name not in known:
                close = _suggest(name, known)
                raise ValueError(f"target {self.label}: unknown metric {name!r}{close} (see `safesim metrics`)")
        if not callable(self.metric) and "/" in self.metric and not _RATIO.match(self.metric):
            raise ValueError(f"target {self.label}: expected a metric name or 'a / b', got {self.metric!r}")
        scopes = [ECOSYSTEM, *scenario.platforms]
        if self.scope not in scopes:
            raise ValueError(f"target {self.label}: unknown scope {self.scope!r} (scopes: {', '.join(scopes)})")

    def measure(self, totals: Mapping[str, float]) -> float:
        """The model's measure for one run, from that run's totals for the scope."""
        if callable(self.metric):
            x = float(self.metric(totals))
        else:
            m = _RATIO.match(self.metric)
            if m:
                num, den = float(totals[m.group(1)]), float(totals[m.group(2)])
                x = num / den if den != 0 else math.nan
            else:
                x = float(totals[self.metric.strip()])
        f = self.transform
        if f is None:
            return x
        return float((TRANSFORMS[f] if isinstance(f, str) else f)(x))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.label,
            "metric": self.metric if isinstance(self.metric, str) else f"<callable {self.label}>",
            "scope": self.scope,
            "transform": self.transform if not callable(self.transform) else "<callable>",
            "value": self.value,
            "sd": self.target_sd,
            "interval": list(self.interval) if self.interval else None,
            "discrepancy_sd": float(self.discrepancy_sd),
            "mapping": self.mapping,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Target:
        """A target from plan data: metric, value, sd or interval, scope, transform, discrepancy_sd, mapping, source, name."""
        known = set(TARGET_KEYS)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"target: unknown key(s) {', '.join(unknown)} (expected {', '.join(sorted(known))})")
        if "metric" not in data:
            raise ValueError("target: missing 'metric'")
        interval = data.get("interval")
        if interval is not None:
            if not isinstance(interval, (list, tuple)) or len(interval) != 2:
                raise ValueError(f"target {data['metric']}: interval must be [lo, hi], got {interval!r}")
            interval = (float(interval[0]), float(interval[1]))
        return cls(
            metric=str(data["metric"]),
            value=None if data.get("value") is None else float(data["value"]),
            sd=None if data.get("sd") is None else float(data["sd"]),
            interval=interval,
            scope=str(data.get("scope", ECOSYSTEM)),
            transform=data.get("transform"),
            discrepancy_sd=float(data.get("discrepancy_sd", 0.0) or 0.0),
            mapping=str(data.get("mapping", "") or ""),
            source=str(data.get("source", "") or ""),
            name=data.get("name"),
        )


def _suggest(name: str, known: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# ------------------------------------------------------------------ results
class CalibrationResults:
    """Every sampled point with its model means, implausibilities and verdict, wave by wave."""

    def __init__(
        self,
        scenario: Scenario,
        parameters: list[Parameter],
        targets: list[Target],
        points: pd.DataFrame,
        waves: list[dict[str, Any]],
        *,
        reps: int,
        seeds: list[int],
        cutoff: float,
        sampler_seed: int,
    ) -> None:
        self.scenario = scenario
        self.parameters = parameters
        self.targets = targets
        self.points = points
        self.waves = waves
        self.reps = reps
        self.seeds = seeds
        self.cutoff = cutoff
        self.sampler_seed = sampler_seed

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.parameters]

    def non_implausible(self) -> pd.DataFrame:
        """The points not ruled out (largest implausibility <= cutoff), from every wave."""
        return Table(self.points[self.points["non_implausible"]].reset_index(drop=True))

    def best(self) -> pd.Series:
        """The point with the smallest largest implausibility (one point of a region: read it with ``ranges``)."""
        return self.points.loc[self.points["max_implausibility"].idxmin()]

    def ranges(self) -> pd.DataFrame:
        """Per wave and parameter: the range sampled and the range of the non-implausible points in it."""
        rows = []
        for w in self.waves:
            part = self.points[self.points["wave"] == w["wave"]]
            keep = part[part["non_implausible"]]
            for p in self.parameters:
                lo, hi = w["ranges"][p.key]
                rows.append(
                    {
                        "wave": w["wave"],
                        "parameter": p.key,
                        "sampled_low": lo,
                        "sampled_high": hi,
                        "non_implausible_low": keep[p.key].min() if len(keep) else math.nan,
                        "non_implausible_high": keep[p.key].max() if len(keep) else math.nan,
                        "points": len(part),
                        "non_implausible": len(keep),
                    }
                )
        return Table(pd.DataFrame(rows))

    def fit(self, point: Any = None) -> pd.DataFrame:
        """Per target at ``point`` (default: :meth:`best`): target, its sd, model mean and sd, implausibility."""
        row = self.best() if point is None else self._row(point)
        rows = []
        for t in self.targets:
            rows.append(
                {
                    "target": t.label,
                    "value": t.value,
                    "target_sd": t.target_sd,
                    "model_mean": row[f"{t.label}:mean"],
                    "model_sd": row[f"{t.label}:sd"],
                    "implausibility": row[f"{t.label}:I"],
                    "mapping": t.mapping,
                    "source": t.source,
                }
            )
        return Table(pd.DataFrame(rows))

    def _row(self, point: Any) -> pd.Series:
        if isinstance(point, pd.Series):
            return point
        if isinstance(point, (int, np.integer)):
            return self.points.loc[self.points["point"] == int(point)].iloc[0]
        raise TypeError(f"expected a point index or a row of .points, got {type(point).__name__}")

    def scenario_at(self, point: Any = None) -> Scenario:
        """The base scenario with a point's parameter values set (default: :meth:`best`).

        ``point`` is a point index, a row of :attr:`points`, or ``{key: value}``.
        """
        if isinstance(point, Mapping) and not isinstance(point, pd.Series):
            values = dict(point)
        else:
            row = self.best() if point is None else self._row(point)
            values = {p.key: _native(row[p.key], p.integer) for p in self.parameters}
        return self.scenario.set_many(values)

    @cached_property
    def provenance(self) -> dict[str, Any]:
        return {
            "kind": "CalibrationResults",
            "method": "history matching",
            "scenario": self.scenario.name,
            "scenario_hash": self.scenario.hash,
            "overrides": [list(kv) for kv in self.scenario.overrides],
            "policies": list(self.scenario.policies),
            "seeds": list(self.seeds),
            "reps": self.reps,
            "cutoff": self.cutoff,
            "sampler_seed": self.sampler_seed,
            "waves": [{"wave": w["wave"], "n": w["n"], "ranges": w["ranges"]} for w in self.waves],
            # calibration.json has always described a parameter by integer and log flags
            "parameters": [
                {"key": p.key, "low": p.low, "high": p.high, "integer": p.integer, "log": p.log}
                for p in self.parameters
            ],
            "targets": [t.to_dict() for t in self.targets],
            "version": _core.version,
            "build_type": _core.build_type,
        }

    def save(self, out_dir: PathLike) -> list[Path]:
        """Write points.csv, ranges.csv, fit.csv, best.resolved.yaml and calibration.json (last) to ``out_dir``.

        Every table is small and always CSV (as ``summary.csv`` is for :meth:`Results.save`);
        the runs behind them are the per-run files of each wave, written as the runs finish.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        fit = self.fit()
        ranges = self.ranges()
        written = [
            write_frame(self.points, out / "points.csv", csv=True),
            write_frame(ranges, out / "ranges.csv", csv=True),
            write_frame(fit, out / "fit.csv", csv=True),
            write_text(out / "best.resolved.yaml", self.scenario_at().dump()),
        ]
        best = self.best()
        doc = {
            "provenance": self.provenance,
            "non_implausible": int(self.points["non_implausible"].sum()),
            "points": len(self.points),
            "best": {k: _native(best[k], p.integer) for k, p in zip(self.keys, self.parameters, strict=True)}
            | {"max_implausibility": json_number(best["max_implausibility"])},
            "ranges": json_records(ranges),
            "fit": json_records(fit),
        }
        written.append(write_json(out / "calibration.json", doc))  # last: marks the set complete
        return written

    def __repr__(self) -> str:
        n_ok = int(self.points["non_implausible"].sum())
        return (
            f"<CalibrationResults {len(self.points)} point(s) in {len(self.waves)} wave(s) over {self.keys}: "
            f"{n_ok} non-implausible at cutoff {self.cutoff:g}>"
        )


def _native(value: Any, integer: bool) -> Any:
    return int(value) if integer else float(value)


# ------------------------------------------------------------------ the method
def _lhs(params: Sequence[Parameter], n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    u = qmc.LatinHypercube(d=len(params), seed=rng).random(n)
    cols = [p.from_unit(u[:, j]) for j, p in enumerate(params)]
    return [{p.key: _native(cols[j][i], p.integer) for j, p in enumerate(params)} for i in range(n)]


def _measures(results: Results, targets: Sequence[Target], scopes: list[str]) -> np.ndarray:
    """(targets, reps) array of each target's measure in each run of one point."""
    names = metric_names()
    out = np.full((len(targets), len(results.outputs)), np.nan)
    for r, output in enumerate(results.outputs):
        totals = np.asarray(output["totals"], dtype=np.float64)
        for i, t in enumerate(targets):
            row = totals[scopes.index(t.scope)]
            with np.errstate(divide="ignore", invalid="ignore"):
                out[i, r] = t.measure(dict(zip(names, row.tolist(), strict=True)))
    return out


def _judge(
    points: list[dict[str, Any]], arms: Sequence[Results], targets: Sequence[Target], scenario: Scenario, cutoff: float
) -> pd.DataFrame:
    scopes = [ECOSYSTEM, *scenario.platforms]
    rows = []
    for i, p in enumerate(points):
        values = _measures(arms[i], targets, scopes)
        row: dict[str, Any] = dict(p)
        worst = 0.0
        for t, v in zip(targets, values, strict=True):
            finite = v[np.isfinite(v)]
            mean = float(finite.mean()) if len(finite) else math.nan
            var = float(finite.var(ddof=1)) if len(finite) > 1 else 0.0
            imp = float(implausibility(mean, t.value, t.target_var, var, max(len(finite), 1), t.discrepancy_var))
            row[f"{t.label}:mean"] = mean
            row[f"{t.label}:sd"] = math.sqrt(var)
            row[f"{t.label}:I"] = imp
            worst = max(worst, imp)
        row["max_implausibility"] = worst
        row["non_implausible"] = worst <= cutoff
        rows.append(row)
    return pd.DataFrame(rows)


def _next_ranges(
    params: list[Parameter], original: list[Parameter], keep: pd.DataFrame, margin: float
) -> list[Parameter]:
    """The survivors' bounding box, widened by ``margin`` of its width, clipped to the original ranges."""
    out = []
    for p, orig in zip(params, original, strict=True):
        lo, hi = float(keep[p.key].min()), float(keep[p.key].max())
        if p.log:
            llo, lhi = math.log(lo), math.log(hi)
            pad = margin * max(lhi - llo, 0.02 * (math.log(orig.high) - math.log(orig.low)))
            lo, hi = math.exp(llo - pad), math.exp(lhi + pad)
        else:
            pad = margin * max(hi - lo, 0.02 * (orig.high - orig.low))
            lo, hi = lo - pad, hi + pad
        lo, hi = max(lo, orig.low), min(hi, orig.high)
        if p.integer:
            lo, hi = math.floor(lo), math.ceil(hi)
            if hi <= lo:
                hi = min(lo + 1, int(orig.high))
                lo = hi - 1
        out.append(p.narrowed(lo, hi))
    return out


def check_inputs(
    scenario: Scenario, parameters: Mapping[str, Any], targets: Sequence[Target | Mapping[str, Any]]
) -> tuple[list[Parameter], list[Target]]:
    """The checks :func:`calibrate` makes before any run (``safesim validate`` makes them too).

    Parameters against the parameter dictionary, targets against the engine's
    metrics and the scenario's scopes, target names unique; a ValueError (or
    the scenario's own ScenarioError) names the culprit.
    """
    params = make_parameters(scenario, parameters)
    tlist = [t if isinstance(t, Target) else Target.from_dict(t) for t in targets]
    if not tlist:
        raise ValueError("give at least one target")
    labels = [t.label for t in tlist]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise ValueError(f"target names must be unique (give name=...): {', '.join(dupes)}")
    for t in tlist:
        t.validate(scenario)
    return params, tlist


def calibrate(
    scenario: Scenario | PathLike,
    parameters: Mapping[str, Any],
    targets: Sequence[Target | Mapping[str, Any]],
    n: int = 40,
    reps: int = 5,
    waves: int = 1,
    cutoff: float = 3.0,
    seed: int | None = None,
    *,
    margin: float = 0.1,
    options: RunOptions | None = None,
    **run_options: Any,
) -> CalibrationResults:
    """History matching of ``parameters`` ({key.path: (low, high)}) to ``targets``.

    Each wave samples ``n`` points by Latin hypercube (wave 1 over the given
    ranges, later waves over the bounding box of the previous wave's
    non-implausible points, widened by ``margin``), runs each ``reps`` times
    on common seeds S..S+reps-1 as :func:`safesim.sweep` does (``options`` or
    the keywords ``executor``, ``workers``, ``csv``, ``progress`` as there; with
    ``out=DIR`` each wave's runs go to ``DIR/wave<k>/runs/``, ``csv=True`` writes
    them as CSV, and a rerun computes only the missing ones) and rules out the points whose
    largest implausibility exceeds ``cutoff``. Waves stop early when none
    survives. ``seed`` (default: the scenario's) seeds both the runs and the
    sampler, so the same call gives the same result. A parameter may be
    ``{"range": [low, high], "log": True}`` to sample in log space (or
    ``"dist": "loguniform"``, as in sensitivity plans; see
    :func:`safesim.scenario.make_parameters`); keys of kind count or integer
    are sampled as whole numbers.
    """
    opts = RunOptions.of(options, run_options, "calibrate")
    n = check_n(n)
    reps = check_n(reps)
    if int(waves) < 1:
        raise ValueError(f"waves must be >= 1, got {waves}")
    cutoff = float(cutoff)
    if not cutoff > 0:
        raise ValueError(f"cutoff must be > 0, got {cutoff}")
    sc = as_scenario(scenario)
    params, tlist = check_inputs(sc, parameters, targets)
    seeds = common_seeds(sc, seed, reps)
    base = seeds[0]
    rng = np.random.default_rng([base, 0x5AFE])
    original = list(params)
    frames: list[pd.DataFrame] = []
    wave_info: list[dict[str, Any]] = []
    offset = 0
    for k in range(1, int(waves) + 1):
        points = _lhs(params, n, rng)
        # The sweep machinery without its combined tables: a wave's per-run
        # files (resumable) are all a calibration needs, and the daily frames
        # of hundreds of runs would dwarf everything else it writes.
        wave_options = opts.replace(out=None if opts.out is None else Path(opts.out) / f"wave{k}")
        arms = execute([point_scenario(sc, p) for p in points], seeds, wave_options, f"calibrate wave {k}/{int(waves)}")
        judged = _judge(points, arms, tlist, sc, cutoff)
        judged.insert(0, "point", np.arange(offset, offset + len(points)))
        judged.insert(0, "wave", k)
        offset += len(points)
        frames.append(judged)
        wave_info.append({"wave": k, "n": n, "ranges": {p.key: [p.low, p.high] for p in params}})
        keep = judged[judged["non_implausible"]]
        if keep.empty:
            break
        params = _next_ranges(params, original, keep, margin)
    table = pd.concat(frames, ignore_index=True)
    results = CalibrationResults(
        sc,
        original,
        tlist,
        Table(table),
        wave_info,
        reps=reps,
        seeds=seeds,
        cutoff=cutoff,
        sampler_seed=base,
    )
    if opts.out is not None:
        results.save(opts.out)
    return results
