"""The experiment API: run, replicate, compare and sweep scenarios.

Every function builds a plan (scenarios x seeds), computes the runs with an
executor (see :mod:`safesim.executors`) and hands back pandas frames. With
``out=DIR`` each run is saved as it finishes (:mod:`safesim.store`) and a
rerun with the same arguments reads the finished runs back and computes only
the missing ones, so an interrupted job resumes where it stopped and returns
exactly what an uninterrupted one would.

Common random numbers: replicate ``r`` uses seed ``S + r`` in every scenario
of a comparison or sweep, and the engine keys each random draw by (seed,
stream, entity), so two scenarios differ only where their settings act and
paired differences are far tighter than independent ones.

Where the runs are computed and kept is one :class:`RunOptions` value
(executor, workers, out, csv, progress). Every experiment function takes it as
``options=`` or as those five keywords; :func:`execute` is the machinery they
share (sensitivity and calibration use it too).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import sys
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from safesim.executors import Task, make_executor
from safesim.resources import check_runs_memory, release_freed_memory
from safesim.results import ECOSYSTEM, Comparison, Results, SweepResults
from safesim.scenario import Scenario
from safesim.store import RunStore, WindowKey, job_folder, run_id

__all__ = ["RunOptions", "as_scenario", "compare", "execute", "expand_sweep", "replicate", "run", "sweep"]

# Once streamed runs have dropped this many bytes of arrays, their freed pages go back to the system
# (resources.release_freed_memory): amortised, so small runs do not pay an allocator walk each.
_TRIM_BYTES = 64 << 20

PathLike = str | os.PathLike[str]


class _Saveable(Protocol):
    def save(self, out_dir: PathLike, csv: bool = ...) -> list[Path]: ...


@dataclass(frozen=True)
class RunOptions:
    """Where the runs of an experiment are computed and where they are kept.

    ``executor`` is ``"local"`` (default: threads on all cores),
    ``"processes"``, ``"serial"``, a ``distributed.Client`` or an object with
    ``map_runs`` (see :mod:`safesim.executors`); ``workers`` caps the
    parallelism. Results do not depend on either. With ``out=DIR`` every run
    is saved to ``DIR/runs/`` as it finishes, finished runs found there are
    reused, and the combined outputs are written at the end; ``csv=True``
    writes CSV instead of Parquet. ``progress`` shows a tqdm bar (default: at
    a terminal or in Jupyter).

    >>> RunOptions(workers=2).replace(out="results").out
    'results'
    """

    executor: Any = None
    workers: int | None = None
    out: PathLike | None = None
    csv: bool = False
    progress: bool | None = None

    @classmethod
    def of(cls, options: RunOptions | None, keywords: Mapping[str, Any], caller: str) -> RunOptions:
        """``options`` (default: all defaults) with ``keywords`` (the fields by name) set on top.

        The experiment functions take ``options=`` and the field names as
        keywords; any other keyword is a TypeError, as Python would raise.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        for key in keywords:
            if key not in names:
                raise TypeError(f"{caller}() got an unexpected keyword argument {key!r}")
        base = cls() if options is None else options
        return base.replace(**keywords) if keywords else base

    def replace(self, **changes: Any) -> RunOptions:
        """Return a copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def show_progress(self) -> bool:
        """Tell whether to show a progress bar: ``progress`` if set, else at a terminal or in Jupyter."""
        if self.progress is not None:
            return bool(self.progress)
        # Default: on at a terminal and in Jupyter, off in pipes, logs and tests.
        return bool(getattr(sys.stderr, "isatty", lambda: False)()) or "ipykernel" in sys.modules

    def save(self, results: _Saveable) -> None:
        """With ``out``, write the combined outputs of ``results`` there (``csv`` as set)."""
        if self.out is not None:
            results.save(self.out, csv=self.csv)


def as_scenario(scenario: Scenario | PathLike) -> Scenario:
    """Return a Scenario as is; a path or an installed scenario's name loaded."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, (str, Path, os.PathLike)):
        return Scenario.load(scenario)
    raise TypeError(f"expected a Scenario or a path, got {type(scenario).__name__}")


def check_seed(seed: int) -> int:
    """``seed`` as an int; a ValueError if it is negative."""
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return seed


def check_n(n: int) -> int:
    """``n`` (replicates, points) as an int; a ValueError if it is below 1."""
    if int(n) < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return int(n)


def common_seeds(scenario: Scenario, seed: int | None, n: int) -> list[int]:
    """Return the seeds of ``n`` replicates: S, S + 1, ..., S + n - 1, with S ``seed`` or the scenario's seed."""
    n = check_n(n)
    base = check_seed(scenario.seed if seed is None else seed)
    return [base + i for i in range(n)]


def _in_flight(options: RunOptions, runs: int) -> int:
    """Return how many runs' daily arrays a streamed job may hold at once.

    One per worker thread, a batch per worker for the process pool (see :mod:`safesim.executors`), one for the
    serial executor.
    """
    from safesim.executors import _process_batch_size

    workers = max(1, options.workers or os.cpu_count() or 1)
    if options.executor == "serial":
        return 1
    if options.executor == "processes":
        return min(runs, workers * _process_batch_size(runs, workers))
    return min(runs, workers)


def _plan(
    arms: Sequence[Scenario], seeds: Sequence[int], options: RunOptions, desc: str, streamed: bool, writes: bool = True
) -> tuple[list[list[str]], dict[str, Task]]:
    """Return the run ids of each arm in seed order, and one task per distinct run (arms may repeat).

    Before any run: every scenario is resolved and validated, and the job's results are checked against
    this process's memory limit (:func:`~safesim.resources.check_runs_memory`; ``streamed``: only the runs
    in flight hold a daily array; ``writes``: a daily file is written).
    """
    for sc in arms:
        sc.spec  # noqa: B018  (resolve and validate every scenario before any run starts)
    check_runs_memory(
        [(len(sc.platforms), int(sc.spec.horizon_days)) for sc in arms] * len(seeds),
        desc,
        streamed=streamed,
        in_flight=_in_flight(options, len(arms) * len(seeds)),
        writes=writes,
    )
    plan: list[list[str]] = []
    unique: dict[str, Task] = {}
    for sc in arms:
        ids = []
        for s in seeds:
            rid = run_id(sc.hash, s)
            ids.append(rid)
            unique.setdefault(rid, Task(rid, sc, int(s)))
        plan.append(ids)
    return plan, unique


def _array_bytes(output: Mapping[str, Any]) -> int:
    """Bytes of a run's daily and group arrays (what dropping the run's output frees)."""
    return sum(getattr(output.get(k), "nbytes", 0) for k in ("daily", "operator_daily", "groups"))


def _compute(
    todo: Sequence[Task],
    options: RunOptions,
    desc: str,
    total: int,
    keep: Callable[[Task, dict[str, Any]], int],
) -> None:
    """Compute ``todo`` on the options' executor, handing each finished run to ``keep`` as it comes.

    ``keep(task, output)`` stores what the job keeps of the run and returns the bytes of arrays it let go;
    once those reach :data:`_TRIM_BYTES` the freed pages go back to the system
    (:func:`~safesim.resources.release_freed_memory`). A progress bar counts ``total`` runs, those already
    done included, with a Dask executor's failed and retried runs beside it.
    """
    from tqdm import tqdm

    with tqdm(
        total=total,
        initial=total - len(todo),
        desc=desc,
        unit="run",
        disable=not options.show_progress(),
        file=sys.stderr,
        dynamic_ncols=True,
    ) as bar:
        if not todo:
            return
        ex = make_executor(options.executor, options.workers)
        counts = getattr(ex, "counts", None)  # a Dask executor's runs failed and retried
        dropped = 0  # bytes of arrays let go since the last trim
        for task, output in ex.map_runs(todo):
            dropped += keep(task, output)
            del output
            if dropped >= _TRIM_BYTES:
                release_freed_memory()  # the dropped arrays' pages go back (resources.py)
                dropped = 0
            if counts is not None:
                bar.set_postfix(failed=counts["failed"], retried=counts["retried"], refresh=False)
            bar.update(1)


def execute(arms: Sequence[Scenario], seeds: Sequence[int], options: RunOptions, desc: str) -> list[Results]:
    """Compute every (arm, seed) run once, reading finished ones from ``options.out``.

    One :class:`Results` per arm, runs in seed order. The combined outputs are
    not written here (see :meth:`RunOptions.save`): a caller may want only the
    per-run files.
    """
    # With an output folder the daily arrays stay in the run files (DailyOnDisk): only runs in flight count.
    plan, unique = _plan(arms, seeds, options, desc, streamed=options.out is not None)
    done: dict[str, dict[str, Any]] = {}
    loaded: set[str] = set()
    store = RunStore(options.out, csv=options.csv).open() if options.out is not None else None

    def keep(task: Task, output: dict[str, Any]) -> int:
        if store is None:
            done[task.run_id] = output
            return 0
        store.save(task.run_id, task.scenario.name, task.scenario.hash, output)
        done[task.run_id] = store.on_disk(task.run_id, output)  # the daily arrays stay on disk
        return _array_bytes(output)

    try:
        if store is not None:
            for rid, task in unique.items():
                got = store.load(rid, task.scenario.hash, task.seed)
                if got is not None:
                    done[rid] = store.on_disk(rid, got)
                    loaded.add(rid)
        _compute([t for rid, t in unique.items() if rid not in done], options, desc, len(unique), keep)
    finally:
        if store is not None:
            store.close()

    results = []
    for sc, ids in zip(arms, plan, strict=True):
        res = Results(sc, [done[rid] for rid in ids], seeds)
        res.loaded_runs = sum(rid in loaded for rid in ids)
        res.computed_runs = len(ids) - res.loaded_runs
        results.append(res)
    return results


def run_summary(output: Mapping[str, Any], windows: dict[WindowKey, float]) -> dict[str, Any]:
    """Return what a judge of targets reads of a run: its totals (ecosystem and platforms) and windowed values."""
    return {
        "platforms": list(output["platforms"]),
        "days": int(output["days"]),
        "seed": int(output["seed"]),
        "totals": np.array(output["totals"], dtype=np.float64),
        "windows": windows,
        "hash": int(output["hash"]),
    }


def execute_summaries(
    arms: Sequence[Scenario],
    seeds: Sequence[int],
    options: RunOptions,
    desc: str,
    needs: Sequence[WindowKey],
    keep_daily: bool = False,
) -> list[list[dict[str, Any]]]:
    """Compute every (arm, seed) run once, each reduced to a summary as it finishes; each arm's summaries in seed order.

    :func:`execute` for jobs that judge runs by targets (a calibration wave, :func:`safesim.check_targets`):
    a summary (:func:`run_summary`) is the run's totals and the windowed values ``needs`` on the scopes the
    run has (:func:`safesim.targets.windowed_values`, taken from the daily array as the run finishes; the
    array is then dropped), which is all :func:`safesim.targets.run_values` reads. Only the runs in flight
    hold a daily array, and the memory guard counts only them. With ``options.out`` each run's summary
    record goes to ``runs/<run_id>.summary.json`` (:meth:`safesim.store.RunStore.save_summary`: totals,
    windowed values, their SHA-256), and with ``keep_daily`` also its run files (totals, daily, groups:
    what every other job writes). A rerun reuses a run whose summary record verifies (or, with
    ``keep_daily``, whose run files verify); a run with verified run files but no record (an earlier
    safesim, or a kill between the two writes) gets its record from its daily file without being computed
    again. A damaged file is computed again, with a :class:`~safesim.store.RecomputedRunWarning`.
    """
    from safesim.targets import windowed_values  # safesim.targets imports this module

    if keep_daily and options.out is None:
        raise ValueError("keep_daily needs an output folder (out=DIR): the daily files are written there")
    # Only the runs in flight hold a daily array: each is reduced to its summary as it finishes. Without
    # keep_daily no daily file is written, so no copies for writing one are counted.
    plan, unique = _plan(arms, seeds, options, desc, streamed=True, writes=keep_daily)
    wanted: dict[str, list[WindowKey]] = {}  # by scenario hash: the windowed values on scopes it has
    for sc in arms:
        scopes = {ECOSYSTEM, *sc.platforms}
        wanted.setdefault(sc.hash, [k for k in needs if k[0] in scopes])
    done: dict[str, dict[str, Any]] = {}
    store = RunStore(options.out, csv=options.csv).open() if options.out is not None else None

    def keep(task: Task, output: dict[str, Any]) -> int:
        summary = run_summary(output, windowed_values(output, wanted[task.scenario.hash]))
        if store is not None:
            if keep_daily:
                store.save(task.run_id, task.scenario.name, task.scenario.hash, output)
            store.save_summary(task.run_id, task.scenario.name, task.scenario.hash, output, summary["windows"])
        done[task.run_id] = summary
        return _array_bytes(output)

    try:
        if store is not None:
            for rid, task in unique.items():
                want = wanted[task.scenario.hash]
                got = None if keep_daily else store.load_summary(rid, task.scenario.hash, task.seed, want)
                if got is None:
                    full = store.load(rid, task.scenario.hash, task.seed)  # run files kept (keep_daily, earlier)
                    if full is not None:
                        got = store.load_summary(rid, task.scenario.hash, task.seed, want) if keep_daily else None
                        if got is None:
                            got = run_summary(full, windowed_values(full, want))
                            store.save_summary(rid, task.scenario.name, task.scenario.hash, full, got["windows"])
                        del full
                if got is not None:
                    done[rid] = got
        _compute([t for rid, t in unique.items() if rid not in done], options, desc, len(unique), keep)
    finally:
        if store is not None:
            store.close()
    return [[done[rid] for rid in ids] for ids in plan]


def run(scenario: Scenario | PathLike, seed: int | None = None) -> Results:
    """Run one replicate; ``seed`` defaults to the scenario's own seed.

    >>> import safesim as ss
    >>> res = ss.run(ss.Scenario.default().set("population.users", 2000), seed=3)
    >>> res.reps
    1
    """
    sc = as_scenario(scenario)
    return execute([sc], common_seeds(sc, seed, 1), RunOptions(executor="serial", progress=False), "run")[0]


def replicate(
    scenario: Scenario | PathLike,
    n: int = 20,
    seed: int | None = None,
    threads: int | None = None,
    *,
    options: RunOptions | None = None,
    **run_options: Any,
) -> Results:
    """Run ``n`` replicates with seeds seed, seed + 1, ..., seed + n - 1.

    ``seed`` defaults to the scenario's seed. ``options`` (a
    :class:`RunOptions`) or the keywords ``executor``, ``workers``, ``out``,
    ``csv`` and ``progress`` say where runs are computed and kept:
    ``executor`` is ``"local"`` (default: threads on all cores),
    ``"processes"``, ``"serial"`` or a ``distributed.Client``; ``workers`` (or
    ``threads``) caps the parallelism. Results do not depend on the executor.
    With ``out=DIR`` every run is saved to ``DIR/runs/`` as it finishes,
    finished runs found there are reused, and the combined frames and summary
    are written at the end (``csv=True`` for CSV instead of Parquet).
    ``progress`` shows a tqdm bar (default: at a terminal or in Jupyter).

    >>> import safesim as ss
    >>> res = ss.replicate(ss.Scenario.default().set("population.users", 2000), n=4)
    >>> res.summary().columns.tolist()
    ['scope', 'metric', 'mean', 'sd', 'n', 'ci_low', 'ci_high']
    """
    opts = RunOptions.of(options, run_options, "replicate")
    check_n(n)
    sc = as_scenario(scenario)
    seeds = common_seeds(sc, seed, n)
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    opts = opts.replace(workers=opts.workers or threads)
    with job_folder(opts.out):  # one hold on the folder for the runs and the combined files
        res = execute([sc], seeds, opts, f"replicate {sc.name}")[0]
        opts.save(res)
    return res


def unique_label(label: str, taken: Container[str]) -> str:
    """``label``, or the first of ``label_2``, ``label_3``, ... not in ``taken`` (arms of a comparison)."""
    name, i = label, 2
    while name in taken:
        name, i = f"{label}_{i}", i + 1
    return name


def _arms_from(scenarios: Mapping[str, Scenario | PathLike] | Sequence[Scenario | PathLike]) -> dict[str, Scenario]:
    if isinstance(scenarios, Mapping):
        arms = {str(k): as_scenario(v) for k, v in scenarios.items()}
    else:
        arms = {}
        for item in scenarios:
            sc = as_scenario(item)
            arms[unique_label(sc.name, arms)] = sc
    if len(arms) < 2:
        raise ValueError("compare needs at least two scenarios")
    return arms


def compare(
    scenarios: Mapping[str, Scenario | PathLike] | Sequence[Scenario | PathLike],
    n: int = 20,
    reference: str | None = None,
    seed: int | None = None,
    *,
    ensemble: Any = None,
    options: RunOptions | None = None,
    **run_options: Any,
) -> Any:
    """Run every scenario on the same ``n`` seeds and pair them (common random numbers).

    ``scenarios`` is ``{label: scenario}`` (or a list, labelled by scenario
    name); ``reference`` defaults to the first. ``seed`` defaults to the
    reference's seed. ``.summary()`` gives each scenario's paired difference
    from the reference per scope x metric, with its 95% t-interval and the
    relative difference; ``.means()`` the per-scenario summaries. ``options``
    and the run keywords are as for :func:`replicate`.

    ``ensemble`` (an ensemble file, :class:`~safesim.ensemble.Ensemble` or a
    list of ``{key.path: value}``) runs the comparison at every parameter set
    on the same seeds and returns an :class:`~safesim.ensemble.EnsembleComparison`
    whose intervals combine parameter and stochastic uncertainty.

    >>> import safesim as ss
    >>> base = ss.Scenario.default().set("population.users", 3000)
    >>> cmp = ss.compare({"base": base, "teen": base.with_policy("industry_teen_accounts")}, n=10)
    >>> eff = cmp.summary()
    >>> eff[(eff.scope == "ecosystem") & (eff.metric == "minors_contacted")][["diff", "diff_ci_low", "diff_ci_high"]]
    ... # doctest: +SKIP
    """
    opts = RunOptions.of(options, run_options, "compare")
    check_n(n)
    arms = _arms_from(scenarios)
    ref = next(iter(arms)) if reference is None else str(reference)
    if ref not in arms:
        raise ValueError(f"reference {ref!r} is not one of {list(arms)}")
    seeds = common_seeds(arms[ref], seed, n)
    if ensemble is not None:
        from safesim.ensemble import compare_ensemble

        with job_folder(opts.out):
            ens_cmp = compare_ensemble(arms, ref, seeds, ensemble, opts)
            opts.save(ens_cmp)
        return ens_cmp
    with job_folder(opts.out):
        results = execute(list(arms.values()), seeds, opts, "compare")
        cmp = Comparison(dict(zip(arms, results, strict=True)), ref, seeds)
        opts.save(cmp)
    return cmp


POLICY_KEY = "policy"


def expand_sweep(grid_or_samples: Mapping[str, Iterable[Any]] | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Sweep points: the cartesian product of a grid ``{key: [values]}``, or a list of dicts as is.

    >>> expand_sweep({"a": [1, 2], "b": ["x", "y"]})
    [{'a': 1, 'b': 'x'}, {'a': 1, 'b': 'y'}, {'a': 2, 'b': 'x'}, {'a': 2, 'b': 'y'}]
    """
    if isinstance(grid_or_samples, Mapping):
        keys = list(grid_or_samples)
        values = []
        for k in keys:
            v = grid_or_samples[k]
            if isinstance(v, (str, bytes)) or not isinstance(v, Iterable):
                raise TypeError(f"grid values for {k!r} must be a list")
            values.append(list(v))
        points = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values)]
    else:
        points = []
        for p in grid_or_samples:
            if not isinstance(p, Mapping):
                raise TypeError(f"each sample must be a dict of key paths, got {type(p).__name__}")
            points.append(dict(p))
    if not points:
        raise ValueError("the sweep has no points")
    return points


def point_scenario(base: Scenario, point: Mapping[str, Any]) -> Scenario:
    """Return ``base`` with a sweep point applied: ``.set`` per key; the key ``policy`` applies bundles."""
    sc = base
    for key, value in point.items():
        if key == POLICY_KEY:
            for name in [value] if isinstance(value, str) else list(value or []):
                sc = sc.with_policy(name)
        else:
            sc = sc.set(key, value)
    return sc


def sweep(
    scenario: Scenario | PathLike,
    grid_or_samples: Mapping[str, Iterable[Any]] | Sequence[Mapping[str, Any]],
    n: int = 10,
    seed: int | None = None,
    *,
    options: RunOptions | None = None,
    **run_options: Any,
) -> SweepResults:
    """Run ``n`` replicates at every point of a grid or a list of samples, all on the same seeds.

    A grid ``{"platforms.main.controls.reporting.steps": [1, 3, 5, 9], ...}``
    expands to its cartesian product; a list of dicts is taken as the points.
    Each point is ``scenario.set(key, value)`` for its keys (the key
    ``policy`` applies a bundle or a list of bundles). ``.summary()`` has one
    row per point x scope x metric with the parameters as columns;
    ``.effects()`` the paired differences against point 0. ``options`` and
    the run keywords are as for :func:`replicate`.

    >>> import safesim as ss
    >>> base = ss.Scenario.default().set("population.users", 2000).set("horizon_days", 60)
    >>> sw = ss.sweep(base, {"platforms.main.controls.reporting.steps": [1, 9]}, n=3)
    >>> len(sw.points)
    2
    """
    opts = RunOptions.of(options, run_options, "sweep")
    check_n(n)
    sc = as_scenario(scenario)
    points = expand_sweep(grid_or_samples)
    arms = [point_scenario(sc, p) for p in points]
    seeds = common_seeds(sc, seed, n)
    with job_folder(opts.out):
        sw = SweepResults(dict(enumerate(execute(arms, seeds, opts, "sweep"))), points, seeds)
        opts.save(sw)
    return sw
