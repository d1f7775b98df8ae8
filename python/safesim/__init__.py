"""safesim: an agent-based simulator of child-protection controls on online platforms.

Quick use::

    import safesim as ss
    base = ss.Scenario.load("scenarios/baseline.yaml")
    cmp = ss.compare({"base": base, "teen": base.with_policy("industry_teen_accounts")}, n=20)
    cmp.summary()          # paired effects with 95% intervals

``run``, ``replicate``, ``compare`` and ``sweep`` return tidy pandas frames;
``sensitivity`` gives Morris or Sobol' indices of every metric over parameter
ranges (SALib);
``calibrate`` history-matches uncertain parameters to published targets;
``check_targets`` compares a scenario with a targets file (``load_targets``);
``load_plan`` reads a sweep, sensitivity or calibration plan file (``.run()`` runs it);
``safesim.plotting`` (imported on demand; the only module that imports
matplotlib) draws them.
"""

from __future__ import annotations

from safesim import _core
from safesim.analytic import oracle
from safesim.api import RunOptions, compare, expand_sweep, replicate, run, sweep
from safesim.calibration import CalibrationResults, Target, calibrate, implausibility
from safesim.crn import variance_reduction
from safesim.ensemble import Ensemble, EnsembleComparison, emit_calibrated, load_ensemble
from safesim.errors import PlanError, ScenarioError
from safesim.plans import load_plan
from safesim.results import (
    Comparison,
    Results,
    SweepResults,
    burdens_of,
    daily_frame,
    metric_names,
    paired_differences,
    runs_frame,
    summarize,
)
from safesim.scenario import Scenario, installed_scenarios, scenarios_dir
from safesim.sensitivity import SensitivityResults, sensitivity
from safesim.targets import TargetCheck, TargetSet, check_targets, load_targets

__version__: str = _core.version

__all__ = [
    "CalibrationResults",
    "Comparison",
    "Ensemble",
    "EnsembleComparison",
    "PlanError",
    "Results",
    "RunOptions",
    "Scenario",
    "ScenarioError",
    "SensitivityResults",
    "SweepResults",
    "Target",
    "TargetCheck",
    "TargetSet",
    "__version__",
    "burdens_of",
    "calibrate",
    "check_targets",
    "compare",
    "daily_frame",
    "emit_calibrated",
    "expand_sweep",
    "implausibility",
    "installed_scenarios",
    "load_ensemble",
    "load_plan",
    "load_targets",
    "metric_names",
    "metrics",
    "oracle",
    "paired_differences",
    "parameter_dictionary",
    "replicate",
    "run",
    "runs_frame",
    "scenarios_dir",
    "sensitivity",
    "summarize",
    "sweep",
    "variance_reduction",
]


def metrics() -> list[tuple[str, str, str, str]]:
    """Output metrics as (name, kind, unit, meaning), in array column order."""
    return [tuple(row) for row in _core.metrics()]  # type: ignore[misc]


def parameter_dictionary() -> str:
    """Return the parameter dictionary (every scenario key) as Markdown."""
    return _core.parameter_dictionary()
