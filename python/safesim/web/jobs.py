"""Paired runs for the web explorer: a queue, one job at a time, results as replicates finish.

A :class:`Job` compares a variant with its reference on common seeds, the same
runs :func:`safesim.compare` makes (replicate ``r`` uses seed ``S + r`` in both
arms), computed a few seeds at a time so the page can show the paired effects
while the rest run. Jobs wait in a queue (a second run while one is in flight
is queued, never dropped); a job can be cancelled between batches. Finished
runs are cached by (scenario hash, seed), so the reference is computed once
for every variant tried against it.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from safesim.api import RunOptions, execute
from safesim.results import Comparison, Results
from safesim.scenario import Scenario

__all__ = ["Job", "Runner"]

TERMINAL = ("done", "cancelled", "error")


@dataclass
class Job:
    """One paired comparison requested from the browser."""

    id: str
    reference_label: str
    label: str
    reference: Scenario
    variant: Scenario
    seeds: list[int]
    status: str = "queued"
    error: str = ""
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    first_result: float | None = None
    outputs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    cancel_event: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def done_reps(self) -> int:
        """Replicates finished in every arm so far."""
        with self.lock:
            return min((len(v) for v in self.outputs.values()), default=0)

    @property
    def total(self) -> int:
        """Replicates the job asked for."""
        return len(self.seeds)

    def comparison(self) -> Comparison | None:
        """Return the paired comparison over the replicates finished so far (None before the first)."""
        return self.snapshot()[2]

    def snapshot(self) -> tuple[str, int, Comparison | None]:
        """Status, replicates done and their comparison, read at one instant.

        Read apart, a poll could see the status turn to done after it had
        taken the replicates of an earlier batch, and show a finished run with
        part of its numbers.
        """
        with self.lock:
            status = self.status
            n = min((len(v) for v in self.outputs.values()), default=0)
            if n == 0:
                return status, 0, None
            ref = list(self.outputs[self.reference_label][:n])
            var = list(self.outputs[self.label][:n])
        seeds = self.seeds[:n]
        arms = {
            self.reference_label: Results(self.reference, ref, seeds),
            self.label: Results(self.variant, var, seeds),
        }
        return status, n, Comparison(arms, self.reference_label, seeds)


class Runner:
    """A queue of jobs run one at a time on a background thread."""

    def __init__(self, workers: int | None = None, cache_runs: int = 2000, keep_jobs: int = 200) -> None:
        self.workers = workers
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._cache: OrderedDict[tuple[str, int], dict[str, Any]] = OrderedDict()
        self._cache_runs = cache_runs
        self._keep_jobs = keep_jobs
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="safesim-web-runner", daemon=True)
        self._thread.start()

    def new_id(self) -> str:
        """Return a new job id."""
        return str(next(self._ids))

    def submit(self, job: Job) -> Job:
        """Queue ``job``, forgetting the oldest finished jobs beyond the number kept; return it."""
        with self._lock:
            self.jobs[job.id] = job
            while len(self.jobs) > self._keep_jobs:
                old_id, old = next(iter(self.jobs.items()))
                if old.status not in TERMINAL:
                    break
                del self.jobs[old_id]
        self._queue.put(job)
        return job

    def get(self, job_id: str) -> Job | None:
        """Return the job ``job_id``, or None if it is unknown or forgotten."""
        with self._lock:
            return self.jobs.get(job_id)

    def queue_position(self, job: Job) -> int:
        """How many jobs run before this one (0 when it is running or finished)."""
        if job.status != "queued":
            return 0
        with self._lock:
            return sum(1 for j in self.jobs.values() if j.status in ("queued", "running") and j.created < job.created)

    def cancel(self, job: Job) -> None:
        """Ask ``job`` to stop: a queued job is cancelled at once, a running one after its current batch."""
        job.cancel_event.set()
        with job.lock:
            if job.status == "queued":
                job.status = "cancelled"
                job.finished = time.monotonic()

    def finished_jobs(self) -> list[Job]:
        """Return the jobs that finished successfully and are still kept."""
        with self._lock:
            return [j for j in self.jobs.values() if j.status == "done"]

    def close(self, timeout: float = 10.0) -> None:
        """Cancel every job and stop the thread."""
        with self._lock:
            jobs = list(self.jobs.values())
        for j in jobs:
            self.cancel(j)
        self._queue.put(None)
        self._thread.join(timeout)

    # ------------------------------------------------------------------ the worker thread
    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if job.status != "queued":
                continue
            try:
                self._run(job)
            except Exception as err:  # shown to the user; the queue carries on
                with job.lock:
                    job.status, job.error = "error", f"{type(err).__name__}: {err}"
                    job.finished = time.monotonic()

    def _run(self, job: Job) -> None:
        with job.lock:
            job.status, job.started = "running", time.monotonic()
            job.outputs = {job.reference_label: [], job.label: []}
        arms = {job.reference_label: job.reference, job.label: job.variant}
        batch = 2  # a first paired result quickly, then larger batches
        pos = 0
        while pos < len(job.seeds):
            if job.cancel_event.is_set():
                with job.lock:
                    job.status, job.finished = "cancelled", time.monotonic()
                return
            seeds = job.seeds[pos : pos + batch]
            got = {label: self._runs(sc, seeds) for label, sc in arms.items()}
            with job.lock:
                for label, outs in got.items():
                    job.outputs[label].extend(outs)
                if job.first_result is None:
                    job.first_result = time.monotonic()
            pos += len(seeds)
            batch = min(batch * 2, 8)
        with job.lock:
            job.status, job.finished = "done", time.monotonic()

    def _runs(self, sc: Scenario, seeds: list[int]) -> list[dict[str, Any]]:
        """Return outputs of ``sc`` on ``seeds``, from the cache where it has them."""
        h = sc.hash
        missing = [s for s in seeds if (h, s) not in self._cache]
        if missing:
            opts = RunOptions(executor="local", workers=self.workers, progress=False)
            res = execute([sc], missing, opts, "web")[0]
            for s, out in zip(missing, res.outputs, strict=True):
                self._cache[(h, s)] = out
                while len(self._cache) > self._cache_runs:
                    self._cache.popitem(last=False)
        outs = []
        for s in seeds:
            self._cache.move_to_end((h, s))
            outs.append(self._cache[(h, s)])
        return outs
