"""safesim: an agent-based simulator of child-protection controls on online platforms.

Quick use::

    import safesim
    sc = safesim.Scenario.default().set("population.users", 2000)
    res = safesim.replicate(sc, n=10)
    res.summary()
"""

from __future__ import annotations

from safesim import _core
from safesim.api import replicate, run
from safesim.errors import ScenarioError
from safesim.results import Results, daily_frame, metric_names, runs_frame, summarize
from safesim.scenario import Scenario, installed_scenarios, scenarios_dir

__version__: str = _core.version

__all__ = [
    "Results",
    "Scenario",
    "ScenarioError",
    "__version__",
    "daily_frame",
    "installed_scenarios",
    "metric_names",
    "metrics",
    "parameter_dictionary",
    "replicate",
    "run",
    "runs_frame",
    "scenarios_dir",
    "summarize",
]


def metrics() -> list[tuple[str, str, str, str]]:
    """Output metrics as (name, kind, unit, meaning), in array column order."""
    return [tuple(row) for row in _core.metrics()]  # type: ignore[misc]


def parameter_dictionary() -> str:
    """The parameter dictionary (every scenario key) as Markdown."""
    return _core.parameter_dictionary()
