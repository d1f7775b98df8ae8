"""Atomic writes: complete files or none, and no temporary files left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from safesim.io import atomic_path, json_records, json_text, write_json, write_text


def test_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.txt"
    write_text(target, "one")
    write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_failed_write_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    write_json(target, {"a": 1})

    def interrupted_write() -> None:
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        interrupted_write()
    assert target.read_text() == '{\n  "a": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_json_rejects_nan(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="JSON"):
        write_json(tmp_path / "x.json", {"a": float("nan")})
    assert list(tmp_path.iterdir()) == []


def test_json_records_match_row_by_row_conversion() -> None:
    """Built column by column, the records are what converting each row's values gives."""
    import math

    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(
        {
            "x": [1.5, np.nan, np.inf],
            "n": np.array([1, 2, 3], dtype=np.int64),
            "u": np.array([4, 5, 6], dtype=np.uint8),
            "c": pd.Categorical(["a", "b", "a"]),
            "b": [True, False, True],
            "o": ["s", None, np.float64(np.nan)],
        }
    )
    want = [
        {"x": 1.5, "n": 1, "u": 4, "c": "a", "b": True, "o": "s"},
        {"x": None, "n": 2, "u": 5, "c": "b", "b": False, "o": None},
        {"x": None, "n": 3, "u": 6, "c": "a", "b": True, "o": None},
    ]
    got = json_records(frame)
    assert got == want
    assert all(type(got[0][k]) is type(want[0][k]) for k in want[0])
    assert json_records(frame.iloc[:0]) == []
    assert not any(isinstance(v, float) and math.isnan(v) for r in got for v in r.values())


def test_json_text_writes_records_one_per_line_and_reads_back() -> None:
    import json

    doc = {"provenance": {"seeds": [1, 2], "arms": {"a": {"x": 1}}}, "summary": [{"m": 1.0}, {"m": None}], "none": []}
    text = json_text(doc)
    assert json.loads(text) == doc
    lines = text.splitlines()
    assert '    {"m": 1.0},' in lines
    assert '    {"m": null}' in lines
    # Without records the file is indented as before.
    assert json_text({"a": [1, 2]}) == json.dumps({"a": [1, 2]}, indent=2)
