"""Run outputs as tidy pandas frames, with replicate summaries and provenance.

Each run dict from ``safesim._core`` holds ``totals`` (scopes x metrics) and
``daily`` (scopes x days x metrics); scope 0 is the ecosystem, scope 1 + p is
platform p. Here they become long frames:

- ``runs``: replicate, seed, scope, metric, value (one row per run total);
- ``daily``: replicate, scope, day, metric, value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from safesim import _core

if TYPE_CHECKING:
    from safesim.scenario import Scenario

__all__ = ["ECOSYSTEM", "Results", "daily_frame", "metric_names", "runs_frame", "summarize"]

ECOSYSTEM = "ecosystem"


def metric_names() -> list[str]:
    """Metric names in the column order of ``totals`` and ``daily``."""
    return [row[0] for row in _core.metrics()]


def _scopes(outputs: Sequence[dict[str, Any]]) -> list[str]:
    platforms = list(outputs[0]["platforms"]) if outputs else []
    return [ECOSYSTEM, *platforms]


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


def daily_frame(outputs: Sequence[dict[str, Any]], replicates: Sequence[int] | None = None) -> pd.DataFrame:
    """One row per (replicate, scope, day, metric) with the day's value."""
    names = metric_names()
    scopes = _scopes(outputs)
    n_runs, n_scopes, n_metrics = len(outputs), len(scopes), len(names)
    days = int(outputs[0]["days"]) if outputs else 0
    reps = np.arange(n_runs) if replicates is None else np.asarray(replicates)
    per_run = n_scopes * days * n_metrics
    values = (
        np.concatenate([np.asarray(o["daily"], dtype=np.float64).ravel() for o in outputs]) if outputs else np.empty(0)
    )
    return pd.DataFrame(
        {
            "replicate": np.repeat(reps, per_run).astype(np.int64),
            "scope": _categorical(np.tile(np.repeat(np.arange(n_scopes), days * n_metrics), n_runs), scopes),
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


def _json_number(x: float) -> float | None:
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


class Results:
    """Replicate runs of one scenario: frames, summary and provenance."""

    def __init__(self, scenario: Scenario, outputs: list[dict[str, Any]], seeds: Sequence[int]) -> None:
        self.scenario = scenario
        self.outputs = outputs
        self.seeds = [int(s) for s in seeds]

    @property
    def platforms(self) -> list[str]:
        return list(self.outputs[0]["platforms"]) if self.outputs else []

    @property
    def reps(self) -> int:
        return len(self.outputs)

    @property
    def hashes(self) -> list[int]:
        """``output_hash`` of each run, in replicate order (a determinism fingerprint)."""
        return [int(o["hash"]) for o in self.outputs]

    @cached_property
    def runs(self) -> pd.DataFrame:
        return runs_frame(self.outputs)

    @cached_property
    def daily(self) -> pd.DataFrame:
        return daily_frame(self.outputs)

    def summary(self, confidence: float = 0.95) -> pd.DataFrame:
        """Mean, sd, n and t-interval per scope x metric over the replicates."""
        return summarize(self.runs, confidence=confidence)

    @cached_property
    def provenance(self) -> dict[str, Any]:
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
        """The summary as plain data: ecosystem metrics, then per platform."""
        summary = self.summary()
        by_scope: dict[str, dict[str, dict[str, float | None]]] = {}
        for row in summary.itertuples(index=False):
            by_scope.setdefault(str(row.scope), {})[str(row.metric)] = {
                "mean": _json_number(row.mean),
                "ci_low": _json_number(row.ci_low),
                "ci_high": _json_number(row.ci_high),
            }
        prov = self.provenance
        return {
            "scenario": prov["scenario"],
            "scenario_hash": prov["scenario_hash"],
            "seed": prov["seed"],
            "reps": prov["reps"],
            "version": prov["version"],
            "metrics": by_scope.get(ECOSYSTEM, {}),
            "platforms": {p: {"metrics": by_scope.get(p, {})} for p in self.platforms},
        }

    def __repr__(self) -> str:
        return f"<Results {self.scenario.name!r}: {self.reps} replicate(s), platforms {self.platforms}>"
