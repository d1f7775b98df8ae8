"""The benchmark record tools (tests/bench/record.py, compare, tables), on made-up records.

No benchmark runs here: the figures are invented so that each verdict is
known, and the tools must reach it.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "tests" / "bench"


def _load(name: str) -> ModuleType:
    path = BENCH / name
    loader = importlib.machinery.SourceFileLoader(f"bench_{name.replace('.', '_')}", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


sys.path.insert(0, str(BENCH))
record = _load("record.py")
compare = _load("compare")
tables = _load("tables")


def _record(figures: dict[str, list[float]], sha: str = "a" * 40, hashes: dict[str, Any] | None = None) -> dict:
    units = {f"{wl}.{f}": (u, b, label) for wl, rows in record.FIGURES.items() for f, u, b, label in rows}
    return {
        "format": record.FORMAT,
        "format_version": record.FORMAT_VERSION,
        "created": "2026-12-01T04:00:00+00:00",
        "commit": {"sha": sha, "dirty": False, "subject": "x"},
        "machine": {"hostname": "h", "cpus": 2, "cpu_model": "cpu", "compiler": "g++", "build_type": "Release"},
        "load_average": {"before": [1.0, 1.0, 1.0], "after": [1.0, 1.0, 1.0]},
        "command": ["run"],
        "repeats": max(len(v) for v in figures.values()),
        "figures": {
            k: {"unit": units[k][0], "better": units[k][1], "label": units[k][2], "samples": v}
            for k, v in figures.items()
        },
        "hashes": hashes or {},
    }


def _verdicts(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        for name in ("platform_10k.seconds_per_run", "sweep_small.runs_per_s_1proc", "platform_1m.build_seconds"):
            if line.startswith(name):
                out[name] = line.rsplit("  ", 1)[-1].strip()
    return out


def test_compare_flags_only_changes_beyond_the_measured_noise() -> None:
    old = _record(
        {
            "platform_10k.seconds_per_run": [0.0120, 0.0125, 0.0122],  # 4% range
            "sweep_small.runs_per_s_1proc": [280.0, 300.0, 290.0],  # 7% range
            "platform_1m.build_seconds": [2.0, 2.6, 2.2],  # 27% range
        }
    )
    new = _record(
        {
            "platform_10k.seconds_per_run": [0.0060, 0.0062, 0.0061],  # halved: better
            "sweep_small.runs_per_s_1proc": [240.0, 250.0, 245.0],  # -16%, ranges apart: worse
            "platform_1m.build_seconds": [2.4, 2.9, 2.5],  # +14%, within its 27% noise
        },
        sha="b" * 40,
    )
    got = _verdicts(compare.compare(old, new))
    assert got == {
        "platform_10k.seconds_per_run": "better",
        "sweep_small.runs_per_s_1proc": "WORSE",
        "platform_1m.build_seconds": "within noise",
    }


def test_overlapping_samples_or_a_single_sample_are_never_flagged() -> None:
    # A 30% jump in the median, but one old sample reaches the new ones: not flagged.
    change, noise, what = compare.verdict([1.0, 1.0, 1.4], [1.3, 1.3, 1.3], "lower")
    assert what == "within noise"
    assert change == pytest.approx(0.3)
    assert noise == pytest.approx(0.4)
    # One sample: no noise estimate, whatever the change.
    assert compare.verdict([1.0], [3.0], "lower")[2] == "no noise estimate (one sample)"


def test_compare_exits_0_whatever_moved_and_2_for_a_file_that_is_not_a_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, bad = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "bad.json"
    a.write_text(json.dumps(_record({"platform_10k.seconds_per_run": [0.01, 0.0101]}, hashes={"platform_10k": ["1"]})))
    b.write_text(json.dumps(_record({"platform_10k.seconds_per_run": [0.05, 0.0501]}, hashes={"platform_10k": ["2"]})))
    bad.write_text(json.dumps({"figures": {}}))
    assert compare.main([str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "WORSE" in out
    assert "outputs differ (hashes): platform_10k" in out
    assert compare.main([str(a), str(bad)]) == 2
    assert "not a safesim benchmark record" in capsys.readouterr().err


def test_tables_rewrite_only_the_generated_section(tmp_path: Path) -> None:
    rec = tmp_path / "rec.json"
    rec.write_text(
        json.dumps(
            _record({"platform_10k.seconds_per_run": [0.012, 0.013, 0.0125], "sweep_small.parallel_efficiency": [0.95]})
        )
    )
    page = tmp_path / "performance.md"
    page.write_text(f"# Performance\n\nhand-written\n\n{tables.BEGIN}\nold table\n{tables.END}\n\nmore by hand\n")
    assert tables.main([str(rec), "--check", str(page)]) == 1
    assert tables.main([str(rec), "--write", str(page)]) == 0
    text = page.read_text()
    assert "old table" not in text
    assert text.startswith("# Performance\n\nhand-written\n")
    assert text.endswith("\nmore by hand\n")
    # The figures as recorded: median 12.5 ms, range 12-13 ms; the target table judges the median.
    assert (
        "| `platform_10k.seconds_per_run`: time per run, build included (lower is better) | 12.5 | 12\u201313" in text
    )
    assert "| `platform_10k.seconds_per_run` | < 0.05 | 0.0125 | yes |" in text
    assert "| `sweep_small.parallel_efficiency` | >= 0.9 | 0.95 | yes |" in text
    assert tables.main([str(rec), "--check", str(page)]) == 0  # idempotent


def test_make_record_keeps_every_sample_with_commit_and_machine(tmp_path: Path) -> None:
    runs = [
        {"seconds_per_run": 0.012, "build_seconds": 0.004, "peak_rss_bytes": 5e7, "hashes": [1, 2]},
        {"seconds_per_run": 0.014, "build_seconds": 0.005, "peak_rss_bytes": 5e7, "hashes": [1, 2]},
    ]
    rec = record.make_record(
        {"platform_10k": runs},
        root=BENCH.parents[1],
        build_dir=None,
        command=["run", "platform_10k"],
        load_before=[1.0, 2.0, 3.0],
        repeats=2,
    )
    path = tmp_path / "r.json"
    path.write_text(json.dumps(rec))
    back = record.read_record(path)
    assert back["figures"]["platform_10k.seconds_per_run"]["samples"] == [0.012, 0.014]
    assert back["hashes"] == {"platform_10k": ["1", "2"]}
    assert back["machine"]["cpus"] >= 1
    assert set(back["commit"]) >= {"sha", "dirty", "branch", "date"}
