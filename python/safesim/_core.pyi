"""Type stubs for the private C++ extension (python/_core.cpp)."""

from collections.abc import Mapping
from typing import TypedDict

import numpy as np
import numpy.typing as npt

version: str
build_type: str

class RunDict(TypedDict):
    platforms: list[str]
    days: int
    seed: int
    totals: npt.NDArray[np.float64]  # (scopes, metrics); scope 0 = ecosystem
    daily: npt.NDArray[np.float64]  # (scopes, days, metrics)
    operators: list[str]  # declared operators only
    operator_totals: npt.NDArray[np.float64]  # (declared operators, metrics)
    operator_daily: npt.NDArray[np.float64]  # (declared operators, days, metrics)
    group_totals: npt.NDArray[np.float64]  # (scopes, 36 groups = age 0-17 x gender, group metrics)
    group_minors: npt.NDArray[np.float64]  # (scopes, 36 groups): minors with an account at day 0
    cohort: npt.NDArray[np.float64]  # (18 ages or 0 without population.ageing, cohort_columns())
    build_seconds: float
    run_seconds: float
    hash: int

class ScenarioSpec:
    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def seed(self) -> int: ...
    @property
    def horizon_days(self) -> int: ...
    @property
    def users(self) -> int: ...
    @property
    def platforms(self) -> list[str]: ...
    @property
    def policies(self) -> list[str]: ...
    @property
    def policy_log(self) -> list[str]: ...
    @property
    def operators(self) -> list[tuple[str, list[str]]]: ...
    @property
    def burdens(self) -> list[tuple[str, list[tuple[str, float]]]]: ...
    @property
    def population_age_bands(self) -> str: ...
    @property
    def population_youngest_age(self) -> int: ...
    @property
    def source_file(self) -> str: ...
    def dump(self) -> str: ...

def load_scenario(
    path: str,
    overrides: list[tuple[str, str]] = ...,
    policies: list[str] = ...,
    policy_dirs: list[str] = ...,
) -> ScenarioSpec: ...
def load_scenario_text(
    text: str,
    name: str,
    overrides: list[tuple[str, str]] = ...,
    policies: list[str] = ...,
    policy_dirs: list[str] = ...,
) -> ScenarioSpec: ...
def run(spec: ScenarioSpec, seed: int, threads: int = 1) -> RunDict:
    """Run one replicate (the GIL is released while it runs); graphs built on ``threads`` threads."""

def clear_structure_cache() -> None:
    """Forget the per-process cache of built populations and graphs."""

def output_hash(
    totals: npt.ArrayLike,
    daily: npt.ArrayLike,
    operator_totals: npt.ArrayLike = ...,
    operator_daily: npt.ArrayLike = ...,
    group_totals: npt.ArrayLike = ...,
    group_minors: npt.ArrayLike = ...,
) -> int:
    """Return the engine's output hash of a run's arrays."""

def cohort_columns() -> list[str]:
    """Columns of a run's cohort table (population.ageing): members, then the outcomes."""

def group_metrics() -> list[str]:
    """Metrics counted by age and gender (the last axis of group_totals)."""

def run_many(spec: ScenarioSpec, seeds: list[int], threads: int = 1) -> list[RunDict]:
    """One replicate per seed on ``threads`` threads; results in seed order, independent of ``threads``."""

def dyad_outcome(
    spec: ScenarioSpec, platform: int = 0, offender_type: int = 0, shares: Mapping[str, float] = ...
) -> dict[str, float]:
    """Analytic per-dyad outcome (absorbing Markov chain); offender_type 0 groomer, 1 sextortion, 2 distributor.

    shares: mixture shares by name (dyad_mixture), e.g. {"public_share": 0.7}; one not given takes its default.
    A name not declared or a share outside [0, 1] raises ValueError.
    """

def dyad_mixture() -> list[tuple[str, str, str]]:
    """Return the dimensions the oracle mixes over, as (share, context flag, meaning)."""

def metrics() -> list[tuple[str, str, str, str]]: ...
def parameter_dictionary() -> str: ...
def parameters() -> list[tuple[str, str, str, float, float]]: ...
