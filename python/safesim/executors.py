"""Executors: where the runs of a plan are computed.

Every executor takes a list of :class:`Task` (scenario, seed) and yields
``(task, run_dict)`` as runs finish, in any order; the caller puts them back in
plan order, so results never depend on the executor or the worker count (a run
is a pure function of its resolved scenario and seed).

- ``"local"`` (default): a pool of threads in this process, one per core. Each
  thread calls the C++ engine, which releases the GIL for the whole run, so
  runs use every core without process start-up, pickling or a second copy of
  the scenario. On the 2-core development machine (shared with other jobs),
  24 runs of the baseline at 50,000 users took 3.0 s with ``"local"``, 2.9 to
  3.9 s ``"serial"`` and 6.4 s with ``"processes"``: spawning workers and
  importing NumPy and pandas in each costs more than the runs themselves.
- ``"processes"``: a ``ProcessPoolExecutor`` (spawn start method) over batches
  of seeds; for hosts where other Python threads compete for the GIL. As with
  any spawn pool, a script using it needs the ``if __name__ == "__main__":`` guard.
- ``"serial"``: one run after another in the calling thread (debugging).
- a ``distributed.Client``: batches submitted as Dask tasks, so a sweep runs on
  a cluster with no code change. Workers receive the resolved scenario as YAML
  text (no file paths), so they need safesim installed but not the scenario files.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from safesim import _core
from safesim.scenario import Scenario

__all__ = [
    "DaskExecutor",
    "Executor",
    "ProcessExecutor",
    "SerialExecutor",
    "Task",
    "ThreadExecutor",
    "make_executor",
]

RunDict = dict[str, Any]


@dataclass(frozen=True)
class Task:
    """One run: ``run_id`` names it on disk; the run is ``(scenario, seed)``."""

    run_id: str
    scenario: Scenario
    seed: int


class Executor(Protocol):
    """Computes tasks and yields ``(task, run dict)`` as each finishes."""

    name: str

    def map_runs(self, tasks: Sequence[Task]) -> Iterator[tuple[Task, RunDict]]: ...


def _watch_parent(parent: int, interval: float = 0.2) -> None:
    """Worker side: exit as soon as the process that started the pool is gone.

    A pool whose owner is killed (SIGKILL, a crash) would otherwise keep its
    workers alive until their current batch ends, and longer if they sit
    blocked on the call queue. The check runs in a daemon thread; the engine
    releases the GIL while it runs, so it fires mid-run too.
    """
    import threading
    import time

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(interval)

    if os.getppid() != parent:  # already orphaned before the first check
        os._exit(1)
    threading.Thread(target=watch, name="safesim-parent-watch", daemon=True).start()


def _run_batch(dump: str, name: str, seeds: list[int]) -> list[RunDict]:
    """Worker side of the process and Dask executors: load the resolved dump, run each seed."""
    spec = _core.load_scenario_text(dump, name)
    return list(_core.run_many(spec, seeds, 1))


def _batches(tasks: Sequence[Task], per_batch: int) -> list[list[Task]]:
    """Tasks grouped by scenario into batches of at most ``per_batch`` runs."""
    by_scenario: dict[str, list[Task]] = {}
    for t in tasks:
        by_scenario.setdefault(t.scenario.hash, []).append(t)
    out = []
    for group in by_scenario.values():
        for i in range(0, len(group), per_batch):
            out.append(group[i : i + per_batch])
    return out


def _batch_size(n_tasks: int, workers: int) -> int:
    # About four batches per worker: load balance without per-run overhead.
    return max(1, math.ceil(n_tasks / (4 * max(1, workers))))


class SerialExecutor:
    """Runs one after another in the calling thread."""

    name = "serial"

    def map_runs(self, tasks: Sequence[Task]) -> Iterator[tuple[Task, RunDict]]:
        for t in tasks:
            yield t, _core.run(t.scenario.spec, t.seed)


class ThreadExecutor:
    """A thread pool in this process; the engine releases the GIL while it runs."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)

    def map_runs(self, tasks: Sequence[Task]) -> Iterator[tuple[Task, RunDict]]:
        for t in tasks:  # resolve specs here: cached_property is not meant for racing threads
            t.scenario.spec  # noqa: B018
        pool = cf.ThreadPoolExecutor(max_workers=min(self.workers, max(1, len(tasks))), thread_name_prefix="safesim")
        futures = {pool.submit(_core.run, t.scenario.spec, t.seed): t for t in tasks}
        try:
            for fut in cf.as_completed(futures):
                yield futures[fut], fut.result()
        finally:
            # Interrupted (Ctrl-C, an error, the consumer stopped): drop queued runs; the
            # few in flight finish in the background and are discarded.
            pool.shutdown(wait=False, cancel_futures=True)


class ProcessExecutor:
    """A process pool (spawn) over batches of seeds of one scenario."""

    name = "processes"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)

    def map_runs(self, tasks: Sequence[Task]) -> Iterator[tuple[Task, RunDict]]:
        if not tasks:
            return
        batches = _batches(tasks, _batch_size(len(tasks), self.workers))
        ctx = multiprocessing.get_context("spawn")  # fork after threads have started is unsafe
        pool = cf.ProcessPoolExecutor(
            max_workers=min(self.workers, len(batches)),
            mp_context=ctx,
            initializer=_watch_parent,
            initargs=(os.getpid(),),
        )
        futures = {
            pool.submit(_run_batch, b[0].scenario.dump(), b[0].scenario.name, [t.seed for t in b]): b for b in batches
        }
        try:
            for fut in cf.as_completed(futures):
                yield from zip(futures[fut], fut.result(), strict=True)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


class DaskExecutor:
    """Batches of runs as tasks on a ``distributed.Client`` (local or a cluster)."""

    name = "dask"

    def __init__(self, client: Any, batch_size: int | None = None) -> None:
        self.client = client
        self.batch_size = batch_size

    def _workers(self) -> int:
        try:
            info = self.client.scheduler_info()
            return max(1, sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()))
        except Exception:  # an unusual client: assume a few workers
            return 4

    def map_runs(self, tasks: Sequence[Task]) -> Iterator[tuple[Task, RunDict]]:
        if not tasks:
            return
        from distributed import as_completed  # optional dependency: the dask extra

        per_batch = self.batch_size or _batch_size(len(tasks), self._workers())
        batches = _batches(tasks, per_batch)
        futures = []
        owner = {}
        for b in batches:
            fut = self.client.submit(
                _run_batch, b[0].scenario.dump(), b[0].scenario.name, [t.seed for t in b], pure=False
            )
            futures.append(fut)
            owner[fut.key] = b
        try:
            for fut in as_completed(futures):
                yield from zip(owner[fut.key], fut.result(), strict=True)
        finally:
            pending = [f for f in futures if not f.done()]
            if pending:
                self.client.cancel(pending)


def _is_dask_client(obj: Any) -> bool:
    return type(obj).__module__.startswith("distributed") and hasattr(obj, "submit")


def make_executor(executor: Any = None, workers: int | None = None) -> Executor:
    """An executor from a name (``local``, ``processes``, ``serial``), a Dask client, or as is."""
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if executor is None or executor in ("local", "threads"):
        return ThreadExecutor(workers)
    if executor == "processes":
        return ProcessExecutor(workers)
    if executor == "serial":
        return SerialExecutor()
    if isinstance(executor, str):
        raise ValueError(f"unknown executor {executor!r} (expected local, processes, serial or a Dask Client)")
    if _is_dask_client(executor):
        return DaskExecutor(executor)
    if hasattr(executor, "map_runs"):
        return executor  # type: ignore[no-any-return]
    raise TypeError(f"not an executor: {type(executor).__name__}")
