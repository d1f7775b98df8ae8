"""Minor-level results by age band and gender.

The engine counts every minor-level metric (``_core.group_metrics()``) in 36
groups per scope: age 0 to 17 at the event, by gender. A distinct count
(``minors_*``) counts each minor once, in the group they were in when first
counted, so the groups of a scope add up to its total; ``minors`` is each
group's number of minors with an account at day 0, the denominator of its
``*_per_1k`` rates. Bands are sums of ages.

>>> import safesim as ss
>>> res = ss.replicate(ss.Scenario.default().set("population.users", 3000).set("horizon_days", 30), n=2)
>>> t = res.summary(by="age_band")
>>> sorted(t["group"].unique())
['13-15', '16-17', '8-12']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from safesim import _core

AGES = 18
GENDERS = ("girl", "boy")
DEFAULT_BANDS = ((13, 15), (16, 17))  # and youngest_age to 12
BY = ("age_band", "gender", "age_band_gender", "age")


def group_metric_names() -> list[str]:
    """Return the metrics counted by age and gender, in the engine's order."""
    return list(_core.group_metrics())


def groups_table(out: dict[str, Any], scopes: Sequence[str]) -> pd.DataFrame:
    """One run's groups: a row per scope x age x gender, a column per group metric, and ``minors``."""
    names = group_metric_names()
    n = len(scopes) * AGES * 2
    values = np.asarray(out["group_totals"], dtype=np.float64).reshape(n, len(names))
    frame = pd.DataFrame(values, columns=names)
    frame.insert(0, "gender", np.tile(np.array(GENDERS, dtype=object), len(scopes) * AGES))
    frame.insert(0, "age", np.tile(np.repeat(np.arange(AGES, dtype=np.int64), 2), len(scopes)))
    frame.insert(0, "scope", np.repeat(np.array(list(scopes), dtype=object), AGES * 2))
    frame["minors"] = np.asarray(out["group_minors"], dtype=np.float64).ravel()
    return frame


def groups_arrays(frame: pd.DataFrame, n_scopes: int) -> tuple[np.ndarray, np.ndarray]:
    """``group_totals`` and ``group_minors`` back from :func:`groups_table` (ValueError on a wrong shape)."""
    names = group_metric_names()
    if len(frame) != n_scopes * AGES * 2:
        raise ValueError("groups table of the wrong shape")
    totals = frame[names].to_numpy(dtype=np.float64).reshape(n_scopes, AGES * 2, len(names))
    minors = frame["minors"].to_numpy(dtype=np.float64).reshape(n_scopes, AGES * 2)
    return np.ascontiguousarray(totals), np.ascontiguousarray(minors)


def groups_frame(outputs: Sequence[dict[str, Any]], replicates: Sequence[int] | None = None) -> pd.DataFrame:
    """Tidy frame of every run's groups: replicate, scope, age, gender, metric, value (``minors`` included)."""
    frames = []
    for i, out in enumerate(outputs):
        scopes = ["ecosystem", *out["platforms"]]
        wide = groups_table(out, scopes)
        wide.insert(0, "replicate", i if replicates is None else replicates[i])
        frames.append(wide)
    if not frames:
        return pd.DataFrame(columns=["replicate", "scope", "age", "gender", "metric", "value"])
    wide = pd.concat(frames, ignore_index=True)
    return wide.melt(id_vars=["replicate", "scope", "age", "gender"], var_name="metric", value_name="value")


def parse_bands(text: str | Sequence[Sequence[int]] | None, youngest: int = 0) -> list[tuple[int, int]]:
    """Age bands from ``"9-12,13-15,16-17"`` or ``[(9, 12), ...]``; the default is youngest-12, 13-15, 16-17.

    Bands must lie within 0-17, each with low <= high, in increasing order without overlap.
    """
    if text is None or text == "":
        return [(min(youngest, 12), 12), *DEFAULT_BANDS]
    if isinstance(text, str):
        bands = []
        for part in text.split(","):
            m = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", part)
            if not m:
                raise ValueError(f"age band {part.strip()!r}: expected LOW-HIGH, for example 13-15")
            bands.append((int(m.group(1)), int(m.group(2))))
    else:
        bands = [(int(lo), int(hi)) for lo, hi in text]
    last = -1
    for lo, hi in bands:
        if not 0 <= lo <= hi <= AGES - 1:
            raise ValueError(f"age band {lo}-{hi}: ages must satisfy 0 <= low <= high <= 17")
        if lo <= last:
            raise ValueError(f"age band {lo}-{hi} overlaps or precedes the band before it")
        last = hi
    return bands


def band_label(lo: int, hi: int) -> str:
    """``"13-15"``, or ``"17"`` for a one-year band."""
    return str(lo) if lo == hi else f"{lo}-{hi}"


def summarize_groups(
    frame: pd.DataFrame, by: str, bands: Sequence[tuple[int, int]], confidence: float = 0.95
) -> pd.DataFrame:
    """Mean and t-interval over replicates per scope x group x metric, counts and ``*_per_1k`` rates.

    ``by``: ``age_band``, ``gender``, ``age_band_gender`` or ``age``. Ages outside every band are left out.
    """
    from safesim.results import summarize

    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}, got {by!r}")
    df = frame.copy()
    if by in ("age_band", "age_band_gender"):
        label = pd.Series(pd.NA, index=df.index, dtype=object)
        for lo, hi in bands:
            label[(df["age"] >= lo) & (df["age"] <= hi)] = band_label(lo, hi)
        df = df[label.notna()].assign(group=label[label.notna()])
        if by == "age_band_gender":
            df["group"] = df["group"].astype(str) + " " + df["gender"].astype(str)
        order = [band_label(lo, hi) for lo, hi in bands]
        if by == "age_band_gender":
            order = [f"{b} {g}" for b in order for g in GENDERS]
    elif by == "gender":
        df = df.assign(group=df["gender"])
        order = list(GENDERS)
    else:
        df = df.assign(group=df["age"].astype(str))
        order = [str(a) for a in range(AGES)]
    sums = df.groupby(["replicate", "scope", "group", "metric"], sort=False, observed=True)["value"].sum()
    wide = sums.unstack("metric")
    rates = []
    minors = wide["minors"]
    for name in [c for c in wide.columns if c.startswith("minors_")]:
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = 1000.0 * wide[name] / minors.where(minors > 0)
        rates.append(rate.rename(f"{name}_per_1k"))
    wide = pd.concat([wide, *rates], axis=1)
    long = wide.stack(future_stack=True).rename("value").reset_index()
    long = long.rename(columns={"level_3": "metric"}) if "level_3" in long.columns else long
    out = summarize(long, by=["scope", "group", "metric"], confidence=confidence)
    groups_present = [g for g in order if g in set(out["group"])]
    out["group"] = pd.Categorical(out["group"], categories=groups_present)
    return out.sort_values(["scope", "group", "metric"], kind="stable").reset_index(drop=True)
