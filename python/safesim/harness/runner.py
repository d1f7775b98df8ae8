"""Run check files: replicates in batches until each expectation is decided.

Replicate ``r`` of an expectation runs the file's scenario (the treatment) with
seed ``S + r``, ``S`` the treatment scenario's seed, and, when a reference is
named, the reference scenario with the same seed (common random numbers: the
two runs differ only where the change acts). Runs are cached per file and
shared by its expectations. Everything is deterministic, so a verdict depends
only on the files, never on ``jobs`` or thread counts.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from safesim import _core
from safesim.errors import ScenarioError
from safesim.harness.expectations import CheckFile, Expectation, collect_check_files, load_check_file
from safesim.harness.sequential import Decision, Verdict, look
from safesim.scenario import Scenario

__all__ = ["ExpectationResult", "FileResult", "FileRunner", "run_checks"]


@dataclass
class ExpectationResult:
    """The outcome of one expectation."""

    expectation: Expectation
    verdict: Verdict
    estimate: float
    low: float
    high: float
    replicates: int
    looks: int
    seconds: float

    @property
    def passed(self) -> bool:
        """Whether the verdict is PASS."""
        return self.verdict is Verdict.PASS

    def message(self) -> str:
        """One readable sentence: what was estimated, the interval, and why the verdict."""
        e = self.expectation
        conf = f"{e.confidence:.0%}".replace(".0%", "%")
        est = format_value(self.estimate, e)
        interval = f"[{format_value(self.low, e)}, {format_value(self.high, e)}]"
        head = f"{e.quantity}: estimate {est}, {conf} interval {interval} after {self.replicates} replicates"
        if self.verdict is Verdict.PASS:
            return f"{head}; expected {e.requirement}: holds"
        if self.verdict is Verdict.FAIL:
            return f"{head}; expected {e.requirement}: violated (the whole interval is on the failing side)"
        return f"{head}; expected {e.requirement}: undecided at the budget of {e.budget} replicates"


@dataclass
class FileResult:
    """All expectations of one check file (or the error that stopped it)."""

    path: Path
    results: list[ExpectationResult] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


def format_value(x: float, e: Expectation) -> str:
    if np.isnan(x):
        return "-"
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    if e.reference is not None and e.difference == "relative":
        return f"{x * 100:+.1f}%"
    if e.reference is not None:
        return f"{x:+.4g}"
    return f"{x:.4g}"


class FileRunner:
    """Runs the expectations of one check file, caching replicate totals by (scenario, seed)."""

    def __init__(self, check: CheckFile, threads: int = 1) -> None:
        if check.scenario is None:
            raise ValueError("check file not loaded")
        self.check = check
        self.threads = max(1, threads)
        self.base_seed = check.scenario.seed
        self._scenarios: dict[str, Scenario] = {"": check.scenario}
        self._runs: dict[str, list[dict]] = {}
        self._metrics = [row[0] for row in _core.metrics()]

    def _scenario(self, reference: str | None) -> Scenario:
        key = reference or ""
        if key not in self._scenarios:
            self._scenarios[key] = Scenario.load(key)
        return self._scenarios[key]

    def _totals(self, reference: str | None, n: int) -> list[dict]:
        """Run outputs for seeds base..base+n-1 (running only the missing ones)."""
        key = reference or ""
        have = self._runs.setdefault(key, [])
        if len(have) < n:
            seeds = [self.base_seed + r for r in range(len(have), n)]
            sc = self._scenario(reference)
            outputs = _core.run_many(sc.spec, seeds, min(self.threads, len(seeds)))
            have.extend({"totals": o["totals"], "platforms": list(o["platforms"])} for o in outputs)
        return have[:n]

    def _values(self, reference: str | None, e: Expectation, n: int) -> np.ndarray:
        # A metric, or a named burden: the weighted sum of its metrics in each run.
        weights = e.weights or ((e.metric, 1.0),)
        cols = [(self._metrics.index(m), w) for m, w in weights]
        out = np.empty(n)
        for i, run in enumerate(self._totals(reference, n)):
            scope = 0 if e.platform is None else 1 + run["platforms"].index(e.platform)
            out[i] = sum(w * run["totals"][scope, c] for c, w in cols)
        return out

    def run_expectation(self, e: Expectation) -> ExpectationResult:
        """Decide one expectation sequentially: replicates in batches until the verdict is clear or the budget spent."""
        start = time.perf_counter()
        plan, rule = e.plan, e.rule
        decision: Decision | None = None
        for k, n in enumerate(plan.sizes):
            t = self._values(None, e, n)
            r = None if e.reference is None else self._values(e.reference, e, n)
            decision = look(t, r, e.difference, plan, rule, k)
            if decision.verdict is not None:
                break
        assert decision is not None
        assert decision.verdict is not None
        return ExpectationResult(
            expectation=e,
            verdict=decision.verdict,
            estimate=decision.estimate,
            low=decision.low,
            high=decision.high,
            replicates=decision.n,
            looks=decision.look + 1,
            seconds=time.perf_counter() - start,
        )

    def run(self) -> list[ExpectationResult]:
        """Decide every expectation of the check file, in file order (runs shared between them)."""
        return [self.run_expectation(e) for e in self.check.expectations]


def run_file(path: Path, threads: int = 1) -> FileResult:
    """Load and run one check file; input errors become ``FileResult.error`` (one line)."""
    start = time.perf_counter()
    try:
        check = load_check_file(path)
        results = FileRunner(check, threads).run()
    except ScenarioError as err:
        return FileResult(path=path, error=str(err), seconds=time.perf_counter() - start)
    except (ValueError, OSError) as err:
        return FileResult(path=path, error=f"{path}: {err}", seconds=time.perf_counter() - start)
    return FileResult(path=path, results=results, seconds=time.perf_counter() - start)


def run_checks(
    paths: Iterable[str | os.PathLike[str]],
    jobs: int = 1,
    on_result: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    """Run every check file under ``paths`` (files or folders), ``jobs`` files at a time.

    Results come back in file order whatever ``jobs`` is; each file's runs use
    ``cpu_count // jobs`` threads (the simulation releases the GIL).
    """
    files = collect_check_files(list(paths))
    missing = [f for f in files if not f.exists()]
    jobs = max(1, int(jobs))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    results: list[FileResult] = []
    if missing:
        results += [FileResult(path=f, error=f"{f}: no such file or folder") for f in missing]
        files = [f for f in files if f.exists()]
    if jobs == 1 or len(files) <= 1:
        for f in files:
            res = run_file(f, threads)
            if on_result:
                on_result(res)
            results.append(res)
    else:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for res in pool.map(lambda f: run_file(f, threads), files):
                if on_result:
                    on_result(res)
                results.append(res)
    return results
