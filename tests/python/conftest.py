"""Shared fixtures: small, fast scenarios and a CLI runner (a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

import safesim
from safesim.executors import SerialExecutor

REPO = Path(__file__).resolve().parents[2]
# Small enough that a replicate takes well under a second.
SMALL_SETS = {"population.users": 2000, "horizon_days": 60}
SMALL_ARGS = [arg for key, value in SMALL_SETS.items() for arg in ("--set", f"{key}={value}")]


class CountingExecutor:
    """The serial executor, counting runs and the run outputs' daily arrays still alive (a weakref each).

    ``peak`` is the most arrays alive at once: a job that drops each run's daily array as it is saved or
    reduced keeps it at 1; a job that holds them all reaches the number of runs.
    """

    def __init__(self) -> None:
        self.live = 0
        self.peak = 0
        self.runs = 0

    def _gone(self) -> None:
        self.live -= 1

    def map_runs(self, tasks):
        for task, out in SerialExecutor().map_runs(tasks):
            self.runs += 1
            self.live += 1
            weakref.finalize(out["daily"], self._gone)
            self.peak = max(self.peak, self.live)
            yield task, out
            del out
            self.peak = max(self.peak, self.live)


def small(scenario: safesim.Scenario) -> safesim.Scenario:
    for key, value in SMALL_SETS.items():
        scenario = scenario.set(key, value)
    return scenario


@pytest.fixture(scope="session")
def baseline_path() -> Path:
    return safesim.scenarios_dir() / "baseline.yaml"


@pytest.fixture(scope="session")
def small_baseline() -> safesim.Scenario:
    return small(safesim.Scenario.default())


@pytest.fixture(scope="session")
def small_results(small_baseline: safesim.Scenario) -> safesim.Results:
    return safesim.replicate(small_baseline, n=4, threads=2)


def run_cli(*args: str | os.PathLike[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m safesim ARGS`` as a user would run it (stdout, stderr, exit code)."""
    return subprocess.run(
        [sys.executable, "-m", "safesim", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@pytest.fixture
def bad_scenario(tmp_path: Path) -> Path:
    """A scenario whose third line holds a misspelt key."""
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nhorizon_days: 30\npopulaton:\n  users: 100\n")
    return path
