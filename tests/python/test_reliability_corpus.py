"""The bad-input corpus (issue 17, item 8): tests/data/bad_inputs/cases.yaml.

Each case writes its files into a fresh folder, runs the ``safesim`` command
line in this process with its arguments (``{dir}`` is the folder) and must
end with exit status 2 and exactly one line on stderr holding the expected
message (``{dir}`` again the folder): no traceback, no hang (a 30 s alarm),
no silent acceptance, and none of the case's ``forbid`` strings (such as the
content of a file named where a scenario was expected).

A file's text ``<fifo>`` makes a FIFO, ``<size:N>`` a sparse file of N bytes.
The edge-list cases are also given to the engine's own loader
(sim/src/graph.cpp), bypassing Python's check: it must refuse each with the
same line, so a file changed after the check is refused the same way.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
from pathlib import Path
from typing import Any

import pytest
import yaml

from safesim import _core, cli
from safesim.errors import ScenarioError
from safesim.scenario import policy_dirs, scenarios_dir

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_inputs" / "cases.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
TIMEOUT = 30


def materialise(case: dict[str, Any], folder: Path) -> list[str]:
    """Write the case's files under ``folder``; its argv with ``{dir}`` filled in."""
    for name, text in (case.get("files") or {}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if text == "<fifo>":
            os.mkfifo(path)
        elif str(text).startswith("<size:"):
            with open(path, "wb") as f:
                f.truncate(int(str(text)[6:-1]))  # sparse: takes no disk space
        else:
            # Text with lone surrogates stands for bytes that are not UTF-8.
            text = str(text).replace("{scenarios}", str(scenarios_dir()))
            path.write_bytes(text.encode("utf-8", "surrogateescape"))
    return [str(a).replace("{dir}", str(folder)).replace("{scenarios}", str(scenarios_dir())) for a in case["argv"]]


def run_case(case: dict[str, Any], folder: Path) -> tuple[int, str, str]:
    argv = materialise(case, folder)
    out, err = io.StringIO(), io.StringIO()

    def timeout(*_: object) -> None:
        raise TimeoutError(f"case {case['id']} still running after {TIMEOUT} s")

    old = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(TIMEOUT)
    cwd = os.getcwd()
    try:
        os.chdir(folder)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = cli.main(argv)
            except SystemExit as exc:  # argparse
                status = int(exc.code or 0)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        os.chdir(cwd)
    return status, out.getvalue(), err.getvalue()


def test_corpus_size_and_unique_ids() -> None:
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 150


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input_gives_one_clear_line(case: dict[str, Any], tmp_path: Path) -> None:
    status, _, err = run_case(case, tmp_path)
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == 2, err
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert "\x1b" not in err  # terminal escapes are shown escaped, never sent
    expected = str(case["expect"]).replace("{dir}", str(tmp_path))
    assert expected in lines[0]
    for text in case.get("forbid") or []:  # e.g. the content of a file that is not a scenario
        assert text not in err


EDGE_CASES = [c for c in CASES if c["id"].startswith("edge-list")]


@pytest.mark.parametrize("case", EDGE_CASES, ids=[c["id"] for c in EDGE_CASES])
def test_engine_refuses_edge_list_with_the_same_line(case: dict[str, Any], tmp_path: Path) -> None:
    """The engine's loader, given the spec without Python's edge-list check, says what Python says."""
    _, _, err = run_case(case, tmp_path)
    (python_line,) = [line for line in err.splitlines() if line.strip()]
    spec = _core.load_scenario(str(tmp_path / "s.yaml"), [], [], policy_dirs())
    old = signal.signal(signal.SIGALRM, lambda *_: pytest.fail("the engine hung on the edge list"))
    signal.alarm(TIMEOUT)
    try:
        with pytest.raises(ScenarioError) as engine:
            _core.run(spec, 1)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert str(engine.value) == python_line
    assert engine.value.key_path == "graph.edge_list"


def test_corpus_has_edge_cases_of_every_class() -> None:
    """Each class of bad edge list the engine refuses is in the corpus (and so checked both ways)."""
    messages = " ".join(str(c["expect"]) for c in EDGE_CASES)
    for what in (
        "no such edge list file",
        "a folder, not a regular file",
        "a FIFO, not a regular file",
        "a device, not a regular file",
        "bytes (limit",
        "not UTF-8 text",
        "field(s)",
        "a negative user index",
        "a fractional user index",
        "not a user index",
        "out of range",
        "the trusted flag is 0 or 1",
        "self-loop",
        "duplicate edge",
        "has no edges",
    ):
        assert what in messages, what
