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

import yaml

from safesim import _core
from safesim.api import RunOptions, expand_sweep, point_scenario, sweep
from safesim.calibration import CalibrationResults, Target, calibrate, check_inputs
from safesim.errors import PlanError, ScenarioError
from safesim.results import ECOSYSTEM, SweepResults
from safesim.scenario import Scenario, make_parameters
from safesim.sensitivity import METHODS, SensitivityResults, sensitivity

__all__ = ["KINDS", "PLAN_KEYS", "Plan", "check_file", "load_plan", "plan_kind"]

PathLike = str | os.PathLike[str]

KINDS = ("sweep", "sensitivity", "calibration")

#: The keys of each kind of plan, in the order an error message lists them.
PLAN_KEYS: dict[str, tuple[str, ...]] = {
    "sweep": ("grid", "metrics", "policies", "reps", "samples", "scenario", "seed", "set"),
    "sensitivity": ("method", "metrics", "n", "parameters", "policies", "reps", "scenario", "scope", "seed", "set"),
    "calibration": (
        *("scenario", "set", "policies", "parameters", "targets"),
        *("n", "reps", "waves", "cutoff", "seed", "margin"),
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
    "calibration": {"n": 40, "reps": 5, "waves": 1, "cutoff": 3.0, "seed": None},
}


@dataclass(frozen=True)
class Plan:
    """A plan file as read: its ``kind``, ``path`` and top-level mapping ``data`` (shape checked)."""

    kind: str
    path: Path
    data: Mapping[str, Any]

    @property
    def metrics(self) -> list[str]:
        """The metrics the plan asks to show (may be empty)."""
        return [str(m) for m in self.data.get("metrics") or []]

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """Report a ValueError or TypeError raised inside as a :class:`PlanError` naming the file.

        A :class:`ScenarioError` (or a PlanError) already names its file and passes through.
        """
        try:
            yield
        except (ScenarioError, PlanError):
            raise
        except (TypeError, ValueError) as err:
            raise PlanError(f"{self.path}: {err}") from None

    def scenario(self, overrides: Iterable[tuple[str, str]] = ()) -> Scenario:
        """The base scenario with the plan's ``set`` and ``policies``, then ``overrides``
        (``(key.path, YAML text)`` pairs, the command line's ``--set``) on top.
        """
        source = str(self.data["scenario"])
        candidate = self.path.parent / source
        sc = Scenario.load(candidate if candidate.is_file() else source)
        for key, value in (self.data.get("set") or {}).items():
            sc = sc.set(str(key), value)
        for name in self.data.get("policies") or []:
            sc = sc.with_policy(str(name))
        for key, text in overrides:
            sc = sc.set_yaml(key, text)
        return sc

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """The run settings (reps, seed, n, ...): the file's, or their defaults, with non-None ``overrides`` on top."""
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
        """Run the plan on ``scenario`` (default: :meth:`scenario`); ``settings`` (e.g. ``reps=3``;
        None keeps the file's) replace the file's; ``options`` say where runs are computed and kept.
        """
        sc = self.scenario() if scenario is None else scenario
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
            return calibrate(
                sc,
                self.data["parameters"],
                [Target.from_dict(t) for t in self.data["targets"]],
                n=int(s["n"]),
                reps=int(s["reps"]),
                waves=int(s["waves"]),
                cutoff=float(s["cutoff"]),
                seed=seed,
                margin=float(self.data.get("margin", 0.1)),
                options=options,
            )

    def points(self) -> list[dict[str, Any]]:
        """A sweep's points: the grid's cartesian product, or the samples."""
        with self.errors():
            return expand_sweep(self.data["grid"] if "grid" in self.data else self.data["samples"])

    def check(self) -> None:
        """Check the base scenario, every range and target (or sweep point) without running anything."""
        sc = self.scenario()
        with self.errors():
            if self.kind == "calibration":
                check_inputs(sc, self.data["parameters"], self.data["targets"])
            elif self.kind == "sensitivity":
                make_parameters(sc, self.data["parameters"])
            else:
                for point in self.points():
                    point_scenario(sc, point).spec  # noqa: B018  (each point must make a valid scenario)
        if self.kind == "sensitivity" and str(self.data.get("method", "morris")) not in METHODS:
            raise PlanError(f"{self.path}: method must be morris or sobol, got {self.data['method']!r}")


def _read_mapping(path: Path) -> Any:
    """The YAML document in ``path``; a missing file or bad YAML is a PlanError."""
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise PlanError(f"{path}: no such file") from None
    except yaml.YAMLError as err:
        raise PlanError(f"{path}: not valid YAML: {' '.join(str(err).split())}") from None


def _kind_of(doc: Mapping[str, Any]) -> str | None:
    if "parameters" in doc:
        return "calibration" if "targets" in doc else "sensitivity"
    if "grid" in doc or "samples" in doc:
        return "sweep"
    return None


def load_plan(path: PathLike, kind: str | None = None) -> Plan:
    """Read a plan file and check its shape: known keys only, the required ones present.

    ``kind`` (sweep, sensitivity or calibration) defaults to what the file
    holds: ``targets`` and ``parameters`` make a calibration, ``parameters`` a
    sensitivity analysis, ``grid`` or ``samples`` a sweep.
    """
    path = Path(path)
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    doc = _read_mapping(path)
    if kind is None:
        kind = _kind_of(doc) if isinstance(doc, dict) else None
        if kind is None:
            raise PlanError(f"{path}: not a plan (a sweep has grid or samples, sensitivity and calibration parameters)")
    if not isinstance(doc, dict):
        raise PlanError(f"{path}: expected a mapping with {_SHAPE[kind]}")
    keys = PLAN_KEYS[kind]
    unknown = sorted(set(doc) - set(keys))
    if unknown:
        raise PlanError(f"{path}: unknown key(s) {', '.join(unknown)} (expected {', '.join(keys)})")
    for key in _REQUIRED[kind]:
        if key not in doc:
            raise PlanError(f"{path}: missing '{key}'")
    if "parameters" in _REQUIRED[kind] and (not isinstance(doc["parameters"], dict) or not doc["parameters"]):
        raise PlanError(f"{path}: 'parameters' must map key paths to [low, high]")
    if kind == "sweep" and ("grid" in doc) == ("samples" in doc):
        raise PlanError(f"{path}: give exactly one of 'grid' (key: [values]) or 'samples' (a list of mappings)")
    if kind == "calibration" and (
        not isinstance(doc["targets"], list) or not all(isinstance(t, dict) for t in doc["targets"])
    ):
        raise PlanError(f"{path}: 'targets' must be a list of mappings (metric, value or interval, sd, ...)")
    return Plan(kind, path, doc)


# ------------------------------------------------------------------ safesim validate
def _top_level(path: PathLike) -> dict[str, Any] | None:
    """The top-level mapping of a YAML file, or None (not .yaml, missing, unreadable, not a mapping).

    Only to tell what a file is: the loader that reads it reports its errors with file and line.
    """
    p = Path(path)
    if p.suffix not in (".yaml", ".yml") or not p.is_file():
        return None
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def plan_kind(path: PathLike) -> str | None:
    """'calibration' or 'sensitivity' for a file with top-level ``scenario:`` and
    ``parameters:`` (and ``targets:`` for calibration), None for anything else.
    """
    data = _top_level(path)
    if data is None or "parameters" not in data or "scenario" not in data:
        return None
    return "calibration" if "targets" in data else "sensitivity"


def check_bundle(path: PathLike) -> None:
    """Apply the bundle, and only this file, to the installed baseline: the
    loader checks every key of its `platform:` block against the schema.
    A copy sits in a scratch `policies/` folder so that an installed bundle
    of the same name is not picked up instead; errors name the original file.
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
    """Validate a scenario, a policy bundle (top-level ``bundle:``) or a sensitivity or
    calibration plan without running anything: a ScenarioError or PlanError if it is bad.
    """
    kind = plan_kind(path)
    data = _top_level(path)
    if data is not None and "bundle" in data:
        check_bundle(path)
    elif kind is not None:
        load_plan(path, kind).check()
    else:
        Scenario.load(path).spec  # noqa: B018  (loading is the validation)
