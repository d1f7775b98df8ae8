"""Ensembles of calibrated parameter sets, calibrated scenarios and comparisons across an ensemble.

History matching (:func:`safesim.calibrate`) leaves a region of parameter
values the published figures cannot rule out, not one best value. This module
carries that region forward, as calibrated epidemiological models do
(Andrianakis et al. 2015, PLoS Computational Biology 11(1): e1003968, run
their policy questions over the non-implausible parameter sets):

- :func:`sample_ensemble` draws K parameter sets from the non-implausible
  points of a calibration (each was judged by simulation, not by an emulator);
- :func:`chosen_point` picks the point a calibrated scenario ships with: the
  best fit among the non-implausible points (see its docstring for why);
- :func:`emit_calibrated` writes a calibrated scenario (``extends:`` the
  original, only the fitted keys), its ensemble and a machine-readable record;
- :func:`compare_ensemble` (``ss.compare(..., ensemble=...)``) runs the
  paired comparison at every set of an ensemble on common seeds and combines
  parameter and stochastic uncertainty in one interval
  (:meth:`EnsembleComparison.effects`).

Combined interval: for each parameter set j the paired effect has the
t sampling distribution of :func:`safesim.compare` (location the mean paired
difference m_j, scale its standard error, r - 1 degrees of freedom). History
matching gives the non-implausible sets no weights, so the sets are weighted
equally, and the combined distribution is the equal-weight mixture of the K
per-set distributions; its 2.5% and 97.5% points are the reported interval.
Its variance is, by the law of total variance, the between-set variance of
the m_j (parameter uncertainty) plus the mean squared standard error
(stochastic uncertainty); both parts are reported (``between_sd``,
``within_se``, ``parameter_share``). With one set the mixture is that set's t
distribution, so the interval is exactly :func:`safesim.compare`'s.
"""

from __future__ import annotations

import csv
import io
import math
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import special, stats

from safesim import _core
from safesim.io import json_number, json_records, write_frame, write_json, write_text
from safesim.readers import parse_finite
from safesim.results import ECOSYSTEM, Comparison, Table, on_frontier, summarize

if TYPE_CHECKING:
    from safesim.api import RunOptions
    from safesim.calibration import CalibrationResults
    from safesim.scenario import Scenario

__all__ = [
    "Ensemble",
    "EnsembleComparison",
    "chosen_point",
    "compare_ensemble",
    "emit_calibrated",
    "load_ensemble",
    "region",
    "sample_ensemble",
]

#: Columns of an ensemble file that are not scenario keys.
INFO_COLUMNS = ("set", "wave", "point", "max_implausibility")


# ------------------------------------------------------------------ the ensemble
class Ensemble:
    """K parameter sets: one row per set, one column per scenario key path (plus optional info columns).

    >>> ens = Ensemble.of([{"offenders.share_of_adults": 0.004}, {"offenders.share_of_adults": 0.006}])
    >>> len(ens), ens.keys
    (2, ['offenders.share_of_adults'])
    """

    def __init__(self, sets: pd.DataFrame, path: str | None = None, header: Sequence[str] = ()) -> None:
        frame = sets.reset_index(drop=True).copy()
        if "set" not in frame.columns:
            frame.insert(0, "set", np.arange(len(frame)))
        if frame.empty:
            raise ValueError(f"{path or 'ensemble'}: no parameter sets")
        self.sets = frame
        self.path = path
        self.header = list(header)
        if not self.keys:
            raise ValueError(f"{path or 'ensemble'}: no parameter columns (scenario key paths)")

    @classmethod
    def of(cls, sets: Sequence[Mapping[str, Any]]) -> Ensemble:
        """Build an ensemble from a list of ``{key.path: value}``."""
        return cls(pd.DataFrame([dict(s) for s in sets]))

    @property
    def keys(self) -> list[str]:
        """The scenario key paths the sets give values for."""
        return [c for c in self.sets.columns if c not in INFO_COLUMNS]

    def __len__(self) -> int:
        return len(self.sets)

    def values(self, i: int) -> dict[str, Any]:
        """Set ``i`` as ``{key.path: value}`` (whole numbers as int)."""
        i = int(i)  # per column: a row of mixed columns would turn whole numbers into floats
        return {k: _plain(self.sets[k].iloc[i]) for k in self.keys}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self.values(i) for i in range(len(self)))

    def apply(self, scenario: Scenario, i: int) -> Scenario:
        """``scenario`` with set ``i``'s values set."""
        return scenario.set_many(self.values(i))

    def to_csv(self) -> str:
        """Return the ensemble as CSV text: the header comment lines, then one row per set."""
        buf = io.StringIO()
        for line in self.header:
            buf.write(f"# {line}\n" if line else "#\n")
        self.sets.to_csv(buf, index=False, lineterminator="\n", float_format=None)
        return buf.getvalue()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the sets as CSV; the header lines as ``#`` comments above them."""
        return write_text(path, self.to_csv())

    def __repr__(self) -> str:
        return f"<Ensemble {len(self)} set(s) over {self.keys}>"


def _plain(value: Any) -> Any:
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value)
    return value


def load_ensemble(path: str | os.PathLike[str]) -> Ensemble:
    """Load an ensemble file: CSV, ``#`` comment lines first, then a header of key paths and one row per set.

    A column ``set`` numbers the sets; ``wave``, ``point`` and
    ``max_implausibility`` are information; every other column is a scenario
    key path. A malformed file is a ValueError naming the file, line and column.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"{p}: cannot read the ensemble file ({err.__class__.__name__})") from None
    lines = text.splitlines()
    header = [ln[1:].strip() for ln in lines if ln.startswith("#")]
    body = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip() and not ln.startswith("#")]
    if not body:
        raise ValueError(f"{p}: no header line (key paths) and no parameter sets")
    rows = list(csv.reader([ln for _, ln in body]))
    names = [c.strip() for c in rows[0]]
    if len(set(names)) != len(names) or any(not c for c in names):
        raise ValueError(f"{p}:{body[0][0]}: the header needs distinct, non-empty column names, got {names}")
    records = []
    for (line, _), cells in zip(body[1:], rows[1:], strict=True):
        if len(cells) != len(names):
            raise ValueError(f"{p}:{line}: expected {len(names)} values ({', '.join(names)}), got {len(cells)}")
        rec: dict[str, Any] = {}
        for name, cell in zip(names, cells, strict=True):
            rec[name] = _number(cell.strip(), f"{p}:{line}: column {name}")
        records.append(rec)
    if not records:
        raise ValueError(f"{p}: no parameter sets below the header")
    return Ensemble(pd.DataFrame(records, columns=names), path=str(p), header=header)


def _number(text: str, where: str) -> Any:
    try:
        return int(text, 10)
    except ValueError:
        pass
    return parse_finite(text, where)


def as_ensemble(ensemble: Ensemble | str | os.PathLike[str] | Sequence[Mapping[str, Any]]) -> Ensemble:
    """Return an :class:`Ensemble` as is, load a file, or wrap a list of ``{key: value}``."""
    if isinstance(ensemble, Ensemble):
        return ensemble
    if isinstance(ensemble, (str, os.PathLike)):
        return load_ensemble(ensemble)
    if isinstance(ensemble, pd.DataFrame):
        return Ensemble(ensemble)
    return Ensemble.of(list(ensemble))


# ------------------------------------------------------------------ from a calibration
def region(cal: CalibrationResults) -> dict[str, Any]:
    """Describe the non-implausible region of a calibration.

    Per parameter the bounds of the non-implausible points (every wave),
    and the region's share of the original box, estimated from wave 1 (a Latin hypercube over the whole box)
    with a Wilson 95% interval; with emulators also the last wave's emulated share.
    """
    keep = cal.points[cal.points["non_implausible"]]
    bounds = {
        p.key: {
            "low": json_number(keep[p.key].min()) if len(keep) else None,
            "high": json_number(keep[p.key].max()) if len(keep) else None,
            "prior_low": p.low,
            "prior_high": p.high,
            "log": p.log,
        }
        for p in cal.parameters
    }
    w1 = cal.points[cal.points["wave"] == 1]
    k, n = int(w1["non_implausible"].sum()), len(w1)
    lo, hi = _wilson(k, n)
    emulated = [w.get("emulated_non_implausible_share") for w in cal.waves if w.get("emulated_non_implausible_share")]
    return {
        "bounds": bounds,
        "points": len(keep),
        "volume_share": {
            "estimate": k / n if n else None,
            "ci_low": lo,
            "ci_high": hi,
            "method": f"share of wave 1's {n} Latin-hypercube points (uniform over the original ranges) "
            "not ruled out, Wilson 95% interval",
        },
        "emulated_volume_share": json_number(emulated[-1]) if emulated else None,
    }


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float | None, float | None]:
    if n == 0:
        return None, None
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def chosen_point(cal: CalibrationResults) -> tuple[pd.Series, str]:
    """Choose the point a calibrated scenario ships with, and say why: the best fit of the region.

    The non-implausible point with the smallest largest implausibility: of the values the targets
    leave open, the one at which the model sits closest to every target at once. It is one point of
    the region, not its summary: the region's spread is carried by the ensemble
    (:func:`sample_ensemble`). (A central point such as the region's medoid was tried and not used:
    the region is wide and lopsided against the targets, and its medoid fitted a target worse than
    the best-fitting survivors.) With no non-implausible point, the smallest-implausibility point
    is still returned and the reason says so.
    """
    best = cal.best()
    n_ok = int(cal.points["non_implausible"].sum())
    if not n_ok:
        return best, "no point is non-implausible: the point of smallest largest implausibility"
    return best, (
        f"of the {n_ok} non-implausible points, the one with the smallest largest implausibility (the best fit to "
        "every target at once); the region's spread is carried by the ensemble, not by this point"
    )


def sample_ensemble(cal: CalibrationResults, k: int = 20, seed: int | None = None) -> Ensemble:
    """K parameter sets from the non-implausible points, drawn without replacement (seeded).

    The last wave with non-implausible points is used when it has at least K
    (its points are a Latin hypercube, or emulator-screened candidates, over the
    latest ranges, so its survivors spread evenly over the region); otherwise
    every wave's. Each set was judged non-implausible by simulation. Fewer
    survivors than K give every survivor (the file's header says so).
    """
    if int(k) < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    pts = cal.points[cal.points["non_implausible"]]
    if pts.empty:
        raise ValueError("no non-implausible point: nothing to sample an ensemble from")
    last = pts[pts["wave"] == pts["wave"].max()]
    pool = last if len(last) >= int(k) else pts
    rng = np.random.default_rng([cal.sampler_seed if seed is None else int(seed), 0xE5E])
    take = np.sort(rng.choice(len(pool), size=min(int(k), len(pool)), replace=False))
    chosen = pool.iloc[take]
    frame = pd.DataFrame({"set": np.arange(len(chosen))})
    for p in cal.parameters:
        frame[p.key] = [int(v) if p.integer else float(v) for v in chosen[p.key]]
    frame["wave"] = chosen["wave"].to_numpy(dtype=np.int64)
    frame["point"] = chosen["point"].to_numpy(dtype=np.int64)
    frame["max_implausibility"] = chosen["max_implausibility"].to_numpy(dtype=np.float64)
    which = f"wave {int(pool['wave'].max())}" if pool is last else "all waves"
    header = [
        f"{len(chosen)} parameter set(s) drawn without replacement from the {len(pool)} non-implausible points "
        f"of {which} (of {len(pts)} in all), seed {cal.sampler_seed if seed is None else int(seed)}",
        "load with ss.load_ensemble(path); use with ss.compare(..., ensemble=path) or safesim compare --ensemble",
    ]
    if len(chosen) < int(k):
        header.append(f"only {len(chosen)} non-implausible point(s): fewer sets than the {int(k)} asked")
    return Ensemble(frame, header=header)


def _yaml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return repr(float(value))


def scenario_yaml(values: Mapping[str, Any], extends: str, header: Sequence[str], name: str | None = None) -> str:
    """Write a scenario file that extends ``extends`` and sets only ``values`` (key paths, written nested)."""
    tree: dict[str, Any] = {}
    for key, value in values.items():
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def emit(node: dict[str, Any], indent: int) -> list[str]:
        out = []
        for k, v in node.items():
            if isinstance(v, dict):
                out.append(" " * indent + f"{k}:")
                out += emit(v, indent + 2)
            else:
                out.append(" " * indent + f"{k}: {_yaml_value(v)}")
        return out

    lines = [f"# {ln}" if ln else "#" for ln in header]
    if name:
        lines.append(f"name: {name}")
    lines.append(f"extends: {extends}")
    lines += emit(tree, 0)
    return "\n".join(lines) + "\n"


def engine_commit(where: str | os.PathLike[str] | None = None) -> str:
    """Return the git commit of the checkout at ``where`` (default: this file's).

    The commit ends in ``-dirty`` when the checkout has uncommitted changes; ``unknown`` outside a git checkout.
    """
    import subprocess

    folder = Path(where) if where is not None else Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=20
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=20,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def record(cal: CalibrationResults, chosen: pd.Series, reason: str, ensemble: Ensemble) -> dict[str, Any]:
    """Return the calibration record as JSON data: plan, waves, emulator diagnostics, region, chosen point, ensemble."""
    diag = cal.emulator_diagnostics()
    fit = cal.fit(chosen)
    return {
        "provenance": cal.provenance,
        "simulations": cal.simulations,
        "points": len(cal.points),
        "non_implausible": int(cal.points["non_implausible"].sum()),
        "waves": [
            {
                "wave": int(w["wave"]),
                "simulated": int(w.get("simulated", w.get("n", 0))),
                "non_implausible": int(
                    cal.points[(cal.points["wave"] == w["wave"]) & cal.points["non_implausible"]].shape[0]
                ),
                "emulated": bool(w.get("emulated")),
                "emulator_passed": w.get("passed"),
                "candidates": w.get("candidates"),
                "ruled_out_by_emulator": w.get("ruled_out_by_emulator"),
                "fallback": w.get("fallback"),
                "ranges": w["ranges"],
            }
            for w in cal.waves
        ],
        "emulator_diagnostics": json_records(diag) if len(diag) else [],
        "region": region(cal),
        "chosen": {
            "point": int(chosen["point"]),
            "wave": int(chosen["wave"]),
            "values": {
                p.key: _plain(int(chosen[p.key]) if p.integer else float(chosen[p.key])) for p in cal.parameters
            },
            "max_implausibility": json_number(chosen["max_implausibility"]),
            "rule": reason,
            "fit": json_records(fit.drop(columns=["mapping", "source"])),
        },
        "ensemble": {"sets": len(ensemble), "header": ensemble.header},
    }


def emit_calibrated(
    cal: CalibrationResults,
    out_dir: str | os.PathLike[str],
    *,
    name: str | None = None,
    k: int = 20,
    command: str = "",
    commit: str | None = None,
    extends: str | os.PathLike[str] | None = None,
    scenario_name: str | None = None,
) -> dict[str, Path]:
    """Write a calibrated scenario and its record from a calibration, into ``out_dir``.

    Files (``NAME`` default: the calibrated scenario's name):

    - ``NAME.yaml``: named ``scenario_name`` (default: the original's name with
      ``_calibrated``), ``extends:`` the calibrated scenario's file (relative to
      ``out_dir``; or ``extends``), with the plan's ``set:`` overrides and the
      fitted keys at :func:`chosen_point`, under a header saying how it was made
      (``command``), on which engine version and commit;
    - ``NAME.ensemble.csv``: :func:`sample_ensemble` with ``k`` sets;
    - ``NAME.record.json``: :func:`record`; ``NAME.points.csv``: every point
      judged; ``NAME.emulator_loo.csv``: leave-one-out standardized errors (with
      emulators).

    Returns ``{kind: path}``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sc = cal.scenario
    name = name or sc.name
    if extends is None:
        source = sc.spec.source_file or sc.path
        if not source:
            raise ValueError("the calibrated scenario has no file to extend: give extends=PATH")
        extends = os.path.relpath(Path(source).resolve(), out.resolve())
    extends = Path(extends).as_posix()
    chosen, reason = chosen_point(cal)
    commit = commit or engine_commit()
    ensemble = sample_ensemble(cal, k)
    ensemble.header = [
        *ensemble.header,
        f"calibration of {sc.name} on safesim {_core.version}, commit {commit}",
    ]
    values: dict[str, Any] = {}
    import yaml

    for key, text in sc.overrides:
        values[key] = yaml.safe_load(text)
    for p in cal.parameters:
        values[p.key] = int(chosen[p.key]) if p.integer else float(chosen[p.key])
    header = [
        f"{name}: {sc.name} calibrated by history matching (generated; do not edit by hand).",
        f"Made by: {command}" if command else "Made by safesim.ensemble.emit_calibrated.",
        f"Engine: safesim {_core.version}, commit {commit}.",
        f"Fitted keys at the chosen point: the best fit of {int(cal.points['non_implausible'].sum())} "
        f"non-implausible points (record: {name}.record.json).",
        f"Targets: {', '.join(t.label for t in cal.targets)}.",
        f"Ensemble of {len(ensemble)} non-implausible sets: {name}.ensemble.csv.",
    ]
    rec = record(cal, chosen, reason, ensemble)
    rec["command"] = command
    rec["commit"] = commit
    rec["scenario_file"] = f"{name}.yaml"
    rec["extends"] = extends
    written = {
        "scenario": write_text(
            out / f"{name}.yaml", scenario_yaml(values, extends, header, name=scenario_name or f"{sc.name}_calibrated")
        ),
        "ensemble": ensemble.save(out / f"{name}.ensemble.csv"),
        "points": write_frame(cal.points, out / f"{name}.points.csv", csv=True),
    }
    if len(cal.diagnostics):
        written["emulator_loo"] = write_frame(cal.diagnostics, out / f"{name}.emulator_loo.csv", csv=True)
    written["record"] = write_json(out / f"{name}.record.json", rec)
    return written


# ------------------------------------------------------------------ comparison across an ensemble
def mixture_interval(
    low: np.ndarray, mid: np.ndarray, high: np.ndarray, dof: np.ndarray, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Equal-weight mixture of per-set t distributions: its (1 -/+ confidence) / 2 quantiles, per row.

    Arrays are (rows, sets): each set's t-interval ``low``/``high`` around
    ``mid`` with ``dof`` degrees of freedom (NaN where a set has no effect for
    the row). A row where some set has no interval (NaN low) but a mean gives
    NaN. The quantile lies between the sets' own quantiles, found by bisection.
    """
    q_hi = 0.5 + confidence / 2.0
    tq = stats.t.ppf(q_hi, np.where(dof > 0, dof, np.nan))
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = (high - mid) / tq
    present = np.isfinite(mid)
    count = present.sum(axis=1)
    bad = (present & ~np.isfinite(low)).any(axis=1) | (count == 0)

    def cdf(x: np.ndarray) -> np.ndarray:
        z = x[:, None] - mid
        with np.errstate(invalid="ignore", divide="ignore"):
            c = np.where(
                scale > 0, special.stdtr(np.where(dof > 0, dof, 1.0), z / np.where(scale > 0, scale, 1.0)), 0.0
            )
        c = np.where(scale > 0, c, (z >= 0).astype(np.float64))
        c = np.where(present, c, 0.0)
        return c.sum(axis=1) / np.maximum(count, 1)

    out = []
    for q, ends in ((1.0 - q_hi, low), (q_hi, high)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row: masked as bad below
            lo = np.nanmin(np.where(present, ends, np.nan), axis=1)
            hi = np.nanmax(np.where(present, ends, np.nan), axis=1)
        lo = np.where(bad, 0.0, lo)
        hi = np.where(bad, 0.0, hi)
        same = hi <= lo
        a, b = lo.copy(), hi.copy()
        for _ in range(60):
            m = 0.5 * (a + b)
            below = cdf(m) < q
            a = np.where(below, m, a)
            b = np.where(below, b, m)
        x = np.where(same, lo, 0.5 * (a + b))
        # A quantile at a set's point mass (no spread within it) is that set's value exactly, not
        # the bisection's last step beside it.
        atoms = np.where(present & ~(scale > 0), mid, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            gap = np.abs(atoms - x[:, None])
            nearest = np.nanargmin(np.where(np.isfinite(gap), gap, np.inf), axis=1)
        snap = atoms[np.arange(len(x)), nearest]
        close = np.isfinite(snap) & (np.abs(snap - x) <= 1e-9 * np.maximum(hi - lo, 1e-300))
        x = np.where(close, snap, x)
        out.append(np.where(bad, np.nan, x))
    return out[0], out[1]


class EnsembleComparison:
    """A paired comparison run at every parameter set of an ensemble, on common seeds.

    ``sets[j]`` is the :class:`~safesim.results.Comparison` at set j;
    :meth:`effects` (also :meth:`summary`) combines them (module docstring);
    :meth:`per_set` lists each set's paired effects.
    """

    key = "scenario"

    def __init__(self, ensemble: Ensemble, sets: list[Comparison], reference: Any, seeds: Sequence[int]) -> None:
        self.ensemble = ensemble
        self.sets = sets
        self.reference = reference
        self.seeds = [int(s) for s in seeds]

    @property
    def labels(self) -> list[Any]:
        """The arms' labels, as in every set's comparison."""
        return self.sets[0].labels

    @property
    def reps(self) -> int:
        """Replicates per arm and set (common seeds across sets)."""
        return len(self.seeds)

    @property
    def loaded_runs(self) -> int:
        """Runs read back from the output folder instead of computed, over all sets."""
        return sum(c.loaded_runs for c in self.sets)

    @property
    def computed_runs(self) -> int:
        """Runs computed by this job, over all sets."""
        return sum(c.computed_runs for c in self.sets)

    @property
    def arms(self) -> dict[Any, Any]:
        """The arms at set 0 (as a plain comparison's; the other sets differ by the ensemble's keys)."""
        return self.sets[0].arms

    def __getitem__(self, label: Any) -> Any:
        return self.sets[0][label]

    @property
    def burdens(self) -> dict[str, dict[str, float]]:
        """The scenarios' named burdens (``burden:``), as in every set's comparison."""
        return self.sets[0].burdens

    @property
    def runs(self) -> pd.DataFrame:
        """Run totals of every set, one row per (set, arm, replicate, scope, metric)."""
        parts = []
        for j, c in enumerate(self.sets):
            frame = c.runs.copy()
            frame.insert(0, "set", j)
            parts.append(frame)
        return pd.concat(parts, ignore_index=True)

    def per_set(self, confidence: float = 0.95) -> pd.DataFrame:
        """Each set's paired effects (:meth:`Comparison.effects`), with a ``set`` column first."""
        parts = []
        for j, c in enumerate(self.sets):
            frame = c.effects(confidence=confidence).copy()
            frame.insert(0, "set", j)
            parts.append(frame)
        return Table(pd.concat(parts, ignore_index=True))

    def means(self, confidence: float = 0.95) -> pd.DataFrame:
        """Per arm x scope x metric: mean, sd, n and t-interval over every set's replicates pooled."""
        runs = self.runs.drop(columns=["set"])
        return Table(summarize(runs, by=[self.key, "scope", "metric"], confidence=confidence))

    def effects(self, reference: Any = None, confidence: float = 0.95) -> pd.DataFrame:
        """Combine paired effects against the reference, per arm x scope x metric.

        ``diff`` is the mean over sets of each set's mean paired difference;
        ``diff_ci_low``/``diff_ci_high`` the interval of the equal-weight mixture
        of the per-set t distributions (parameter and stochastic uncertainty
        together); ``between_sd`` the sd of the per-set means, ``set_diff_min``/
        ``set_diff_max`` their range, ``within_se`` the root mean squared
        standard error within a set, ``parameter_share`` the between-set share of
        the total variance; ``sets`` the sets with an effect, ``n`` the pairs in all.
        With one set, ``diff`` and its interval are exactly :func:`safesim.compare`'s.
        """
        if reference is not None and reference != self.reference:
            raise ValueError(f"an ensemble comparison is paired against its reference {self.reference!r}")
        per = self.per_set(confidence)
        keys = [self.key, "scope", "metric"]
        k = len(self.sets)
        base = per[per["set"] == 0][keys].reset_index(drop=True)
        for j in range(1, k):  # union of the rows every set has
            extra = per[per["set"] == j][keys]
            base = pd.concat([base, extra], ignore_index=True).drop_duplicates(keys, ignore_index=True)
        idx = pd.MultiIndex.from_frame(base[keys].astype(str))

        def grid(col: str) -> np.ndarray:
            out = np.full((len(base), k), np.nan)
            for j in range(k):
                part = per[per["set"] == j]
                s = pd.Series(
                    part[col].to_numpy(dtype=np.float64), index=pd.MultiIndex.from_frame(part[keys].astype(str))
                )
                out[:, j] = s.reindex(idx).to_numpy()
            return out

        mid, low, high = grid("diff"), grid("diff_ci_low"), grid("diff_ci_high")
        n, ref_mean, mean = grid("n"), grid("ref_mean"), grid("mean")
        mid = np.where(n > 0, mid, np.nan)
        clo, chi = mixture_interval(low, mid, high, n - 1, confidence)
        tq = stats.t.ppf(0.5 + confidence / 2.0, np.where(n > 1, n - 1, np.nan))
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # rows no set defines: NaN, as intended
            se = (high - mid) / tq
            present = np.isfinite(mid)
            sets = present.sum(axis=1)
            diff = np.where(sets > 0, np.nansum(mid, axis=1) / np.maximum(sets, 1), np.nan)
            between = np.where(sets > 1, np.nanstd(np.where(present, mid, np.nan), axis=1, ddof=1), np.nan)
            # equal per-set effects differ only by rounding in their means: no spread
            spread = np.nanmax(mid, axis=1) - np.nanmin(mid, axis=1)
            between = np.where(spread == 0, np.where(sets > 1, 0.0, np.nan), between)
            within = np.sqrt(np.nanmean(np.where(present, se**2, np.nan), axis=1))
            total = np.nan_to_num(between) ** 2 + within**2
            share = np.where(total > 0, np.nan_to_num(between) ** 2 / total, np.nan)
            rmean = np.nanmean(ref_mean, axis=1)
            rel = np.where(rmean != 0, diff / rmean, np.nan)
            dmin = np.nanmin(mid, axis=1)
            dmax = np.nanmax(mid, axis=1)
        if k == 1:  # exactly the plain comparison's numbers
            diff, clo, chi = mid[:, 0], low[:, 0], high[:, 0]
            rel = per["rel_diff"].to_numpy(dtype=np.float64)
        out = base.copy()
        out.insert(1, "reference", self.reference)
        out["ref_mean"] = rmean
        out["mean"] = np.nanmean(mean, axis=1)
        out["diff"] = diff
        out["diff_ci_low"] = clo
        out["diff_ci_high"] = chi
        out["rel_diff"] = rel
        out["n"] = np.nansum(n, axis=1).astype(np.int64)
        out["sets"] = sets.astype(np.int64)
        out["between_sd"] = between
        out["set_diff_min"] = dmin
        out["set_diff_max"] = dmax
        out["within_se"] = within
        out["parameter_share"] = share
        for col in ("scope", "metric"):
            out[col] = pd.Categorical(out[col].astype(str), categories=list(dict.fromkeys(out[col].astype(str))))
        return Table(out)

    def summary(self, confidence: float = 0.95) -> pd.DataFrame:
        """Return the combined paired effects (:meth:`effects`)."""
        return self.effects(confidence=confidence)

    def frontier(
        self,
        exposure: str | Mapping[str, float] = "minors_exploited_per_1k",
        burden: str | Mapping[str, float] = "false_positive_actions",
        scope: str = ECOSYSTEM,
        confidence: float = 0.95,
    ) -> pd.DataFrame:
        """Both sides of the trade-off per arm, combined across the sets as :meth:`effects` combines effects.

        The columns of :meth:`Comparison.frontier <safesim.results.Comparison.frontier>`: per arm and side, the
        mean over sets of each set's mean and of its paired change against the reference, each with the
        interval of the equal-weight mixture of the sets' t-intervals (``reps - 1`` degrees of freedom), and
        ``frontier`` (no arm lower on both combined means). ``between_sd`` columns give the sd of the per-set
        changes. With one set, exactly the plain comparison's table.
        """
        tables = [c.frontier(exposure, burden, scope, confidence) for c in self.sets]
        if len(tables) == 1:
            return tables[0]
        out = tables[0][[self.key, "exposure", "burden"]].copy()
        dof = np.full((len(out), len(tables)), float(self.reps - 1))
        for side in ("exposure", "burden"):
            for mid_col, stem in ((f"{side}_mean", f"{side}_ci"), (f"{side}_diff", f"{side}_diff_ci")):
                mid, low, high = (
                    np.column_stack([t[col].to_numpy(dtype=np.float64) for t in tables])
                    for col in (mid_col, f"{stem}_low", f"{stem}_high")
                )
                low_q, high_q = mixture_interval(low, mid, high, dof, confidence)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # an arm no set defines: NaN
                    out[mid_col] = np.nanmean(mid, axis=1)
                    if mid_col.endswith("_diff"):
                        out[f"{side}_between_sd"] = np.nanstd(mid, axis=1, ddof=1)
                out[f"{stem}_low"], out[f"{stem}_high"] = low_q, high_q
        ref = (out[self.key] == self.reference).to_numpy()
        for side in ("exposure", "burden"):  # the reference against itself: no change, as in one set
            for col in (f"{side}_diff", f"{side}_diff_ci_low", f"{side}_diff_ci_high", f"{side}_between_sd"):
                out.loc[ref, col] = 0.0
        order = [c for c in tables[0].columns if c != "frontier"]
        out = out[order + [c for c in out.columns if c not in order]]
        out["frontier"] = on_frontier(out["burden_mean"], out["exposure_mean"])
        return Table(out)

    @property
    def provenance(self) -> dict[str, Any]:
        """The first set's provenance, marked as an ensemble comparison with its sets."""
        prov = dict(self.sets[0].provenance)
        prov["kind"] = "EnsembleComparison"
        prov["ensemble"] = {
            "sets": len(self.ensemble),
            "keys": self.ensemble.keys,
            "path": self.ensemble.path,
            "method": "equal-weight mixture of the per-set t distributions of the paired effect "
            "(Andrianakis et al. 2015 carry non-implausible sets forward); law of total variance for the parts",
        }
        return prov

    def save(self, out_dir: str | os.PathLike[str], csv: bool = False) -> list[Path]:
        """Write the comparison's files to ``out_dir``.

        Runs (with a set column), summary.csv (pooled means), comparison.csv (combined effects),
        comparison_by_set.csv, ensemble.csv and summary.json (last).
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        effects = self.effects()
        means = self.means()
        written = [
            write_frame(self.runs, out / "runs", csv),
            write_frame(means, out / "summary.csv", csv=True),
            write_frame(effects, out / "comparison.csv", csv=True),
            write_frame(self.per_set(), out / "comparison_by_set.csv", csv=True),
            self.ensemble.save(out / "ensemble.csv"),
        ]
        for label, res in self.sets[0].arms.items():
            written.append(write_text(out / "scenarios" / f"{label}.set0.resolved.yaml", res.scenario.dump()))
        doc = {"provenance": self.provenance, "summary": json_records(means), "comparison": json_records(effects)}
        written.append(write_json(out / "summary.json", doc))
        return written

    def __repr__(self) -> str:
        return (
            f"<EnsembleComparison {self.labels} (reference {self.reference!r}), {len(self.sets)} parameter set(s) x "
            f"{self.reps} paired replicate(s)>"
        )


def compare_ensemble(
    arms: Mapping[str, Scenario],
    reference: str,
    seeds: Sequence[int],
    ensemble: Ensemble | str | os.PathLike[str] | Sequence[Mapping[str, Any]],
    options: RunOptions,
) -> EnsembleComparison:
    """Run every arm at every set of ``ensemble`` on ``seeds``; see :func:`safesim.compare`.

    One :func:`safesim.api.execute` call, so the runs resume from ``options.out`` and use its executor.
    """
    from safesim.api import execute

    ens = as_ensemble(ensemble)
    labels = list(arms)
    scenarios = []
    for j in range(len(ens)):
        for label in labels:
            try:
                scenarios.append(ens.apply(arms[label], j))
            except ValueError as err:
                raise ValueError(f"{ens.path or 'ensemble'}: set {j}: {err}") from None
    results = execute(scenarios, seeds, options, f"compare x {len(ens)} sets")
    sets = []
    for j in range(len(ens)):
        part = results[j * len(labels) : (j + 1) * len(labels)]
        sets.append(Comparison(dict(zip(labels, part, strict=True)), reference, seeds))
    return EnsembleComparison(ens, sets, reference, seeds)
