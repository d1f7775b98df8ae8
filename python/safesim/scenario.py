"""Scenarios as immutable values: a source, key overrides and policy bundles.

A :class:`Scenario` is only a recipe; the C++ loader resolves it (``extends``,
policy bundles, overrides, validation) into a ``ScenarioSpec`` on first use.
Every change returns a new Scenario, so one base can feed many comparisons.
"""

from __future__ import annotations

import hashlib
import math
import os
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from safesim import _core
from safesim.errors import ScenarioError

__all__ = ["Scenario", "installed_scenarios", "policy_dirs", "resolve_scenario_path", "scenarios_dir", "yaml_scalar"]


def scenarios_dir() -> Path:
    """The scenarios folder: installed beside the package, else the source checkout's."""
    here = Path(__file__).resolve().parent
    installed = here / "scenarios"
    if installed.is_dir():
        return installed
    return here.parent.parent / "scenarios"  # python/safesim -> repository root


def policy_dirs() -> list[str]:
    """Folders searched for policy bundles after a scenario's own ``policies/``."""
    folder = scenarios_dir() / "policies"
    return [str(folder)] if folder.is_dir() else []


def installed_scenarios() -> list[str]:
    """Names of the scenarios that ship with safesim (usable as bare names)."""
    folder = scenarios_dir()
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def resolve_scenario_path(name_or_path: str | os.PathLike[str]) -> Path:
    """A scenario file path, or the bare name of an installed scenario (``baseline``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    text = str(name_or_path)
    if os.sep not in text and "/" not in text:
        stem = text[:-5] if text.endswith(".yaml") else text
        candidate = scenarios_dir() / f"{stem}.yaml"
        if candidate.is_file():
            return candidate
    known = ", ".join(installed_scenarios()) or "none"
    msg = f"no such scenario file (installed scenarios: {known})"
    raise ScenarioError(f"{text}: {msg}", file=text, key_path="", message=msg)


def yaml_scalar(value: Any) -> str:
    """A Python value as YAML text for the C++ overrides (``True`` -> ``true``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # NumPy scalars
        return yaml_scalar(value.item())
    dumped = yaml.safe_dump(value, default_flow_style=True, width=1 << 30)
    return dumped.removesuffix("\n").removesuffix("\n...").strip()


class Scenario:
    """An immutable scenario recipe; ``.spec`` is the resolved C++ spec."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        text: str | None = None,
        text_name: str = "<text>",
        overrides: tuple[tuple[str, str], ...] = (),
        policies: tuple[str, ...] = (),
    ) -> None:
        if (path is None) == (text is None):
            raise TypeError("give exactly one of path or text")
        self._path = None if path is None else str(path)
        self._text = text
        self._text_name = text_name
        self._overrides = tuple(overrides)
        self._policies = tuple(policies)

    # ------------------------------------------------------------- constructors
    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Scenario:
        """A scenario file, or the bare name of an installed scenario."""
        return cls(resolve_scenario_path(path))

    @classmethod
    def from_text(cls, text: str, name: str = "<text>") -> Scenario:
        """A scenario from YAML text; ``name`` appears in errors and anchors ``extends:``."""
        return cls(text=text, text_name=name)

    @classmethod
    def default(cls) -> Scenario:
        """The installed baseline scenario."""
        return cls.load("baseline")

    # ------------------------------------------------------------- changes (each returns a new Scenario)
    def _replace(self, **changes: Any) -> Scenario:
        fields = {
            "path": self._path,
            "text": self._text,
            "text_name": self._text_name,
            "overrides": self._overrides,
            "policies": self._policies,
        }
        fields.update(changes)
        return Scenario(**fields)

    def set(self, key_path: str, value: Any) -> Scenario:
        """A copy with ``key_path`` (e.g. ``population.users``) set to ``value``."""
        return self.set_yaml(key_path, yaml_scalar(value))

    def set_yaml(self, key_path: str, yaml_text: str) -> Scenario:
        """A copy with ``key_path`` set from YAML text as typed (the CLI's ``--set``)."""
        if not key_path:
            raise ValueError("empty key path")
        return self._replace(overrides=(*self._overrides, (key_path, yaml_text)))

    def with_policy(self, name: str) -> Scenario:
        """A copy with the policy bundle ``name`` applied after the overrides."""
        return self._replace(policies=(*self._policies, name))

    def copy(self) -> Scenario:
        """An equal, independent Scenario."""
        return self._replace()

    # ------------------------------------------------------------- resolved views
    @property
    def overrides(self) -> tuple[tuple[str, str], ...]:
        return self._overrides

    @property
    def policies(self) -> tuple[str, ...]:
        return self._policies

    @property
    def path(self) -> str | None:
        return self._path

    @cached_property
    def spec(self) -> _core.ScenarioSpec:
        """The resolved, validated C++ spec (loaded once, then cached)."""
        overrides = list(self._overrides)
        policies = list(self._policies)
        if self._path is not None:
            return _core.load_scenario(self._path, overrides, policies, policy_dirs())
        assert self._text is not None
        return _core.load_scenario_text(self._text, self._text_name, overrides, policies, policy_dirs())

    def dump(self) -> str:
        """The resolved scenario as YAML (every field, defaults included)."""
        return self._dump

    @cached_property
    def _dump(self) -> str:
        return self.spec.dump()

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as plain Python data."""
        return yaml.safe_load(self._dump)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def seed(self) -> int:
        return int(self.spec.seed)

    @property
    def platforms(self) -> list[str]:
        return list(self.spec.platforms)

    @property
    def hash(self) -> str:
        """SHA-256 of the resolved dump: equal scenarios hash equal, however written.

        Comment lines (the dump's provenance header: source path, bundles
        applied) are left out, so the hash depends on values only, not on
        where the file was installed.
        """
        content = "".join(ln for ln in self._dump.splitlines(keepends=True) if not ln.lstrip().startswith("#"))
        return hashlib.sha256(content.encode("utf-8")).hexdigest()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scenario):
            return NotImplemented
        return (self._path, self._text, self._text_name, self._overrides, self._policies) == (
            other._path,
            other._text,
            other._text_name,
            other._overrides,
            other._policies,
        )

    def __hash__(self) -> int:
        return hash((self._path, self._text, self._text_name, self._overrides, self._policies))

    def __repr__(self) -> str:
        source = self._path if self._path is not None else self._text_name
        extra = "".join(f" {k}={v}" for k, v in self._overrides) + "".join(f" +{p}" for p in self._policies)
        return f"Scenario({source!r}{extra})"
