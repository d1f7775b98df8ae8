"""The explorer's form: controls generated from the parameter dictionary, and the checks on what comes back.

Every input is one key of the parameter dictionary (``_core.parameters()``
for kind and bounds, :func:`safesim.report.parameter_info` for unit, default,
meaning and source), grouped as the dictionary groups them; platform keys are
shown once and apply to the platform picked on the page (or to all of them).
What the browser sends back is checked here before the scenario loader sees
it: only known keys, values of the key's kind, no file paths.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from safesim import _core
from safesim.readers import parse_finite
from safesim.report import parameter_info
from safesim.scenario import flatten_keys, scenarios_dir

__all__ = ["Control", "Group", "check_upload", "form_overrides", "groups", "installed_bundles"]

PREFIX = "set:"
#: Keys the run settings own (population and horizon apply to both arms) or the browser may not set.
RUN_KEYS = ("seed", "population.users", "horizon_days")
HIDDEN_KINDS = ("text", "path")
PLATFORM = "platforms.<name>."
#: Groups a designer reaches for first: the platform's controls.
FIRST = ("controls",)


@dataclass(frozen=True)
class Control:
    """One form control of the explorer: a scenario key with its kind, unit, bounds, choices and default."""

    key: str  # dictionary spelling (platforms.<name>.…)
    kind: str
    unit: str
    low: float
    high: float
    choices: tuple[str, ...]
    default: str
    meaning: str
    source: str

    @property
    def label(self) -> str:
        """The control's label: the key's last two parts, in words."""
        tail = self.key.removeprefix(PLATFORM).split(".")
        return " ".join(tail[-2:] if len(tail) > 1 else tail).replace("_", " ")

    @property
    def field(self) -> str:
        """The form field's name (``set:`` and the key)."""
        return PREFIX + self.key

    @property
    def dom_id(self) -> str:
        """The HTML element id: the key with characters an id may not hold replaced."""
        return "c-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.key)

    @property
    def step(self) -> str:
        """The number input's step: 1 for whole numbers, ``any`` otherwise."""
        return "1" if self.kind in ("count", "integer") else "any"

    @property
    def hint(self) -> str:
        """A short hint beside the control: unit and allowed range."""
        parts = [self.unit] if self.unit else []
        if self.kind == "prob":
            parts.append("0 to 1")
        elif math.isfinite(self.low) or math.isfinite(self.high):
            lo = f"{self.low:g}" if math.isfinite(self.low) else "−∞"  # noqa: RUF001
            hi = f"{self.high:g}" if math.isfinite(self.high) else "∞"
            parts.append(f"{lo} to {hi}")
        return ", ".join(parts)

    @property
    def tooltip(self) -> str:
        """The control's tooltip: meaning, default and source, from the parameter dictionary."""
        return f"{self.meaning}. Default {self.default}. Source: {self.source}."


@dataclass(frozen=True)
class Group:
    """A fieldset of the explorer's form: the controls under one key prefix."""

    name: str
    platform: bool
    controls: tuple[Control, ...]

    @property
    def title(self) -> str:
        """The fieldset's title, in words."""
        name = self.name.removeprefix(PLATFORM).removeprefix("platforms.<name>")
        return (name or "platform").replace("controls.", "").replace("_", " ") or "platform"

    @property
    def open(self) -> bool:
        """Whether the fieldset starts open (the direct-message policy does)."""
        return self.name == "platforms.<name>.controls.dm_policy"


@lru_cache(maxsize=1)
def controls() -> dict[str, Control]:
    info = parameter_info()
    out = {}
    for key, kind, unit, lo, hi in _core.parameters():
        if kind in HIDDEN_KINDS or key in RUN_KEYS:
            continue
        if "<" in key.removeprefix(PLATFORM):  # per-operator keys: the explorer's arms have no operators
            continue
        meta = info.get(key, {})
        choices: tuple[str, ...] = ()
        if kind == "choice":
            choices = tuple(re.findall(r"`?([a-z0-9_]+)`?", meta.get("kind", "").partition(":")[2]))
        out[key] = Control(
            key, kind, unit, float(lo), float(hi), choices, meta.get("default", ""), meta.get("meaning", ""),
            meta.get("source", ""),
        )  # fmt: skip
    return out


@lru_cache(maxsize=1)
def groups() -> tuple[Group, ...]:
    """Platform groups first (the controls a designer flips), then the world's."""
    info = parameter_info()
    by: dict[str, list[Control]] = {}
    for key, c in controls().items():
        by.setdefault(info.get(key, {}).get("group", key.rpartition(".")[0]), []).append(c)
    platform = [Group(g, True, tuple(cs)) for g, cs in by.items() if g.startswith("platforms.")]
    world = [Group(g, False, tuple(cs)) for g, cs in by.items() if not g.startswith("platforms.")]
    return tuple(platform + world)


@lru_cache(maxsize=1)
def installed_bundles() -> dict[str, str]:
    """Installed policy bundles: name -> title."""
    folder = scenarios_dir() / "policies"
    out = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        out[path.stem] = str(data.get("title") or path.stem)
    return out


def current_values(resolved: dict[str, Any], platform: str) -> dict[str, Any]:
    """Return the value of each control in a resolved scenario, platform keys from ``platform``."""
    flat = flatten_keys(resolved)
    out = {}
    for key in controls():
        real = key.replace("<name>", platform, 1) if key.startswith(PLATFORM) else key
        if real in flat:
            out[key] = flat[real]
    return out


def value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.12g}"
    return "" if value is None else str(value)


def form_overrides(form: dict[str, str], current: dict[str, Any], platform: str) -> list[tuple[str, str]]:
    """Return the ``(key.path, YAML text)`` overrides where the form differs from ``current``.

    Raises ValueError naming the field for an unknown key or a value not of
    the key's kind; bounds are left to the scenario loader, whose one-line
    error the page shows.
    """
    known = controls()
    out = []
    for name, raw in form.items():
        if not name.startswith(PREFIX):
            continue
        key = name[len(PREFIX) :]
        c = known.get(key)
        if c is None:
            raise ValueError(f"{key}: not a key the explorer can set")
        text = str(raw).strip()
        if text == value_text(current.get(key)) or text == "":
            continue
        if c.kind == "boolean":
            if text not in ("true", "false"):
                raise ValueError(f"{key}: expected true or false, got {text!r}")
        elif c.kind == "choice":
            if text not in c.choices:
                raise ValueError(f"{key}: expected one of {', '.join(c.choices)}, got {text!r}")
        else:
            number = parse_finite(text, key)
            old = current.get(key)
            if isinstance(old, (int, float)) and not isinstance(old, bool) and float(old) == number:
                continue
            text = str(int(number)) if c.kind in ("count", "integer") and number.is_integer() else repr(number)
        real = key.replace("<name>", platform, 1) if key.startswith(PLATFORM) else key
        out.append((real, text))
    return out


FORBIDDEN_KEYS = ("extends", "edge_list")
BUNDLE_KEYS = ("policies", "policy", "bundle")


def check_upload(data: Any) -> None:
    """Refuse what an uploaded scenario may not do on this machine: read other files.

    ``extends`` and ``graph.edge_list`` name files on the server, so they are
    refused; every policy bundle named must be an installed one. Raises
    ValueError with the reason.
    """
    if not isinstance(data, dict):
        raise ValueError("a scenario file is a YAML mapping")
    bundles = installed_bundles()

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                here = f"{path}.{k}" if path else str(k)
                if k in FORBIDDEN_KEYS:
                    raise ValueError(f"{here}: uploaded scenarios may not name files on this machine")
                if k in BUNDLE_KEYS:
                    names = v if isinstance(v, list) else [v]
                    for n in names:
                        name = n.get("bundle") if isinstance(n, dict) else n
                        if isinstance(name, str) and name not in bundles:
                            raise ValueError(f"{here}: {name!r} is not an installed policy bundle")
                walk(v, here)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")

    walk(data, "")
