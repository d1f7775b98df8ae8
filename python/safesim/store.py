"""Per-run result files: resumable, atomic, confined to one output folder.

Layout under the output folder ``OUT``::

    runs/<run_id>.parquet        run totals, one row per scope, one column per metric
    runs/<run_id>.daily.parquet  daily values, one row per (scope, day)
    runs/<run_id>.json           manifest: provenance and file sizes, written last

``run_id`` is ``<first 20 hex digits of the scenario hash>-<seed>``: the same
resolved scenario and seed always map to the same files, so a rerun of an
interrupted job recognises finished runs and computes only the missing ones.
Every file is written to a hidden temporary name and renamed into place, and
the manifest is written after the data files, so a run without a manifest is
unfinished whatever else is on disk; a process killed mid-write leaves only
``.*.tmp`` files, which the next run removes. The combined outputs (``runs``,
``daily``, ``summary.*``, ``comparison.csv``) are removed when a job starts and
written when all its runs are in, ``summary.json`` last, so a folder with a
``summary.json`` holds a complete set. One process writes to a folder at a
time (an advisory lock on ``OUT/.safesim.lock``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from safesim import _core
from safesim.io import safe_name, safe_path, write_frame, write_json
from safesim.results import ECOSYSTEM, metric_names

try:
    import fcntl
except ImportError:  # Windows: no advisory lock
    fcntl = None  # type: ignore[assignment]

__all__ = ["OutputLocked", "RunStore", "run_id", "safe_name", "safe_path"]

MANIFEST_FORMAT = 1
#: Files written once every run of a job is in (summary.json last), removed when a job starts.
COMBINED_OUTPUTS = (
    "summary.json",
    "summary.csv",
    "comparison.csv",
    "points.csv",
    "runs.parquet",
    "runs.csv",
    "daily.parquet",
    "daily.csv",
)


class OutputLocked(RuntimeError):
    """Another process holds the output folder."""


def run_id(scenario_hash: str, seed: int) -> str:
    """The file stem of a run: scenario hash prefix and seed."""
    if not re.fullmatch(r"[0-9a-f]{20,}", scenario_hash):
        raise ValueError(f"not a scenario hash: {scenario_hash!r}")
    return f"{scenario_hash[:20]}-{int(seed)}"


class RunStore:
    """The ``runs/`` folder of one output directory."""

    def __init__(self, out_dir: str | os.PathLike[str], csv: bool = False) -> None:
        self.root = Path(out_dir).resolve()
        self.dir = self.root / "runs"
        self.csv = csv
        self.ext = "csv" if csv else "parquet"
        self._lock_file: Any = None

    # ------------------------------------------------------------ lifecycle
    def open(self) -> RunStore:
        """Create the folders, take the lock, remove temporary files a killed run left."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if fcntl is not None:
            f = open(self.root / ".safesim.lock", "a+")  # noqa: SIM115 (held until close)
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                raise OutputLocked(f"another safesim process is writing to {self.root}") from None
            self._lock_file = f
        for folder in (self.root, self.dir):
            for tmp in folder.glob(".*.tmp"):
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
        # Combined outputs of an earlier job are rewritten at the end of this one; until
        # then none may stand beside runs they do not describe. summary.json goes first:
        # it is written last and marks a complete set.
        for name in COMBINED_OUTPUTS:
            with contextlib.suppress(FileNotFoundError):
                (self.root / name).unlink()
        return self

    def close(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing releases the flock
            self._lock_file = None

    def __enter__(self) -> RunStore:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ paths
    def _file(self, rid: str, suffix: str) -> Path:
        return safe_path(self.dir, f"{rid}{suffix}")

    def manifest_path(self, rid: str) -> Path:
        return self._file(rid, ".json")

    def completed(self) -> list[str]:
        """Run ids with a manifest (finished runs)."""
        return sorted(p.name[: -len(".json")] for p in self.dir.glob("*.json") if not p.name.startswith("."))

    # ------------------------------------------------------------ write
    def save(self, rid: str, scenario_name: str, scenario_hash: str, out: dict[str, Any]) -> None:
        """Write a run's data files, then its manifest (the completion mark)."""
        names = metric_names()
        scopes = [ECOSYSTEM, *out["platforms"]]
        totals = np.asarray(out["totals"], dtype=np.float64)
        daily = np.asarray(out["daily"], dtype=np.float64)
        days = int(out["days"])
        t_frame = pd.DataFrame(totals, columns=names)
        t_frame.insert(0, "scope", scopes)
        d_frame = pd.DataFrame(daily.reshape(len(scopes) * days, len(names)), columns=names)
        d_frame.insert(0, "day", np.tile(np.arange(days, dtype=np.int64), len(scopes)))
        d_frame.insert(0, "scope", np.repeat(np.array(scopes, dtype=object), days))
        files = {}
        for kind, frame, suffix in (("totals", t_frame, f".{self.ext}"), ("daily", d_frame, f".daily.{self.ext}")):
            path = write_frame(frame, self._file(rid, suffix))
            files[kind] = {"name": path.name, "bytes": path.stat().st_size}
        manifest = {
            "format": MANIFEST_FORMAT,
            "run_id": rid,
            "complete": True,
            "scenario": scenario_name,
            "scenario_hash": scenario_hash,
            "seed": int(out["seed"]),
            "version": _core.version,
            "build_type": _core.build_type,
            "output_hash": int(out["hash"]),
            "platforms": list(out["platforms"]),
            "days": days,
            "metrics": names,
            "build_seconds": float(out["build_seconds"]),
            "run_seconds": float(out["run_seconds"]),
            "files": files,
        }
        write_json(self.manifest_path(rid), manifest)

    # ------------------------------------------------------------ read
    def load(self, rid: str, scenario_hash: str, seed: int) -> dict[str, Any] | None:
        """The finished run ``rid`` as a run dict, or None if it is missing, unfinished or stale."""
        path = self.manifest_path(rid)
        try:
            manifest = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return None
        names = metric_names()
        if (
            manifest.get("format") != MANIFEST_FORMAT
            or not manifest.get("complete")
            or manifest.get("scenario_hash") != scenario_hash
            or manifest.get("seed") != int(seed)
            or manifest.get("version") != _core.version
            or manifest.get("metrics") != names
        ):
            return None
        try:
            frames = {}
            for kind, info in manifest["files"].items():
                file = safe_path(self.dir, info["name"])
                if file.stat().st_size != info["bytes"]:
                    return None
                if self.csv or file.suffix == ".csv":
                    frames[kind] = pd.read_csv(file, float_precision="round_trip")
                else:
                    frames[kind] = pd.read_parquet(file)
        except (OSError, KeyError, ValueError):
            return None
        scopes = 1 + len(manifest["platforms"])
        days = int(manifest["days"])
        totals = frames["totals"][names].to_numpy(dtype=np.float64)
        daily = frames["daily"][names].to_numpy(dtype=np.float64).reshape(scopes, days, len(names))
        if totals.shape != (scopes, len(names)):
            return None
        return {
            "platforms": list(manifest["platforms"]),
            "days": days,
            "seed": int(manifest["seed"]),
            "totals": np.ascontiguousarray(totals),
            "daily": np.ascontiguousarray(daily),
            "build_seconds": manifest["build_seconds"],
            "run_seconds": manifest["run_seconds"],
            "hash": int(manifest["output_hash"]),
        }
