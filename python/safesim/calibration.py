"""Calibration by history matching: which parameter values the published figures do not rule out.

docs/validation.md lists published figures; offender-side parameters are weakly
grounded. Rather than a single "best fit", history matching (Vernon, Goldstein
& Bower 2010; Andrianakis et al. 2015, the usual method for calibrating
agent-based models) rules out the parameter values at which the model cannot
match the targets, given every source of uncertainty, and keeps the rest:

1. sample the parameter ranges with a Latin hypercube (``scipy.stats.qmc``);
2. run every point ``reps`` times on common seeds (the executors and
   progress of :func:`safesim.sweep`); each run is reduced, as it finishes,
   to what step 3 reads (its totals and the windowed values of the metrics
   its targets read), kept with ``out=DIR`` as a small resumable record per
   run, without the daily files unless ``keep_daily=True``;
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
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from safesim import _core
from safesim.api import (
    PathLike,
    RunOptions,
    as_scenario,
    check_n,
    common_seeds,
    execute_summaries,
    point_scenario,
)
from safesim.io import json_number, json_records, write_frame, write_json, write_text
from safesim.results import ECOSYSTEM, Table, metric_names
from safesim.scenario import Parameter, Scenario, make_parameters
from safesim.store import holds_out_folder

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
    #: the targets-file entry this target was made from (:meth:`from_spec`); its measure is then
    #: the entry's expression, over its window when it has one
    spec: Any = field(default=None, compare=False, repr=False)

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
        """The target's standard deviation: ``sd``, or the width of its 95% interval over 2 x 1.96."""
        if self.interval is not None:
            return (self.interval[1] - self.interval[0]) / (2.0 * INTERVAL_Z)
        return float(self.sd or 0.0)

    @property
    def target_var(self) -> float:
        """The target's variance (``target_sd`` squared)."""
        return self.target_sd**2

    @property
    def discrepancy_var(self) -> float:
        """The model discrepancy's variance (``discrepancy_sd`` squared)."""
        return float(self.discrepancy_sd) ** 2

    @classmethod
    def from_spec(cls, spec: Any) -> Target:
        """Return a target from a targets-file entry (:class:`safesim.targets.TargetSpec`) marked ``used_for: fit``.

        The range is read as a 95% interval (``interval``), a value with its
        ``sd``; the measure is the entry's expression on the entry's scope
        (over its window if it has one). An entry marked ``used_for: compare``
        is refused: a compared-only figure is never fitted to. ``relative_to``,
        ``group`` and operator scopes cannot be fitted yet.
        """
        where = f"target {spec.name}"
        if spec.used_for != "fit":
            raise ValueError(f"{where} is used_for: {spec.used_for}; only targets marked used_for: fit are fitted")
        if spec.relative_to is not None:
            raise ValueError(f"{where}: a relative_to target cannot be fitted yet (each point would need its variant)")
        if spec.group is not None or spec.scope.kind == "operator":
            raise ValueError(f"{where}: per-group and per-operator results are not reported by the engine yet")
        return cls(
            metric=lambda totals: math.nan,  # unused: _measures reads the spec's expression
            value=spec.value,
            sd=spec.sd if spec.range is None else None,
            interval=spec.range,
            scope=ECOSYSTEM if spec.scope.kind == "ecosystem" else spec.scope.name,
            discrepancy_sd=spec.discrepancy_sd,
            mapping=spec.mapping,
            source=spec.source,
            name=spec.name,
            spec=spec,
        )

    def metrics_used(self) -> list[str]:
        """Metric names the measure reads (empty for a callable)."""
        if self.spec is not None:
            return self.spec.expression.names()
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
        if self.spec is not None:
            from safesim.targets import TargetSet, _check_against

            located = getattr(self.spec, "located", None)
            _check_against(scenario, TargetSet([self.spec], located=located))

    def measure(self, totals: Mapping[str, float]) -> float:
        """Return the model's measure for one run, from that run's totals for the scope."""
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
        """Return the target as plain data (for provenance and calibration.json)."""
        if self.spec is not None:
            metric = str(self.spec.expression)
        else:
            metric = self.metric if isinstance(self.metric, str) else f"<callable {self.label}>"
        return {
            "name": self.label,
            "metric": metric,
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
        """Return a target from plan data.

        Keys: metric, value, sd or interval, scope, transform, discrepancy_sd, mapping, source, name.
        """
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
        #: leave-one-out diagnostics of the emulators, one row per wave x target x training point
        self.diagnostics = pd.DataFrame(
            columns=["wave", "target", "point", "model_mean", "loo_mean", "loo_sd", "standardized_error"]
        )

    @property
    def simulations(self) -> int:
        """Runs simulated in all: points x replicates."""
        return len(self.points) * self.reps

    def emulator_diagnostics(self) -> pd.DataFrame:
        """Summarise the emulators' leave-one-out diagnostics per wave x target.

        Whether the emulator passed, the share of leave-one-out standardized errors within +-2 and beyond +-3,
        candidates screened, ruled out and points simulated.
        """
        rows = []
        for w in self.waves:
            for label, d in (w.get("diagnostics") or {}).items():
                rows.append(
                    {
                        "wave": w["wave"],
                        "target": label,
                        "points": d["points"],
                        "within_2": d["within_2"],
                        "beyond_3": d["beyond_3"],
                        "passed": d["passed"],
                        "candidates": w.get("candidates"),
                        "ruled_out_by_emulator": w.get("ruled_out_by_emulator"),
                        "simulated": w.get("simulated"),
                    }
                )
        return Table(pd.DataFrame(rows))

    @property
    def keys(self) -> list[str]:
        """The parameters' key paths, in order."""
        return [p.key for p in self.parameters]

    def non_implausible(self) -> pd.DataFrame:
        """Return the points not ruled out (largest implausibility <= cutoff), from every wave."""
        return Table(self.points[self.points["non_implausible"]].reset_index(drop=True))

    def best(self) -> pd.Series:
        """Return the point with the smallest largest implausibility.

        One point of a region: read it with ``ranges``.
        """
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
        """Return the base scenario with a point's parameter values set (default: :meth:`best`).

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
        """What produced this calibration: scenario, parameters, targets, waves, seeds and versions."""
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
            "waves": [_jsonable(w) for w in self.waves],
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
        """Write the calibration's tables and calibration.json (last) to ``out_dir``.

        The tables: points.csv, ranges.csv, fit.csv, best.resolved.yaml, and emulator_diagnostics.csv when
        emulators were used.

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
        if len(self.diagnostics):
            written.append(write_frame(self.diagnostics, out / "emulator_diagnostics.csv", csv=True))
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


def _jsonable(value: Any) -> Any:
    """Return a wave record as plain JSON data."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer, np.floating, float)):
        return json_number(float(value)) if not isinstance(value, np.integer) else int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _native(value: Any, integer: bool) -> Any:
    return int(value) if integer else float(value)


# ------------------------------------------------------------------ emulators
#: A wave's emulator passes its leave-one-out diagnostics when at least this share of the
#: standardized errors lie within +-2 ...
LOO_WITHIN_2 = 0.85
#: ... and at most this share beyond +-3 (a normal gives 95.4% and 0.27%).
LOO_BEYOND_3 = 0.05


class GaussianProcessEmulator:
    """A Gaussian-process emulator of one target's model mean (scikit-learn).

    ``fit(x, y, noise_var)``: inputs in the unit cube, the model means at
    them and each mean's own variance (replicate variance / reps), added to
    the kernel's diagonal; the kernel is a constant times an anisotropic
    squared exponential plus a white-noise nugget, hyperparameters by maximum
    likelihood. ``predict(x)`` gives the mean and sd of the emulated model
    mean; ``loo()`` the leave-one-out prediction (mean, sd) of each training
    value, by the closed form for fixed hyperparameters (Rasmussen & Williams
    2006, section 5.4.2), so the diagnostics need no refits.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, x: np.ndarray, y: np.ndarray, noise_var: np.ndarray) -> GaussianProcessEmulator:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        self.center = float(y.mean())
        self.scale = float(y.std()) or 1.0
        z = (y - self.center) / self.scale
        alpha = np.maximum(np.asarray(noise_var, dtype=np.float64) / self.scale**2, 1e-10)
        d = x.shape[1]
        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(np.full(d, 0.3), (1e-2, 1e2)) + WhiteKernel(1e-3, (1e-8, 1.0))
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        gp = GaussianProcessRegressor(
            kernel, alpha=alpha, normalize_y=False, n_restarts_optimizer=2, random_state=self.seed
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # a bound reached is reported by the diagnostics
            gp.fit(x, z)
        self.gp, self.x, self.z, self.alpha = gp, x, z, alpha
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m, s = self.gp.predict(np.asarray(x, dtype=np.float64), return_std=True)
        return self.center + self.scale * m, self.scale * s

    def loo(self) -> tuple[np.ndarray, np.ndarray]:
        k = self.gp.kernel_(self.x) + np.diag(self.alpha)
        inv = np.linalg.inv(k)
        d = np.diag(inv)
        mean = self.z - (inv @ self.z) / d
        return self.center + self.scale * mean, self.scale / np.sqrt(d)


def loo_diagnostics(emulator: Any, y: np.ndarray) -> dict[str, Any]:
    """Leave-one-out standardized errors (y - loo mean) / loo sd of a fitted emulator, and the verdict.

    Passes when at least :data:`LOO_WITHIN_2` of them are within +-2 and at
    most :data:`LOO_BEYOND_3` beyond +-3 (Bastos & O'Hagan 2009).
    """
    mean, sd = emulator.loo()
    with np.errstate(divide="ignore", invalid="ignore"):
        e = (np.asarray(y, dtype=np.float64) - mean) / sd
    e = np.where(np.isfinite(e), e, np.inf)
    within = float(np.mean(np.abs(e) <= 2)) if len(e) else 0.0
    beyond = float(np.mean(np.abs(e) > 3)) if len(e) else 1.0
    return {
        "errors": e,
        "loo_mean": mean,
        "loo_sd": sd,
        "within_2": within,
        "beyond_3": beyond,
        "passed": bool(len(e) >= 5 and within >= LOO_WITHIN_2 and beyond <= LOO_BEYOND_3),
    }


def _to_unit(params: Sequence[Parameter], frame: pd.DataFrame) -> np.ndarray:
    """Points' parameter values as coordinates in the unit cube of the original ranges (log where sampled in logs)."""
    cols = []
    for p in params:
        v = frame[p.key].to_numpy(dtype=np.float64)
        if p.log:
            cols.append((np.log(v) - math.log(p.low)) / (math.log(p.high) - math.log(p.low)))
        else:
            cols.append((v - p.low) / (p.high - p.low))
    return np.column_stack(cols)


def _emulated_wave(
    params: list[Parameter],
    original: list[Parameter],
    simulated: pd.DataFrame,
    targets: Sequence[Target],
    n: int,
    candidates: int,
    rng: np.random.Generator,
    cutoff: float,
    make_emulator: Callable[[], Any],
    wave: int,
    reps: int,
) -> tuple[list[dict[str, Any]] | None, dict[str, Any], list[dict[str, Any]]]:
    """Fit an emulator per target on every simulated point, check it, and screen candidates with it.

    The ``n * candidates`` Latin-hypercube candidates are drawn in the current ranges. Returns the points to
    simulate (None when a diagnostic fails: the wave falls back to simulating ``n`` points), the wave's emulator
    record and the per-point diagnostics rows.
    """
    record: dict[str, Any] = {"emulated": True, "diagnostics": {}}
    rows: list[dict[str, Any]] = []
    x_all = _to_unit(original, simulated)
    fitted = []
    for t in targets:
        mean = simulated[f"{t.label}:mean"].to_numpy(dtype=np.float64)
        var = simulated[f"{t.label}:sd"].to_numpy(dtype=np.float64) ** 2 / reps
        ok = np.isfinite(mean) & np.isfinite(var)
        em = make_emulator().fit(x_all[ok], mean[ok], var[ok])
        diag = loo_diagnostics(em, mean[ok])
        points = simulated["point"].to_numpy()[ok]
        for pt, y, m, s, e in zip(points, mean[ok], diag["loo_mean"], diag["loo_sd"], diag["errors"], strict=True):
            rows.append(
                {
                    "wave": wave,
                    "target": t.label,
                    "point": int(pt),
                    "model_mean": y,
                    "loo_mean": m,
                    "loo_sd": s,
                    "standardized_error": e,
                }
            )
        record["diagnostics"][t.label] = {
            "points": int(ok.sum()),
            "within_2": diag["within_2"],
            "beyond_3": diag["beyond_3"],
            "passed": diag["passed"],
        }
        fitted.append((t, em, float(np.mean(var[ok])) if ok.any() else 0.0))
    record["passed"] = all(d["passed"] for d in record["diagnostics"].values())
    if not record["passed"]:
        # Nothing drawn from the sampler yet: the wave then samples exactly as without emulators.
        record["fallback"] = "an emulator failed its leave-one-out diagnostics: the wave is simulated in full"
        return None, record, rows
    cands = _lhs(params, n * candidates, rng)
    xc = _to_unit(original, pd.DataFrame(cands))
    worst = np.zeros(len(cands))
    for t, em, model_var in fitted:
        mu, sd = em.predict(xc)
        imp = implausibility(mu, t.value, t.target_var, sd**2 + model_var, 1, t.discrepancy_var)
        worst = np.maximum(worst, imp)
    record["candidates"] = len(cands)
    keep = np.flatnonzero(worst <= cutoff)
    record["ruled_out_by_emulator"] = int(len(cands) - len(keep))
    # The share of the original space the emulators leave: the candidates kept, times the box's share.
    box = 1.0
    for p, o in zip(params, original, strict=True):
        if p.log:
            box *= (math.log(p.high) - math.log(p.low)) / (math.log(o.high) - math.log(o.low))
        else:
            box *= (p.high - p.low) / (o.high - o.low) if o.high > o.low else 1.0
    record["emulated_non_implausible_share"] = box * len(keep) / len(cands)
    return [cands[i] for i in keep[:n]], record, rows


# ------------------------------------------------------------------ the method
def _lhs(params: Sequence[Parameter], n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    u = qmc.LatinHypercube(d=len(params), seed=rng).random(n)
    cols = [p.from_unit(u[:, j]) for j, p in enumerate(params)]
    return [{p.key: _native(cols[j][i], p.integer) for j, p in enumerate(params)} for i in range(n)]


def _measures(runs: Sequence[Mapping[str, Any]], targets: Sequence[Target], scopes: list[str]) -> np.ndarray:
    """(targets, reps) array of each target's measure in each run of one point (run dicts or summaries)."""
    from safesim.targets import run_values

    names = metric_names()
    out = np.full((len(targets), len(runs)), np.nan)
    for i, t in enumerate(targets):
        if t.spec is not None:
            out[i] = run_values(runs, t.spec, scopes.index(t.scope))
    for r, output in enumerate(runs):
        totals = np.asarray(output["totals"], dtype=np.float64)
        for i, t in enumerate(targets):
            if t.spec is not None:
                continue
            row = totals[scopes.index(t.scope)]
            with np.errstate(divide="ignore", invalid="ignore"):
                out[i, r] = t.measure(dict(zip(names, row.tolist(), strict=True)))
    return out


def _judge(
    points: list[dict[str, Any]],
    arms: Sequence[Sequence[Mapping[str, Any]]],
    targets: Sequence[Target],
    scenario: Scenario,
    cutoff: float,
) -> pd.DataFrame:
    """One row per point: its parameter values, each target's mean, sd and implausibility, and the verdict.

    ``arms`` holds each point's runs (run dicts with totals, and daily arrays or windowed values).
    """
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


def _window_needs(targets: Sequence[Target]) -> list[tuple[str, int, int, str]]:
    """Return the windowed values the targets read, (scope, first day, last day, metric) each, sorted.

    What a calibration keeps of each run's daily array (in its summary record) so that it can judge the run
    without it; targets without a window read the run's totals.
    """
    from safesim.targets import window_needs

    return window_needs((t.spec, t.scope) for t in targets if t.spec is not None)


def _next_ranges(
    params: list[Parameter], original: list[Parameter], keep: pd.DataFrame, margin: float
) -> list[Parameter]:
    """Return the survivors' bounding box, widened by ``margin`` of its width, clipped to the original ranges."""
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


def as_targets(targets: Any) -> list[Target]:
    """Return the targets for :func:`calibrate` from what the caller gave.

    Targets, plan dicts, or a targets file / :class:`~safesim.targets.TargetSet` (only its ``used_for: fit``
    entries; a file with none is an error).
    """
    from safesim.targets import TargetSet, TargetSpec, load_targets

    if isinstance(targets, (str, os.PathLike)):
        targets = load_targets(targets)
    if isinstance(targets, TargetSet):
        fitted = targets.fitted()
        if not fitted:
            raise ValueError(f"no target in {targets.path or 'the set'} is marked used_for: fit")
        return [Target.from_spec(s) for s in fitted]
    out = []
    for t in targets:
        if isinstance(t, Target):
            out.append(t)
        elif isinstance(t, TargetSpec):
            out.append(Target.from_spec(t))
        else:
            out.append(Target.from_dict(t))
    return out


def check_inputs(
    scenario: Scenario, parameters: Mapping[str, Any], targets: Any
) -> tuple[list[Parameter], list[Target]]:
    """Make the checks :func:`calibrate` makes before any run; return the parameters and targets.

    ``safesim validate`` makes them too. Parameters against the parameter dictionary, targets against the engine's
    metrics and the scenario's scopes, target names unique; a ValueError (or
    the scenario's own ScenarioError) names the culprit.
    """
    params = make_parameters(scenario, parameters)
    tlist = as_targets(targets)
    if not tlist:
        raise ValueError("give at least one target")
    labels = [t.label for t in tlist]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise ValueError(f"target names must be unique (give name=...): {', '.join(dupes)}")
    for t in tlist:
        t.validate(scenario)
    return params, tlist


@holds_out_folder  # the lock covers the runs and the combined files
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
    emulate: bool = False,
    candidates: int = 20,
    emulator: Callable[[], Any] | None = None,
    keep_daily: bool = False,
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

    ``targets`` may also be a targets file or :class:`~safesim.targets.TargetSet`
    (its ``used_for: fit`` entries; see :meth:`Target.from_spec`).

    With ``emulate=True``, every wave after the first fits an emulator per
    target (``emulator``: a factory of objects with ``fit(x, y, noise_var)``,
    ``predict(x)`` and ``loo()``; default :class:`GaussianProcessEmulator`) on
    all the points simulated so far, checks each by its leave-one-out
    standardized errors (:func:`loo_diagnostics`), screens ``n * candidates``
    Latin-hypercube candidates in the wave's ranges with the emulators'
    implausibility (the emulator's variance added to the denominator), and
    simulates up to ``n`` of the candidates not ruled out. A wave whose
    emulator fails its diagnostics falls back to simulating ``n`` points as
    without emulators. Every simulated point is judged by simulation, as
    without emulators; :meth:`CalibrationResults.emulator_diagnostics` gives the
    leave-one-out errors and each wave's record says what the emulator did.

    Each run is judged by its totals and, for a target with a ``window``, the
    windowed values of the metrics it reads, taken from the run's daily array
    as the run finishes; the array is then dropped. With ``out=DIR`` a run's
    record is ``DIR/wave<k>/runs/<run_id>.summary.json`` (those values and a
    SHA-256 over them, checked when a rerun reuses the run); its daily, totals
    and groups files are written too only with ``keep_daily=True`` (needs
    ``out``). The judged points are the same either way.
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
    if int(candidates) < 1:
        raise ValueError(f"candidates must be >= 1, got {candidates}")
    make_emulator = emulator or (lambda: GaussianProcessEmulator(seed=base))
    needs = _window_needs(tlist)
    if keep_daily and opts.out is None:
        raise ValueError("keep_daily needs an output folder (out=DIR): the daily files are written there")
    diagnostics: list[dict[str, Any]] = []
    for k in range(1, int(waves) + 1):
        record: dict[str, Any] = {"emulated": False}
        points: list[dict[str, Any]] | None = None
        if emulate and frames:
            points, record, rows = _emulated_wave(
                params,
                original,
                pd.concat(frames, ignore_index=True),
                tlist,
                n,
                int(candidates),
                rng,
                cutoff,
                make_emulator,
                k,
                reps,
            )
            diagnostics += rows
            if points is not None and not points:
                record["simulated"] = 0
                wave_info.append({"wave": k, "n": 0, "ranges": {p.key: [p.low, p.high] for p in params}, **record})
                break  # the emulators rule out every candidate: nothing left to simulate
        if points is None:
            points = _lhs(params, n, rng)
        # Each run is reduced to what the judge reads (totals and the targets' windowed values) as it
        # finishes; with an output folder that summary is the run's record (resumable), and the daily
        # files, which would dwarf everything else a calibration writes, only with keep_daily.
        wave_options = opts.replace(out=None if opts.out is None else Path(opts.out) / f"wave{k}")
        arms = execute_summaries(
            [point_scenario(sc, p) for p in points],
            seeds,
            wave_options,
            f"calibrate wave {k}/{int(waves)}",
            needs,
            keep_daily=keep_daily,
        )
        judged = _judge(points, arms, tlist, sc, cutoff)
        judged.insert(0, "point", np.arange(offset, offset + len(points)))
        judged.insert(0, "wave", k)
        offset += len(points)
        frames.append(judged)
        record["simulated"] = len(points)
        wave_info.append({"wave": k, "n": len(points), "ranges": {p.key: [p.low, p.high] for p in params}, **record})
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
    results.diagnostics = pd.DataFrame(
        diagnostics,
        columns=["wave", "target", "point", "model_mean", "loo_mean", "loo_sd", "standardized_error"],
    )
    if opts.out is not None:
        results.save(opts.out)
    return results
