"""Exceptions raised by safesim."""

from __future__ import annotations

import re

__all__ = ["InputError", "PlanError", "ScenarioError", "one_line", "printable"]

#: C0 and C1 control characters, DEL, and the bidirectional overrides that can disguise text.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: object, limit: int = 0) -> str:
    r"""Return ``text`` quoted and safe for a terminal.

    Control characters and ANSI escapes shown as ``\x1b`` and the like, cut to ``limit`` characters (0: no limit).
    """
    s = str(text)
    if limit and len(s) > limit:
        s = s[:limit] + "..."
    body = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), s.replace("\\", "\\\\"))
    return f"'{body}'"


def one_line(text: object) -> str:
    """``text`` as one terminal-safe line: line breaks become spaces, other control characters are escaped."""
    s = " ".join(str(text).splitlines())
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), s)


class InputError(ValueError):
    """An input safesim cannot use, with where it is: one terminal-safe line.

    ``str(err)`` is the text as one line; ``file``, ``line``, ``column`` (1-based,
    0 when unknown), ``key_path`` and ``message`` are attributes, kept across
    pickling (process pools).
    """

    def __init__(
        self,
        text: str,
        file: str = "",
        line: int = 0,
        column: int = 0,
        key_path: str = "",
        message: str | None = None,
    ) -> None:
        super().__init__(text)
        self.file = file
        self.line = line
        self.column = column
        self.key_path = key_path
        self.message = text if message is None else message

    def __str__(self) -> str:
        # Always one line, safe for a terminal: callers print it as is (CLI, logs).
        return one_line(self.args[0])

    def __reduce__(self):  # keep attributes across pickling (process pools)
        return (type(self), (self.args[0], self.file, self.line, self.column, self.key_path, self.message))


class ScenarioError(InputError):
    """A scenario input error: bad file, unknown key, value out of range.

    ``str(err)`` is one line, ``FILE:LINE:COL: KEY.PATH: message``; the parts are
    also attributes. ``line`` and ``column`` are 1-based, 0 when unknown.
    """


class PlanError(InputError):
    """A plan file (sweep, sensitivity, calibration) that cannot be run as written.

    ``str(err)`` is one line, ``FILE: message``: a missing file, bad YAML, an
    unknown or missing key, or a value the analysis refuses. The position and
    key path are attributes as for :class:`ScenarioError` (0 and '' when unknown).
    """
