"""Daily results streamed to the output folder (issue 17, item 5): with ``out=``
a job keeps no run's daily array in memory after the run is saved, reads it
back from the run's file when used, writes the combined daily file from those
files, and is checked by the memory guard as such; without ``out=`` a job that
does not fit is refused in one line that names ``--out``."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import CountingExecutor

import safesim as ss
from safesim import cli, resources
from safesim.store import DailyOnDisk, OutputError

DAYS = 120


def small(users: int = 300, days: int = DAYS) -> ss.Scenario:
    return ss.Scenario.load("baseline").set("population.users", users).set("horizon_days", days)


def test_streamed_outputs_equal_the_in_memory_ones(tmp_path: Path) -> None:
    sc = small()
    streamed = ss.replicate(sc, n=3, executor="serial", out=tmp_path / "a")
    held = ss.replicate(sc, n=3, executor="serial")
    held.save(tmp_path / "b")
    assert all(isinstance(o["daily"], DailyOnDisk) for o in streamed.outputs)
    assert not any(isinstance(o["daily"], DailyOnDisk) for o in held.outputs)
    for name in ("daily.parquet", "runs.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a" / name), pd.read_parquet(tmp_path / "b" / name))
    assert (tmp_path / "a" / "summary.csv").read_bytes() == (tmp_path / "b" / "summary.csv").read_bytes()
    pd.testing.assert_frame_equal(streamed.daily, held.daily)
    for a, b in zip(streamed.outputs, held.outputs, strict=True):
        np.testing.assert_array_equal(np.asarray(a["daily"]), b["daily"])
        np.testing.assert_array_equal(a["daily"][0][:, 3], b["daily"][0][:, 3])
        assert a["daily"][0].flags.owndata  # a copy: a view would keep the whole run's array alive
        assert a["daily"].shape == b["daily"].shape
        assert len(a["daily"]) == len(b["daily"])
        np.testing.assert_array_equal(np.asarray(a["operator_daily"]), b["operator_daily"])
    # A resumed job reads its runs back as files too, with the same figures.
    again = ss.replicate(sc, n=3, executor="serial", out=tmp_path / "a")
    assert again.loaded_runs == 3
    pd.testing.assert_frame_equal(again.daily, held.daily)


def test_a_changed_run_file_is_refused_not_read(tmp_path: Path) -> None:
    res = ss.replicate(small(), n=2, executor="serial", out=tmp_path)
    daily = res.outputs[1]["daily"]
    path = daily.path
    data = bytearray(path.read_bytes())
    data[-100] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(OutputError, match="changed since the run was saved"):
        np.asarray(daily)
    path.unlink()
    with pytest.raises(OutputError, match="removed or changed"):
        daily[0]


def _limits(sc: ss.Scenario, runs: int) -> tuple[int, int]:
    """(streamed, in-memory) estimates of a serial job of ``runs`` runs."""
    shape = [(len(sc.platforms), int(sc.spec.horizon_days))] * runs
    return resources.runs_memory_bytes(shape, streamed=True, in_flight=1), resources.runs_memory_bytes(shape)


def test_a_job_too_big_for_memory_streams_with_out(tmp_path: Path, monkeypatch, capsys) -> None:
    sc, n = small(), 12
    streamed, held = _limits(sc, n)
    assert streamed * 2 < held
    limit = (streamed + held) // 2
    monkeypatch.setattr(resources, "memory_limit_bytes", lambda: limit)

    # Without an output folder: refused before any run, in one line that says --out would stream it.
    ex = CountingExecutor()
    with pytest.raises(ValueError, match=r"give an output folder \(--out DIR, out=\) to stream them") as err:
        ss.replicate(sc, n=n, executor=ex, workers=1)
    assert "\n" not in str(err.value)
    assert ex.runs == 0
    path = tmp_path / "s.yaml"
    path.write_text(sc.dump())
    assert cli.main(["run", str(path), "--reps", str(n), "--executor", "serial"]) == 2
    line = capsys.readouterr().err.strip()
    assert len(line.splitlines()) == 1
    assert "--out DIR" in line

    # With one: the job completes, and no more than one run's daily array is alive at any time.
    ex = CountingExecutor()
    res = ss.replicate(sc, n=n, executor=ex, workers=1, out=tmp_path / "out")
    assert ex.runs == n
    assert ex.peak == 1
    daily = pd.read_parquet(tmp_path / "out" / "daily.parquet")
    assert len(daily) == n * (1 + len(sc.platforms)) * DAYS * len(ss.metric_names())
    assert cli.main(["run", str(path), "--reps", str(n), "--executor", "serial",
                     "--out", str(tmp_path / "cli")]) == 0  # fmt: skip
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "cli" / "daily.parquet"), daily)

    # The counting hook does count: the in-memory path holds every run's array to the end.
    monkeypatch.setattr(resources, "memory_limit_bytes", lambda: 0)
    ex = CountingExecutor()
    kept = ss.replicate(sc, n=n, executor=ex, workers=1)
    assert ex.peak == n
    pd.testing.assert_frame_equal(kept.daily, res.daily)


def test_streamed_job_memory_does_not_grow_with_runs(tmp_path: Path) -> None:
    """Python-side peak (tracemalloc: frames, arrays read back) of a streamed job and its save,
    for 3 and 12 runs: nine more runs add far less than one run's daily array each."""
    sc = small()
    one_run = (1 + len(sc.platforms)) * DAYS * len(ss.metric_names()) * 8

    def peak(n: int, where: Path) -> int:
        tracemalloc.start()
        try:
            res = ss.replicate(sc, n=n, executor="serial", out=where)
            res.daily_chunks  # noqa: B018
            for o in res.outputs:  # every run read back once, as a report would
                np.asarray(o["daily"]).sum()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak(3, tmp_path / "warm")  # imports and caches out of the way
    small_job, big_job = peak(3, tmp_path / "three"), peak(12, tmp_path / "twelve")
    assert big_job - small_job < 3 * one_run, (small_job, big_job, one_run)


def test_streamed_guard_counts_runs_in_flight_only() -> None:
    metrics = len(ss.metric_names())
    run = 2 * 365 * metrics * 8
    runs = [(1, 365)] * 1000
    assert resources.runs_memory_bytes(runs, streamed=True, in_flight=4) == int(
        4 * run * resources.RESULT_COPIES + run * resources.WRITE_COPIES
    )
    assert resources.runs_memory_bytes(runs) > 100 * resources.runs_memory_bytes(runs, streamed=True, in_flight=4)


def test_streamed_job_hands_freed_pages_back(tmp_path: Path, monkeypatch) -> None:
    # The allocator keeps worker threads' freed pages unless trimmed: a streamed job trims each
    # time the dropped runs' arrays pass the threshold, an in-memory job (which drops nothing) never.
    from safesim import api

    calls: list[int] = []
    monkeypatch.setattr(api, "release_freed_memory", lambda: calls.append(1) or True)
    monkeypatch.setattr(api, "_TRIM_BYTES", 1)  # every streamed run passes it
    ss.replicate(small(), n=6, options=ss.RunOptions(out=tmp_path / "out", progress=False))
    assert len(calls) == 6
    calls.clear()
    monkeypatch.setattr(api, "_TRIM_BYTES", 1 << 40)  # never reached: no trim
    ss.replicate(small(), n=6, options=ss.RunOptions(out=tmp_path / "out2", progress=False))
    assert calls == []
    monkeypatch.setattr(api, "_TRIM_BYTES", 1)
    calls.clear()
    ss.replicate(small(), n=6, options=ss.RunOptions(progress=False))
    assert calls == []


def test_release_freed_memory_runs_here() -> None:
    # On this Linux machine (glibc) the trim is found and called; elsewhere it is a no-op returning False.
    assert resources.release_freed_memory() is (resources._malloc_trim() is not None)


def test_streamed_job_memory_per_run_is_a_small_record(tmp_path: Path) -> None:
    """Python's traced peak of a whole streamed job (runs, combined files, summary.json) for N and 4N
    short runs, so the daily arrays are small and what grows with the runs shows: each extra run may
    add at most 32 KB (its record: totals and group arrays, ~18 KB here, plus the Python objects).

    The summaries were built on tidy frames of every run (a row per run x scope x age x gender x
    metric for the groups), about 300 KB a run here, and this failed by a factor of ten."""
    sc = ss.Scenario.load("baseline").set("population.users", 200).set("horizon_days", 5)

    def peak(n: int, where: Path) -> int:
        tracemalloc.start()
        try:
            ss.replicate(sc, n=n, executor="serial", out=where)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak(2, tmp_path / "warm")  # imports and caches out of the way
    n = 12
    small_job, big_job = peak(n, tmp_path / "small"), peak(4 * n, tmp_path / "big")
    assert big_job - small_job < 3 * n * 32 * 1024, (small_job, big_job)


def test_thread_pool_never_runs_ahead_of_a_slow_consumer(monkeypatch) -> None:
    """The thread executor submits a run only as one is handed over: finished runs waiting for a
    consumer that writes each to disk are at most one per worker, whatever the number of runs.
    (Submitting every run up front let them pile up in their futures: the peak grew with the runs.)"""
    from safesim import executors

    submitted = 0

    class Counting(executors.cf.ThreadPoolExecutor):
        def submit(self, *args, **kwargs):
            nonlocal submitted
            submitted += 1
            return super().submit(*args, **kwargs)

    monkeypatch.setattr(executors.cf, "ThreadPoolExecutor", Counting)
    sc = small(users=200, days=5)
    tasks = [executors.Task(f"r{i}", sc, i) for i in range(10)]
    handed = 0
    for _task, _out in executors.ThreadExecutor(workers=2).map_runs(tasks):
        handed += 1
        assert submitted - handed <= 2, (submitted, handed)
    assert handed == submitted == 10


def test_process_pool_batches_do_not_grow_with_the_runs() -> None:
    """The process pool hands back a batch of runs at a time, at most one waiting per worker: a batch
    of a quarter of each worker's share (100 runs of 800 on two workers) made a streamed job's peak
    grow with its runs; batches now stop at MAX_PROCESS_BATCH, and the memory guard counts that."""
    from safesim import api, executors

    assert executors._process_batch_size(40, 2) == 5  # small jobs: about four batches per worker
    assert executors._process_batch_size(100_000, 2) == executors.MAX_PROCESS_BATCH
    opts = ss.RunOptions(executor="processes", workers=2, out="unused")
    assert api._in_flight(opts, 100_000) == api._in_flight(opts, 1_000) == 2 * executors.MAX_PROCESS_BATCH
