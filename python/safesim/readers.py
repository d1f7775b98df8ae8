"""Reading the YAML files safesim takes besides scenarios (plans, ``expect:`` files, targets).

One clear line per problem, with file, line, column and key path.

:func:`read_yaml` refuses what would hang or crash a plain ``yaml.safe_load``
(a FIFO or folder, a huge file, nesting deep enough to exhaust the stack) and
what it would silently accept (a key given twice), and keeps the position of
every node so later checks can point at the value they refuse
(:meth:`Located.error`). Unknown names get the closest known one
(:func:`did_you_mean`).
"""

from __future__ import annotations

import difflib
import math
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from safesim.errors import PlanError, printable

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "Located", "did_you_mean", "parse_finite", "read_yaml"]

#: The largest plan or expectations file read (bytes).
MAX_FILE_BYTES = 16 << 20
#: The deepest nesting of mappings and lists accepted (far beyond any real plan).
MAX_DEPTH = 64

Position = tuple[int, int]


def did_you_mean(name: object, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or ''."""
    found = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {found[0]!r}?)" if found else ""


class Located:
    """A YAML document read from ``path``: ``data`` and the position of each key path."""

    def __init__(self, path: Path, data: Any, positions: dict[str, Position], error_type: type[Exception]) -> None:
        self.path = path
        self.data = data
        self.positions = positions
        self.error_type = error_type

    def position(self, key_path: str) -> Position:
        """(line, column), 1-based, of ``key_path`` or its nearest ancestor that has one; (0, 0) if none."""
        key = key_path
        while True:
            if key in self.positions:
                return self.positions[key]
            if not key:
                return (0, 0)
            cut = max(key.rfind("."), key.rfind("["))
            key = key[:cut] if cut > 0 else ""

    def error(self, key_path: str, message: str) -> Exception:
        """Return an error naming the file, the position of ``key_path`` and the key path."""
        line, column = self.position(key_path)
        where = f"{self.path}:{line}:{column}" if line else str(self.path)
        text = f"{where}: {key_path}: {message}" if key_path else f"{where}: {message}"
        return self.error_type(text, str(self.path), line, column, key_path, message)


def _child(prefix: str, key: object) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


class _Reader:
    def __init__(self, path: Path, error_type: type[Exception]) -> None:
        self.path = path
        self.error_type = error_type
        self.positions: dict[str, Position] = {}
        self.constructor = yaml.constructor.SafeConstructor()

    def fail(self, line: int, column: int, key_path: str, message: str) -> Exception:
        where = f"{self.path}:{line}:{column}" if line else str(self.path)
        text = f"{where}: {key_path}: {message}" if key_path else f"{where}: {message}"
        return self.error_type(text, str(self.path), line, column, key_path, message)

    def build(self, node: yaml.Node, key_path: str, depth: int) -> Any:
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        self.positions.setdefault(key_path, (line, column))
        if not str(node.tag).startswith("tag:yaml.org,2002:") or "python" in str(node.tag):
            raise self.fail(line, column, key_path, f"unsupported YAML tag {printable(node.tag, 60)}")
        if depth > MAX_DEPTH:
            raise self.fail(line, column, key_path, f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, yaml.MappingNode):
            self.constructor.flatten_mapping(node)  # merge keys (<<)
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self.fail(
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                        key_path,
                        "a key must be a plain name, not a list or mapping",
                    )
                key = self.constructor.construct_object(key_node)
                child = _child(key_path, key)
                if key in out:
                    first = self.positions.get(child, (0, 0))[0]
                    raise self.fail(
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                        child,
                        f"key given twice (first at line {first})",
                    )
                self.positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                out[key] = self.build(value_node, child, depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, f"{key_path}[{i}]", depth + 1) for i, item in enumerate(node.value)]
        try:
            return self.constructor.construct_object(node)
        except yaml.YAMLError as err:
            raise self.fail(line, column, key_path, f"bad value: {' '.join(str(err).split())}") from None


def read_yaml(path: str | os.PathLike[str], error_type: type[Exception] = PlanError, what: str = "file") -> Located:
    """Return the YAML document in ``path`` with the position of every key path.

    Refused with one line (``error_type``, default :class:`PlanError`): a
    missing file, a folder, FIFO or device, a file over
    :data:`MAX_FILE_BYTES`, text that is not UTF-8, bad YAML (with its
    position), more than one document, a key given twice, nesting deeper than
    :data:`MAX_DEPTH` and YAML tags of Python objects.
    """
    p = Path(path)
    shown = str(p)

    def fail(message: str, line: int = 0, column: int = 0) -> Exception:
        where = f"{shown}:{line}:{column}" if line else shown
        return error_type(f"{where}: {message}", shown, line, column, "", message)

    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise fail(f"no such {what}") from None
    except OSError as err:
        raise fail(f"cannot read the {what}: {err.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise fail(f"{kind}: expected a YAML {what}")
    if st.st_size > MAX_FILE_BYTES:
        raise fail(f"{st.st_size:,} bytes, more than a {what} may hold ({MAX_FILE_BYTES:,})")
    try:
        raw = p.read_bytes()
    except OSError as err:
        raise fail(f"cannot read the {what}: {err.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        before = raw[: err.start]
        line = before.count(b"\n") + 1
        column = err.start - (before.rfind(b"\n") + 1) + 1
        raise fail("not UTF-8 text", line, column) from None
    reader = _Reader(p, error_type)
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context or "bad YAML"
        if mark is not None:
            raise fail(f"not valid YAML: {problem}", mark.line + 1, mark.column + 1) from None
        raise fail(f"not valid YAML: {problem}") from None
    except yaml.YAMLError as err:
        raise fail(f"not valid YAML: {' '.join(str(err).split())}") from None
    except RecursionError:
        raise fail(f"not valid YAML: nested too deeply (more than {MAX_DEPTH} levels)") from None
    if len(nodes) > 1:
        second = nodes[1]
        raise fail("more than one YAML document (one per file)", second.start_mark.line + 1, 1)
    if not nodes or nodes[0] is None:
        return Located(p, None, {}, error_type)
    try:
        data = reader.build(nodes[0], "", 0)
    except yaml.constructor.ConstructorError as err:
        mark = err.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise fail(f"not valid YAML: {err.problem or 'unsupported value'}", line, column) from None
    except RecursionError:
        raise fail(f"nested more than {MAX_DEPTH} levels deep") from None
    return Located(p, data, reader.positions, error_type)


def parse_finite(text: str, where: str) -> float:
    """Return the finite number written in ``text``; ValueError naming ``where`` otherwise.

    The one check behind every number typed as text (ensemble files, the
    explorer's form fields): not a number, and ``nan`` or ``inf``, are refused.
    """
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}: expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{where}: expected a finite number, got {text!r}")
    return value


def type_name(value: Any) -> str:
    """Return what a YAML value is, for an error message."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value:g})"
    if isinstance(value, str):
        return f"text ({printable(value, 40)})"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if isinstance(value, dict):
        return "a mapping" if value else "an empty mapping"
    return type(value).__name__
