"""Exceptions raised by safesim."""

from __future__ import annotations

__all__ = ["PlanError", "ScenarioError"]


class ScenarioError(ValueError):
    """A scenario input error: bad file, unknown key, value out of range.

    ``str(err)`` is one line, ``FILE:LINE:COL: KEY.PATH: message``; the parts are
    also attributes. ``line`` and ``column`` are 1-based, 0 when unknown.
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
        # Always one line: callers print it as is (CLI, logs).
        return " ".join(str(self.args[0]).splitlines())

    def __reduce__(self):  # keep attributes across pickling (process pools)
        return (type(self), (self.args[0], self.file, self.line, self.column, self.key_path, self.message))


class PlanError(ValueError):
    """A plan file (sweep, sensitivity, calibration) that cannot be run as written.

    ``str(err)`` is one line, ``FILE: message``: a missing file, bad YAML, an
    unknown or missing key, or a value the analysis refuses.
    """
