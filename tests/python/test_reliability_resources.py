"""The resource guard (issue 17, item 5): estimates that include what a job
keeps in memory, against the process's real limit (rlimit, cgroup), with bounds
on --reps and plan sizes; refused before any run, in one line."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from safesim import _core, cli, resources

GB = 1_000_000_000


def test_limit_follows_the_rlimit_not_the_ram(monkeypatch) -> None:
    ram = resources.memory_limit_bytes()
    assert ram > 0
    real = resource.getrlimit

    def fake(which: int) -> tuple[int, int]:
        if which == resource.RLIMIT_AS:
            return (GB // 2, resource.RLIM_INFINITY)
        return real(which)

    monkeypatch.setattr(resource, "getrlimit", fake)
    assert resources.memory_limit_bytes() == GB // 2


def test_job_estimate_counts_every_run_daily_array() -> None:
    metrics = len(_core.metrics())
    assert resources.job_memory_bytes(platforms=1, days=365, runs=10) == 2 * 365 * metrics * 8 * 10 * 3


def test_run_refuses_a_job_whose_results_exceed_the_process_limit(monkeypatch, capsys) -> None:
    monkeypatch.setattr(resources, "memory_limit_bytes", lambda: GB // 10)
    argv = ["run", "baseline", "--reps", "2000", "--set", "population.users=500", "--set", "horizon_days=3650"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "daily results in memory; this process may use 0.1 GB" in err


def test_sweep_plan_refuses_too_many_runs_before_running(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(resources, "memory_limit_bytes", lambda: GB // 10)
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "scenario: baseline\nreps: 500\nset: {horizon_days: 3650, population.users: 500}\n"
        "grid:\n  platforms.main.controls.reporting.steps: [1, 2, 3, 4]\n"
    )
    assert cli.main(["validate", str(plan)]) == 2
    err = capsys.readouterr().err
    assert f"{plan}:2:1: reps: baseline: 2,000 runs" in err


def _under_rlimit(limit: int, *argv: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({limit}, resource.RLIM_INFINITY))\n"
        "from safesim import cli\n"
        f"sys.exit(cli.main({list(argv)!r}))\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_AS"), reason="needs RLIMIT_AS")
def test_loader_compares_against_the_address_space_limit() -> None:
    # About 4.5 GB for one run: fits the machine, not a 3 GiB address space.
    argv = ["run", "baseline", "--reps", "1", "--set", "population.users=5000000", "--set", "horizon_days=1"]
    proc = _under_rlimit(3 * 2**30, *argv)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "population.users: a population of 5000000 users needs about" in proc.stderr
    assert "this process may use 3.2 GB" in proc.stderr


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_AS"), reason="needs RLIMIT_AS")
def test_loader_blames_the_horizon_when_the_daily_array_dominates() -> None:
    # 88 years of daily outputs over the ecosystem's 206 scopes: 3.5 GB per copy (issue 17's bad_alloc).
    proc = _under_rlimit(6 * 2**30, "run", "ecosystem_us", "--reps", "1", "--set", "horizon_days=32000")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "horizon_days: a horizon of 32000 days over 205 platform(s) needs about" in proc.stderr
