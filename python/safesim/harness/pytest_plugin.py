"""pytest plugin: scenario files with an ``expect:`` block become test items.

Registered through the ``pytest11`` entry point, so installing safesim is
enough. It does nothing until told where the check files are, so ordinary
projects are not affected::

    # pyproject.toml
    [tool.pytest.ini_options]
    safesim_checks = ["scenarios/checks"]    # folders, relative to the ini file

or ``pytest --safesim-checks scenarios/checks``. Each expectation is one item,
``FILE::NAME``; FAIL fails it with the report sentence, INCONCLUSIVE skips it
(fails it under ``--safesim-strict``). The folders are collected beside the
normal test paths when pytest runs without path arguments (or with
``--safesim-checks``), and a path argument inside a folder collects it too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

__all__ = ["ExpectationItem", "ScenarioChecksFile"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("safesim", "safesim safety checks")
    group.addoption(
        "--safesim-checks",
        action="append",
        default=[],
        metavar="PATH",
        help="collect scenario files with an expect: block under PATH (repeatable)",
    )
    group.addoption(
        "--safesim-strict",
        action="store_true",
        default=False,
        help="fail (rather than skip) expectations that stay inconclusive at their budget",
    )
    parser.addini("safesim_checks", type="paths", default=[], help="folders of safesim check files (expect: blocks)")


def _folders(config: pytest.Config) -> list[Path]:
    folders = [Path(p).resolve() for p in config.getini("safesim_checks")]
    folders += [Path(p).resolve() for p in config.getoption("safesim_checks")]
    return folders


def _under(path: Path, folders: list[Path]) -> bool:
    path = path.resolve()
    return any(path == f or f in path.parents for f in folders)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_SEEN] = set()


_SEEN = pytest.StashKey[set]()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    config = parent.config
    if file_path.suffix != ".yaml" or not _under(file_path, _folders(config)):
        return None
    from safesim.harness.expectations import has_expect_block

    if not has_expect_block(file_path):
        return None
    config.stash[_SEEN].add(file_path.resolve())
    return ScenarioChecksFile.from_parent(parent, path=file_path)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Add the configured folders' items when pytest did not walk them (default test paths)."""
    explicit = config.getoption("safesim_checks")
    if not explicit and config.args_source != pytest.Config.ArgsSource.TESTPATHS:
        return
    from safesim.harness.expectations import collect_check_files

    seen = config.stash[_SEEN]
    extra: list[pytest.Item] = []
    for folder in _folders(config):
        if not folder.exists():
            continue
        for f in collect_check_files([folder]):
            if f.resolve() in seen:
                continue
            seen.add(f.resolve())
            node = ScenarioChecksFile.from_parent(session, path=f)
            extra += list(node.collect())
    items.extend(extra)


class ExpectationFailed(Exception):
    """An expectation's FAIL (or strict INCONCLUSIVE) verdict."""


class ScenarioChecksFile(pytest.File):
    """A check file: its expectations share one runner (and its cached replicates)."""

    _runner: Any = None
    _error: Exception | None = None

    def collect(self):  # type: ignore[override]
        """Load the check file and yield one test item per expectation (one failing item if it does not load)."""
        from safesim.errors import ScenarioError
        from safesim.harness.expectations import load_check_file

        try:
            check = load_check_file(self.path)
        except ScenarioError as err:
            self._error = err
            yield ExpectationItem.from_parent(self, name="load", expectation=None)
            return
        from safesim.harness.runner import FileRunner

        self._runner = FileRunner(check, threads=1)
        for e in check.expectations:
            yield ExpectationItem.from_parent(self, name=e.name, expectation=e)


class ExpectationItem(pytest.Item):
    """One expectation of a check file."""

    def __init__(self, *, expectation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.expectation = expectation
        if expectation is not None:
            self.user_properties.append(("metric", expectation.metric))

    def runtest(self) -> None:
        """Run the expectation: fail on FAIL, skip on INCONCLUSIVE (fail in strict mode)."""
        from safesim.harness.sequential import Verdict

        parent: ScenarioChecksFile = self.parent  # type: ignore[assignment]
        if self.expectation is None:
            raise ExpectationFailed(str(parent._error))
        result = parent._runner.run_expectation(self.expectation)
        self.user_properties.append(("verdict", result.verdict.value))
        self.user_properties.append(("replicates", result.replicates))
        if result.verdict is Verdict.FAIL:
            raise ExpectationFailed(f"FAIL {result.message()}")
        if result.verdict is Verdict.INCONCLUSIVE:
            if self.config.getoption("safesim_strict"):
                raise ExpectationFailed(f"INCONCLUSIVE {result.message()}")
            pytest.skip(f"INCONCLUSIVE {result.message()}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """Report a failed expectation as one line with the check file and line, without a traceback."""
        if isinstance(excinfo.value, ExpectationFailed):
            where = f"{self.path}:{self.expectation.line}" if self.expectation else str(self.path)
            return f"{where}: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """Give pytest the check file, the expectation's line and the item's name."""
        line = self.expectation.line - 1 if self.expectation else 0
        return self.path, line, f"safesim check: {self.name}"
