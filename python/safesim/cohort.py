"""Cohort measures of ``population.ageing``.

The share of a cohort who ever experienced an outcome by each age (docs/model/submodels/ageing.md).

Each run's engine output carries a cohort table, ages 0-17 by
:func:`safesim._core.cohort_columns`: row ``a`` counts the cohort members
(children who joined at ``youngest_age`` during the measured horizon, with an
account) observed to the end of age ``a`` (their ``a + 1``-th birthday fell in
the run) and how many of them had each outcome by then.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from safesim import _core
from safesim.results import summarize

__all__ = ["cohort_frame", "summarize_cohort"]


def cohort_frame(outputs: list[dict[str, Any]]) -> pd.DataFrame:
    """Per run, age and outcome: replicate, age, outcome, members, count, value (= count / members).

    Empty (with those columns) when the runs had no ``population.ageing``.
    Ages with no member observed to their end are left out.
    """
    columns = list(_core.cohort_columns())
    rows: list[dict[str, Any]] = []
    for rep, out in enumerate(outputs):
        table = np.asarray(out.get("cohort", np.zeros((0, len(columns)))), dtype=np.float64)
        if table.size == 0:
            continue
        table = table.reshape(-1, len(columns))
        for age, row in enumerate(table):
            members = float(row[0])
            if members <= 0:
                continue
            for k, outcome in enumerate(columns[1:], start=1):
                rows.append(
                    {
                        "replicate": rep,
                        "age": age,
                        "outcome": outcome,
                        "members": members,
                        "count": float(row[k]),
                        "value": float(row[k]) / members,
                    }
                )
    return pd.DataFrame(rows, columns=["replicate", "age", "outcome", "members", "count", "value"])


def summarize_cohort(frame: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per age and outcome: the share ever (mean over replicates, t-interval), members and count per run (means).

    Columns: age, outcome, mean, sd, n, ci_low, ci_high, members, count.
    ``mean`` is the share of the cohort members observed to the end of
    ``age`` who had the outcome by then.
    """
    if frame.empty:
        return pd.DataFrame(columns=["age", "outcome", "mean", "sd", "n", "ci_low", "ci_high", "members", "count"])
    out = summarize(frame, by=["age", "outcome"], confidence=confidence)
    means = frame.groupby(["age", "outcome"], observed=True, sort=True)[["members", "count"]].mean().reset_index()
    return out.merge(means, on=["age", "outcome"], how="left")
