"""The documentation's model pages agree with the code they describe.

The stage order is written once, in ``step_day()`` and ``step_tick()`` (and the build order in
``run()``) of sim/src/simulation.cpp; docs/model/process.md and docs/model/initialization.md list
the same stages in tables marked ``<!-- stages:FUNCTION -->``. Every group of the parameter
dictionary must be included by one model page, so a new parameter group cannot go undocumented.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SIMULATION = ROOT / "sim" / "src" / "simulation.cpp"
MODEL = ROOT / "docs" / "model"


def function_body(source: str, name: str) -> str:
    """The body of the C++ function ``name`` (its definition, not a declaration), braces balanced."""
    match = re.search(rf"^\S[^\n;]*\b{name}\([^;{{]*\)\s*{{", source, flags=re.M)
    assert match, f"{name}() is not defined in {SIMULATION.name}"
    depth, start = 1, match.end()
    for i in range(start, len(source)):
        depth += {"{": 1, "}": -1}.get(source[i], 0)
        if depth == 0:
            return source[start:i]
    raise AssertionError(f"unbalanced braces in {name}()")


def stages_in_code(name: str) -> list[str]:
    """The stage functions ``name`` calls with the state as first argument, in order."""
    body = re.sub(r"//[^\n]*", "", function_body(SIMULATION.read_text(), name))
    return re.findall(r"\b(?:detail::)?([a-z_]+)\(s[,)]", body)


def stages_in_docs(page: Path, name: str) -> list[str]:
    """The stage column of the table marked ``<!-- stages:name -->`` in a docs page."""
    text = page.read_text()
    match = re.search(rf"<!-- stages:{name}\b.*?-->(.*?)<!-- /stages -->", text, flags=re.S)
    assert match, f"{page.name} has no stage table for {name}()"
    return re.findall(r"^\|\s*\d+\s*\|\s*`([a-z_]+)`", match.group(1), flags=re.M)


@pytest.mark.parametrize(
    ("function", "page"),
    [("step_day", "process.md"), ("step_tick", "process.md"), ("run", "initialization.md")],
)
def test_stage_order_matches_the_code(function: str, page: str) -> None:
    code = stages_in_code(function)
    assert code, f"found no stages in {function}()"
    if function == "run":  # initialization: what run() builds before the first day
        code = code[: code.index("step_day")]
    assert stages_in_docs(MODEL / page, function) == code, (
        f"docs/model/{page} lists {function}()'s stages in another order than sim/src/simulation.cpp: "
        f"update the table to {code}"
    )


def test_the_parser_sees_a_changed_order() -> None:
    """Guard the guard: the code parser reads calls in order and ignores comments and helpers."""
    text = (
        "void step_tick(State& s) {\n  b_stage(s);  // a(s)\n  std::fill(s.x.begin(), s.x.end(), 0);\n  a(s, t);\n}\n"
    )
    body = re.sub(r"//[^\n]*", "", function_body(text, "step_tick"))
    assert re.findall(r"\b(?:detail::)?([a-z_]+)\(s[,)]", body) == ["b_stage", "a"]


def test_every_parameter_group_is_on_a_model_page() -> None:
    safesim = pytest.importorskip("safesim")
    groups = []
    for line in safesim.parameter_dictionary().splitlines():
        if line.startswith("### "):
            title = line[4:].strip("` ").replace("platforms.<name>", "platform")
            groups.append(title.replace("operators.<name>", "operator").lower())
    included = re.findall(r"_generated/params/([\w.]+)\.md", "".join(p.read_text() for p in MODEL.rglob("*.md")))
    assert sorted(set(groups) - set(included)) == [], "parameter groups no model page includes"
    assert sorted(set(included) - set(groups)) == [], "model pages include groups the dictionary lacks"
    assert len(included) == len(set(included)), "a parameter group is included twice"


def test_no_reference_to_the_private_brief() -> None:
    """Comments and docs point at docs/model/, which users have, not at a file they never see."""
    name = "MODEL" + ".md"
    skip = {"build", ".venv", ".git", "_generated", "node_modules"}
    hits = []
    for path in ROOT.rglob("*"):
        if path.is_file() and not skip & set(path.relative_to(ROOT).parts) and path.name != "changelog.md":
            if path.suffix in {".so", ".png", ".parquet"}:
                continue
            try:
                if name in path.read_text(encoding="utf-8"):
                    hits.append(str(path.relative_to(ROOT)))
            except UnicodeDecodeError:
                continue
    assert hits == []
