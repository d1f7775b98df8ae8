"""Golden regression summaries of the reference scenarios.

``tests/golden/<scenario>.json`` holds, for each reference scenario at a small
size, the resolved scenario's hash, the output hash of every replicate and the
mean of each metric over the replicates (ecosystem and up to
``MAX_PLATFORMS`` platforms). ``safesim golden`` recomputes them and reports
any difference; ``safesim golden --update`` rewrites the files, the only way
they change, so an engine change that moves results shows up in review as a
diff of these files.

The engine is deterministic for a given build (counter-based random streams,
results independent of thread count), so the check is tight: hashes must be
equal and means agree to ``RTOL`` relative. A different compiler, standard
library or optimisation level may legitimately change floating-point results
(e.g. fused multiply-add, libm ``exp``/``log``): regenerate the summaries on
the CI toolchain and review the diff before committing.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from safesim import _core
from safesim.io import write_json
from safesim.scenario import Scenario

__all__ = ["REFERENCES", "GoldenDiff", "check_golden", "compute_summary", "default_golden_dir", "update_golden"]

RTOL = 1e-9
ATOL = 1e-12
SEEDS = (1, 2, 3, 4)
MAX_PLATFORMS = 8
FORMAT = 1

# name -> overrides that make it small enough for every test run.
REFERENCES: dict[str, dict[str, Any]] = {
    "baseline": {"population.users": 5000},
    "e2ee_rollout": {"population.users": 5000},  # keeps 365 days: the rollout is on day 180
    "ecosystem_us": {"population.users": 20000, "horizon_days": 120},
}


def default_golden_dir() -> Path:
    """``tests/golden`` of the source checkout when found (from the cwd or the package), else ``./tests/golden``."""
    cwd = Path.cwd() / "tests" / "golden"
    if cwd.is_dir():
        return cwd
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "tests" / "golden"
        if candidate.is_dir():
            return candidate
    return cwd


def _scenario(name: str) -> Scenario:
    sc = Scenario.load(name)
    for key, value in REFERENCES[name].items():
        sc = sc.set(key, value)
    return sc


def compute_summary(name: str, threads: int | None = None) -> dict[str, Any]:
    """Return the golden summary of reference scenario ``name`` as JSON-ready data."""
    sc = _scenario(name)
    seeds = list(SEEDS)
    threads = threads or min(len(seeds), os.cpu_count() or 1)
    outputs = _core.run_many(sc.spec, seeds, threads)
    metrics = [row[0] for row in _core.metrics()]
    platforms = list(outputs[0]["platforms"])
    totals = np.mean([o["totals"] for o in outputs], axis=0)
    scopes = ["ecosystem", *platforms[:MAX_PLATFORMS]]
    means = {scope: {m: float(totals[i, j]) for j, m in enumerate(metrics)} for i, scope in enumerate(scopes)}
    return {
        "format": FORMAT,
        "scenario": name,
        "overrides": REFERENCES[name],
        "scenario_hash": sc.hash,
        "seeds": seeds,
        "run_hashes": {str(s): f"{int(o['hash']):016x}" for s, o in zip(seeds, outputs, strict=True)},
        "safesim": {"version": _core.version, "build_type": _core.build_type},
        "means": means,
    }


@dataclass
class GoldenDiff:
    """The comparison of one reference scenario with its golden file."""

    name: str
    path: Path
    problems: list[str]
    missing: bool = False

    @property
    def ok(self) -> bool:
        """Whether the golden file exists and the scenario's summary matches it."""
        return not self.problems and not self.missing

    def describe(self, limit: int = 8) -> str:
        """Describe the comparison in one line (MISSING, OK or CHANGED), with up to ``limit`` differences."""
        shown_path = os.path.relpath(self.path) if self.path.is_absolute() else str(self.path)
        if self.missing:
            return f"MISSING {self.name}: no {shown_path} (create it with 'safesim golden --update')"
        if self.ok:
            return f"OK {self.name} ({shown_path})"
        shown = self.problems[:limit]
        more = f"; and {len(self.problems) - limit} more" if len(self.problems) > limit else ""
        return f"CHANGED {self.name} ({shown_path}): " + "; ".join(shown) + more


def _close(a: float, b: float) -> bool:
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= ATOL + RTOL * max(abs(a), abs(b))


def compare(golden: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Human-readable differences between a golden summary and a fresh one (empty when equal)."""
    problems = []
    if golden.get("scenario_hash") != current["scenario_hash"]:
        problems.append("the resolved scenario changed (its hash differs)")
    for seed, h in current["run_hashes"].items():
        old = golden.get("run_hashes", {}).get(seed)
        if old != h:
            problems.append(f"seed {seed} output hash {old} -> {h}")
    for scope, values in current["means"].items():
        old_values = golden.get("means", {}).get(scope)
        if old_values is None:
            problems.append(f"new scope {scope}")
            continue
        for metric, value in values.items():
            if metric not in old_values:
                problems.append(f"new metric {scope}.{metric}")
            elif not _close(old_values[metric], value):
                problems.append(f"{scope}.{metric} mean {old_values[metric]!r} -> {value!r}")
    return problems


def _json_safe(doc: dict[str, Any]) -> dict[str, Any]:
    def fix(x: Any) -> Any:
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: fix(v) for k, v in x.items()}
        if isinstance(x, list):
            return [fix(v) for v in x]
        return x

    return fix(doc)


def check_golden(folder: Path | None = None, names: list[str] | None = None) -> list[GoldenDiff]:
    """Compare every reference scenario with its golden file."""
    folder = folder or default_golden_dir()
    out = []
    for name in names or list(REFERENCES):
        path = folder / f"{name}.json"
        if not path.is_file():
            out.append(GoldenDiff(name, path, [], missing=True))
            continue
        golden = json.loads(path.read_text(encoding="utf-8"))
        current = _json_safe(compute_summary(name))
        out.append(GoldenDiff(name, path, compare(golden, current)))
    return out


def update_golden(folder: Path | None = None, names: list[str] | None = None) -> list[Path]:
    """Rewrite the golden files from the current build (review the diff before committing)."""
    folder = folder or default_golden_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_json(folder / f"{name}.json", _json_safe(compute_summary(name))) for name in names or list(REFERENCES)
    ]
