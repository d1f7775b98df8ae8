"""Determinism: identical outputs across thread counts, a process pool and the
C++ Debug build's golden check (tests/cpp/test_determinism.cpp reads the same
tests/golden/baseline.json hashes)."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import safesim
from safesim import _core

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "baseline.json"


def _scenario() -> safesim.Scenario:
    return safesim.Scenario.default().set("population.users", 5000)


def _hash_in_worker(seed: int) -> str:
    return f"{_core.run(_scenario().spec, seed)['hash']:016x}"


def test_hashes_match_golden_across_threads_and_processes() -> None:
    golden = json.loads(GOLDEN.read_text())
    want = {int(seed): h for seed, h in golden["run_hashes"].items()}
    seeds = sorted(want)
    spec = _scenario().spec
    for threads in (1, 2, 4):
        got = {seed: f"{r['hash']:016x}" for seed, r in zip(seeds, _core.run_many(spec, seeds, threads), strict=True)}
        assert got == want, f"{threads} threads"
    with ProcessPoolExecutor(max_workers=2) as pool:
        got = dict(zip(seeds, pool.map(_hash_in_worker, seeds), strict=True))
    assert got == want, "process pool"
