"""The ``expect:`` block of a scenario file: schema, strict validation, loading.

A check file is an ordinary scenario file (the C++ loader ignores ``expect:``)
plus a list of expectations::

    expect:
      - name: teen defaults cut contact       # optional; default built from the fields
        metric: minors_contacted_per_1k       # a metric (`safesim metrics`) or a named burden of the file (burden:)
        platform: main                        # optional; default the ecosystem
        relation: "<"                         # <, <=, >, >=, within
        reference: small_baseline.yaml        # optional; relative to this file, or an installed name
        difference: relative                  # absolute (default) | relative (needs reference)
        threshold: -0.2                       # default 0
        tolerance: 0.05                       # within only: |value - threshold| <= tolerance
        confidence: 0.95                      # default 0.95
        budget: 100                           # most replicates (default 100)
        batch: 10                             # replicates per look (default 10, >= 5)

Errors are one line, ``FILE:LINE:COL: expect[2].relation: message`` (a
:class:`~safesim.ScenarioError`), with a suggestion for a misspelt key or
metric.
"""

from __future__ import annotations

import difflib
import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from safesim import _core
from safesim.errors import ScenarioError
from safesim.harness.sequential import RELATIONS, Plan, Rule
from safesim.scenario import Scenario, is_file, resolve_scenario_path

__all__ = [
    "CheckFile",
    "Expectation",
    "ExpectationError",
    "collect_check_files",
    "has_expect_block",
    "load_check_file",
]

KEYS = (
    "name",
    "metric",
    "platform",
    "relation",
    "reference",
    "difference",
    "threshold",
    "tolerance",
    "confidence",
    "budget",
    "batch",
)
REQUIRED = ("metric", "relation")
DIFFERENCES = ("absolute", "relative")
DEFAULT_BUDGET = 100
DEFAULT_BATCH = 10
MIN_BATCH = 5
MAX_BUDGET = 100_000


class ExpectationError(ScenarioError):
    """A bad ``expect:`` block, one line: ``FILE:LINE:COL: expect[i].key: message``."""


@dataclass(frozen=True)
class Expectation:
    """One validated expectation of a check file."""

    index: int
    name: str
    metric: str
    relation: str
    platform: str | None = None
    reference: str | None = None  # resolved path (or installed name) of the reference scenario
    reference_label: str | None = None  # as written in the file
    difference: str = "absolute"
    threshold: float = 0.0
    tolerance: float = 0.0
    confidence: float = 0.95
    budget: int = DEFAULT_BUDGET
    batch: int = DEFAULT_BATCH
    line: int = 0
    #: For a named burden of the check file (its ``burden:`` key): (metric, weight) pairs summed per run.
    weights: tuple[tuple[str, float], ...] = ()

    @property
    def plan(self) -> Plan:
        """The sequential plan: replicate budget, batch per look and confidence."""
        return Plan(budget=self.budget, batch=self.batch, confidence=self.confidence)

    @property
    def rule(self) -> Rule:
        """What must hold of the quantity: relation, threshold and tolerance."""
        return Rule(self.relation, self.threshold, self.tolerance)

    @property
    def quantity(self) -> str:
        """What the estimate is, in words (for reports)."""
        scope = f"{self.metric}" + (f" on {self.platform}" if self.platform else "")
        if self.reference is None:
            return f"mean {scope}"
        if self.difference == "relative":
            return f"relative change in {scope} vs {self.reference_label}"
        return f"change in {scope} vs {self.reference_label}"

    @property
    def requirement(self) -> str:
        """The expected relation, e.g. ``< -20% vs base.yaml`` or ``<= 5``."""

        def num(x: float) -> str:
            return f"{x * 100:+g}%" if self.difference == "relative" else f"{x:g}"

        if self.relation == "within":
            text = f"within {num(self.threshold)} ± {num(self.tolerance).lstrip('+')}"
        else:
            text = f"{self.relation} {num(self.threshold)}"
        return text + (f" vs {self.reference_short}" if self.reference else "")

    @property
    def reference_short(self) -> str:
        """The reference's file stem (``small_baseline``) for tables."""
        return Path(self.reference_label or "").stem


@dataclass
class CheckFile:
    """A scenario file with its expectations (``error`` set when it could not be loaded)."""

    path: Path
    scenario: Scenario | None = None
    expectations: list[Expectation] = field(default_factory=list)
    error: ScenarioError | None = None


# ------------------------------------------------------------------ helpers
def _suggest(word: str, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _metric_names() -> list[str]:
    return [row[0] for row in _core.metrics()]


class _Parser:
    """Walks the composed YAML nodes so every error carries a line and column."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.file = str(path)
        self.loader = yaml.SafeLoader(text)

    def error(self, node: yaml.Node | None, key_path: str, message: str) -> ExpectationError:
        line = node.start_mark.line + 1 if node is not None else 0
        col = node.start_mark.column + 1 if node is not None else 0
        where = f"{self.file}:{line}:{col}" if node is not None else self.file
        text = f"{where}: {key_path}: {message}" if key_path else f"{where}: {message}"
        return ExpectationError(text, file=self.file, line=line, column=col, key_path=key_path, message=message)

    def value(self, node: yaml.Node) -> Any:
        return self.loader.construct_object(node, deep=True)

    def root(self) -> yaml.Node | None:
        try:
            return self.loader.get_single_node()
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
            msg = f"invalid YAML: {getattr(err, 'problem', None) or err}"
            raise ExpectationError(
                f"{self.file}:{line}:{col}: {msg}", file=self.file, line=line, column=col, message=msg
            ) from None
        except RecursionError:  # PyYAML composes recursively: refuse instead of a stack trace
            msg = "invalid YAML: nested too deeply"
            raise ExpectationError(f"{self.file}: {msg}", file=self.file, message=msg) from None

    def dispose(self) -> None:
        self.loader.dispose()


def _expect_node(parser: _Parser) -> tuple[yaml.Node | None, yaml.Node | None]:
    """Return the (key, value) nodes of the top-level ``expect`` entry, or (None, None)."""
    root = parser.root()
    if not isinstance(root, yaml.MappingNode):
        return None, None
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "expect":
            return key, value
    return None, None


def has_expect_block(path: str | os.PathLike[str]) -> bool:
    """Whether a YAML file has a top-level ``expect:`` key (cheap; bad YAML counts as True so it is reported)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return False
    except UnicodeDecodeError:
        return True  # reported by load_check_file, with its position
    if "expect" not in text:
        return False
    parser = _Parser(Path(path), text)
    try:
        key, _ = _expect_node(parser)
    except ScenarioError:
        return True
    finally:
        parser.dispose()
    return key is not None


def _number(parser: _Parser, node: yaml.Node, key_path: str, *, integer: bool = False) -> float:
    value = parser.value(node)
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or (isinstance(value, float) and not math.isfinite(value)):
        kind = "a whole number" if integer else "a finite number"
        raise parser.error(node, key_path, f"expected {kind}, got {value!r}")
    return value


def _parse_item(
    parser: _Parser,
    node: yaml.Node,
    index: int,
    platforms: list[str],
    metrics: list[str],
    burdens: dict[str, dict[str, float]] | None = None,
) -> dict[str, Any]:
    burdens = burdens or {}
    base = f"expect[{index}]"
    if not isinstance(node, yaml.MappingNode):
        raise parser.error(node, base, "expected a mapping (metric, relation, ...)")
    fields: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        key = parser.value(key_node)
        if not isinstance(key, str):
            raise parser.error(key_node, base, f"keys must be text, got {key!r}")
        if key not in KEYS:
            raise parser.error(key_node, f"{base}.{key}", f"unknown key '{key}'{_suggest(key, KEYS)}")
        if key in fields:
            raise parser.error(key_node, f"{base}.{key}", f"duplicate key '{key}'")
        fields[key] = (key_node, value_node)
    for key in REQUIRED:
        if key not in fields:
            raise parser.error(node, base, f"missing required key '{key}'")

    out: dict[str, Any] = {"index": index, "line": node.start_mark.line + 1}

    def text(key: str) -> str:
        value = parser.value(fields[key][1])
        if not isinstance(value, str) or not value.strip():
            raise parser.error(fields[key][1], f"{base}.{key}", f"expected text, got {value!r}")
        return value.strip()

    metric = text("metric")
    if metric not in metrics and metric not in burdens:
        raise parser.error(
            fields["metric"][1],
            f"{base}.metric",
            f"unknown metric '{metric}'{' or burden of this file' if burdens else ''}"
            f"{_suggest(metric, [*metrics, *burdens])}",
        )
    out["metric"] = metric
    if metric not in metrics:
        out["weights"] = tuple(burdens[metric].items())
    relation = parser.value(fields["relation"][1])
    if relation not in RELATIONS:
        raise parser.error(
            fields["relation"][1],
            f"{base}.relation",
            f"relation must be one of {', '.join(repr(r) for r in RELATIONS)}, got {relation!r}",
        )
    out["relation"] = relation
    if "platform" in fields:
        platform = text("platform")
        if platform not in platforms:
            raise parser.error(
                fields["platform"][1],
                f"{base}.platform",
                f"no platform '{platform}' in this scenario (platforms: {', '.join(platforms)})"
                f"{_suggest(platform, platforms)}",
            )
        out["platform"] = platform
    if "reference" in fields:
        label = text("reference")
        candidate = parser.path.parent / label
        try:
            resolved = candidate if is_file(candidate) else resolve_scenario_path(label)
        except ScenarioError:
            raise parser.error(
                fields["reference"][1],
                f"{base}.reference",
                f"no such scenario '{label}' (paths are relative to this file, or name an installed scenario)",
            ) from None
        out["reference"] = str(resolved)
        out["reference_label"] = label
    if "difference" in fields:
        diff = parser.value(fields["difference"][1])
        if diff not in DIFFERENCES:
            raise parser.error(
                fields["difference"][1],
                f"{base}.difference",
                f"difference must be 'absolute' or 'relative', got {diff!r}{_suggest(str(diff), DIFFERENCES)}",
            )
        if diff == "relative" and "reference" not in fields:
            raise parser.error(fields["difference"][0], f"{base}.difference", "'relative' needs a reference")
        out["difference"] = diff
    if "threshold" in fields:
        out["threshold"] = float(_number(parser, fields["threshold"][1], f"{base}.threshold"))
    elif "reference" not in fields:
        raise parser.error(node, base, "missing required key 'threshold' (needed without a reference)")
    if relation == "within":
        if "tolerance" not in fields:
            raise parser.error(node, base, "missing required key 'tolerance' (needed for relation 'within')")
        tol = float(_number(parser, fields["tolerance"][1], f"{base}.tolerance"))
        if tol < 0:
            raise parser.error(fields["tolerance"][1], f"{base}.tolerance", f"must be >= 0, got {tol:g}")
        out["tolerance"] = tol
    elif "tolerance" in fields:
        raise parser.error(fields["tolerance"][0], f"{base}.tolerance", "only used with relation 'within'")
    if "confidence" in fields:
        conf = float(_number(parser, fields["confidence"][1], f"{base}.confidence"))
        if not 0.5 <= conf < 1:
            raise parser.error(
                fields["confidence"][1], f"{base}.confidence", f"must be in [0.5, 1), e.g. 0.95; got {conf:g}"
            )
        out["confidence"] = conf
    budget = DEFAULT_BUDGET
    if "budget" in fields:
        budget = int(_number(parser, fields["budget"][1], f"{base}.budget", integer=True))
        if not MIN_BATCH <= budget <= MAX_BUDGET:
            raise parser.error(
                fields["budget"][1], f"{base}.budget", f"must be in [{MIN_BATCH}, {MAX_BUDGET}], got {budget}"
            )
    batch = min(DEFAULT_BATCH, budget)
    if "batch" in fields:
        batch = int(_number(parser, fields["batch"][1], f"{base}.batch", integer=True))
        if not MIN_BATCH <= batch <= budget:
            raise parser.error(
                fields["batch"][1], f"{base}.batch", f"must be in [{MIN_BATCH}, budget={budget}], got {batch}"
            )
    out["budget"], out["batch"] = budget, batch
    out["name"] = text("name") if "name" in fields else ""
    return out


def load_check_file(path: str | os.PathLike[str], *, require_expect: bool = True) -> CheckFile:
    """Load a check file: its scenario (everything but ``expect``) and its validated expectations.

    Raises :class:`~safesim.ScenarioError` (or :class:`ExpectationError`) for a bad file.
    """
    path = Path(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the read below
            msg = "not a regular file"
            raise ScenarioError(f"{path}: {msg}", file=str(path), message=msg)
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        msg = err.strerror or str(err)
        raise ScenarioError(f"{path}: {msg}", file=str(path), message=msg) from None
    except UnicodeDecodeError:
        msg = "not UTF-8 text"
        raise ScenarioError(f"{path}: {msg}", file=str(path), message=msg) from None
    parser = _Parser(path, text)
    try:
        key_node, node = _expect_node(parser)
        if key_node is None or node is None:
            if require_expect:
                msg = "no 'expect:' block (nothing to check)"
                raise ExpectationError(f"{path}: {msg}", file=str(path), message=msg)
            items: list[yaml.Node] = []
        elif isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null"):
            items = []
        elif not isinstance(node, yaml.SequenceNode):
            raise parser.error(node, "expect", "expected a list of expectations")
        else:
            items = list(node.value)
        scenario = Scenario.load(path)
        platforms = scenario.platforms  # loads and validates the scenario itself
        metrics = _metric_names()
        burdens = {name: dict(weights) for name, weights in scenario.spec.burdens}
        parsed = [_parse_item(parser, item, i, platforms, metrics, burdens) for i, item in enumerate(items)]
    finally:
        parser.dispose()
    expectations = []
    names: set[str] = set()
    for fields in parsed:
        exp = Expectation(**fields)
        if not exp.name:
            exp = Expectation(**{**fields, "name": f"{exp.metric} {exp.requirement}"})
        if exp.name in names:
            exp = Expectation(**{**fields, "name": f"{exp.name} [{exp.index}]"})
        names.add(exp.name)
        expectations.append(exp)
    for exp in expectations:  # the reference must load too, and have the platform
        if exp.reference is None:
            continue
        ref = Scenario.load(exp.reference)
        if exp.platform and exp.platform not in ref.platforms:
            msg = f"reference '{exp.reference_label}' has no platform '{exp.platform}'"
            raise ExpectationError(
                f"{path}:{exp.line}:1: expect[{exp.index}].platform: {msg}",
                file=str(path),
                line=exp.line,
                column=1,
                key_path=f"expect[{exp.index}].platform",
                message=msg,
            )
    return CheckFile(path=path, scenario=scenario, expectations=expectations)


def collect_check_files(paths: list[str | os.PathLike[str]]) -> list[Path]:
    """Files to check: each file as given, and every ``*.yaml`` with an ``expect:`` block under each folder."""
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out += [f for f in sorted(path.rglob("*.yaml")) if f.is_file() and has_expect_block(f)]
        else:
            out.append(path)
    seen: set[Path] = set()
    unique = []
    for f in out:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique
