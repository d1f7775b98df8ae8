"""The resource guard of a whole job: what its results hold in memory, against
what this process may really use (not the machine's RAM).

The C++ loader refuses a scenario one run of which does not fit
(``estimate_memory_bytes``: users, ties, groups, offenders and the run's daily
array); a job keeps every run's daily array, and its combined frames, until
it ends, so ``reps x points`` runs of a small scenario can still exhaust
memory. :func:`check_job_memory` refuses such a job before any run starts.
"""

from __future__ import annotations

import contextlib
import os
import resource
from pathlib import Path

from safesim import _core

__all__ = ["RESULT_COPIES", "check_job_memory", "job_memory_bytes", "memory_limit_bytes"]

#: Copies of each run's daily array a job holds at its end: the run's own array,
#: the combined daily frame and its columns (scope, day, seed).
RESULT_COPIES = 3


def _cgroup_limit(path: Path) -> int:
    try:
        text = path.read_text().strip()
    except OSError:
        return 0
    if not text.isdigit():
        return 0  # "max"
    value = int(text)
    return 0 if value >= 1 << 62 else value  # cgroup v1 reports no limit as a huge number


def memory_limit_bytes() -> int:
    """The lowest of physical memory, the address-space and data rlimits and the
    cgroup memory limit, in bytes; 0 if none is known.
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
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                limits.append(_cgroup_limit(Path("/sys/fs/cgroup" + line[3:]) / "memory.max"))
    except OSError:
        pass
    limits.append(_cgroup_limit(Path("/sys/fs/cgroup/memory.max")))
    limits.append(_cgroup_limit(Path("/sys/fs/cgroup/memory/memory.limit_in_bytes")))
    known = [v for v in limits if v > 0]
    return min(known) if known else 0


def job_memory_bytes(platforms: int, days: int, runs: int) -> int:
    """Bytes ``runs`` runs of a scenario with ``platforms`` platforms over ``days`` days keep in memory."""
    per_run = (platforms + 1) * max(days, 0) * len(_core.metrics()) * 8
    return per_run * runs * RESULT_COPIES


def check_job_memory(platforms: int, days: int, runs: int, what: str) -> None:
    """A ValueError naming ``what`` if the job's results would not fit in this process's memory."""
    need = job_memory_bytes(platforms, days, runs)
    have = memory_limit_bytes()
    if have and need > have:
        raise ValueError(
            f"{what}: {runs:,} runs of {days:,} days over {platforms + 1} scope(s) keep about {need / 1e9:.1f} GB of "
            f"daily results in memory; this process may use {have / 1e9:.1f} GB (the lowest of RAM, ulimit and cgroup "
            "limit): use fewer replicates or points, or a shorter horizon"
        )
