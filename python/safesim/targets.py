"""Targets as data: published figures in ``scenarios/targets/*.yaml``, read, checked and compared.

A targets file holds one evidence set::

    targets:
      - name: minors_solicited_past_year          # unique in the file
        value: 0.13                                # or  range: [0.09, 0.19]
        sd: 0.02                                   # optional: the target's own uncertainty
        source: "Mitchell, Jones, Finkelhor, Wolak 2013 (YISS-3)"
        population: "US internet users 10-17"
        year: 2010
        metric: "minors_solicited / minors"        # + - * / ( ) numbers and metric names
        scope: ecosystem                           # or  {platform: NAME}  or  {operator: NAME}
        group: {age_band: "13-15"}                 # optional
        window: [0, 364]                           # optional, days of the run (no warm-up yet)
        relative_to: {timeline: []}                # optional: paired relative change against a variant
        mapping: "how the survey's figure maps to the model's measure"
        used_for: fit                              # optional: fit | compare (default compare)
        discrepancy_sd: 0.005                      # optional: model discrepancy, for history matching

:func:`load_targets` reads it with :func:`safesim.readers.read_yaml` (one
``FILE:LINE:COL: KEY.PATH: message`` line per mistake, the closest name for a
misspelt key or metric). ``metric`` is an arithmetic expression parsed by a
small recursive-descent parser (:func:`parse_expression`), never evaluated as
Python. :func:`check_targets` runs a scenario (and each ``relative_to``
variant on the same seeds), computes each target's measure per run, its mean
and 95% t-interval, and gives a verdict: ``within`` (the target's interval and
the model's overlap), ``x2`` (model mean / target between 0.5 and 2) or
``off``. Verdicts are information, not a test.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from safesim import _core
from safesim.api import PathLike, RunOptions, as_scenario, check_n, common_seeds, execute_summaries
from safesim.errors import PlanError, printable
from safesim.io import json_number, write_frame, write_json
from safesim.readers import Located, did_you_mean, read_yaml, type_name
from safesim.results import ECOSYSTEM, Table, metric_names, paired_differences
from safesim.scenario import Scenario, resolve_scenario_path, yaml_scalar
from safesim.store import holds_out_folder

__all__ = [
    "POPULATION_METRICS",
    "TARGET_KEYS",
    "VERDICTS",
    "Expression",
    "ExpressionError",
    "TargetCheck",
    "TargetSet",
    "TargetSpec",
    "check_targets",
    "load_targets",
    "parse_expression",
    "verdict",
]

#: Keys a target may have (``used_for`` and ``discrepancy_sd`` extend the issue's format).
TARGET_KEYS = (
    "name",
    "value",
    "range",
    "sd",
    "source",
    "population",
    "year",
    "metric",
    "scope",
    "group",
    "window",
    "relative_to",
    "mapping",
    "used_for",
    "discrepancy_sd",
)
REQUIRED_KEYS = ("name", "metric", "source")
#: What a target was used for: fitted (calibration) or only compared (validation).
USED_FOR = ("fit", "compare")
#: Population counts, engine metrics of kind level (see ``safesim metrics``).
POPULATION_METRICS = ("users", "minors", "adults")
#: Group keys a target may name; no engine result is broken down by them yet.
GROUP_KEYS = ("age_band",)
#: The verdicts, best first.
VERDICTS = ("within", "x2", "off")
#: A target's ``sd`` is read as a normal sd: its 95% interval is value +- Z sd.
Z95 = 1.959963984540054
#: The longest expression and the deepest nesting accepted.
MAX_EXPRESSION_CHARS = 2000
MAX_EXPRESSION_DEPTH = 64
MAX_TARGETS = 10_000


# ================================================================== expressions
class ExpressionError(ValueError):
    """A bad expression: ``message`` and the 1-based ``column`` in the expression (0: none)."""

    def __init__(self, message: str, column: int = 0) -> None:
        super().__init__(f"{message} (at character {column})" if column else message)
        self.message = message
        self.column = column


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "name", "op", "(", ")", "end"
    text: str
    column: int  # 1-based


_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in " \t":
            i += 1
            continue
        if ch in "+-*/":
            out.append(_Token("op", ch, i + 1))
            i += 1
            continue
        if ch in "()":
            out.append(_Token(ch, ch, i + 1))
            i += 1
            continue
        m = _NUMBER.match(text, i)
        if m:
            end = m.end()
            if end < len(text) and (text[end].isalpha() or text[end] == "_"):
                raise ExpressionError(f"a number runs into a name: {printable(text[i : end + 1])}", i + 1)
            out.append(_Token("num", m.group(), i + 1))
            i = end
            continue
        m = _NAME.match(text, i)
        if m:
            out.append(_Token("name", m.group(), i + 1))
            i = m.end()
            continue
        shown = '"\'"' if ch == "'" else printable(ch)
        raise ExpressionError(
            f"unexpected character {shown}: an expression has metric names, numbers, + - * / and parentheses only",
            i + 1,
        )
    out.append(_Token("end", "", len(text) + 1))
    return out


class Expression:
    """A parsed expression: a tree of numbers, metric names, unary minus and + - * /.

    ``str()`` gives canonical text that parses back to an equal tree;
    :meth:`evaluate` computes it over NumPy arrays (a division by zero gives
    NaN); :meth:`names` lists the metrics it reads.
    """

    __slots__ = ()
    precedence = 9

    def names(self) -> list[str]:
        """Return the metric names the expression reads, in order of first appearance."""
        out: list[str] = []
        self._names(out)
        return out

    def _names(self, out: list[str]) -> None:
        return None

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """Compute the expression with ``values`` (metric name -> number or array); a division by zero is NaN."""
        raise NotImplementedError


@dataclass(frozen=True)
class Number(Expression):
    value: float
    precedence = 9

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        return self.value

    def __str__(self) -> str:
        v = self.value
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)


@dataclass(frozen=True)
class Name(Expression):
    name: str
    precedence = 9

    def _names(self, out: list[str]) -> None:
        if self.name not in out:
            out.append(self.name)

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        return values[self.name]

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Negative(Expression):
    operand: Expression
    precedence = 3

    def _names(self, out: list[str]) -> None:
        self.operand._names(out)

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        return -np.asarray(self.operand.evaluate(values), dtype=np.float64)

    def __str__(self) -> str:
        inner = str(self.operand)
        return f"-({inner})" if self.operand.precedence < 3 else f"-{inner}"


@dataclass(frozen=True)
class Binary(Expression):
    op: str
    left: Expression
    right: Expression

    @property
    def precedence(self) -> int:  # type: ignore[override]
        return 1 if self.op in "+-" else 2

    def _names(self, out: list[str]) -> None:
        self.left._names(out)
        self.right._names(out)

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        a = np.asarray(self.left.evaluate(values), dtype=np.float64)
        b = np.asarray(self.right.evaluate(values), dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if self.op == "+":
                return a + b
            if self.op == "-":
                return a - b
            if self.op == "*":
                return a * b
            return np.where(b != 0, a / np.where(b != 0, b, 1.0), np.nan)

    def __str__(self) -> str:
        p = self.precedence
        left = str(self.left)
        if self.left.precedence < p:
            left = f"({left})"
        right = str(self.right)
        # Left-associative: a right operand of the same precedence keeps its parentheses.
        if self.right.precedence <= p:
            right = f"({right})"
        return f"{left} {self.op} {right}"


class _Parser:
    """A recursive-descent parser of target expressions.

    Grammar: expr := term (('+'|'-') term)* ; term := unary (('*'|'/') unary)* ;
    unary := '-' unary | '+' unary | atom ; atom := number | name | '(' expr ')'.
    """

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def enter(self, tok: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_EXPRESSION_DEPTH:
            raise ExpressionError(f"nested more than {MAX_EXPRESSION_DEPTH} levels deep", tok.column)

    def parse(self) -> Expression:
        tree = self.expr()
        tok = self.peek()
        if tok.kind != "end":
            if tok.kind == "(":
                raise ExpressionError("expected an operator before '(' (there are no function calls)", tok.column)
            raise ExpressionError(f"expected an operator or the end, got {printable(tok.text)}", tok.column)
        return tree

    def expr(self) -> Expression:
        left = self.term()
        while self.peek().kind == "op" and self.peek().text in "+-":
            op = self.take().text
            left = Binary(op, left, self.term())
        return left

    def term(self) -> Expression:
        left = self.unary()
        while self.peek().kind == "op" and self.peek().text in "*/":
            op = self.take().text
            left = Binary(op, left, self.unary())
        return left

    def unary(self) -> Expression:
        tok = self.peek()
        if tok.kind == "op" and tok.text in "+-":
            self.take()
            self.enter(tok)
            inner = self.unary()
            self.depth -= 1
            return Negative(inner) if tok.text == "-" else inner
        return self.atom()

    def atom(self) -> Expression:
        tok = self.take()
        if tok.kind == "num":
            value = float(tok.text)
            if not math.isfinite(value):
                raise ExpressionError(f"number {tok.text} is out of range", tok.column)
            return Number(value)
        if tok.kind == "name":
            return Name(tok.text)
        if tok.kind == "(":
            self.enter(tok)
            inner = self.expr()
            self.depth -= 1
            close = self.take()
            if close.kind != ")":
                raise ExpressionError(f"expected ')' to close the '(' at character {tok.column}", close.column)
            return inner
        if tok.kind == "end":
            raise ExpressionError("the expression ends where a metric name or number was expected", tok.column)
        raise ExpressionError(f"expected a metric name, a number or '(', got {printable(tok.text)}", tok.column)


def parse_expression(text: str) -> Expression:
    """Parse ``text`` (metric names, numbers, + - * / and parentheses) into an :class:`Expression`.

    Nothing is evaluated: any other character, a call, an attribute or a
    string is an :class:`ExpressionError` with the column.

    >>> str(parse_expression("minors_solicited/minors*(1+0)"))
    'minors_solicited / minors * (1 + 0)'
    >>> parse_expression("__import__('os')")
    Traceback (most recent call last):
    ...
    safesim.targets.ExpressionError: unexpected character "'": an expression has ... (at character 12)
    """
    if not isinstance(text, str):
        raise ExpressionError(f"expected an expression as text, got {type_name(text)}")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"{len(text):,} characters, more than an expression may have ({MAX_EXPRESSION_CHARS:,})")
    if not text.strip():
        raise ExpressionError("empty expression")
    return _Parser(text).parse()


# ================================================================== targets
@dataclass(frozen=True)
class Scope:
    """Where a target is measured: the ecosystem, a platform or an operator."""

    kind: str  # "ecosystem", "platform" or "operator"
    name: str = ""

    def __str__(self) -> str:
        return ECOSYSTEM if self.kind == "ecosystem" else f"{self.kind}:{self.name}"


@dataclass(frozen=True)
class TargetSpec:
    """One published figure and the model measure it is compared with (one entry of a targets file)."""

    name: str
    metric: str
    source: str
    value: float | None = None
    range: tuple[float, float] | None = None
    sd: float | None = None
    population: str = ""
    year: int | None = None
    scope: Scope = field(default_factory=lambda: Scope("ecosystem"))
    group: dict[str, str] | None = None
    window: tuple[int, int] | None = None
    relative_to: Any = None  # {key.path: value} or a scenario path
    mapping: str = ""
    used_for: str = "compare"
    discrepancy_sd: float = 0.0
    #: where the target was read: (file, index in the file's list); for error messages
    origin: tuple[str, int] | None = field(default=None, compare=False, repr=False)
    located: Located | None = field(default=None, compare=False, repr=False)

    @cached_property
    def expression(self) -> Expression:
        """The parsed ``metric`` expression."""
        return parse_expression(self.metric)

    @property
    def low(self) -> float:
        """The low end of the target's interval: range, or value - 1.96 sd, or value."""
        if self.range is not None:
            return self.range[0]
        assert self.value is not None
        return self.value - Z95 * (self.sd or 0.0)

    @property
    def high(self) -> float:
        """The high end of the target's interval: range, or value + 1.96 sd, or value."""
        if self.range is not None:
            return self.range[1]
        assert self.value is not None
        return self.value + Z95 * (self.sd or 0.0)

    @property
    def central(self) -> float:
        """The figure a ratio is taken against: value, or the range's midpoint."""
        if self.value is not None:
            return self.value
        assert self.range is not None
        return (self.range[0] + self.range[1]) / 2.0

    @property
    def target_sd(self) -> float:
        """The target's sd: ``sd``, else a range read as a 95% interval."""
        if self.sd is not None:
            return float(self.sd)
        if self.range is not None:
            return (self.range[1] - self.range[0]) / (2.0 * Z95)
        return 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return the entry as plain data, as a targets file gives it (optional keys only when set)."""
        out: dict[str, Any] = {"name": self.name}
        if self.value is not None:
            out["value"] = self.value
        if self.range is not None:
            out["range"] = list(self.range)
        if self.sd is not None:
            out["sd"] = self.sd
        out.update(source=self.source, metric=self.metric, scope=str(self.scope))
        for key in ("population", "year", "group", "relative_to", "mapping"):
            v = getattr(self, key)
            if v not in (None, ""):
                out[key] = v
        if self.window is not None:
            out["window"] = list(self.window)
        out["used_for"] = self.used_for
        if self.discrepancy_sd:
            out["discrepancy_sd"] = self.discrepancy_sd
        return out


class TargetSet:
    """The targets of one file (or given in code), with where each was read for error messages."""

    def __init__(self, targets: Sequence[TargetSpec], path: Path | None = None, located: Located | None = None):
        self.targets = list(targets)
        self.path = path
        self.located = located

    def __iter__(self):
        return iter(self.targets)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int) -> TargetSpec:
        return self.targets[i]

    @property
    def names(self) -> list[str]:
        """The targets' names, in file order."""
        return [t.name for t in self.targets]

    def fitted(self) -> list[TargetSpec]:
        """Return the targets marked ``used_for: fit`` (calibration uses them)."""
        return [t for t in self.targets if t.used_for == "fit"]

    def compared(self) -> list[TargetSpec]:
        """Return the targets marked ``used_for: compare`` (compared only, never fitted)."""
        return [t for t in self.targets if t.used_for == "compare"]

    def error(self, index: int, key: str, message: str) -> Exception:
        """Return an error about ``targets[index].key``: with file, line and column when read from a file."""
        key_path = f"targets[{index}]" + (f".{key}" if key else "")
        if self.located is not None:
            return self.located.error(key_path, message)
        return ValueError(f"{key_path}: {message}")

    def __repr__(self) -> str:
        where = f" from {self.path}" if self.path else ""
        return f"<TargetSet {len(self)} target(s){where}: {len(self.fitted())} fit, {len(self.compared())} compare>"


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(float(x))


def _read_target(loc: Located, i: int, raw: Any, known_metrics: Sequence[str]) -> TargetSpec:
    base = f"targets[{i}]"

    def fail(key: str, message: str) -> Exception:
        return loc.error(f"{base}.{key}" if key else base, message)

    if not isinstance(raw, dict):
        raise fail("", f"expected a mapping (name, value or range, metric, source, ...), got {type_name(raw)}")
    for key in raw:
        if key not in TARGET_KEYS:
            raise fail(str(key), f"unknown key{did_you_mean(key, TARGET_KEYS)}; a target has {', '.join(TARGET_KEYS)}")
    for key in REQUIRED_KEYS:
        if key not in raw:
            raise fail("", f"missing '{key}'")
    name = raw["name"]
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}", name):
        raise fail("name", f"expected a name of letters, digits, _ . - (at most 100), got {type_name(name)}")
    for key in ("source", "population", "mapping"):
        v = raw.get(key, "")
        if not isinstance(v, str) or (key == "source" and not v.strip()):
            raise fail(key, f"expected text, got {type_name(v)}")
    # value | range, sd
    if ("value" in raw) == ("range" in raw):
        raise fail("", "give 'value' or 'range', not both" if "value" in raw else "missing 'value' (or 'range')")
    value = rng = None
    if "value" in raw:
        value = raw["value"]
        if not _finite(value):
            raise fail("value", f"expected a finite number, got {type_name(value)}")
        value = float(value)
    else:
        r = raw["range"]
        if not isinstance(r, list) or len(r) != 2 or not all(_finite(x) for x in r):
            raise fail("range", f"expected [low, high] (two finite numbers), got {type_name(r)}")
        if float(r[0]) > float(r[1]):
            raise fail("range", f"low {r[0]} is above high {r[1]}")
        rng = (float(r[0]), float(r[1]))
    sd = raw.get("sd")
    if sd is not None and (not _finite(sd) or float(sd) < 0):
        raise fail("sd", f"expected a finite number >= 0, got {type_name(sd)}")
    disc = raw.get("discrepancy_sd", 0.0)
    if not _finite(disc) or float(disc) < 0:
        raise fail("discrepancy_sd", f"expected a finite number >= 0, got {type_name(disc)}")
    year = raw.get("year")
    if year is not None and (not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= 2100):
        raise fail("year", f"expected a year (1900-2100), got {type_name(year)}")
    # metric
    text = raw["metric"]
    if not isinstance(text, str):
        raise fail("metric", f"expected an expression as text, got {type_name(text)}")
    try:
        expr = parse_expression(text)
    except ExpressionError as err:
        raise fail("metric", f"{err} in {printable(text, 80)}") from None
    names = expr.names()
    if not names:
        raise fail("metric", f"{printable(text, 80)} reads no metric")
    for n in names:
        if n not in known_metrics:
            raise fail("metric", f"unknown metric {n!r}{did_you_mean(n, known_metrics)} (see `safesim metrics`)")
    # scope
    scope = _read_scope(raw.get("scope", ECOSYSTEM), lambda m: fail("scope", m))
    # group
    group = raw.get("group")
    if group is not None:
        if not isinstance(group, dict) or not group:
            raise fail("group", f'expected a mapping like {{age_band: "13-15"}}, got {type_name(group)}')
        for k, v in group.items():
            if k not in GROUP_KEYS:
                raise fail(
                    f"group.{k}", f"unknown group key{did_you_mean(k, GROUP_KEYS)} (known: {', '.join(GROUP_KEYS)})"
                )
            if k == "age_band":
                m = re.fullmatch(r"\s*(\d{1,2})\s*-\s*(\d{1,2})\s*", str(v))
                if not m or int(m.group(1)) > int(m.group(2)):
                    raise fail("group.age_band", f'expected ages like "13-15", got {type_name(v)}')
        group = {str(k): str(v) for k, v in group.items()}
    # window
    window = raw.get("window")
    if window is not None:
        if (
            not isinstance(window, list)
            or len(window) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in window)
        ):
            raise fail("window", f"expected [first, last] day (two whole numbers), got {type_name(window)}")
        if window[0] < 0 or window[1] < window[0]:
            raise fail("window", f"expected 0 <= first <= last, got [{window[0]}, {window[1]}]")
        window = (int(window[0]), int(window[1]))
    # relative_to
    rel = raw.get("relative_to")
    if rel is not None:
        if isinstance(rel, str):
            if not rel.strip():
                raise fail("relative_to", "expected a scenario path or a mapping of key overrides, got empty text")
        elif isinstance(rel, dict):
            if not rel:
                raise fail("relative_to", "an empty mapping changes nothing: give key overrides or a scenario path")
            for k in rel:
                if not isinstance(k, str) or not k.strip():
                    raise fail("relative_to", f"expected key paths as keys, got {type_name(k)}")
        else:
            raise fail("relative_to", f"expected a scenario path or a mapping of key overrides, got {type_name(rel)}")
    used_for = raw.get("used_for", "compare")
    if used_for not in USED_FOR:
        raise fail("used_for", f"expected fit or compare, got {type_name(used_for)}{did_you_mean(used_for, USED_FOR)}")
    return TargetSpec(
        name=name,
        metric=text,
        source=raw["source"],
        value=value,
        range=rng,
        sd=None if sd is None else float(sd),
        population=raw.get("population", ""),
        year=year,
        scope=scope,
        group=group,
        window=window,
        relative_to=rel,
        mapping=raw.get("mapping", ""),
        used_for=used_for,
        discrepancy_sd=float(disc),
        origin=(str(loc.path), i),
        located=loc if loc.positions else None,
    )


def _read_scope(raw: Any, fail: Any) -> Scope:
    kinds = ("platform", "operator")
    if raw == ECOSYSTEM:
        return Scope("ecosystem")
    if isinstance(raw, str):
        kind, sep, name = raw.partition(":")
        if not sep:
            raise fail(
                f"expected ecosystem, {{platform: NAME}} or {{operator: NAME}}, got {printable(raw, 60)}"
                f"{did_you_mean(raw, [ECOSYSTEM])}"
            )
        raw = {kind.strip(): name.strip()}
    if not isinstance(raw, dict) or len(raw) != 1:
        raise fail(f"expected ecosystem, {{platform: NAME}} or {{operator: NAME}}, got {type_name(raw)}")
    ((kind, name),) = raw.items()
    if kind not in kinds:
        raise fail(
            f"unknown scope kind {printable(kind, 40)}{did_you_mean(kind, kinds)} (ecosystem, platform, operator)"
        )
    if not isinstance(name, str) or not name.strip():
        raise fail(f"expected a {kind} name, got {type_name(name)}")
    return Scope(kind, name.strip())


def load_targets(path: PathLike) -> TargetSet:
    """Read and check a targets file: a :class:`TargetSet`, or one :class:`PlanError` line for the first mistake.

    The line is ``FILE:LINE:COL: targets[i].key: message``.

    Checks what needs no scenario: keys, types, value or range, the expression
    (syntax, known metrics), scope form, group, window, relative_to form,
    unique names. :func:`check_targets` checks the rest against the scenario.
    """
    loc = read_yaml(path, PlanError, "targets file")
    doc = loc.data
    if not isinstance(doc, dict):
        raise loc.error("", f"expected a mapping with a 'targets:' list, got {type_name(doc)}")
    for key in doc:
        if key != "targets":
            raise loc.error(
                str(key), f"unknown top-level key{did_you_mean(key, ['targets'])}; a targets file has 'targets:'"
            )
    if "targets" not in doc:
        raise loc.error("", "missing 'targets:' (a list of targets)")
    raw = doc["targets"]
    if not isinstance(raw, list) or not raw:
        raise loc.error("targets", f"expected a list of targets, got {type_name(raw)}")
    if len(raw) > MAX_TARGETS:
        raise loc.error("targets", f"{len(raw):,} targets, more than a file may hold ({MAX_TARGETS:,})")
    known = metric_names()
    out: list[TargetSpec] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw):
        t = _read_target(loc, i, item, known)
        if t.name in seen:
            raise loc.error(f"targets[{i}].name", f"name {t.name!r} given twice (first at targets[{seen[t.name]}])")
        seen[t.name] = i
        out.append(t)
    return TargetSet(out, loc.path, loc)


def as_target_set(targets: TargetSet | PathLike | Sequence[TargetSpec | Mapping[str, Any]]) -> TargetSet:
    """Return a TargetSet from a set, a file, or a list of TargetSpecs or dicts (checked as a file would be)."""
    if isinstance(targets, TargetSet):
        return targets
    if isinstance(targets, (str, os.PathLike)):
        return load_targets(targets)
    items = list(targets)
    if all(isinstance(t, TargetSpec) for t in items):
        names = [t.name for t in items]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"target names must be unique: {', '.join(dupes)}")
        return TargetSet(items)
    data = [t.to_dict() if isinstance(t, TargetSpec) else dict(t) for t in items]
    loc = Located(Path("<targets>"), {"targets": data}, {}, PlanError)
    known = metric_names()
    out = [_read_target(loc, i, t, known) for i, t in enumerate(data)]
    return as_target_set(out)


# ================================================================== model values
def verdict(model: tuple[float, float, float], target: tuple[float, float], central: float) -> tuple[float | None, str]:
    """``(ratio, verdict)`` for a model (mean, ci_low, ci_high) against a target (low, high).

    ``within`` if the two intervals overlap (a target value inside the model's
    interval included); else ``x2`` if mean / central is between 0.5 and 2;
    else ``off``. The ratio is None when the target's central figure is 0 or
    the model has no value.

    >>> verdict((0.10, 0.08, 0.12), (0.13, 0.13), 0.13)[1]
    'x2'
    >>> verdict((0.10, 0.08, 0.12), (0.09, 0.19), 0.14)[1]
    'within'
    """
    mean, lo, hi = (float(x) for x in model)
    t_lo, t_hi = float(target[0]), float(target[1])
    if not math.isfinite(mean):
        return None, "off"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo = hi = mean
    ratio = mean / central if central != 0 else None
    if t_lo <= hi and lo <= t_hi:
        return ratio, "within"
    if ratio is not None and 0.5 <= ratio <= 2.0:
        return ratio, "x2"
    return ratio, "off"


def _variant(base: Scenario, rel: Any, targets_file: Path | None) -> Scenario:
    """Return the scenario a ``relative_to`` names: ``base`` with key overrides, or a scenario file."""
    if isinstance(rel, str):
        p = Path(rel)
        if not p.is_absolute() and targets_file is not None and (targets_file.parent / p).is_file():
            p = targets_file.parent / p
        return Scenario.load(resolve_scenario_path(p))
    sc = base
    for key, value in rel.items():
        sc = sc.set_yaml(str(key), yaml_scalar(value))
    return sc


def _scope_name(t: TargetSpec) -> str:
    """Return the name of the target's scope among a run's scopes (ecosystem, then platforms)."""
    return ECOSYSTEM if t.scope.kind == "ecosystem" else t.scope.name


def _scope_index(t: TargetSpec, scopes: list[str]) -> int:
    """Return the index of the target's scope in ``scopes`` (a run's: ecosystem, then its platforms)."""
    return scopes.index(_scope_name(t))


def run_values(outputs: Sequence[Mapping[str, Any]], t: TargetSpec, scope: int) -> np.ndarray:
    """Return the target's measure in each run of ``outputs`` (run dicts; NaN where undefined).

    ``scope`` indexes the runs' scopes (ecosystem, then platforms). A windowed
    target reads each run's ``windows`` (a calibration's summary record, see
    :func:`windowed_values`) when the run has them, else its daily array: the
    same numbers either way.
    """
    names = t.expression.names()
    all_names = metric_names()
    cols = [all_names.index(n) for n in names]
    values: dict[str, np.ndarray] = {}
    if t.window is None:
        tot = np.stack([np.asarray(o["totals"], dtype=np.float64)[scope] for o in outputs])
        for n, c in zip(names, cols, strict=True):
            values[n] = tot[:, c]
    else:
        kinds = _metric_kinds()
        first, last = t.window
        for n, c in zip(names, cols, strict=True):
            per_run = []
            for o in outputs:
                if "windows" in o:
                    per_run.append(o["windows"][([ECOSYSTEM, *o["platforms"]][scope], first, last, n)])
                else:
                    per_run.append(_window(np.asarray(o["daily"], dtype=np.float64), scope, first, last, c, kinds[n]))
            values[n] = np.asarray(per_run, dtype=np.float64)
    out = np.asarray(t.expression.evaluate(values), dtype=np.float64)
    return np.broadcast_to(out, (len(outputs),)).copy()


def _metric_kinds() -> dict[str, str]:
    """Each metric's kind (``flow`` or a level) from the engine."""
    return {row[0]: row[1] for row in _core.metrics()}


def _window(daily: np.ndarray, scope: int, first: int, last: int, col: int, kind: str) -> float:
    """One metric over days ``first``..``last`` of one scope: a flow summed, a level averaged."""
    series = daily[scope, first : last + 1, col]
    return float(series.sum() if kind == "flow" else series.mean())


def window_keys(t: TargetSpec, scope: str) -> list[tuple[str, int, int, str]]:
    """Return the windowed values a target reads on ``scope`` (a scope name): (scope, first, last, metric) each.

    Empty for a target without a window (it reads the run's totals).
    """
    if t.window is None:
        return []
    first, last = t.window
    return [(scope, int(first), int(last), n) for n in t.expression.names()]


def window_needs(targets: Iterable[tuple[TargetSpec, str]]) -> list[tuple[str, int, int, str]]:
    """Return the windowed values some targets read, each given with its scope's name: sorted, no repeats.

    What a job judged by targets (a calibration, :func:`check_targets`) keeps of each run's daily array, in
    the run's summary (:func:`safesim.api.execute_summaries`); targets without a window read the run's totals.
    """
    keys: set[tuple[str, int, int, str]] = set()
    for t, scope in targets:
        keys.update(window_keys(t, scope))
    return sorted(keys)


def windowed_values(
    output: Mapping[str, Any], keys: Iterable[tuple[str, int, int, str]]
) -> dict[tuple[str, int, int, str], float]:
    """Return the windowed value of each key in one run, from its daily array (what :func:`run_values` reads).

    A key is (scope name, first day, last day, metric): a flow metric summed over the window, a level averaged.
    A calibration and :func:`check_targets` compute these as each run finishes and keep them in the run's
    summary (and, with an output folder, its summary record) instead of its daily array.
    """
    keys = list(keys)
    if not keys:
        return {}
    daily = np.asarray(output["daily"], dtype=np.float64)
    scopes = [ECOSYSTEM, *output["platforms"]]
    kinds = _metric_kinds()
    names = metric_names()
    return {k: _window(daily, scopes.index(k[0]), k[1], k[2], names.index(k[3]), kinds[k[3]]) for k in keys}


def _interval(x: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float, int]:
    """Mean and two-sided t-interval of the finite values (as :func:`safesim.results.summarize`)."""
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(x.mean())
    if n == 1:
        return mean, math.nan, math.nan, 1
    half = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half, n


def paired_relative(
    values: np.ndarray, reference: np.ndarray, confidence: float = 0.95
) -> tuple[float, float, float, int]:
    """Return the relative change of ``values`` against ``reference`` (paired by replicate), as ``ss.compare`` does.

    ``rel_diff`` = mean paired difference / reference mean, its interval the difference's t-interval divided by the
    reference mean.
    """
    reps = np.arange(len(values))
    frame = pd.DataFrame(
        {
            "scenario": ["this"] * len(values) + ["reference"] * len(reference),
            "replicate": np.concatenate([reps, reps]),
            "scope": ECOSYSTEM,
            "metric": "measure",
            "value": np.concatenate([values, reference]).astype(np.float64),
        }
    )
    frame["value"] = frame["value"].where(np.isfinite(frame["value"]))
    eff = paired_differences(frame, "reference", confidence=confidence)
    if eff.empty or int(eff["n"].iloc[0]) == 0:
        return math.nan, math.nan, math.nan, 0
    row = eff.iloc[0]
    ref_mean = float(row["ref_mean"])
    if ref_mean == 0 or not math.isfinite(ref_mean):
        return math.nan, math.nan, math.nan, int(row["n"])
    a, b = float(row["diff_ci_low"]) / ref_mean, float(row["diff_ci_high"]) / ref_mean
    return float(row["rel_diff"]), min(a, b), max(a, b), int(row["n"])


class TargetCheck:
    """Each target's model value (mean, 95% interval), the target, the ratio and the verdict."""

    def __init__(self, scenario: Scenario, targets: TargetSet, rows: list[dict[str, Any]], seeds: list[int]):
        self.scenario = scenario
        self.targets = targets
        self.rows = rows
        self.seeds = seeds

    @property
    def reps(self) -> int:
        """Number of replicates run."""
        return len(self.seeds)

    def table(self) -> pd.DataFrame:
        """One row per target: name, used_for, scope, model mean and interval, target low/high, ratio, verdict."""
        return Table(pd.DataFrame(self.rows))

    def counts(self) -> dict[str, int]:
        """Return the number of targets with each verdict."""
        return {v: sum(r["verdict"] == v for r in self.rows) for v in VERDICTS}

    def to_json_dict(self) -> dict[str, Any]:
        """``{"scenario", "scenario_hash", "seed", "reps", "version", "targets": [...]}`` (the CLI's ``--json``)."""
        return {
            "scenario": self.scenario.name,
            "scenario_hash": self.scenario.hash,
            "seed": self.seeds[0],
            "reps": self.reps,
            "version": _core.version,
            "targets": [
                {
                    "name": r["name"],
                    "model": {
                        "mean": json_number(r["model_mean"]),
                        "ci_low": json_number(r["model_ci_low"]),
                        "ci_high": json_number(r["model_ci_high"]),
                    },
                    "target": {"low": json_number(r["target_low"]), "high": json_number(r["target_high"])},
                    "ratio": json_number(r["ratio"]),
                    "verdict": r["verdict"],
                }
                for r in self.rows
            ],
        }

    def save(self, out_dir: PathLike) -> list[Path]:
        """Write targets.csv (the table) and targets.json (:meth:`to_json_dict`, last) to ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        return [
            write_frame(self.table(), out / "targets.csv", csv=True),
            write_json(out / "targets.json", self.to_json_dict()),
        ]

    def __repr__(self) -> str:
        c = self.counts()
        return (
            f"<TargetCheck {self.scenario.name!r}: {len(self.rows)} target(s), {self.reps} replicate(s): "
            f"{c['within']} within, {c['x2']} x2, {c['off']} off>"
        )


def _check_against(sc: Scenario, tset: TargetSet) -> None:
    """Check what needs the scenario: scope names, operators, groups, windows within the horizon."""
    platforms = sc.platforms
    horizon = int(sc.to_dict().get("horizon_days", 0)) or None
    for j, t in enumerate(tset):
        i = t.origin[1] if t.origin is not None and tset.located is not None else j  # its index in the file
        if t.scope.kind == "platform" and t.scope.name not in platforms:
            raise tset.error(
                i,
                "scope",
                f"no platform {t.scope.name!r} in scenario {sc.name}{did_you_mean(t.scope.name, platforms)} "
                f"(platforms: {', '.join(platforms)})",
            )
        if t.scope.kind == "operator":
            operators = sc.to_dict().get("operators")
            if not operators:
                raise tset.error(
                    i,
                    "scope",
                    f"operator {t.scope.name!r}: operators not in this scenario ({sc.name} has no operators)",
                )
            raise tset.error(
                i, "scope", f"operator {t.scope.name!r}: the engine does not report per-operator results yet"
            )
        if t.group is not None:
            raise tset.error(
                i,
                "group",
                f"per-group results ({', '.join(t.group)}) are not reported by this engine yet; "
                "measure the whole scope instead",
            )
        if t.window is not None:
            kinds = {row[0]: row[1] for row in _core.metrics()}
            derived = [n for n in t.expression.names() if kinds[n] == "derived"]
            if derived:
                raise tset.error(
                    i,
                    "window",
                    f"derived metric {derived[0]!r} has no value over a window; write it from flows and levels "
                    "(e.g. minors_solicited / minors)",
                )
            if horizon is not None and t.window[1] >= horizon:
                raise tset.error(
                    i,
                    "window",
                    f"last day {t.window[1]} is beyond the run (horizon_days {horizon}: days 0-{horizon - 1})",
                )


@holds_out_folder  # the lock covers the runs and targets.csv / targets.json
def check_targets(
    scenario: Scenario | PathLike,
    targets: TargetSet | PathLike | Sequence[TargetSpec | Mapping[str, Any]],
    n: int = 20,
    seed: int | None = None,
    *,
    options: RunOptions | None = None,
    **run_options: Any,
) -> TargetCheck:
    """Compare ``scenario`` with ``targets`` (a targets file, a :class:`TargetSet` or a list).

    Runs ``n`` replicates on seeds S..S+n-1 (S: ``seed`` or the scenario's),
    and each distinct ``relative_to`` variant on the same seeds. For each
    target: the measure per run (its expression over the scope's run totals,
    or over the window's daily values: flows summed, levels averaged), the mean
    and 95% t-interval, or for ``relative_to`` the paired relative change with
    the interval :func:`safesim.compare` gives; then the ratio to the target and
    the verdict (:func:`verdict`). ``options`` and the run keywords
    (``executor``, ``workers``, ``out``, ``csv``, ``progress``) are as for
    :func:`safesim.replicate`; with ``out`` the runs are kept there and a rerun
    reads them back. Each run is reduced as it finishes to what the targets
    read (its totals and their windowed values,
    :func:`safesim.api.execute_summaries`): the job holds a small record per
    run, not its daily array.

    >>> import safesim as ss
    >>> sc = ss.Scenario.default().set("population.users", 2000).set("horizon_days", 60)
    >>> t = {"name": "solicited", "metric": "minors_solicited / minors", "range": [0.0, 0.1], "source": "doctest"}
    >>> ss.check_targets(sc, [t], n=3).table()["verdict"].tolist()
    ['within']
    """
    opts = RunOptions.of(options, run_options, "check_targets")
    n = check_n(n)
    if n < 2:
        raise ValueError("n must be >= 2 for a 95% interval")
    sc = as_scenario(scenario)
    tset = as_target_set(targets)
    _check_against(sc, tset)
    seeds = common_seeds(sc, seed, n)
    variants: dict[str, Scenario] = {}
    keys: list[str | None] = []
    for i, t in enumerate(tset):
        if t.relative_to is None:
            keys.append(None)
            continue
        key = repr(t.relative_to)
        if key not in variants:
            try:
                variants[key] = _variant(sc, t.relative_to, tset.path)
                variants[key].spec  # noqa: B018  (a bad override is reported here, naming the target)
            except (ValueError, TypeError) as err:
                raise tset.error(i, "relative_to", str(getattr(err, "message", err) or err)) from None
            if t.scope.kind == "platform" and t.scope.name not in variants[key].platforms:
                raise tset.error(i, "relative_to", f"the variant has no platform {t.scope.name!r}")
        keys.append(key)
    arms = [sc, *variants.values()]
    # Each run is reduced, as it finishes, to what the targets read (its totals and their windowed values):
    # the job holds a small record per run, never every run's daily array. With out= the run files are kept
    # too (keep_daily), as for every other job there, with each run's summary record beside them.
    runs = execute_summaries(
        arms,
        seeds,
        opts,
        f"targets {sc.name}",
        window_needs((t, _scope_name(t)) for t in tset),
        keep_daily=opts.out is not None,
    )
    by_key = dict(zip(variants, runs[1:], strict=True))
    rows = []
    scopes = [ECOSYSTEM, *runs[0][0]["platforms"]]
    for t, key in zip(tset, keys, strict=True):
        values = run_values(runs[0], t, _scope_index(t, scopes))
        if key is None:
            mean, lo, hi, used = _interval(values)
        else:
            ref = by_key[key]
            ref_scopes = [ECOSYSTEM, *ref[0]["platforms"]]
            mean, lo, hi, used = paired_relative(values, run_values(ref, t, _scope_index(t, ref_scopes)))
        ratio, v = verdict((mean, lo, hi), (t.low, t.high), t.central)
        rows.append(
            {
                "name": t.name,
                "used_for": t.used_for,
                "scope": str(t.scope),
                "metric": str(t.expression),
                "relative_to": "" if t.relative_to is None else str(t.relative_to),
                "model_mean": mean,
                "model_ci_low": lo,
                "model_ci_high": hi,
                "runs": used,
                "target_low": t.low,
                "target_high": t.high,
                "ratio": math.nan if ratio is None else ratio,
                "verdict": v,
                "source": t.source,
            }
        )
    check = TargetCheck(sc, tset, rows, seeds)
    if opts.out is not None:
        check.save(opts.out)
    return check
