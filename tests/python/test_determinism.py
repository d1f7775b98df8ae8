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


def test_graph_build_threads_do_not_change_an_ecosystem_run() -> None:
    # The US ecosystem (8 large platforms of different sizes, 1,500 small ones)
    # at 80,000 users: its largest platform (~68,000 members) is split across
    # the build threads, the rest are built side by side (sim/src/graph.cpp).
    root = Path(__file__).resolve().parents[2]
    sc = safesim.Scenario.load(root / "scenarios" / "ecosystem_us.yaml").set("population.users", 80000)
    sc = sc.set("horizon_days", 10)
    spec = sc.spec
    hashes = set()
    for threads in (1, 2, 4):
        _core.clear_structure_cache()
        hashes.add(_core.run(spec, 3, threads)["hash"])
    assert len(hashes) == 1
    # One run through the thread executor hands it the spare threads: same result.
    _core.clear_structure_cache()
    assert safesim.replicate(sc, n=1, seed=3, threads=4).hashes == [hashes.pop()]
