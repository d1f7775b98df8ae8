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
- a ``distributed.Client`` (or a :class:`DaskExecutor`, which the command
  line's ``--executor dask --scheduler ADDRESS`` connects): batches submitted
  as Dask tasks, so a sweep runs on a cluster with no code change. Workers
  receive the resolved scenario as YAML text (no file paths), so they need the
  same safesim installed but not the scenario files. Batches stream: a few are
  on the cluster at a time and each result is released once handed back.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import itertools
import math
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from safesim import _core
from safesim.scenario import Scenario

_T = TypeVar("_T")

__all__ = [
    "DaskExecutor",
    "Executor",
    "ProcessExecutor",
    "RunsFailed",
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

    def map_runs(self, tasks: Sequence[Task]) -> Iterator[tuple[Task, RunDict]]:
        """Compute ``tasks``, yielding each with its run dict as it finishes (in any order)."""


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


def _run_batch(dump: str, name: str, seeds: list[int], version: str | None = None) -> list[RunDict]:
    """Worker side of the process and Dask executors: load the resolved dump, run each seed.

    ``version`` is the caller's safesim version: a worker with another one
    refuses (its results could differ, and would be saved as the caller's).
    """
    if version is not None and version != _core.version:
        raise RuntimeError(
            f"this worker has safesim {_core.version}, the client {version}: install the same safesim on every worker"
        )
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


#: Most runs in one process-pool batch: the parent receives at most this many run dicts at once
#: per worker, so a job's peak does not grow with its runs through ever larger batches.
MAX_PROCESS_BATCH = 16


def _process_batch_size(n_tasks: int, workers: int) -> int:
    """Return the runs per process-pool batch: about four batches per worker, at most MAX_PROCESS_BATCH."""
    return min(MAX_PROCESS_BATCH, _batch_size(n_tasks, workers))


def _windowed(items: Iterable[_T], submit: Callable[[_T], cf.Future[Any]], window: int) -> Iterator[tuple[_T, Any]]:
    """Yield ``(item, result)`` as each ``submit(item)`` finishes, at most ``window`` submitted and not handed over.

    The next item is submitted as each result is handed over, so the workers stay busy while the
    consumer uses it, but never run ahead of it: finished results waiting for a slow consumer (a
    streamed job writing each run to disk) hold at most ``window`` runs, whatever the number of
    items. Submitting everything up front let finished runs pile up in their futures, and the
    process's peak grew with the runs.
    """
    pending = iter(items)
    futures: dict[cf.Future[Any], _T] = {}

    def submit_next() -> None:
        for item in itertools.islice(pending, 1):
            futures[submit(item)] = item

    for _ in range(max(1, window)):
        submit_next()
    while futures:
        done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        for fut in done:
            # Popped: a finished future holds its run until dropped.
            item = futures.pop(fut)
            submit_next()
            yield item, fut.result()


class SerialExecutor:
    """Runs one after another in the calling thread."""

    name = "serial"

    def map_runs(self, tasks: Sequence[Task]) -> Iterator[tuple[Task, RunDict]]:
        """Compute ``tasks`` one after another, yielding each with its run dict."""
        for t in tasks:
            yield t, _core.run(t.scenario.spec, t.seed)


class ThreadExecutor:
    """A thread pool in this process; the engine releases the GIL while it runs."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)

    def map_runs(self, tasks: Sequence[Task]) -> Iterator[tuple[Task, RunDict]]:
        """Compute ``tasks`` on the thread pool, yielding each with its run dict as it finishes."""
        for t in tasks:  # resolve specs here: cached_property is not meant for racing threads
            t.scenario.spec  # noqa: B018
        pool = cf.ThreadPoolExecutor(max_workers=min(self.workers, max(1, len(tasks))), thread_name_prefix="safesim")
        # Fewer runs than workers: the spare threads build each run's graphs (same results).
        build_threads = max(1, self.workers // max(1, len(tasks)))
        try:
            yield from _windowed(
                tasks, lambda t: pool.submit(_core.run, t.scenario.spec, t.seed, build_threads), self.workers
            )
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
        """Compute ``tasks`` in batches on the process pool, yielding each with its run dict as its batch finishes."""
        if not tasks:
            return
        batches = _batches(tasks, _process_batch_size(len(tasks), self.workers))
        ctx = multiprocessing.get_context("spawn")  # fork after threads have started is unsafe
        pool = cf.ProcessPoolExecutor(
            max_workers=min(self.workers, len(batches)),
            mp_context=ctx,
            initializer=_watch_parent,
            initargs=(os.getpid(),),
        )
        try:
            for batch, results in _windowed(
                batches,
                lambda b: pool.submit(_run_batch, b[0].scenario.dump(), b[0].scenario.name, [t.seed for t in b]),
                self.workers,
            ):
                yield from zip(batch, results, strict=True)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


class RunsFailed(RuntimeError):
    """Some runs of a job failed on a Dask cluster after their retries.

    Raised after every other run has been computed and handed back (and, with
    an output folder, saved), so a rerun of the same job computes only these.
    """

    def __init__(self, failed: Sequence[Task], retries: int, first_error: BaseException) -> None:
        self.failed = list(failed)
        self.first_error = first_error
        super().__init__(
            f"{len(self.failed):,} run(s) failed on the Dask cluster after {retries} retr"
            f"{'y' if retries == 1 else 'ies'} (first: {type(first_error).__name__}: {first_error})"
        )


#: Most runs in one Dask task: a lost worker costs at most this many runs, and the
#: client receives at most this many run dicts at once.
MAX_DASK_BATCH = 32


class DaskExecutor:
    """Batches of runs as tasks on a ``distributed.Client`` (local or a cluster).

    Streaming: at most ``window`` batches are on the cluster at a time (by
    default twice its threads, capped by ``workers``), each submitted when an
    earlier one finishes, so neither the client nor the scheduler ever holds a
    whole large sweep's inputs, and each batch's result is released on the
    cluster as soon as the caller has it (saved it, with ``out=``).

    A batch whose worker is lost is recomputed by the scheduler; one that
    raises (or whose workers keep dying: ``KilledWorker``) is submitted again
    up to ``retries`` times, then its runs count as failed and, once every
    other run is done, :class:`RunsFailed` is raised. ``counts`` holds runs
    ``done``, ``failed`` and ``retried`` (requeued after a lost worker or an
    error), for progress displays; ``report``, if set, is called with a
    one-line status at most every ``report_every`` seconds.
    """

    name = "dask"

    def __init__(
        self,
        client: Any,
        batch_size: int | None = None,
        *,
        workers: int | None = None,
        retries: int = 2,
        report: Callable[[str], None] | None = None,
        report_every: float = 30.0,
    ) -> None:
        self.client = client
        self.batch_size = batch_size
        self.workers = workers
        self.retries = int(retries)
        self.report = report
        self.report_every = report_every
        self.counts = {"done": 0, "failed": 0, "retried": 0}
        self._owns_client = False
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}  # Dask key -> runs in the batch
        self._subscribed = False

    # ------------------------------------------------------------ connection
    @classmethod
    def connect(cls, address: str, timeout: float | None = None, **options: Any) -> DaskExecutor:
        """Connect to the scheduler at ``address``; the executor closes the client in :meth:`close`.

        ``timeout`` (seconds) defaults to Dask's ``distributed.comm.timeouts.connect``.
        """
        from distributed import Client  # optional dependency: the dask extra

        kwargs: dict[str, Any] = {"set_as_default": False}
        if timeout is not None:
            kwargs["timeout"] = timeout
        client = Client(address, **kwargs)
        ex = cls(client, **options)
        ex._owns_client = True
        return ex

    def close(self) -> None:
        """Stop listening to the scheduler's events, and close the client if this executor opened it."""
        self._unsubscribe()
        if self._owns_client:
            self._owns_client = False
            with contextlib.suppress(Exception):
                self.client.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def threads(self) -> int:
        """Worker threads on the cluster now (at least 1)."""
        try:
            return max(1, sum(int(n) for n in self.client.nthreads().values()))
        except Exception:  # an unusual client: assume a few workers
            return 4

    def status(self) -> str:
        """Return the runs done, failed and retried so far, as one line."""
        c = self.counts
        return f"{c['done']:,} run(s) done, {c['failed']:,} failed, {c['retried']:,} retried"

    # ------------------------------------------------------------ lost workers
    def _on_event(self, event: Any) -> None:
        """Scheduler event (client's event loop): a worker left holding or running our batches."""
        msg = event[1] if isinstance(event, tuple) and len(event) == 2 else event
        if not isinstance(msg, dict) or msg.get("action") != "remove-worker":
            return
        keys = set(msg.get("processing-tasks") or ()) | set(msg.get("lost-computed-tasks") or ())
        with self._lock:
            self.counts["retried"] += sum(self._in_flight.get(str(k), 0) for k in keys)

    def _subscribe(self) -> None:
        if self._subscribed:
            return
        try:
            self.client.subscribe_topic("all", self._on_event)
            self._subscribed = True
        except Exception:  # an unusual client: no lost-worker counts, runs are still safe
            pass

    def _unsubscribe(self) -> None:
        if self._subscribed:
            self._subscribed = False
            with contextlib.suppress(Exception):
                self.client.unsubscribe_topic("all")

    # ------------------------------------------------------------ runs
    def map_runs(self, tasks: Sequence[Task]) -> Iterator[tuple[Task, RunDict]]:
        """Compute ``tasks`` in batches on the cluster, retrying lost ones, yielding each run as its batch finishes.

        At most a window of batches is submitted at a time; runs whose batch failed after its retries are
        raised together as :class:`RunsFailed` at the end.
        """
        if not tasks:
            return
        from distributed import as_completed  # optional dependency: the dask extra

        threads = self.threads()
        if self.workers:
            threads = min(threads, self.workers)
        per_batch = self.batch_size or min(MAX_DASK_BATCH, _batch_size(len(tasks), threads))
        pending = _batches(tasks, per_batch)
        pending.reverse()  # popped from the end: plan order
        window = max(2, 2 * threads)
        if self.workers:
            window = min(window, self.workers)
        self._subscribe()
        live: dict[Any, tuple[list[Task], int, Any]] = {}  # Dask key -> (batch, attempt, future)
        failed: list[Task] = []
        first_error: BaseException | None = None
        version = _core.version
        last_report = time.monotonic()

        def submit(batch: list[Task], attempt: int) -> Any:
            sc = batch[0].scenario
            fut = self.client.submit(_run_batch, sc.dump(), sc.name, [t.seed for t in batch], version, pure=False)
            with self._lock:
                live[fut.key] = (batch, attempt, fut)
                self._in_flight[str(fut.key)] = len(batch)
            return fut

        first = [submit(pending.pop(), 0) for _ in range(min(window, len(pending)))]
        ac = as_completed(first, loop=self.client.loop)  # the client need not be the default one
        del first
        try:
            for fut in ac:
                batch, attempt, _ = live[fut.key]
                try:
                    # Waits again if the result was lost with its worker: until then the key
                    # stays in _in_flight, so the lost worker's event counts it as retried.
                    outputs = fut.result()
                except (Exception, asyncio.CancelledError) as err:  # the batch raised, or its workers kept dying
                    outputs = None
                    if attempt < self.retries:
                        with self._lock:
                            self.counts["retried"] += len(batch)
                        ac.add(submit(batch, attempt + 1))
                    else:
                        first_error = first_error or err
                        failed.extend(batch)
                        with self._lock:
                            self.counts["failed"] += len(batch)
                with self._lock:
                    live.pop(fut.key, None)
                    self._in_flight.pop(str(fut.key), None)
                fut.release()  # the result leaves the cluster now
                del fut
                if outputs is not None:
                    for task, out in zip(batch, outputs, strict=True):
                        with self._lock:
                            self.counts["done"] += 1
                        yield task, out
                    del outputs
                while pending and ac.count() < window:
                    ac.add(submit(pending.pop(), 0))
                if self.report is not None and time.monotonic() - last_report >= self.report_every:
                    last_report = time.monotonic()
                    self.report(self.status())
        finally:
            with self._lock:
                left = [f for _, _, f in live.values()]
                for key in live:
                    self._in_flight.pop(str(key), None)
                live.clear()
            if left:  # interrupted (Ctrl-C, an error, the consumer stopped): drop the rest
                with contextlib.suppress(Exception):
                    self.client.cancel(left)
            self._unsubscribe()
        if failed:
            assert first_error is not None
            raise RunsFailed(failed, self.retries, first_error)


def _is_dask_client(obj: Any) -> bool:
    return type(obj).__module__.startswith("distributed") and hasattr(obj, "submit")


def make_executor(executor: Any = None, workers: int | None = None) -> Executor:
    """Return an executor from a name (``local``, ``processes``, ``serial``), a Dask client, or as is."""
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
