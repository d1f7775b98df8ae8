"""The resource guard of a whole job.

What its results hold in memory, against what this process may really use (not the machine's RAM).

The C++ loader refuses a scenario one run of which does not fit
(``estimate_memory_bytes``: users, ties, groups, offenders and the run's daily
array); a job without an output folder keeps every run's daily array until it
ends, so ``reps x points`` runs of a small scenario can still exhaust memory.
:func:`check_runs_memory` refuses such a job before any run starts; the API's
``execute`` calls it for every job (run, compare, sweep, each sensitivity
analysis), a calibration and ``check_targets`` (``execute_summaries``) for the
runs they have in flight (they reduce each run to its record as it finishes),
the command line earlier still.

What a job holds is measured in docs/reliability.md ("The resource guard"):
for example 400 streamed runs of ``safesim run baseline --reps 400 --set
population.users=500 --set horizon_days=365 --out DIR`` peak at about 240 MB
against about 210 MB for one run.

With an output folder (``--out DIR`` / ``out=``) a job keeps no daily array in
memory: each run's goes to its per-run file as the run finishes and is read
back from there when used (:class:`safesim.store.DailyOnDisk`), and the
combined daily file is written from those files a run at a time. Such a job is
checked as *streamed*: only the runs in flight (one per worker, or a batch per
worker for the process pool) and one run being written count, whatever the
number of runs. Without an output folder a job that does not fit is refused,
and the message says that ``--out`` would stream it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import resource
from collections.abc import Iterable
from pathlib import Path

from safesim import _core
from safesim.errors import InputError

__all__ = [
    "RESULT_COPIES",
    "WRITE_COPIES",
    "cgroup_limits",
    "check_job_memory",
    "check_runs_memory",
    "job_memory_bytes",
    "memory_limit_bytes",
    "runs_memory_bytes",
]

#: Copies of each run's daily array a job holds at its end: the runs' own arrays
#: (1.04 measured, see above), with a margin.
RESULT_COPIES = 1.25
#: Copies of one run's daily array while the combined daily file is written: its
#: long frame (value, replicate, day and two category codes: 26 bytes a value)
#: and that frame's Arrow copy, 3.25 each.
WRITE_COPIES = 7


def _cgroup_limit(path: Path) -> int:
    try:
        text = path.read_text().strip()
    except OSError:
        return 0
    if not text.isdigit():
        return 0  # "max"
    value = int(text)
    return 0 if value >= 1 << 62 else value  # cgroup v1 reports no limit as a huge number


def cgroup_limits(root: Path = Path("/sys/fs/cgroup"), proc: Path = Path("/proc/self/cgroup")) -> list[int]:
    """Return the memory limits of this process's cgroup and of every cgroup above it, in bytes.

    A limit on an ancestor binds too; v2 ``memory.max`` and v1 ``memory.limit_in_bytes`` are read.
    """
    places = [root / "memory.max", root / "memory" / "memory.limit_in_bytes"]
    try:
        lines = proc.read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            base, name = root, "memory.max"
        elif "memory" in parts[1].split(","):
            base, name = root / "memory", "memory.limit_in_bytes"
        else:
            continue
        folder = base / parts[2].lstrip("/")
        while True:
            places.append(folder / name)
            if folder == base or base not in folder.parents:
                break
            folder = folder.parent
    return [v for v in (_cgroup_limit(p) for p in dict.fromkeys(places)) if v > 0]


def memory_limit_bytes() -> int:
    """Return the lowest of physical memory, the address-space and data rlimits and the cgroup limit, in bytes.

    0 if none is known.
    """
    limits = []
    with contextlib.suppress(ValueError, OSError):
        limits.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    for name in ("RLIMIT_AS", "RLIMIT_DATA"):
        which = getattr(resource, name, None)
        if which is not None:
            soft, _ = resource.getrlimit(which)
            if soft not in (resource.RLIM_INFINITY, -1) and soft > 0:
                limits.append(soft)
    limits += cgroup_limits()
    known = [v for v in limits if v > 0]
    return min(known) if known else 0


def _run_bytes(platforms: int, days: int) -> int:
    """One run's daily array: (platforms + 1) scopes x days x metrics doubles."""
    return (platforms + 1) * max(days, 0) * len(_core.metrics()) * 8


def job_memory_bytes(platforms: int, days: int, runs: int) -> int:
    """Bytes ``runs`` runs of a scenario with ``platforms`` platforms over ``days`` days keep in memory."""
    return runs_memory_bytes([(platforms, days)] * runs) if runs > 0 else 0


def runs_memory_bytes(
    runs: Iterable[tuple[int, int]], streamed: bool = False, in_flight: int = 0, writes: bool = True
) -> int:
    """Bytes a job of ``runs`` (each as (platforms, days)) keeps in memory at its peak.

    In memory (``streamed`` false): every run's daily array, and one run's
    while the combined files are written. Streamed to an output folder: the
    ``in_flight`` largest runs (default: one per core), and one run's while it
    is written or read back. ``writes`` false: a streamed job that writes no
    daily file, only each run's record (a calibration, ``safesim targets``
    without an output folder): the runs in flight alone.
    """
    sizes = sorted((_run_bytes(p, d) for p, d in runs), reverse=True)
    if not sizes:
        return 0
    if streamed:
        held = sizes[: max(1, in_flight or os.cpu_count() or 1)]
        return int(sum(held) * RESULT_COPIES + (sizes[0] * WRITE_COPIES if writes else 0))
    return int(sum(sizes) * RESULT_COPIES + sizes[0] * WRITE_COPIES)


def check_runs_memory(
    runs: Iterable[tuple[int, int]], what: str, streamed: bool = False, in_flight: int = 0, writes: bool = True
) -> None:
    """Raise an InputError (a ValueError) naming ``what`` if a job of ``runs`` would not fit in memory.

    ``runs`` are (platforms, days) each; ``streamed``, ``in_flight`` and ``writes`` as for
    :func:`runs_memory_bytes`.
    """
    runs = list(runs)
    need = runs_memory_bytes(runs, streamed, in_flight, writes)
    have = memory_limit_bytes()
    if have and need > have:
        days = max(d for _, d in runs)
        scopes = max(p for p, _ in runs) + 1
        if streamed:
            how = "streamed to the output folder" if writes else "with each run reduced to its record as it finishes"
            raise InputError(
                f"{what}: even {how}, the runs in flight of up to {days:,} days over "
                f"{scopes} scope(s) keep about {need / 1e9:.1f} GB of daily results in memory; this process may use "
                f"{have / 1e9:.1f} GB (the lowest of RAM, ulimit and cgroup limit): use fewer workers or a "
                "shorter horizon"
            )
        fits = runs_memory_bytes(runs, streamed=True, in_flight=in_flight) <= have
        raise InputError(
            f"{what}: {len(runs):,} runs of up to {days:,} days over {scopes} scope(s) keep about {need / 1e9:.1f} GB "
            f"of daily results in memory; this process may use {have / 1e9:.1f} GB (the lowest of RAM, ulimit and "
            "cgroup limit): "
            + (
                "give an output folder (--out DIR, out=) to stream them to disk, or use fewer replicates or points"
                if fits
                else "use fewer replicates or points, or a shorter horizon"
            )
        )


def check_job_memory(platforms: int, days: int, runs: int, what: str, streamed: bool = False) -> None:
    """Raise an InputError (a ValueError) naming ``what`` if the job's results would not fit in memory."""
    check_runs_memory([(platforms, days)] * runs, what, streamed)


@functools.cache
def _malloc_trim() -> object | None:
    """Return the C library's ``malloc_trim`` (glibc), or ``None`` where there is none (macOS, musl)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None


def release_freed_memory() -> bool:
    """Return memory the C allocator keeps after large frees to the system; True if it could.

    A run's engine output (its daily arrays) is allocated on the worker thread that ran it, in that
    thread's malloc arena, and glibc keeps a freed arena's pages. When a streamed job drops each
    run's arrays once they are on disk, the pages would stay resident and the process's peak would
    grow with the number of runs all the same; ``malloc_trim(0)`` hands them back.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
