"""The experiment API: run a scenario once or as replicates."""

from __future__ import annotations

import os
from pathlib import Path

from safesim import _core
from safesim.results import Results
from safesim.scenario import Scenario

__all__ = ["as_scenario", "replicate", "run"]


def as_scenario(scenario: Scenario | str | os.PathLike[str]) -> Scenario:
    """A Scenario as is; a path or an installed scenario's name loaded."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, (str, Path, os.PathLike)):
        return Scenario.load(scenario)
    raise TypeError(f"expected a Scenario or a path, got {type(scenario).__name__}")


def _check_seed(seed: int) -> int:
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return seed


def run(scenario: Scenario | str | os.PathLike[str], seed: int | None = None) -> Results:
    """Run one replicate; ``seed`` defaults to the scenario's own seed."""
    sc = as_scenario(scenario)
    s = _check_seed(sc.seed if seed is None else seed)
    return Results(sc, [_core.run(sc.spec, s)], [s])


def replicate(
    scenario: Scenario | str | os.PathLike[str],
    n: int = 20,
    seed: int | None = None,
    threads: int | None = None,
) -> Results:
    """Run ``n`` replicates with seeds seed, seed + 1, ..., seed + n - 1 in parallel.

    ``seed`` defaults to the scenario's seed and ``threads`` to the CPU count;
    results do not depend on the thread count.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    sc = as_scenario(scenario)
    base = _check_seed(sc.seed if seed is None else seed)
    seeds = [base + i for i in range(n)]
    if threads is None:
        threads = os.cpu_count() or 1
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    outputs = _core.run_many(sc.spec, seeds, min(threads, n))
    return Results(sc, list(outputs), seeds)
