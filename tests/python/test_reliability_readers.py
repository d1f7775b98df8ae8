"""Readers (issue 17, items 2, 3, 4 and 6): what the corpus cannot show as one
command line: FIFOs that must not hang, the scenario hash following file
content, validate agreeing with check, and escaping."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import safesim as ss
from safesim import cli
from safesim.errors import ScenarioError, printable
from safesim.harness.expectations import has_expect_block, load_check_file
from safesim.plans import load_plan
from safesim.scenario import scenarios_dir

BASELINE = scenarios_dir() / "baseline.yaml"


def within(seconds: float, fn) -> BaseException | None:
    """Run ``fn`` in a thread; fail if it has not returned after ``seconds``. Its exception, if any."""
    box: list[BaseException | None] = [None]

    def target() -> None:
        try:
            fn()
        except BaseException as err:
            box[0] = err

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "reader hung"
    return box[0]


@pytest.mark.parametrize("reader", ["plan", "check", "edge_list"])
def test_fifo_is_refused_without_opening_it(tmp_path: Path, reader: str) -> None:
    fifo = tmp_path / "input.yaml"
    os.mkfifo(fifo)
    if reader == "plan":
        err = within(10, lambda: load_plan(fifo))
        assert isinstance(err, ss.PlanError)
        assert "not a regular file" in str(err)
    elif reader == "check":
        err = within(10, lambda: load_check_file(fifo))
        assert isinstance(err, ScenarioError)
        assert "not a regular file" in str(err)
    else:
        sc = ss.Scenario.load(BASELINE).set_many({"population.users": 100, "graph.edge_list": str(fifo)})
        err = within(10, lambda: sc.spec)
        assert isinstance(err, ScenarioError)
        assert "is a FIFO, not a regular file" in str(err)


def test_scenario_hash_follows_edge_list_content_not_path(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("0 1\n1 2\n")
    b.write_text("0 1\n1 2\n")
    base = ss.Scenario.load(BASELINE).set("population.users", 100)
    ha = base.set("graph.edge_list", str(a)).hash
    hb = base.set("graph.edge_list", str(b)).hash
    assert ha == hb  # same content, other path
    a.write_text("0 1\n1 3\n")
    assert base.set("graph.edge_list", str(a)).hash != ha  # edited: never resumed as the old file


def test_edited_edge_list_is_not_resumed(tmp_path: Path) -> None:
    edges = tmp_path / "edges.txt"
    edges.write_text("".join(f"{i} {i + 1}\n" for i in range(150)))
    sc = ss.Scenario.load(BASELINE).set_many(
        {"population.users": 200, "horizon_days": 10, "graph.edge_list": str(edges)}
    )
    out = tmp_path / "out"
    ss.replicate(sc, n=2, out=out, progress=False)
    edges.write_text("".join(f"{i} {i + 2}\n" for i in range(150)))
    again = ss.replicate(ss.Scenario.load(BASELINE).set_many(
        {"population.users": 200, "horizon_days": 10, "graph.edge_list": str(edges)}
    ), n=2, out=out, progress=False)  # fmt: skip
    assert again.loaded_runs == 0


def test_validate_agrees_with_check_on_check_files(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text(f"extends: {BASELINE}\nexpect:\n  - metric: minors_contacted\n    relation: '=<'\n")
    assert cli.main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:4:15: expect[0].relation: relation must be one of" in err
    with pytest.raises(ScenarioError, match="relation must be one of"):
        load_check_file(bad)


def test_non_utf8_file_in_a_checked_folder_is_reported_not_a_traceback(tmp_path: Path) -> None:
    f = tmp_path / "x.yaml"
    f.write_bytes(b"expect:\n  - metric: \xff\n")
    assert has_expect_block(f)
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_check_file(f)


def test_deeply_nested_yaml_is_one_line_in_validate(tmp_path: Path, capsys) -> None:
    f = tmp_path / "deep.yaml"
    f.write_text("scenario: baseline\ngrid:\n  x: " + "[" * 20000 + "]" * 20000 + "\n")
    assert cli.main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "nested too deeply" in err
    assert len(err) < 500


def test_printable_escapes_terminal_control() -> None:
    assert printable("a\x1b[2Jb\x07\u202e") == "'a\\x1b[2Jb\\x07\\u202e'"
    assert str(ScenarioError("x\x1b[31m\ny")) == "x\\x1b[31m y"


def test_scenario_hash_follows_extends_parents_and_bundles_by_content(tmp_path: Path) -> None:
    """An edited `extends:` parent or policy bundle at the same path changes the hash; the
    same parent content at another path does not."""
    for folder in ("a", "b"):
        (tmp_path / folder / "policies").mkdir(parents=True)
        (tmp_path / folder / "parent.yaml").write_text(
            f"extends: {BASELINE}\npopulation: {{users: 1000}}\nhorizon_days: 20\n"
        )
        (tmp_path / folder / "policies" / "mine.yaml").write_text(
            "bundle: mine\ntitle: a test bundle\nplatform:\n  controls: {dm_policy: {under_16: connected_only}}\n"
        )
        (tmp_path / folder / "child.yaml").write_text("extends: parent.yaml\npolicies: [mine]\n")
    a, b = tmp_path / "a", tmp_path / "b"
    first = ss.Scenario.load(a / "child.yaml").hash
    assert ss.Scenario.load(b / "child.yaml").hash == first  # same content elsewhere: same hash
    (a / "parent.yaml").write_text(f"extends: {BASELINE}\npopulation: {{users: 1001}}\nhorizon_days: 20\n")
    assert ss.Scenario.load(a / "child.yaml").hash != first
    (b / "policies" / "mine.yaml").write_text(
        "bundle: mine\ntitle: a test bundle\nplatform:\n  controls: {dm_policy: {under_16: disabled}}\n"
    )
    assert ss.Scenario.load(b / "child.yaml").hash != first


def test_a_name_too_long_for_the_system_is_a_missing_scenario(tmp_path: Path) -> None:
    """Found by the reader fuzzer: a 400-character reference name raised OSError (ENAMETOOLONG)."""
    import yaml

    from safesim.plans import check_file

    p = tmp_path / "exp.yaml"
    p.write_text(
        yaml.safe_dump(
            {
                "extends": str(Path(ss.scenarios_dir()) / "baseline.yaml"),
                "expect": [{"metric": "minors_contacted", "reference": "x" * 400, "relation": "<=", "threshold": 5}],
            }
        )
    )
    with pytest.raises(ss.errors.InputError, match=r"expect\[0\]\.reference: no such scenario") as err:
        check_file(str(p))
    assert "\n" not in str(err.value)
