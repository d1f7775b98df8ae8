"""Scenarios as immutable values: a source, key overrides and policy bundles.

A :class:`Scenario` is only a recipe; the C++ loader resolves it (``extends``,
policy bundles, overrides, validation) into a ``ScenarioSpec`` on first use.
Every change returns a new Scenario, so one base can feed many comparisons.

A :class:`Parameter` is a range of values of one scenario key, checked against
the parameter dictionary (:func:`parameter_bounds`): what sensitivity analysis
and calibration vary.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from safesim import _core
from safesim.errors import ScenarioError

__all__ = [
    "Parameter",
    "Scenario",
    "check_edge_list",
    "installed_scenarios",
    "make_parameters",
    "parameter_bounds",
    "policy_dirs",
    "resolve_scenario_path",
    "scenarios_dir",
    "yaml_scalar",
]


def scenarios_dir() -> Path:
    """Return the scenarios folder: installed beside the package, else the source checkout's."""
    here = Path(__file__).resolve().parent
    installed = here / "scenarios"
    if installed.is_dir():
        return installed
    return here.parent.parent / "scenarios"  # python/safesim -> repository root


@lru_cache(maxsize=1)
def _parameter_table() -> dict[str, tuple[str, float, float]]:
    return {key: (kind, lo, hi) for key, kind, _unit, lo, hi in _core.parameters()}


def parameter_bounds(key: str) -> tuple[str, float, float] | None:
    """``(kind, low, high)`` of a scenario key from the parameter dictionary, or None if unknown.

    A platform key may name its platform (``platforms.main.…``) or be a
    ``platform_defaults.…`` key. Bounds are the kind's own narrowed by the
    key's (infinite where unbounded, both infinite for non-numeric kinds).

    >>> parameter_bounds("platforms.main.controls.reporting.steps")
    ('count', 1.0, 100.0)
    """
    parts = key.split(".")
    if parts[0] == "platforms" and len(parts) > 2:
        key = ".".join(["platforms", "<name>", *parts[2:]])
    elif parts[0] == "operators" and len(parts) > 2:
        key = ".".join(["operators", "<name>", *parts[2:]])
    elif parts[0] == "platform_defaults" and len(parts) > 1:
        key = ".".join(["platforms", "<name>", *parts[1:]])
    return _parameter_table().get(key)


def policy_dirs() -> list[str]:
    """Folders searched for policy bundles after a scenario's own ``policies/``."""
    folder = scenarios_dir() / "policies"
    return [str(folder)] if folder.is_dir() else []


def installed_scenarios() -> list[str]:
    """Names of the scenarios that ship with safesim (usable as bare names).

    Sensitivity and calibration plans in the same folder (a top-level
    ``parameters:`` key, which no scenario has) are not scenarios and are left out.
    """
    folder = scenarios_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.yaml") if not _is_plan(p))


def _is_plan(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return any(line.startswith(("parameters:", "targets:")) for line in text.splitlines())


def is_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a regular file.

    False, not an OSError, for a name the system refuses (too long, embedded NUL): such a name is then reported as a
    missing scenario, in one line.
    """
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def resolve_scenario_path(name_or_path: str | os.PathLike[str]) -> Path:
    """Return the file of a scenario path, or of the bare name of an installed scenario (``baseline``)."""
    path = Path(name_or_path)
    if is_file(path):
        return path
    text = str(name_or_path)
    if os.sep not in text and "/" not in text:
        stem = text[:-5] if text.endswith(".yaml") else text
        candidate = scenarios_dir() / f"{stem}.yaml"
        if is_file(candidate):
            return candidate
    known = ", ".join(installed_scenarios()) or "none"
    msg = f"no such scenario file (installed scenarios: {known})"
    raise ScenarioError(f"{text}: {msg}", file=text, key_path="", message=msg)


def yaml_scalar(value: Any) -> str:
    """Return a Python value as YAML text for the C++ overrides (``True`` -> ``true``)."""
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
        if path is not None and not Path(path).is_file():
            # A bare installed name ("baseline") as with Scenario.load; a
            # missing file is still reported when the spec is first loaded.
            with contextlib.suppress(ScenarioError):
                path = resolve_scenario_path(path)
        self._path = None if path is None else str(path)
        self._text = text
        self._text_name = text_name
        self._overrides = tuple(overrides)
        self._policies = tuple(policies)

    # ------------------------------------------------------------- constructors
    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Scenario:
        """Load a scenario file, or the bare name of an installed scenario."""
        return cls(resolve_scenario_path(path))

    @classmethod
    def from_text(cls, text: str, name: str = "<text>") -> Scenario:
        """Return a scenario from YAML text; ``name`` appears in errors and anchors ``extends:``."""
        return cls(text=text, text_name=name)

    @classmethod
    def from_dict(cls, data: dict[str, Any], name: str = "<dict>") -> Scenario:
        """Return a scenario from plain data (e.g. a ``to_dict()`` result, edited).

        The dict is written as JSON, which is YAML, and loaded like a file, so
        the same validation and error messages apply; ``name`` stands for the
        file name in errors.

        >>> sc = Scenario.default()
        >>> Scenario.from_dict(sc.to_dict(), name="copy").hash == sc.hash
        True
        """
        if not isinstance(data, dict):
            raise TypeError(f"expected a dict, got {type(data).__name__}")
        return cls(text=json.dumps(data, indent=1, allow_nan=True), text_name=name)

    @classmethod
    def default(cls) -> Scenario:
        """Return the installed baseline scenario."""
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
        """Return a copy with ``key_path`` (e.g. ``population.users``) set to ``value``."""
        return self.set_yaml(key_path, yaml_scalar(value))

    def set_yaml(self, key_path: str, yaml_text: str) -> Scenario:
        """Return a copy with ``key_path`` set from YAML text as typed (the CLI's ``--set``)."""
        if not key_path:
            raise ValueError("empty key path")
        return self._replace(overrides=(*self._overrides, (key_path, yaml_text)))

    def set_many(self, values: dict[str, Any]) -> Scenario:
        """Return a copy with every ``key_path: value`` of ``values`` set, in order."""
        sc = self
        for key, value in values.items():
            sc = sc.set(key, value)
        return sc

    def with_policy(
        self,
        name: str,
        *,
        platforms: list[str] | None = None,
        where: dict[str, Any] | None = None,
        law_on: str | None = None,
        risk_found: bool = False,
    ) -> Scenario:
        """Return a copy with the policy bundle ``name`` applied after everything set so far.

        By default the bundle reaches every platform its ``applies_to`` matches.
        ``platforms=[...]`` names the platforms instead, and ``where={"kinds":
        [...], "min_users": N}`` gives a condition (as the map form of a
        scenario file's ``policies:`` list). ``law_on="YYYY-MM-DD"`` applies the
        measures in force on that date (default: the bundle's ``as_of``), and
        ``risk_found=True`` applies the measures that wait for the platform's
        risk assessment at once, as if it had found risk. A targeted bundle is applied to
        the resolved scenario, so the copy's source becomes that resolved data.

        >>> eco = Scenario.load("ecosystem_us").set("population.users", 20000)
        >>> uk = eco.with_policy("uk_osa_illegal_content_codes", where={"min_users": 2000})
        >>> uk.spec.policies
        ['uk_osa_illegal_content_codes']
        """
        if platforms is None and where is None and law_on is None and not risk_found:
            return self._replace(policies=(*self._policies, name))
        entry: dict[str, Any] = {"bundle": name}
        if platforms is not None:
            unknown = sorted(set(platforms) - set(self.platforms))
            if unknown:
                raise ValueError(f"unknown platform(s) {', '.join(unknown)} (scenario has {', '.join(self.platforms)})")
            entry["platforms"] = list(platforms)
        if where is not None:
            entry["where"] = dict(where)
        if law_on is not None:
            entry["law_on"] = str(law_on)
        if risk_found:
            entry["risk_found"] = True
        data = self.to_dict()
        data["policies"] = [entry]
        return Scenario.from_dict(data, name=f"{self.name}+{name}")

    def copy(self) -> Scenario:
        """Return an equal, independent Scenario."""
        return self._replace()

    # ------------------------------------------------------------- resolved views
    @property
    def overrides(self) -> tuple[tuple[str, str], ...]:
        """The ``(key.path, YAML text)`` overrides set on the file, in order."""
        return self._overrides

    @property
    def policies(self) -> tuple[str, ...]:
        """The policy bundles applied with :meth:`with_policy`, in order."""
        return self._policies

    @property
    def path(self) -> str | None:
        """The scenario's file, or None for one made from text or data."""
        return self._path

    @cached_property
    def spec(self) -> _core.ScenarioSpec:
        """The resolved, validated C++ spec (loaded once, then cached).

        An edge list it names is read and checked here too (:func:`check_edge_list`).
        """
        overrides = list(self._overrides)
        policies = list(self._policies)
        try:
            if self._path is not None:
                spec = _core.load_scenario(self._path, overrides, policies, policy_dirs())
            else:
                assert self._text is not None
                spec = _core.load_scenario_text(self._text, self._text_name, overrides, policies, policy_dirs())
        except ScenarioError as err:
            raise _without_content(err) from None
        edge_list = _edge_list_of(spec.dump())
        if edge_list:
            check_edge_list(edge_list, int(spec.users), spec.source_file or self._text_name)
        return spec

    def dump(self) -> str:
        """Return the resolved scenario as YAML (every field, defaults included)."""
        return self._dump

    @cached_property
    def _dump(self) -> str:
        return self.spec.dump()

    def to_dict(self) -> dict[str, Any]:
        """Return the resolved scenario as plain Python data (a fresh copy each call)."""
        return copy.deepcopy(self._data)

    @cached_property
    def _data(self) -> dict[str, Any]:
        # The C loader where PyYAML has it: an ecosystem's dump is half a megabyte.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return yaml.load(self._dump, Loader=loader)

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self.spec.name

    @property
    def seed(self) -> int:
        """The scenario's own seed (the first replicate's, unless a seed is given)."""
        return int(self.spec.seed)

    @property
    def platforms(self) -> list[str]:
        """The platforms' names, in the engine's order."""
        return list(self.spec.platforms)

    @property
    def hash(self) -> str:
        """SHA-256 of the resolved dump: equal scenarios hash equal, however written.

        Comment lines (the dump's provenance header: source path, bundles
        applied) are left out, so the hash depends on values only, not on
        where the file was installed.
        """
        lines = [ln for ln in self._dump.splitlines(keepends=True) if not ln.lstrip().startswith("#")]
        # A file the scenario reads counts by its content, not its path (extends: parents and
        # policy bundles are already resolved into the dump; an edge list is read by the engine).
        edge_list = _edge_list_of(self._dump)
        if edge_list:
            digest = check_edge_list(edge_list, int(self.spec.users), self.spec.source_file or self._text_name)
            lines = [_EDGE_LIST_LINE.sub(f"\\g<1>sha256:{digest}", ln) for ln in lines]
        return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()

    def diff(self, other: Scenario) -> dict[str, tuple[Any, Any]]:
        """Return resolved values that differ: ``{key.path: (value in self, value in other)}``.

        Both scenarios are compared fully resolved (bundles, ``extends`` and
        defaults applied); a key present in only one side pairs with ``None``.
        Lists are compared whole.

        >>> base = Scenario.default()
        >>> base.diff(base.set("population.users", 2000))
        {'population.users': (10000, 2000)}
        """
        a, b = flatten_keys(self._data), flatten_keys(other._data)
        out: dict[str, tuple[Any, Any]] = {}
        for key in [*a, *(k for k in b if k not in a)]:
            va, vb = a.get(key), b.get(key)
            if va != vb and not (_is_nan(va) and _is_nan(vb)):
                out[key] = (va, vb)
        return out

    # Pickling keeps the recipe only: the resolved C++ spec is rebuilt on use
    # (a worker process or a Dask worker loads it again).
    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("spec", "_dump", "_data")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

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


_TOP_LEVEL = "expected a mapping of keys at the top level"


def _without_content(err: ScenarioError) -> ScenarioError:
    """``err`` without the text of the file it is about: ``extends: /etc/passwd`` must not print that file.

    The loader quotes a non-mapping document whole.
    """
    if not err.message.startswith(_TOP_LEVEL + ", got"):
        return err
    message = f"{_TOP_LEVEL} (is it a scenario file?)"
    pos = f"{err.file}:{err.line}:{err.column}" if err.line else err.file
    return ScenarioError(f"{pos}: {message}", err.file, err.line, err.column, err.key_path, message)


# ------------------------------------------------------------------ edge lists
#: The largest edge list read (bytes): far above any graph the engine holds in memory.
EDGE_LIST_MAX_BYTES = 4 << 30
_EDGE_LIST_LINE = re.compile(r"^(\s*edge_list:\s*)(\S.*?)\s*$")
_edge_cache: dict[tuple[str, int, int, int, int], str] = {}


def _edge_list_of(dump: str) -> str:
    """Return the ``graph.edge_list`` path of a resolved dump ('' for a generated graph)."""
    for line in dump.splitlines():
        m = _EDGE_LIST_LINE.match(line)
        if m:
            value = yaml.safe_load(m.group(2))
            return "" if value is None else str(value)
    return ""


def _edge_error(where: str, line: int, column: int, message: str) -> ScenarioError:
    pos = f"{where}:{line}:{column}" if line else where
    return ScenarioError(f"{pos}: graph.edge_list: {message}", where, line, column, "graph.edge_list", message)


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def check_edge_list(path: str, users: int, scenario_file: str = "") -> str:
    """Read and check an edge list for a scenario of ``users`` users; its SHA-256.

    One edge per line: two user indices (whole numbers from 0 to users - 1)
    and an optional 0/1 trusted flag, separated by blanks; blank lines and
    lines starting with ``#`` are skipped. Refused, with file, line and
    column: a missing file or one that is not a regular file (checked before
    opening, so a FIFO cannot hang the load), a file over
    :data:`EDGE_LIST_MAX_BYTES`, text that is not UTF-8, a line without two
    indices, a negative or fractional index, an index out of range, a
    self-loop (a user tied to itself) and a duplicate edge (``a b`` again, or
    ``b a``: ties are undirected) naming the line of the first. A file with
    no edge at all is refused too: the engine would build an empty graph.
    """
    where = scenario_file or path
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise _edge_error(where, 0, 0, f"no such edge list file {_shown(path)}") from None
    except OSError as err:
        raise _edge_error(where, 0, 0, f"cannot read edge list {_shown(path)}: {err.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise _edge_error(where, 0, 0, f"edge list {_shown(path)} is {_file_kind(st.st_mode)}, not a regular file")
    if st.st_size > EDGE_LIST_MAX_BYTES:
        raise _edge_error(
            where, 0, 0, f"edge list {_shown(path)} is {st.st_size:,} bytes (limit {EDGE_LIST_MAX_BYTES:,})"
        )
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns, st.st_ino, users)
    if key in _edge_cache:
        return _edge_cache[key]
    h = hashlib.sha256()
    seen: dict[int, int] = {}
    edges = 0
    try:
        f = open(path, "rb")  # noqa: SIM115 (closed below; the open alone is guarded)
    except OSError as err:
        raise _edge_error(where, 0, 0, f"cannot read edge list {_shown(path)}: {err.strerror}") from None
    with f:
        for lineno, raw in enumerate(f, start=1):
            h.update(raw)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise _edge_error(path, lineno, 1, "not UTF-8 text") from None
            stripped = text.strip()
            if not stripped or stripped.startswith("#"):
                continue
            tokens = [(m.group(), m.start() + 1) for m in re.finditer(r"\S+", text)]
            if len(tokens) < 2 or len(tokens) > 3:
                raise _edge_error(
                    path,
                    lineno,
                    1,
                    f"expected two user indices and an optional 0/1 trusted flag, got {len(tokens)} field(s)",
                )
            ids = []
            for token, col in tokens[:2]:
                if not re.fullmatch(r"[0-9]+", token):
                    what = (
                        "a negative user index"
                        if re.fullmatch(r"-[0-9]+", token)
                        else "a fractional user index"
                        if re.fullmatch(r"-?[0-9]*\.[0-9]+(e-?[0-9]+)?|-?[0-9]+e-?[0-9]+", token)
                        else "not a user index"
                    )
                    raise _edge_error(path, lineno, col, f"{_shown(token)}: {what} (whole numbers 0 to {users - 1})")
                # Leading zeros dropped; a long run of digits is out of range without int()
                # (which refuses more than 4,300 digits), shown cut as the engine shows it.
                digits = token.lstrip("0") or "0"
                value = int(digits) if len(digits) <= 19 else users
                if value >= users:
                    shown_value = digits if len(digits) <= 40 else digits[:40] + "..."
                    raise _edge_error(
                        path,
                        lineno,
                        col,
                        f"user index {shown_value} out of range (the scenario has {users} users: 0 to {users - 1})",
                    )
                ids.append(value)
            if len(tokens) == 3 and tokens[2][0] not in ("0", "1"):
                raise _edge_error(path, lineno, tokens[2][1], f"{_shown(tokens[2][0])}: the trusted flag is 0 or 1")
            a, b = ids
            if a == b:
                raise _edge_error(path, lineno, tokens[0][1], f"self-loop {a} {b}: a user cannot be tied to itself")
            pair = min(a, b) * users + max(a, b)
            first = seen.setdefault(pair, lineno)
            if first != lineno:
                raise _edge_error(
                    path, lineno, tokens[0][1], f"duplicate edge {a} {b} (first at line {first}; ties are undirected)"
                )
            edges += 1
    if edges == 0:
        raise _edge_error(path, 0, 0, "the edge list has no edges (the graph would be empty)")
    digest = h.hexdigest()
    _edge_cache[key] = digest
    return digest


def _shown(text: str, limit: int = 80) -> str:
    """``text`` quoted for an error line: control characters escaped, long text cut."""
    from safesim.errors import printable

    return printable(text, limit)


def flatten_keys(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``{dotted.key: leaf}``; lists and scalars are leaves."""
    if isinstance(data, dict) and data:
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(flatten_keys(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: data}


def _is_nan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


# ------------------------------------------------------------------ parameters
#: Distributions of a parameter over its range.
DISTS = ("uniform", "loguniform")
#: Parameter-dictionary kinds that take a numeric range ...
NUMERIC_KINDS = ("prob", "rate", "real", "count", "integer")
#: ... and those of them sampled as whole numbers.
INTEGER_KINDS = ("count", "integer")


@dataclass(frozen=True)
class Parameter:
    """An uncertain scenario key: its range, distribution and kind (sensitivity analysis, calibration).

    ``dist`` is ``"uniform"`` or ``"loguniform"`` (uniform in log space, for a
    rate spanning decades; ``log`` says the same as a flag). Keys of kind
    ``count`` or ``integer`` take whole numbers, each with equal probability.
    Build checked ones with :func:`make_parameters`.
    """

    key: str
    low: float
    high: float
    dist: str = "uniform"
    kind: str = "real"

    @property
    def integer(self) -> bool:
        """Whether the key takes whole numbers (kind count or integer): it is sampled as whole numbers."""
        return self.kind in INTEGER_KINDS

    @property
    def log(self) -> bool:
        """Whether the parameter is sampled uniformly in log space."""
        return self.dist == "loguniform"

    def value(self, u: float) -> Any:
        """Return the parameter value for a unit-hypercube coordinate ``u`` in [0, 1]."""
        u = min(max(float(u), 0.0), 1.0)
        if self.integer:
            # Equal probability for every whole number in [low, high] (rounding would halve the ends).
            lo, hi = round(self.low), round(self.high)
            return int(min(lo + math.floor(u * (hi - lo + 1)), hi))
        if self.log:
            x = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
            return float(min(max(x, self.low), self.high))  # exp(log(high)) may round just past high
        return float(self.low + u * (self.high - self.low))

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """:meth:`value` for an array of coordinates in [0, 1), with NumPy's arithmetic.

        NumPy's exp and log may differ from the math module's in the last bit,
        which changes a scenario's hash and so its run ids: sensitivity samples
        one coordinate at a time (:meth:`value`) and calibration a column at a
        time (here), each as it always has, so that saved runs stay reusable.
        """
        u = np.asarray(u, dtype=np.float64)
        if self.integer:
            lo, hi = round(self.low), round(self.high)
            return np.minimum(lo + np.floor(u * (hi - lo + 1)), hi).astype(np.int64)
        if self.log:
            x = np.exp(np.log(self.low) + u * (np.log(self.high) - np.log(self.low)))
            return np.clip(x, self.low, self.high)
        return self.low + u * (self.high - self.low)

    def narrowed(self, low: float, high: float) -> Parameter:
        """Return the same key, distribution and kind over ``[low, high]``."""
        return replace(self, low=low, high=high)

    def to_dict(self) -> dict[str, Any]:
        """Return the parameter as plain data: key, low, high, dist and kind."""
        return {"key": self.key, "low": self.low, "high": self.high, "dist": self.dist, "kind": self.kind}


def _parse_range(key: str, spec: Any) -> tuple[float, float, str]:
    """``(low, high, dist)`` from ``(low, high)`` or ``{range: [low, high], dist: ...}`` (or ``log: true``)."""
    if isinstance(spec, Mapping):
        unknown = sorted(set(spec) - {"range", "dist", "log"})
        if unknown or "range" not in spec:
            raise ValueError(
                f"parameter {key}: expected (low, high) or {{'range': [low, high], 'dist': 'uniform'|'loguniform'}} "
                f"(or 'log': true), got {spec!r}"
            )
        if "dist" in spec and "log" in spec:
            raise ValueError(f"parameter {key}: give dist or log, not both")
        # Calibration plans have always said `log: true`, sensitivity plans `dist: loguniform`: both are read.
        dist = str(spec["dist"]) if "dist" in spec else ("loguniform" if spec.get("log") else "uniform")
        rng = spec["range"]
    else:
        dist, rng = "uniform", spec
    if dist not in DISTS:
        raise ValueError(f"parameter {key}: unknown dist {dist!r} (expected one of {', '.join(DISTS)})")
    if isinstance(rng, (str, bytes, Mapping)) or not isinstance(rng, Sequence) or len(rng) != 2:
        raise ValueError(f"parameter {key}: expected a range (low, high), got {rng!r}")
    ends = []
    for v in rng:
        try:
            # A number, or text YAML did not read as one (PyYAML reads 1e-3 as a string).
            x = math.nan if isinstance(v, bool) else float(v)
        except (TypeError, ValueError):
            x = math.nan
        if not math.isfinite(x):
            raise ValueError(f"parameter {key}: range ends must be finite numbers, got {rng!r}")
        ends.append(x)
    lo, hi = ends
    if not lo < hi:
        raise ValueError(f"parameter {key}: range low must be below high, got ({rng[0]}, {rng[1]})")
    return lo, hi, dist


def make_parameters(scenario: Scenario, parameters: Mapping[str, Any]) -> list[Parameter]:
    """Return the checked :class:`Parameter` list of ``{key.path: range}``.

    Keys must be known and numeric, ranges inside their bounds.

    A range is ``(low, high)`` (uniform) or ``{"range": [low, high], "dist":
    "loguniform"}`` (``"log": True`` says the same). An unknown key raises the
    scenario's own :class:`ScenarioError` (with a suggestion); a malformed
    range, a range outside the key's bounds, a non-numeric key, a non-integer
    end for an integer key or log sampling of an integer key or down to 0
    raise ``ValueError`` naming the key. Both ends must make a valid scenario.
    """
    if not isinstance(parameters, Mapping) or not parameters:
        raise ValueError("give at least one parameter: a non-empty mapping {key.path: (low, high)}")
    out = []
    for key, spec in parameters.items():
        key = str(key)
        if key == "policy":
            raise ValueError("parameter policy: bundles are not a numeric range; compare or sweep them instead")
        lo, hi, dist = _parse_range(key, spec)
        found = parameter_bounds(key)
        if found is None:
            scenario.set(key, lo).spec  # noqa: B018  (raises ScenarioError: unknown key, with a suggestion)
            raise ValueError(f"parameter {key}: not a numeric key of the parameter dictionary")
        kind, kmin, kmax = found
        if kind not in NUMERIC_KINDS:
            raise ValueError(f"parameter {key}: a {kind} key has no numeric range; compare or sweep its values instead")
        if lo < kmin or hi > kmax:
            raise ValueError(
                f"parameter {key}: range ({lo:g}, {hi:g}) is outside the key's bounds [{kmin:g}, {kmax:g}] ({kind})"
            )
        p = Parameter(key, lo, hi, dist, kind)
        if p.integer and not (lo.is_integer() and hi.is_integer()):
            raise ValueError(f"parameter {key}: a {kind} key needs whole-number range ends, got ({lo:g}, {hi:g})")
        if p.log and p.integer:
            raise ValueError(f"parameter {key}: log sampling is for continuous keys, not a {kind} key")
        if p.log and lo <= 0:
            raise ValueError(f"parameter {key}: log sampling needs low > 0, got {lo:g}")
        for end in (p.value(0.0), p.value(1.0)):  # each end on its own must make a valid scenario
            scenario.set(key, end).spec  # noqa: B018
        out.append(p)
    return out
