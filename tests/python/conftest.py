"""Shared fixtures: small, fast scenarios and a CLI runner (a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import safesim

REPO = Path(__file__).resolve().parents[2]
# Small enough that a replicate takes well under a second.
SMALL_SETS = {"population.users": 2000, "horizon_days": 60}
SMALL_ARGS = [arg for key, value in SMALL_SETS.items() for arg in ("--set", f"{key}={value}")]


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
