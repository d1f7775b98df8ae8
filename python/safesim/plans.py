"""Plans: sweeps, sensitivity analyses and calibrations written as YAML files.

A plan names a base scenario (``scenario:``, a path relative to the plan or an
installed scenario's name, with optional ``set: {key.path: value}`` and
``policies: [names]``) and what to run over it:

- a sweep: ``grid: {key.path: [values]}`` or ``samples: [{key.path: value}, ...]``,
  ``reps`` (default 10), ``seed``, ``metrics`` to show;
- a sensitivity analysis: ``parameters: {key.path: range}``, ``method``
  (morris or sobol), ``n``, ``reps`` (5), ``seed``, ``scope``, ``metrics``;
- a calibration: ``parameters``, ``targets: [{metric, value or interval, ...}]``,
  ``n`` (40), ``reps`` (5), ``waves`` (1), ``cutoff`` (3), ``seed``, ``margin`` (0.1).

:func:`load_plan` reads one and checks its shape; :meth:`Plan.run` runs it
with :func:`safesim.sweep`, :func:`safesim.sensitivity` or
:func:`safesim.calibrate`; :meth:`Plan.check` checks its ranges and targets
without running anything; :func:`check_file` validates any file safesim reads
(a scenario, a policy bundle or a plan), as ``safesim validate`` does. Every
problem with the file is a :class:`~safesim.errors.PlanError` naming it; a bad
scenario is the scenario's own :class:`~safesim.errors.ScenarioError`.

>>> from safesim.scenario import scenarios_dir
>>> plan = load_plan(scenarios_dir() / "sensitivity_offenders.yaml")
>>> plan.kind, plan.settings(reps=2)["reps"]
('sensitivity', 2)
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safesim import _core
from safesim.api import RunOptions, expand_sweep, point_scenario, sweep
from safesim.calibration import CalibrationResults, Target, calibrate, check_inputs
from safesim.errors import PlanError, ScenarioError, printable
from safesim.readers import Located, did_you_mean, read_yaml, type_name
from safesim.resources import check_job_memory
from safesim.results import ECOSYSTEM, SweepResults
from safesim.scenario import Scenario, is_file, make_parameters
from safesim.sensitivity import METHODS, SensitivityResults, sensitivity
from safesim.targets import load_targets

__all__ = ["KINDS", "MAX_POINTS", "MAX_REPS", "MAX_RUNS", "PLAN_KEYS", "Plan", "check_file", "load_plan", "plan_kind"]

#: Bounds on what a plan asks for: replicates per point, points, and runs in all.
MAX_REPS = 100_000
MAX_POINTS = 100_000
MAX_RUNS = 10_000_000
MAX_SEED = 2**63 - 1

PathLike = str | os.PathLike[str]

KINDS = ("sweep", "sensitivity", "calibration")

#: The keys of each kind of plan, in the order an error message lists them.
PLAN_KEYS: dict[str, tuple[str, ...]] = {
    "sweep": ("grid", "metrics", "policies", "reps", "samples", "scenario", "seed", "set"),
    "sensitivity": ("method", "metrics", "n", "parameters", "policies", "reps", "scenario", "scope", "seed", "set"),
    "calibration": (
        *("scenario", "set", "policies", "parameters", "targets"),
        *("n", "reps", "waves", "cutoff", "seed", "margin", "emulate", "candidates"),
    ),
}
_REQUIRED = {
    "sweep": ("scenario",),
    "sensitivity": ("scenario", "parameters"),
    "calibration": ("scenario", "parameters", "targets"),
}
#: What a plan file holds, for the message when it is not a mapping.
_SHAPE = {
    "sweep": "scenario, reps and grid or samples",
    "sensitivity": "scenario, method, n, reps and parameters",
    "calibration": "scenario, parameters and targets",
}
#: The settings a caller (the command line) may override, with the file's defaults.
_SETTINGS: dict[str, dict[str, Any]] = {
    "sweep": {"reps": 10, "seed": None},
    "sensitivity": {"method": "morris", "n": None, "reps": 5, "seed": None},
    "calibration": {"n": 40, "reps": 5, "waves": 1, "cutoff": 3.0, "seed": None, "emulate": False, "keep_daily": False},
}


@dataclass(frozen=True)
class Plan:
    """A plan file as read: its ``kind``, ``path`` and top-level mapping ``data`` (shape checked)."""

    kind: str
    path: Path
    data: Mapping[str, Any]
    located: Located | None = None

    @property
    def metrics(self) -> list[str]:
        """The metrics the plan asks to show (may be empty)."""
        return [str(m) for m in self.data.get("metrics") or []]

    @contextlib.contextmanager
    def errors(self, key_path: str = "") -> Iterator[None]:
        """Report a ValueError or TypeError raised inside as a :class:`PlanError` naming the file.

        The error carries the line, column and ``key_path`` of the value concerned when known. A
        :class:`ScenarioError` (or a PlanError) already names its file and passes through.
        """
        try:
            yield
        except ScenarioError as err:
            # A key path or value set by the plan (a grid key, a sample): point at the plan.
            if err.file in ("<--set>", "<--policy>") and self.located is not None and key_path:
                raise self.located.error(key_path, f"{err.key_path}: {err.message}") from None
            raise
        except PlanError:
            raise
        except (TypeError, ValueError, KeyError) as err:
            message = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
            if key_path.startswith("parameters.") and message.startswith("parameter "):
                message = message.partition(": ")[2] or message  # the key path already names it
            if self.located is not None:
                raise self.located.error(key_path, message) from None
            raise PlanError(f"{self.path}: {key_path + ': ' if key_path else ''}{message}") from None

    def scenario(self, overrides: Iterable[tuple[str, str]] = ()) -> Scenario:
        """Return the base scenario with the plan's ``set`` and ``policies``, then ``overrides`` on top.

        ``overrides`` are ``(key.path, YAML text)`` pairs: the command line's ``--set``.
        """
        source = str(self.data["scenario"])
        candidate = self.path.parent / source
        try:
            sc = Scenario.load(candidate if is_file(candidate) else source)
        except ScenarioError as err:
            if err.file == source and self.located is not None:  # no such file: point at the plan's key
                raise self.located.error("scenario", f"{printable(source, 120)}: {err.message}") from None
            raise
        for key, value in (self.data.get("set") or {}).items():
            with self.errors(f"set.{key}"):
                sc = sc.set(str(key), value)
                sc.spec  # noqa: B018  (each key checked where the plan sets it)
        for i, name in enumerate(self.data.get("policies") or []):
            with self.errors(f"policies[{i}]"):
                sc = sc.with_policy(str(name))
                sc.spec  # noqa: B018
        for key, text in overrides:
            sc = sc.set_yaml(key, text)
        return sc

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Return the run settings (reps, seed, n, ...): the file's or the defaults, non-None ``overrides`` on top."""
        defaults = _SETTINGS[self.kind]
        unknown = sorted(set(overrides) - set(defaults))
        if unknown:
            raise TypeError(f"a {self.kind} plan has no setting(s) {', '.join(unknown)}")
        out = {key: self.data.get(key, default) for key, default in defaults.items()}
        out.update({key: value for key, value in overrides.items() if value is not None})
        return out

    def run(
        self, options: RunOptions | None = None, *, scenario: Scenario | None = None, **settings: Any
    ) -> SweepResults | SensitivityResults | CalibrationResults:
        """Run the plan on ``scenario`` (default: :meth:`scenario`).

        ``settings`` (e.g. ``reps=3``; None keeps the file's) replace the file's; ``options`` say where runs are
        computed and kept.
        """
        sc = self.scenario() if scenario is None else scenario
        if self.located is not None:
            self.check(scenario=sc)  # every problem with its line and key path before any run
        with self.errors():
            s = self.settings(**settings)
            seed = s["seed"]
            if self.kind == "sweep":
                return sweep(sc, self.points(), n=int(s["reps"]), seed=seed, options=options)
            if self.kind == "sensitivity":
                return sensitivity(
                    sc,
                    self.data["parameters"],
                    n=None if s["n"] is None else int(s["n"]),
                    method=str(s["method"]),
                    reps=int(s["reps"]),
                    seed=seed,
                    scope=str(self.data.get("scope", ECOSYSTEM)),
                    options=options,
                )
            targets = self.data["targets"]
            return calibrate(
                sc,
                self.data["parameters"],
                self.targets_file() if isinstance(targets, str) else [Target.from_dict(t) for t in targets],
                n=int(s["n"]),
                reps=int(s["reps"]),
                waves=int(s["waves"]),
                cutoff=float(s["cutoff"]),
                seed=seed,
                margin=float(self.data.get("margin", 0.1)),
                emulate=bool(s["emulate"]),
                candidates=int(self.data.get("candidates", 20)),
                keep_daily=bool(s.get("keep_daily", False)),
                options=options,
            )

    def targets_file(self) -> Path:
        """Return a calibration plan's ``targets:`` file (``targets: targets/open.yaml``), relative to the plan."""
        p = Path(str(self.data["targets"]))
        return p if p.is_absolute() else self.path.parent / p

    def points(self) -> list[dict[str, Any]]:
        """Return a sweep's points: the grid's cartesian product, or the samples."""
        with self.errors():
            return expand_sweep(self.data["grid"] if "grid" in self.data else self.data["samples"])

    def check(self, scenario: Scenario | None = None) -> None:
        """Check the base scenario, every range and target (or sweep point) without running anything."""
        sc = self.scenario() if scenario is None else scenario
        if self.kind in ("calibration", "sensitivity"):
            for key, spec in self.data["parameters"].items():
                with self.errors(f"parameters.{key}"):
                    make_parameters(sc, {key: spec})
        if self.kind == "calibration" and isinstance(self.data["targets"], str):
            tset = load_targets(self.targets_file())  # its own errors name the targets file and line
            with self.errors("targets"):
                check_inputs(sc, self.data["parameters"], tset)
        elif self.kind == "calibration":
            targets = []
            for i, t in enumerate(self.data["targets"]):
                with self.errors(f"targets[{i}]"):
                    target = Target.from_dict(t)
                    target.validate(sc)
                    targets.append(target)
            with self.errors("targets"):
                check_inputs(sc, self.data["parameters"], targets)
        elif self.kind == "sweep":
            with self.errors("grid" if "grid" in self.data else "samples"):
                points = self.points()
            reps = int(self.data.get("reps", _SETTINGS["sweep"]["reps"]))
            with self.errors("reps"):
                check_job_memory(len(sc.platforms), int(sc.spec.horizon_days), len(points) * reps, sc.name)
            for i, point in enumerate(points):
                where = f"samples[{i}]" if "samples" in self.data else f"grid.{next(iter(point), '')}"
                with self.errors(where):
                    point_scenario(sc, point).spec  # noqa: B018  (each point must make a valid scenario)


def _read_mapping(path: Path) -> Any:
    """Return the YAML document in ``path``; a missing file or bad YAML is a PlanError."""
    return read_yaml(path, PlanError, "plan file").data


def _kind_of(doc: Mapping[str, Any]) -> str | None:
    if "parameters" in doc:
        return "calibration" if "targets" in doc else "sensitivity"
    if "grid" in doc or "samples" in doc:
        return "sweep"
    return None


def _int_setting(loc: Located, key: str, low: int, high: int) -> None:
    value = loc.data.get(key)
    if value is None and key == "seed":
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise loc.error(key, f"expected a whole number from {low:,} to {high:,}, got {type_name(value)}")
    if not low <= value <= high:
        raise loc.error(key, f"{value:,} is out of range ({low:,} to {high:,})")


def _number_setting(loc: Located, key: str, low: float, high: float, open_low: bool = False) -> None:
    value = loc.data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise loc.error(key, f"expected a number, got {type_name(value)}")
    if value < low or value > high or (open_low and value == low):
        bound = f"above {low:g}" if open_low else f"from {low:g}"
        raise loc.error(key, f"{value:g} is out of range ({bound} to {high:g})")


def _metric_names() -> list[str]:
    return [row[0] for row in _core.metrics()]


def check_metrics(names: Any, loc: Located | None = None, key: str = "metrics") -> list[str]:
    """``names`` as a list of metric names; unknown ones refused with the closest name."""
    known = _metric_names()

    def fail(where: str, message: str) -> Exception:
        return loc.error(where, message) if loc is not None else PlanError(message)

    if not isinstance(names, list):
        raise fail(key, f"expected a list of metric names, got {type_name(names)}")
    for i, name in enumerate(names):
        if not isinstance(name, str):
            raise fail(f"{key}[{i}]", f"expected a metric name, got {type_name(name)}")
        if name not in known:
            raise fail(
                f"{key}[{i}]", f"unknown metric {printable(name, 60)}{did_you_mean(name, known)} (see safesim metrics)"
            )
    return list(names)


def _check_shape(loc: Located, kind: str) -> None:
    """Known keys, required keys present and each setting of the right type and range."""
    doc = loc.data
    keys = PLAN_KEYS[kind]
    for key in doc:
        if key not in keys:
            raise loc.error(str(key), f"unknown key{did_you_mean(key, keys)} (a {kind} plan has {', '.join(keys)})")
    for key in _REQUIRED[kind]:
        if key not in doc:
            raise loc.error("", f"missing '{key}' (a {kind} plan has {_SHAPE[kind]})")
    if not isinstance(doc["scenario"], str) or not doc["scenario"].strip():
        raise loc.error("scenario", f"expected a scenario file or installed name, got {type_name(doc['scenario'])}")
    if "set" in doc:
        if not isinstance(doc["set"], dict):
            raise loc.error("set", f"expected a mapping {{key.path: value}}, got {type_name(doc['set'])}")
        for key in doc["set"]:
            if not isinstance(key, str) or not key:
                raise loc.error(f"set.{key}", "a key path is text, e.g. population.users")
    if "policies" in doc:
        pol = doc["policies"]
        if not isinstance(pol, list):
            raise loc.error("policies", f"expected a list of policy bundle names, got {type_name(pol)}")
        for i, name in enumerate(pol):
            if not isinstance(name, str) or not name:
                raise loc.error(f"policies[{i}]", f"expected a policy bundle name, got {type_name(name)}")
    if "reps" in doc:
        _int_setting(loc, "reps", 1, MAX_REPS)
    if "n" in doc:
        _int_setting(loc, "n", 1, MAX_POINTS)
    if "waves" in doc:
        _int_setting(loc, "waves", 1, 100)
    if "seed" in doc:
        _int_setting(loc, "seed", 0, MAX_SEED)
    if "cutoff" in doc:
        _number_setting(loc, "cutoff", 0.0, 1e6, open_low=True)
    if "margin" in doc:
        _number_setting(loc, "margin", 0.0, 1.0)
    if "method" in doc and doc["method"] not in METHODS:
        raise loc.error(
            "method", f"expected morris or sobol, got {type_name(doc['method'])}{did_you_mean(doc['method'], METHODS)}"
        )
    if "scope" in doc and (not isinstance(doc["scope"], str) or not doc["scope"]):
        raise loc.error("scope", f"expected 'ecosystem' or a platform name, got {type_name(doc['scope'])}")
    if "metrics" in doc and doc["metrics"] is not None:
        check_metrics(doc["metrics"], loc)
    if "parameters" in _REQUIRED[kind]:
        params = doc["parameters"]
        if not isinstance(params, dict) or not params:
            raise loc.error("parameters", f"expected a mapping {{key.path: [low, high]}}, got {type_name(params)}")
    if kind == "sweep":
        if ("grid" in doc) == ("samples" in doc):
            raise loc.error("", "give exactly one of 'grid' (key: [values]) or 'samples' (a list of mappings)")
        points = 1
        if "grid" in doc:
            grid = doc["grid"]
            if not isinstance(grid, dict) or not grid:
                raise loc.error("grid", f"expected a mapping {{key.path: [values]}}, got {type_name(grid)}")
            for key, values in grid.items():
                if not isinstance(values, list) or not values:
                    raise loc.error(f"grid.{key}", f"expected a non-empty list of values, got {type_name(values)}")
                points *= len(values)
        else:
            samples = doc["samples"]
            if not isinstance(samples, list) or not samples:
                raise loc.error("samples", f"expected a non-empty list of mappings, got {type_name(samples)}")
            for i, point in enumerate(samples):
                if not isinstance(point, dict) or not point:
                    raise loc.error(f"samples[{i}]", f"expected a mapping {{key.path: value}}, got {type_name(point)}")
            points = len(samples)
        if points > MAX_POINTS:
            raise loc.error("grid" if "grid" in doc else "samples", f"{points:,} points, more than {MAX_POINTS:,}")
        reps = doc.get("reps", _SETTINGS["sweep"]["reps"])
        if points * reps > MAX_RUNS:
            raise loc.error("reps", f"{points:,} points x {reps:,} replicates is more than {MAX_RUNS:,} runs")
    if kind == "calibration" and "emulate" in doc and not isinstance(doc["emulate"], bool):
        raise loc.error("emulate", f"expected true or false, got {type_name(doc['emulate'])}")
    if "candidates" in doc:
        _int_setting(loc, "candidates", 1, 1000)
    if kind == "calibration" and isinstance(doc["targets"], str) and doc["targets"].strip():
        pass  # a targets file, relative to the plan: read and checked by Plan.check
    elif kind == "calibration":
        targets = doc["targets"]
        if not isinstance(targets, list) or not targets:
            raise loc.error(
                "targets", f"expected a list of mappings (metric, value or interval, sd, ...), got {type_name(targets)}"
            )
        for i, t in enumerate(targets):
            if not isinstance(t, dict):
                raise loc.error(
                    f"targets[{i}]", f"expected a mapping (metric, value or interval, sd, ...), got {type_name(t)}"
                )


def load_plan(path: PathLike, kind: str | None = None) -> Plan:
    """Read a plan file and check its shape.

    Known keys only, the required ones present, each setting of the right type and within bounds.

    ``kind`` (sweep, sensitivity or calibration) defaults to what the file
    holds: ``targets`` and ``parameters`` make a calibration, ``parameters`` a
    sensitivity analysis, ``grid`` or ``samples`` a sweep. Every error is one
    line: ``FILE:LINE:COL: KEY.PATH: message``.
    """
    path = Path(path)
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    loc = read_yaml(path, PlanError, "plan file")
    doc = loc.data
    if kind is None:
        kind = _kind_of(doc) if isinstance(doc, dict) else None
        if kind is None:
            raise loc.error("", "not a plan (a sweep has grid or samples, sensitivity and calibration parameters)")
    if not isinstance(doc, dict):
        raise loc.error("", f"expected a mapping with {_SHAPE[kind]}, got {type_name(doc)}")
    _check_shape(loc, kind)
    return Plan(kind, path, doc, loc)


# ------------------------------------------------------------------ safesim validate
def _top_level(path: PathLike) -> dict[str, Any] | None:
    """Return the top-level mapping of a YAML file, or None (not .yaml, missing, unreadable, not a mapping).

    Only to tell what a file is: the loader that reads it reports its errors with file and line.
    """
    p = Path(path)
    if p.suffix not in (".yaml", ".yml") or not p.is_file():
        return None
    try:
        data = read_yaml(p, PlanError).data
    except PlanError:
        return None
    return data if isinstance(data, dict) else None


def plan_kind(path: PathLike) -> str | None:
    """Return the kind of plan a file is: 'calibration', 'sensitivity', 'sweep', or None.

    A plan has a top-level ``scenario:`` and ``parameters:`` (with ``targets:`` for calibration) or
    ``grid:``/``samples:``; anything else is None.
    """
    data = _top_level(path)
    if data is None or "scenario" not in data:
        return None
    return _kind_of(data) or "sweep"  # no scenario has a 'scenario:' key: a plan, its kind misspelt


def check_bundle(path: PathLike) -> None:
    """Apply the bundle, and only this file, to the installed baseline.

    The loader checks every key of its `platform:` block against the schema. A copy sits in a scratch `policies/`
    folder so that an installed bundle of the same name is not picked up instead; errors name the original file.
    """
    original = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "policies"
        folder.mkdir()
        copy = folder / original.name
        copy.write_bytes(original.read_bytes())
        text = f"extends: {json.dumps(str(Scenario.default().path))}\npolicies: [{json.dumps(original.stem)}]\n"
        try:
            _core.load_scenario_text(text, str(Path(tmp) / "validate.yaml"))
        except ScenarioError as err:
            line = str(err).replace(str(copy), str(path))
            raise ScenarioError(line, str(path), err.line, err.column, err.key_path, err.message) from None


def check_file(path: PathLike) -> None:
    """Validate any file safesim reads without running anything, with the reader that running uses.

    A scenario, a policy bundle (top-level ``bundle:``), a sweep, sensitivity or calibration plan, a targets file
    (top-level ``targets:`` without ``scenario:``), or a check file (a scenario with ``expect:``, read as ``safesim
    check`` reads it). A ScenarioError or PlanError if it is bad.
    """
    kind = plan_kind(path)
    data = _top_level(path)
    if data is None and Path(path).is_file():
        with contextlib.suppress(OSError, UnicodeDecodeError):
            if any(ln.startswith("scenario:") for ln in Path(path).read_text(encoding="utf-8").splitlines()):
                read_yaml(path, PlanError, "plan file")  # a plan that does not read: its own error
    if data is not None and "bundle" in data:
        check_bundle(path)
    elif kind is not None:
        load_plan(path, kind).check()
    elif data is not None and "targets" in data and "scenario" not in data:
        from safesim.targets import load_targets  # a targets file (scenarios/targets/*.yaml)

        load_targets(path)
    elif data is not None and "expect" in data:
        try:
            from safesim.harness.expectations import load_check_file
        except ModuleNotFoundError:  # the harness is not installed: the scenario part only
            Scenario.load(path).spec  # noqa: B018
        else:
            load_check_file(path)
    else:
        Scenario.load(path).spec  # noqa: B018  (loading is the validation)
