"""A short campaign of the Python-side reader fuzzer (tests/fuzz/fuzz_readers.py):
plans, expect: files, edge lists and flags each give a result or one line.
scripts/fuzz python SECONDS runs a longer one."""

from __future__ import annotations

import importlib.util
from pathlib import Path

FUZZER = Path(__file__).resolve().parents[1] / "fuzz" / "fuzz_readers.py"


def load_fuzzer():
    spec = importlib.util.spec_from_file_location("fuzz_readers", FUZZER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_short_reader_campaign_has_no_findings() -> None:
    stats = load_fuzzer().campaign(seconds=8, seed=17, timeout=20)
    assert not stats["findings"], stats["findings"][0]["message"]
    assert stats["executions"] >= 40
    assert set(stats["by_target"]) == {"plan", "validate", "expect", "edges", "flags"}
