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
from collections.abc import Iterable, Sequence
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


def groups_wide(outputs: Sequence[dict[str, Any]], replicates: Sequence[int] | None = None) -> pd.DataFrame:
    """Every run's groups, wide: replicate, scope, age, gender, a column per group metric and ``minors``.

    One row per run x scope x age x gender, built from the runs' arrays (``group_totals``,
    ``group_minors``): a few kilobytes a run, where the tidy :func:`groups_frame` holds a row per metric.
    """
    names = group_metric_names()
    columns = ["replicate", "scope", "age", "gender", *names, "minors"]
    if not outputs:
        return pd.DataFrame(columns=columns)
    scopes = ["ecosystem", *outputs[0]["platforms"]]
    rows = len(scopes) * AGES * 2
    reps = np.arange(len(outputs)) if replicates is None else np.asarray(replicates)
    values = np.concatenate(
        [np.asarray(o["group_totals"], dtype=np.float64).reshape(rows, len(names)) for o in outputs]
    )
    minors = np.concatenate([np.asarray(o["group_minors"], dtype=np.float64).ravel() for o in outputs])
    frame = pd.DataFrame(values, columns=names)
    frame["minors"] = minors
    n = len(outputs)
    frame.insert(0, "gender", pd.Categorical.from_codes(np.tile([0, 1], n * len(scopes) * AGES), list(GENDERS)))
    frame.insert(0, "age", np.tile(np.repeat(np.arange(AGES, dtype=np.int64), 2), n * len(scopes)))
    scope_codes = np.tile(np.repeat(np.arange(len(scopes)), AGES * 2), n)
    frame.insert(0, "scope", pd.Categorical.from_codes(scope_codes, scopes))
    frame.insert(0, "replicate", np.repeat(reps, rows).astype(np.int64))
    return frame


def groups_frame(outputs: Sequence[dict[str, Any]], replicates: Sequence[int] | None = None) -> pd.DataFrame:
    """Tidy frame of every run's groups: replicate, scope, age, gender, metric, value (``minors`` included)."""
    if not outputs:
        return pd.DataFrame(columns=["replicate", "scope", "age", "gender", "metric", "value"])
    wide = groups_wide(outputs, replicates)
    wide["scope"] = wide["scope"].astype(str).astype(object)
    wide["gender"] = wide["gender"].astype(str).astype(object)
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


def _band_order(by: str, bands: Sequence[tuple[int, int]]) -> list[str]:
    if by in ("age_band", "age_band_gender"):
        order = [band_label(lo, hi) for lo, hi in bands]
        return [f"{b} {g}" for b in order for g in GENDERS] if by == "age_band_gender" else order
    return list(GENDERS) if by == "gender" else [str(a) for a in range(AGES)]


def group_sums(frame: pd.DataFrame, by: str, bands: Sequence[tuple[int, int]]) -> pd.DataFrame:
    """Each run's sums per scope x group (``by``, ``bands``): index replicate, scope, group; a column per metric.

    ``frame`` is :func:`groups_wide` of some runs. A run's sums depend on its rows only, so the
    runs may come a few at a time.
    """
    keys = ["replicate", "scope", "age", "gender"]
    names = [c for c in frame.columns if c not in keys]
    age = frame["age"].to_numpy()
    keep = None
    if by in ("age_band", "age_band_gender"):
        label = np.full(len(frame), None, dtype=object)
        for lo, hi in bands:
            label[(age >= lo) & (age <= hi)] = band_label(lo, hi)
        keep = label != None  # noqa: E711  (element-wise)
        if by == "age_band_gender":
            label[keep] = label[keep] + " " + frame["gender"].astype(str).to_numpy(dtype=object)[keep]
    elif by == "gender":
        label = frame["gender"].astype(str).to_numpy(dtype=object)
    else:
        label = age.astype(str).astype(object)
    df = frame[["replicate", "scope", *names]]
    if keep is not None:
        df, label = df[keep], label[keep]
    df = df.assign(scope=df["scope"].astype(str).astype(object), group=label)
    return df.groupby(["replicate", "scope", "group"], sort=False, observed=True)[names].sum()


def summarize_groups(
    frame: pd.DataFrame | Iterable[pd.DataFrame],
    by: str,
    bands: Sequence[tuple[int, int]],
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Mean and t-interval over replicates per scope x group x metric, counts and ``*_per_1k`` rates.

    ``frame`` is :func:`groups_wide`, or an iterable of its chunks of consecutive runs: the chunks are
    reduced to their per-run group sums (:func:`group_sums`) one at a time, so only one chunk's rows per
    age are held.
    ``by``: ``age_band``, ``gender``, ``age_band_gender`` or ``age``. Ages outside every band are left out.
    """
    from safesim.results import summarize_wide

    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}, got {by!r}")
    chunks = [frame] if isinstance(frame, pd.DataFrame) else frame
    parts = [group_sums(chunk, by, bands) for chunk in chunks]
    sums = pd.concat(parts) if parts else group_sums(groups_wide([]), by, bands)
    rates = {}
    minors = sums["minors"]
    for name in sorted(c for c in sums.columns if c.startswith("minors_")):
        with np.errstate(invalid="ignore", divide="ignore"):
            rates[f"{name}_per_1k"] = 1000.0 * sums[name] / minors.where(minors > 0)
    sums = sums.assign(**rates)
    out = summarize_wide(sums.reset_index(), ["scope", "group"], confidence=confidence)
    groups_present = [g for g in _band_order(by, bands) if g in set(out["group"])]
    out["group"] = pd.Categorical(out["group"], categories=groups_present)
    return out.sort_values(["scope", "group", "metric"], kind="stable").reset_index(drop=True)
