"""Global sensitivity analysis: how much each uncertain parameter moves each output.

docs/validation.md asks for the weakly grounded parameters (above all the
offender side: share of adults who offend, contact rates, ban evasion) to be
given wide ranges and their influence shown rather than pretending to know
them. :func:`sensitivity` does that with SALib:

1. each parameter ``key.path`` gets a range (``(lo, hi)``, uniform, or
   ``{"range": [lo, hi], "dist": "loguniform"}``), checked against the
   parameter dictionary (kind and bounds) before anything runs;
2. SALib samples the unit hypercube (Morris trajectories, or Sobol'/Saltelli
   points); each unit value is mapped to the parameter's range here, so
   integer keys (kind ``count`` or ``integer``) get whole numbers, each with
   equal probability;
3. the sample points run as a sweep (the same executors, resumable ``out=``
   run store and progress bars), ``reps`` replicates per point on common
   seeds;
4. SALib analyses the replicate means of each metric: Morris ``mu_star``
   (mean absolute elementary effect) and ``sigma``, or Sobol' ``S1`` and
   ``ST``, each with SALib's bootstrap confidence interval.

Simulation noise. A stochastic model adds replicate noise to every output, and
an index estimated from noisy outputs is not zero even for a parameter the
model ignores. Two measures say when an index is within noise:

- ``noise_share`` (both methods), per metric: the share of the variance of the
  analysed replicate means (across sample points) that is replicate noise.
  Replicate ``k`` runs on the same seed at every point, so noise common to
  all points cancels; what is left is the seed x point interaction of a
  two-way layout, whose mean square over ``reps`` is the noise variance of
  a point mean. A Sobol' index below ``noise_share`` may be noise (a
  conservative bound: the paired differences inside the estimators are less
  noisy than this), and the S1 of all parameters sum, in expectation, to at
  most about ``1 - noise_share``. More ``reps`` shrink it.
- ``mu_star_noise`` (Morris), per parameter: the ``mu_star`` a parameter with
  no effect would get from noise alone. Each elementary effect is computed
  per replicate (the two ends of a step share their seeds, so the difference
  is paired), its standard error ``se`` is the replicate spread over
  ``sqrt(reps)``, and a null effect has expected absolute value
  ``sqrt(2/pi) * se``; ``mu_star_noise`` averages that over the parameter's
  steps. ``mu_star`` at or below it is noise.

Units. Elementary effects are per unit-scaled input (SALib's convention with
``delta`` from the number of levels), so ``mu_star`` reads as "change in the
metric when the parameter moves across its whole range" (exactly so for a
linear response); for a log-uniform parameter the range is on the log scale.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from safesim import _core
from safesim.api import PathLike, RunOptions, as_scenario, common_seeds, execute, point_scenario
from safesim.io import json_records, write_frame, write_json, write_text
from safesim.results import ECOSYSTEM, SweepResults, Table, metric_names
from safesim.scenario import Parameter, Scenario, make_parameters, parameter_bounds
from safesim.store import holds_out_folder

__all__ = ["METHODS", "Parameter", "SensitivityResults", "make_parameters", "parameter_bounds", "sensitivity"]

METHODS = ("morris", "sobol")
#: The index columns SALib gives for each method.
MORRIS_COLUMNS = ("mu", "mu_star", "mu_star_conf", "sigma")
SOBOL_COLUMNS = ("S1", "S1_conf", "ST", "ST_conf")


# ------------------------------------------------------------------ sampling
def _problem(params: Sequence[Parameter]) -> dict[str, Any]:
    # SALib samples and analyses the unit hypercube; values are mapped per parameter.
    return {"num_vars": len(params), "names": [p.key for p in params], "bounds": [[0.0, 1.0]] * len(params)}


def _unit_samples(method: str, problem: dict[str, Any], n: int, num_levels: int, seed: int) -> np.ndarray:
    if method == "morris":
        from SALib.sample import morris

        return np.asarray(morris.sample(problem, n, num_levels=num_levels, seed=seed), dtype=np.float64)
    from SALib.sample import sobol

    return np.asarray(sobol.sample(problem, n, calc_second_order=False, seed=seed), dtype=np.float64)


def _morris_delta(num_levels: int) -> float:
    return num_levels / (2.0 * (num_levels - 1))


# ------------------------------------------------------------------ analysis
def _point_means(values: np.ndarray) -> np.ndarray:
    """Per point (row), the mean over its defined replicates; NaN where none is defined."""
    ok = np.isfinite(values)
    count = ok.sum(axis=1)
    total = np.where(ok, values, 0.0).sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _noise_share(values: np.ndarray) -> tuple[float, float, float]:
    """(variance of the point means, their replicate-noise variance, noise share) of a (point, replicate) array.

    Under common random numbers replicate ``k`` has the same seed at every
    point, so part of the replicate noise is shared by all points and moves
    no point mean relative to another. What is left is the seed x point
    interaction of a two-way layout without replication: its mean square
    ``MS = sum(residual**2) / ((points - 1) * (reps - 1))``, residual =
    value - point mean - replicate mean + grand mean, and ``MS / reps`` is the
    noise variance of one point mean. Replicates with an undefined value at
    some point are left out; fewer than two left gives NaN.
    """
    keep = np.isfinite(values).all(axis=0)
    v = values[:, keep]
    n_points, n_reps = v.shape
    if n_points < 2 or n_reps < 2:
        return math.nan, math.nan, math.nan
    means = v.mean(axis=1)
    between = float(np.var(means, ddof=1))
    resid = v - means[:, None] - v.mean(axis=0)[None, :] + v.mean()
    within = float((resid**2).sum() / ((n_points - 1) * (n_reps - 1)) / n_reps)
    if between == 0.0:
        return between, within, (math.nan if within > 0 else 0.0)
    return between, within, min(within / between, 1.0)


def _morris_noise(x: np.ndarray, values: np.ndarray, n_params: int, delta: float) -> np.ndarray:
    """Per parameter, the mu_star that replicate noise alone gives (see the module docstring)."""
    steps = n_params + 1
    traj_x = x.reshape(-1, steps, n_params)
    traj_y = values.reshape(-1, steps, values.shape[1])
    sums = np.zeros(n_params)
    counts = np.zeros(n_params)
    for tx, ty in zip(traj_x, traj_y, strict=True):
        for s in range(1, steps):
            change = tx[s] - tx[s - 1]
            i = int(np.argmax(np.abs(change)))
            d = (ty[s] - ty[s - 1]) / delta
            d = d[np.isfinite(d)]
            if d.size < 2:
                continue
            se = float(np.std(d, ddof=1)) / math.sqrt(d.size)
            sums[i] += math.sqrt(2.0 / math.pi) * se
            counts[i] += 1
    with np.errstate(invalid="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


class SensitivityResults:
    """A global sensitivity analysis: indices per metric x parameter, the samples and the sweep behind them.

    ``indices()`` is the tidy table; ``noise()`` the per-metric split of
    variance into parameters and replicate noise; ``samples`` the sample
    points (one row per point, the values the model ran with); ``sweep`` the
    underlying :class:`SweepResults`; ``point_means()`` the replicate mean of
    every metric at every point.
    """

    def __init__(
        self,
        *,
        method: str,
        parameters: list[Parameter],
        unit_samples: np.ndarray,
        sweep: SweepResults,
        scope: str,
        metrics: list[str] | None,
        n: int,
        num_levels: int,
        sample_seed: int,
        confidence: float = 0.95,
        num_resamples: int = 100,
        base_scenario: Scenario | None = None,
    ) -> None:
        self.method = method
        #: the scenario the parameters were set on
        self.base_scenario = base_scenario
        self.parameters = parameters
        self.unit_samples = unit_samples
        self.sweep = sweep
        self.scope = scope
        self.n = n
        self.num_levels = num_levels
        self.sample_seed = sample_seed
        self.confidence = confidence
        self.num_resamples = num_resamples
        scopes = [ECOSYSTEM, *sweep[0].platforms]
        if scope not in scopes:
            raise ValueError(f"scope {scope!r} is not one of {scopes}")
        names = metric_names()
        if metrics is None:
            self.metrics = names
        else:
            unknown = [m for m in metrics if m not in names]
            if unknown:
                raise ValueError(f"unknown metric(s) {', '.join(unknown)}; `safesim metrics` lists them")
            self.metrics = list(metrics)

    @property
    def reps(self) -> int:
        """Replicates run at every point."""
        return self.sweep.reps

    @property
    def keys(self) -> list[str]:
        """The parameters' key paths, in order."""
        return [p.key for p in self.parameters]

    @cached_property
    def _values(self) -> np.ndarray:
        """Run totals as an array (point, replicate, metric) for this scope."""
        s = ([ECOSYSTEM, *self.sweep[0].platforms]).index(self.scope)
        names = metric_names()
        cols = [names.index(m) for m in self.metrics]
        return np.array(
            [
                [np.asarray(o["totals"], dtype=np.float64)[s, cols] for o in res.outputs]
                for res in self.sweep.arms.values()
            ]
        )

    @cached_property
    def samples(self) -> pd.DataFrame:
        """One row per sample point: ``point`` and each parameter's value as run."""
        rows = [{"point": i, **pt} for i, pt in enumerate(self.sweep.points)]
        return pd.DataFrame(rows, columns=["point", *self.keys])

    def point_means(self) -> pd.DataFrame:
        """Return the replicate mean of every metric at every point, with the parameter values (wide)."""
        means = np.stack([_point_means(self._values[:, :, j]) for j in range(len(self.metrics))], axis=1)
        return pd.concat([self.samples, pd.DataFrame(means, columns=self.metrics)], axis=1)

    @cached_property
    def _noise(self) -> pd.DataFrame:
        rows = []
        for j, metric in enumerate(self.metrics):
            values = self._values[:, :, j]
            mean = _point_means(values)
            between, within, share = _noise_share(values) if np.isfinite(mean).all() else (math.nan,) * 3
            rows.append(
                {
                    "metric": metric,
                    "mean": float(np.mean(mean)) if np.isfinite(mean).all() else math.nan,
                    "var_points": between,
                    "var_noise": within,
                    "noise_share": share,
                }
            )
        return pd.DataFrame(rows)

    def noise(self) -> pd.DataFrame:
        """Per metric: overall mean, variance of the point means, its replicate-noise part and ``noise_share``.

        ``var_noise`` is the replicate-noise variance of one analysed point
        mean that common random numbers leave (the seed x point interaction,
        see :func:`_noise_share`); ``noise_share`` = ``var_noise /
        var_points`` (capped at 1). NaN where the metric is undefined at
        some point or constant everywhere.
        """
        return Table(self._noise.copy())

    def _analyse(self, problem: dict[str, Any], mean: np.ndarray) -> Any:
        """SALib's analysis of the point means by this object's method."""
        if self.method == "morris":
            from SALib.analyze import morris

            return morris.analyze(
                problem,
                self.unit_samples,
                mean,
                num_resamples=self.num_resamples,
                conf_level=self.confidence,
                num_levels=self.num_levels,
                seed=self.sample_seed,
            )
        from SALib.analyze import sobol

        with warnings.catch_warnings():
            # A bootstrap resample of a rarely non-zero metric can be constant; SALib then
            # counts it as zero and warns. The all-constant case is handled by the caller.
            warnings.filterwarnings("ignore", message="Constant values encountered", category=UserWarning)
            return sobol.analyze(
                problem,
                mean,
                calc_second_order=False,
                num_resamples=self.num_resamples,
                conf_level=self.confidence,
                seed=self.sample_seed,
            )

    @cached_property
    def _indices(self) -> pd.DataFrame:
        problem = _problem(self.parameters)
        k = len(self.parameters)
        noise = self._noise.set_index("metric")
        parts = []
        for j, metric in enumerate(self.metrics):
            values = self._values[:, :, j]
            mean = _point_means(values)
            frame = pd.DataFrame({"metric": metric, "parameter": self.keys})
            analysable = bool(np.isfinite(mean).all())
            constant = analysable and float(np.ptp(mean)) == 0.0
            columns = MORRIS_COLUMNS if self.method == "morris" else SOBOL_COLUMNS
            if analysable and not constant:
                si = self._analyse(problem, mean)
                for col in columns:
                    frame[col] = np.asarray(si[col], dtype=np.float64)
            else:
                # A constant output: no parameter moves it (Morris effects are 0; Sobol' indices, shares
                # of a variance, are undefined when there is none); an undefined one: nothing to analyse.
                fill = 0.0 if constant and self.method == "morris" else math.nan
                for col in columns:
                    frame[col] = fill
            if self.method == "morris":
                frame["mu_star_noise"] = _morris_noise(self.unit_samples, values, k, _morris_delta(self.num_levels))
            frame["noise_share"] = float(noise.loc[metric, "noise_share"])
            score = frame["mu_star" if self.method == "morris" else "ST"].fillna(-np.inf)
            frame["rank"] = score.rank(ascending=False, method="min").astype(np.int64)
            parts.append(frame.sort_values("rank", kind="stable"))
        return pd.concat(parts, ignore_index=True)

    def indices(self, metric: str | Sequence[str] | None = None) -> pd.DataFrame:
        """Tidy indices, one row per metric x parameter, most important first within each metric.

        Morris: ``mu`` (mean elementary effect, signed), ``mu_star`` (mean
        absolute effect: the importance), ``mu_star_conf`` (half-width of
        SALib's bootstrap interval), ``sigma`` (spread of the effects:
        non-linearity or interactions), ``mu_star_noise`` (what noise alone
        gives). Sobol': ``S1`` (first order), ``ST`` (total), each with the
        half-width ``_conf``. Both: ``noise_share`` and ``rank``.
        """
        out = self._indices
        if metric is not None:
            wanted = [metric] if isinstance(metric, str) else list(metric)
            unknown = [m for m in wanted if m not in self.metrics]
            if unknown:
                raise ValueError(f"metric(s) {', '.join(unknown)} not analysed (analysed: {len(self.metrics)} metrics)")
            out = out[out["metric"].isin(wanted)]
        return Table(out.reset_index(drop=True))

    @cached_property
    def provenance(self) -> dict[str, Any]:
        """What produced these indices: versions, method, sampling, seeds, runs and the base scenario."""
        from importlib.metadata import version

        sc = self.sweep[0].scenario
        base = self.base_scenario
        return {
            "kind": "SensitivityResults",
            "method": self.method,
            "n": self.n,
            "num_levels": self.num_levels if self.method == "morris" else None,
            "points": len(self.sweep.points),
            "reps": self.reps,
            "seeds": list(self.sweep.seeds),
            "sample_seed": self.sample_seed,
            "confidence": self.confidence,
            "num_resamples": self.num_resamples,
            "scope": self.scope,
            "parameters": [p.to_dict() for p in self.parameters],
            "scenario": base.name if base is not None else sc.name,
            "scenario_hash": base.hash if base is not None else None,
            "version": _core.version,
            "build_type": _core.build_type,
            "salib_version": version("SALib"),
        }

    def save(self, out_dir: str | os.PathLike[str], csv: bool = False) -> list[Path]:
        """Write indices.csv, noise.csv, samples.csv, point_means.csv, runs and sensitivity.json (last)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        indices = self.indices()
        written = [
            write_frame(indices, out / "indices.csv", csv=True),
            write_frame(self.noise(), out / "noise.csv", csv=True),
            write_frame(self.samples, out / "samples.csv", csv=True),
            write_frame(self.point_means(), out / "point_means.csv", csv=True),
            write_frame(self.sweep.runs, out / "runs", csv),
        ]
        if self.base_scenario is not None:
            written.append(write_text(out / "scenario.resolved.yaml", self.base_scenario.dump()))
        doc = {"provenance": self.provenance, "indices": json_records(indices), "noise": json_records(self.noise())}
        written.append(write_json(out / "sensitivity.json", doc))  # last: marks the set complete
        return written

    def __repr__(self) -> str:
        return (
            f"<SensitivityResults {self.method}: {len(self.parameters)} parameter(s), "
            f"{len(self.sweep.points)} point(s) x {self.reps} replicate(s), {len(self.metrics)} metric(s)>"
        )


@holds_out_folder  # the lock covers the runs and the combined files
def sensitivity(
    scenario: Scenario | PathLike,
    parameters: Mapping[str, Any],
    n: int | None = None,
    method: str = "morris",
    reps: int = 5,
    seed: int | None = None,
    *,
    metrics: Sequence[str] | None = None,
    scope: str = ECOSYSTEM,
    num_levels: int = 4,
    confidence: float = 0.95,
    num_resamples: int = 100,
    options: RunOptions | None = None,
    **run_options: Any,
) -> SensitivityResults:
    """Global sensitivity of every metric to ``parameters``, by Morris screening or Sobol' indices.

    ``parameters`` maps a scenario key path to a range: ``(low, high)``
    (uniform) or ``{"range": [low, high], "dist": "loguniform"}`` (``"log":
    True`` says the same, as in calibration plans). Keys of kind ``count`` or
    ``integer`` are sampled as whole numbers. Ranges are checked against the
    parameter dictionary before anything runs (:func:`make_parameters`).

    ``method="morris"``: ``n`` trajectories (default 10) of ``num_levels``
    levels, ``n * (k + 1)`` points for ``k`` parameters. ``method="sobol"``:
    Saltelli's scheme with ``n`` base points (a power of 2, default 64),
    ``n * (k + 2)`` points. Every point runs ``reps`` replicates on the same
    seeds (seed, seed + 1, ...); ``seed`` (default: the scenario's) also seeds
    the sampler, so the same call gives the same result. The replicate means
    are analysed; see the module docstring for ``noise_share`` and
    ``mu_star_noise``. ``options`` or the keywords ``executor``, ``workers``,
    ``out`` (resumable), ``csv`` and ``progress`` are as for :func:`safesim.sweep`.

    >>> import safesim as ss
    >>> base = ss.Scenario.load("baseline").set("horizon_days", 90)
    >>> sa = ss.sensitivity(base, {"offenders.share_of_adults": (0.002, 0.01),
    ...                            "platforms.main.controls.reporting.steps": (1, 9)}, n=4, reps=2)
    >>> sa.indices("minors_contacted")[["parameter", "mu_star"]]  # doctest: +SKIP
    """
    opts = RunOptions.of(options, run_options, "sensitivity")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    sc = as_scenario(scenario)
    seeds = common_seeds(sc, seed, reps)
    base_seed = seeds[0]
    if n is None:
        n = 10 if method == "morris" else 64
    n = int(n)
    if method == "morris":
        if n < 2:
            raise ValueError(f"Morris needs n >= 2 trajectories, got {n}")
        if int(num_levels) < 2 or int(num_levels) % 2:
            raise ValueError(f"num_levels must be an even number >= 2, got {num_levels}")
    elif n < 2 or n & (n - 1):
        raise ValueError(f"Sobol' sampling needs n a power of 2 (e.g. 32, 64, 128), got {n}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    scopes = [ECOSYSTEM, *sc.platforms]
    if scope not in scopes:
        raise ValueError(f"scope {scope!r} is not one of {scopes}")
    if metrics is not None:
        unknown = [m for m in metrics if m not in metric_names()]
        if unknown:
            raise ValueError(f"unknown metric(s) {', '.join(unknown)}; `safesim metrics` lists them")
    params = make_parameters(sc, parameters)
    if method == "sobol" and len(params) < 2:
        raise ValueError("Sobol' analysis needs at least two parameters")

    unit = _unit_samples(method, _problem(params), n, int(num_levels), base_seed)
    points = [{p.key: p.value(u) for p, u in zip(params, row, strict=True)} for row in unit]
    arms = [point_scenario(sc, pt) for pt in points]
    sw = SweepResults(dict(enumerate(execute(arms, seeds, opts, "sensitivity"))), points, seeds)
    sa = SensitivityResults(
        method=method,
        parameters=params,
        unit_samples=unit,
        sweep=sw,
        scope=scope,
        metrics=None if metrics is None else list(metrics),
        n=n,
        num_levels=int(num_levels),
        sample_seed=base_seed,
        confidence=confidence,
        num_resamples=num_resamples,
        base_scenario=sc,
    )
    opts.save(sa)
    return sa
