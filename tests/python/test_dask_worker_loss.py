"""A Dask worker lost mid-sweep does not lose or duplicate runs.

A two-worker ``LocalCluster`` (a nanny per worker process) runs a sweep with
``out=DIR``. A scheduler plugin kills a worker with SIGKILL at a fixed point of
the sweep, whatever the timing: the moment the scheduler learns that the
worker has finished the second batch. That batch's result then exists only on
the dead worker and has not reached the client, so it is certainly lost and
must be computed again, together with whatever else the worker held. The sweep
must still finish with every run exactly once, in memory and on disk, and
match an uninterrupted serial run.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import safesim as ss
from safesim.store import run_id

distributed = pytest.importorskip("distributed")

SMALL = {"population.users": 3000, "horizon_days": 60}
GRID = {"platforms.main.controls.dm_policy.under_16": ["requests_inbox", "connected_only"]}
REPS = 8  # 16 runs in 8 batches of 2 on the two workers
KILL_AFTER = 2  # batches finished when the worker that finished the last of them is killed
PREFIX = "_run_batch-"  # Dask keys of the executor's batches


class KillWorkerAt(distributed.diagnostics.plugin.SchedulerPlugin):
    """Counts the sweep's batch transitions; SIGKILLs a worker when it finishes batch ``KILL_AFTER``."""

    def __init__(self, scheduler: Any, pids: dict[str, int]) -> None:
        self.scheduler = scheduler
        self.pids = pids
        self.batches: set[str] = set()
        self.finished = 0
        self.dispatched = 0
        self.killed: str | None = None

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        if not str(key).startswith(PREFIX):
            return
        self.batches.add(str(key))
        if finish == "processing":
            self.dispatched += 1
        if finish != "memory" or start != "processing":
            return
        self.finished += 1
        if self.finished == KILL_AFTER and self.killed is None:
            (worker,) = self.scheduler.tasks[key].who_has
            self.killed = worker.address
            os.kill(self.pids[worker.address], signal.SIGKILL)


def test_worker_killed_mid_sweep_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    base = ss.Scenario.default().set_many(SMALL)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.wait_for_workers(2, timeout=120)
        pids = client.run(os.getpid)
        assert len(set(pids.values())) == 2
        plugin = KillWorkerAt(cluster.scheduler, pids)
        cluster.scheduler.add_plugin(plugin)
        sw = ss.sweep(base, GRID, n=REPS, executor=client, out=tmp_path, progress=False)

    assert plugin.killed in pids, "the worker was not killed during the sweep"
    assert len(plugin.batches) == 8
    # The batch the killed worker had just finished was lost with it (the kill is sent
    # before the client hears of the result) and ran again, so did any batch it was running.
    assert plugin.finished > len(plugin.batches), plugin.finished
    assert plugin.dispatched > len(plugin.batches), plugin.dispatched

    # Every grid point x seed exactly once, in plan order, equal to an uninterrupted serial run.
    serial = ss.sweep(base, GRID, n=REPS, executor="serial", progress=False)
    seeds = [base.seed + i for i in range(REPS)]
    assert sw.seeds == seeds
    assert len(sw.labels) == 2
    for label in sw.labels:
        res = sw[label]
        assert [out["seed"] for out in res.outputs] == seeds
        assert res.hashes == serial[label].hashes
        assert res.computed_runs == REPS
    runs = sw.runs
    assert not runs.duplicated(subset=["point", "seed", "scope", "metric"]).any()
    assert len(runs) == len(serial.runs)
    pd.testing.assert_frame_equal(sw.summary(), serial.summary())

    # On disk: one manifest per run, each complete, no temporaries, and a rerun computes nothing.
    expected = {f"{run_id(base.set_many(p).hash, s)}.json" for p in sw.points for s in seeds}
    manifests = sorted(p.name for p in (tmp_path / "runs").glob("*.json"))
    assert sorted(expected) == manifests
    for name in manifests:
        manifest = json.loads((tmp_path / "runs" / name).read_text())
        assert manifest["complete"] is True
        assert f"{manifest['run_id']}.json" == name
    assert not list(tmp_path.rglob("*.tmp"))
    assert (tmp_path / "summary.json").is_file()
    again = ss.sweep(base, GRID, n=REPS, executor="serial", out=tmp_path, progress=False)
    assert again.computed_runs == 0
    pd.testing.assert_frame_equal(again.summary(), serial.summary())
