"""Per-run result files and the output folder they live in.

Resumable, atomic, verified on reuse, confined to one folder that one job writes at a time.

Layout under the output folder ``OUT``::

    .safesim.json                the folder manifest: every file safesim wrote here, and the job state
    .safesim.lock                the advisory lock held for a whole job
    runs/<run_id>.parquet        run totals, one row per scope, one column per metric
    runs/<run_id>.daily.parquet  daily values, one row per (scope, day)
    runs/<run_id>.groups.parquet minor-level totals per (scope, age, gender) (safesim.groups)
    runs/<run_id>.json           run manifest: provenance, file sizes and SHA-256, written last
    runs/<run_id>.summary.json   a calibration's or targets job's run record, instead of the files above
                                 (a calibration unless it keeps them) or beside them (safesim targets):
                                 totals and the windowed values its targets read, with a SHA-256 of that
                                 content

``run_id`` is ``<first 20 hex digits of the scenario hash>-<seed>``: the same
resolved scenario and seed always map to the same files, so a rerun of an
interrupted job recognises finished runs and computes only the missing ones.
A reused run is verified first: its data files must match the sizes and
SHA-256 digests its manifest recorded, or the run is computed again (and
counted in :attr:`RunStore.rejected`).

Every file is written to a hidden temporary name, fsynced, renamed into place
and its folder fsynced; the run manifest is written after the data files, so a
run without a manifest is unfinished whatever else is on disk.

The folder (:class:`OutputFolder`): one job holds ``OUT/.safesim.lock`` from
its start until its last combined file (summary, tables, figures) is written
(:func:`job_folder`; a job in this process nests inside it). ``.safesim.json``
lists every file safesim wrote in the folder; a job replaces or removes only
those. A folder that is not empty and has no manifest is refused unless
``force`` (a folder of an earlier safesim, with ``.safesim.lock`` but no
manifest, is adopted). A path that leaves the folder through a symbolic link
is refused. The combined outputs of the previous job are removed when this
job writes its first combined output, so a failed job leaves the previous set
untouched and a folder never mixes two jobs' sets; ``summary.json`` (or
``calibration.json``, ``sensitivity.json``) is written last and marks a
complete set, and the manifest's ``job.state`` is ``complete`` once the job
has finished.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import re
import threading
import time
import warnings
from collections.abc import Iterable, Iterator
from io import BytesIO
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from safesim import _core
from safesim import io as _io
from safesim.groups import groups_arrays, groups_table
from safesim.io import safe_name, safe_path, write_frame, write_json
from safesim.results import ECOSYSTEM, metric_names

try:
    import fcntl
except ImportError:  # Windows: no advisory lock
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DailyOnDisk",
    "OutputError",
    "OutputFolder",
    "OutputLocked",
    "OutputRefused",
    "RecomputedRunWarning",
    "RunStore",
    "holds_out_folder",
    "job_folder",
    "job_outputs",
    "run_id",
    "safe_name",
    "safe_path",
]

MANIFEST_FORMAT = 3
FOLDER_FORMAT = 1
FOLDER_MANIFEST = ".safesim.json"
LOCK_NAME = ".safesim.lock"
#: Names an earlier safesim (before the folder manifest) wrote at the top of a folder.
_LEGACY_MARK = LOCK_NAME
#: A temporary file of :func:`safesim.io.atomic_path` (mkstemp: 8 random characters).
_TMP = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")
_RUN_TMP = re.compile(r"^\..+\.tmp$")
#: Run files in a ``runs/`` folder: the data files and the run manifest.
_RUN_FILE = re.compile(r"^[0-9a-f]{20}-[0-9]+(\.daily|\.groups|\.summary)?\.(parquet|csv|json)$")
#: Format of a run's summary record (``<run_id>.summary.json``, :meth:`RunStore.save_summary`).
SUMMARY_FORMAT = 1
#: A windowed value's key in a summary record: (scope name, first day, last day, metric).
WindowKey = tuple[str, int, int, str]


class OutputError(RuntimeError):
    """The output folder cannot be used as asked (one line, safe to print)."""


class OutputLocked(OutputError):
    """Another process holds the output folder."""


class OutputRefused(OutputError):
    """The output folder, or a path in it, is not safesim's to write."""


class RecomputedRunWarning(UserWarning):
    """A finished run on disk failed verification and is computed again."""


#: Doubles read back bit for bit from CSV: pandas 3 does by default (and deprecates
#: the option), pandas 2 needs float_precision="round_trip".
_EXACT_CSV: dict[str, Any] = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _inside(root: Path, path: Path) -> bool:
    return path == root or root in path.parents


class OutputFolder:
    """An output folder held by this process for one job (see the module docstring)."""

    def __init__(self, root: Path, force: bool = False, continue_job: bool = False) -> None:
        self.root = root
        self.force = force
        self.continue_job = continue_job
        self.count = 0
        self._lock_fd: int | None = None
        self.files: dict[str, dict[str, Any]] = {}  # relative path -> {"job": id}
        self.dirs: set[str] = set()  # folders whose run files are safesim's (runs, wave0/runs)
        self.job = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{os.getpid()}"
        self.previous: list[str] = []  # combined outputs of the previous job, removed on our first
        self.cleared = False
        self.state = "running"

    # ------------------------------------------------------------ lock and manifest
    def acquire(self) -> None:
        """Take the folder's lock and read its manifest, or raise OutputLocked / OutputRefused.

        Creates the folder if needed; refuses a path that is not a folder, a lock file that is a link, and a
        non-empty folder safesim did not write (unless ``force``).
        """
        root = self.root
        if root.is_symlink():
            root = root.resolve()
        try:
            root.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise OutputRefused(f"{self.root}: exists and is not a folder") from None
        if not root.is_dir():
            raise OutputRefused(f"{self.root}: exists and is not a folder")
        self.root = root.resolve()
        lock = self.root / LOCK_NAME
        # An earlier safesim (no manifest) always left its lock beside a runs/ folder.
        existed = lock.exists() or lock.is_symlink()
        legacy = existed and (self.root / "runs").is_dir() and not (self.root / FOLDER_MANIFEST).exists()
        if lock.is_symlink() or (lock.exists() and not lock.is_file()):
            raise OutputRefused(f"{lock}: not a regular file (a symbolic link or folder): refusing to use it")
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(lock, flags, 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise OutputLocked(f"another safesim job is writing to {self.root}") from None
        self._lock_fd = fd
        try:
            self._read_manifest(legacy)
            self._flush()
        except BaseException:
            if not existed:  # leave a refused folder as it was
                with contextlib.suppress(OSError):
                    lock.unlink()
            self._unlock()
            raise

    def _read_manifest(self, legacy: bool) -> None:
        path = self.root / FOLDER_MANIFEST
        doc: Any = None
        if path.is_file() and not path.is_symlink():
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError, UnicodeDecodeError):
                doc = None
            if not (isinstance(doc, dict) and doc.get("format") == FOLDER_FORMAT and doc.get("tool") == "safesim"):
                raise OutputRefused(f"{path}: not a safesim folder manifest; move the folder aside or repair it")
        if doc is None:
            entries = [p.name for p in self.root.iterdir() if p.name != LOCK_NAME]
            if legacy:
                # Written by an earlier safesim (lock, no manifest): its files are safesim's.
                for name in entries:
                    p = self.root / name
                    if p.is_file() and not p.is_symlink() and not _TMP.match(name):
                        self.files[name] = {"job": "legacy"}
                    elif (p.is_dir() and not p.is_symlink() and (p / "runs").is_dir()) or name == "runs":
                        self.dirs.add(name if name == "runs" else f"{name}/runs")
            elif entries and not self.force and all(self._library_subfolder(name) for name in entries):
                # Left by a library job of an earlier safesim that held only its sub-folders (a
                # calibration's wave<k>/, each with its own manifest): adopted, as the job resumes.
                self.dirs.update(f"{name}/runs" for name in entries)
            elif entries and not self.force:
                shown = ", ".join(sorted(entries)[:3]) + (", ..." if len(entries) > 3 else "")
                raise OutputRefused(
                    f"{self.root}: folder is not empty and was not written by safesim ({shown}); "
                    "choose an empty or new folder, or pass --force to write beside these files"
                )
        else:
            files = doc.get("files") if isinstance(doc.get("files"), dict) else {}
            self.files = {str(k): dict(v) if isinstance(v, dict) else {} for k, v in files.items()}
            self.dirs = {str(d) for d in doc.get("dirs") or [] if isinstance(d, str)}
            job = doc.get("job") if isinstance(doc.get("job"), dict) else {}
            if self.continue_job and isinstance(job.get("id"), str):
                # A write outside any job: a library job writing its combined files after its
                # runs (this process: the same job, clearing the older set once), or a later
                # addition to the folder's set (`safesim report DIR`: joins it, removes nothing).
                self.job = job["id"]
                self.cleared = bool(job.get("cleared")) if job.get("pid") == os.getpid() else True
        self.previous = sorted(k for k, v in self.files.items() if str(v.get("job")) != self.job)

    def _library_subfolder(self, name: str) -> bool:
        """Whether ``name`` is a sub-folder with a safesim manifest (not a link)."""
        path = self.root / name
        return path.is_dir() and not path.is_symlink() and (path / FOLDER_MANIFEST).is_file()

    def _flush(self) -> None:
        doc = {
            "format": FOLDER_FORMAT,
            "tool": "safesim",
            "version": _core.version,
            "job": {"id": self.job, "state": self.state, "pid": os.getpid(), "cleared": self.cleared},
            "dirs": sorted(self.dirs),
            "files": {k: self.files[k] for k in sorted(self.files)},
        }
        path = self.root / FOLDER_MANIFEST
        old = _io.set_write_guard(None)  # the manifest is not a guarded output
        try:
            write_json(path, doc)
        finally:
            _io.set_write_guard(old)

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def release(self, ok: bool) -> None:
        """Record the job as complete (``ok``) or failed in the manifest, and release the lock."""
        try:
            if ok:
                self.state = "complete"
                self._flush()
            elif self.state == "running":
                self.state = "failed"
                with contextlib.suppress(OSError):
                    self._flush()
        finally:
            self._unlock()

    # ------------------------------------------------------------ guarded paths
    def relative(self, path: Path) -> str:
        """``path`` relative to the folder; an OutputRefused if it leaves it (through a link or ``..``)."""
        full = path.parent.resolve() / path.name
        if not _inside(self.root, full):
            raise OutputRefused(f"{path}: leaves the output folder {self.root} (a symbolic link?): refusing to write")
        if full.is_symlink():
            raise OutputRefused(f"{path}: is a symbolic link: refusing to write through it")
        return full.relative_to(self.root).as_posix()

    def own_dir(self, folder: Path) -> None:
        """Mark ``folder`` (a runs folder) as safesim's: its run files may be replaced."""
        if folder.is_symlink():
            raise OutputRefused(f"{folder}: is a symbolic link: refusing to write through it")
        rel = self.relative(folder)
        if rel not in self.dirs:
            self.dirs.add(rel)
            self._flush()

    def before(self, path: Path) -> None:
        """Admit a write of ``path``: record it in the manifest first, or refuse a file safesim did not write.

        The first combined output of a job removes the previous job's set; run files in a runs folder of the
        job pass as they are.
        """
        rel = self.relative(path)
        parent = rel.rpartition("/")[0]
        if parent in self.dirs and _RUN_FILE.match(path.name):
            return
        if (self.root / rel).exists() and rel not in self.files and not self.force:
            raise OutputRefused(
                f"{self.root / rel}: exists and was not written by safesim: refusing to replace it "
                "(move it, or pass --force)"
            )
        if not self.cleared:
            self._clear_previous()
        if rel not in self.files or self.files[rel].get("job") != self.job:
            self.files[rel] = {"job": self.job}
            self._flush()  # recorded before the file exists: a kill cannot leave an unlisted output

    def _clear_previous(self) -> None:
        """Remove the previous job's combined outputs (safesim's own files only) before writing ours."""
        self.cleared = True
        for rel in self.previous:
            if self.files.get(rel, {}).get("job") == self.job:
                continue
            path = self.root / rel
            with contextlib.suppress(FileNotFoundError):
                if path.is_file() and not path.is_symlink() and _inside(self.root, path.resolve()):
                    path.unlink()
            self.files.pop(rel, None)
        self._flush()


class _Guard(_io.WriteGuard):
    """Routes every write of :mod:`safesim.io` to the held folder containing it.

    A write into a safesim folder (one with a manifest, within three levels)
    that no job of this process holds, as the library's ``results.save(DIR)``
    after its runs, holds the folder for that one write, continuing this
    process's last job there.
    """

    def __init__(self) -> None:
        self._transient = threading.local()

    def before(self, path: Path) -> None:
        folder = _holder(path)
        if folder is None:
            root = _safesim_folder(path)
            if root is None:
                return
            folder = acquire_folder(root, continue_job=True)
            self._transient.__dict__.setdefault("held", {})[str(path)] = folder
        try:
            folder.before(path)
        except BaseException:
            self._release(path, ok=False)
            raise

    def _release(self, path: Path, ok: bool) -> None:
        folder = getattr(self._transient, "held", {}).pop(str(path), None)
        if folder is not None:
            release_folder(folder, ok=ok)

    def after(self, path: Path) -> None:
        self._release(path, ok=True)

    def failed(self, path: Path) -> None:
        self._release(path, ok=False)


def _safesim_folder(path: Path) -> Path | None:
    """Return the nearest folder holding ``path`` (up to three levels up) with a safesim manifest."""
    folder = Path(os.path.abspath(path)).parent
    for _ in range(3):
        if (folder / FOLDER_MANIFEST).is_file():
            return folder
        if folder.parent == folder:
            break
        folder = folder.parent
    return None


_held: dict[Path, OutputFolder] = {}
_held_lock = threading.RLock()
_io.set_write_guard(_Guard())


def _holder(path: Path) -> OutputFolder | None:
    """Return the folder held by this process that ``path`` is written into, if any."""
    with _held_lock:
        if not _held:
            return None
        full = Path(os.path.abspath(path))
        candidates = [full, *full.parents]
        with contextlib.suppress(OSError):
            candidates += [full.parent.resolve() / full.name, *full.parent.resolve().parents]
        for root, folder in _held.items():
            if any(c == root for c in candidates):
                return folder
    return None


def acquire_folder(out_dir: str | os.PathLike[str], force: bool = False, continue_job: bool = False) -> OutputFolder:
    """Hold ``out_dir`` for a job: its own lock, or the enclosing folder this process already holds."""
    path = Path(os.path.abspath(out_dir))
    with _held_lock:
        enclosing = _holder(path / LOCK_NAME)
        if enclosing is not None:
            enclosing.count += 1
            return enclosing
        folder = OutputFolder(path, force=force, continue_job=continue_job)
        folder.acquire()
        folder.count = 1
        _held[folder.root] = folder
        return folder


def release_folder(folder: OutputFolder, ok: bool = True) -> None:
    with _held_lock:
        folder.count -= 1
        if folder.count > 0:
            return
        _held.pop(folder.root, None)
    folder.release(ok)


def job_outputs(out_dir: str | os.PathLike[str]) -> list[Path]:
    """Return the files the job holding ``out_dir`` in this process has written there so far."""
    folder = _holder(Path(out_dir) / LOCK_NAME)
    if folder is None:
        return []
    return [folder.root / rel for rel, info in sorted(folder.files.items()) if info.get("job") == folder.job]


@contextlib.contextmanager
def job_folder(out_dir: str | os.PathLike[str] | None, force: bool = False) -> Iterator[OutputFolder | None]:
    """Hold ``out_dir`` (if given) for everything inside: runs, combined outputs, figures.

    ``force`` writes into a non-empty folder that safesim did not create (and
    replaces files of the same names it did not write).
    """
    if out_dir is None:
        yield None
        return
    folder = acquire_folder(out_dir, force=force)
    ok = False
    try:
        yield folder
        ok = True
    finally:
        release_folder(folder, ok)


class DailyOnDisk:
    """A run's daily array (or its operator rows) kept in the run's daily file, read when used.

    A job with an output folder keeps these in its run dicts instead of the
    arrays themselves (``daily``, ``operator_daily``), so the memory it holds
    does not grow with the number of runs. It behaves as the array it stands
    for where the package uses one: ``np.asarray(x)``, ``x[...]``, ``shape``,
    ``len(x)``. Each read checks the file against the size and SHA-256 its
    run manifest recorded; a file removed or changed since is an
    :class:`OutputError`, never other figures. The last file read is kept (one
    run's array, refreshed if the file's inode, size or time changes), so
    repeated reads of one run cost one read.

    Parameters
    ----------
    path : Path
        The run's ``.daily.parquet`` or ``.daily.csv`` file.
    size, sha256 : int, str
        What the run manifest recorded for it.
    scopes : int
        Scopes in the file (ecosystem, platforms, then declared operators).
    rows : slice
        The scopes this array holds (platform rows or operator rows).
    days : int
        Days of the run.
    """

    dtype = np.dtype(np.float64)
    ndim = 3

    def __init__(self, path: Path, size: int, sha256: str, scopes: int, rows: slice, days: int) -> None:
        self.path = path
        self.size = int(size)
        self.sha256 = str(sha256)
        self.scopes = int(scopes)
        self.rows = rows
        self.days = int(days)
        first, last, _ = rows.indices(self.scopes)
        self.shape = (max(0, last - first), self.days, len(metric_names()))

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"DailyOnDisk({self.path.name}, rows {self.rows.start}:{self.rows.stop}, shape {self.shape})"

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        array = self.load()
        return array if dtype is None else array.astype(dtype, copy=False)

    def __getitem__(self, key: Any) -> Any:
        part = self.load()[key]
        # A copy, not a view: a view would keep the whole run's array alive (a list of one
        # metric's series over many runs would then hold every run's array).
        return np.array(part) if isinstance(part, np.ndarray) else part

    def load(self) -> np.ndarray:
        """Read the array from the run's daily file (checked against its run manifest)."""
        try:
            st = os.lstat(self.path)
            key: Any = (str(self.path), self.sha256, st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            key = None
        with _daily_lock:
            if key is not None and _daily_cache and _daily_cache[0] == key:
                return _daily_cache[1][self.rows]
        try:
            data = (
                self.path.read_bytes()
                if key is not None and self.path.is_file() and not self.path.is_symlink()
                else None
            )
        except OSError:
            data = None
        if data is None or len(data) != self.size or hashlib.sha256(data).hexdigest() != self.sha256:
            raise OutputError(
                f"{self.path}: removed or changed since the run was saved; its daily values are kept only there "
                "(run the job again to recompute it)"
            )
        names = metric_names()
        buffer = BytesIO(data)
        frame = pd.read_csv(buffer, **_EXACT_CSV) if self.path.suffix == ".csv" else pd.read_parquet(buffer)
        full = frame[names].to_numpy(dtype=np.float64).reshape(self.scopes, self.days, len(names))
        with _daily_lock:
            _daily_cache[:] = [key, full]
        return full[self.rows]


_daily_cache: list[Any] = []  # [key, array] of the last daily file read
_daily_lock = threading.Lock()


_F = TypeVar("_F")


def holds_out_folder(func: _F) -> _F:
    """Hold the job's output folder (``out=`` or ``options.out``) for the whole call.

    For a library job that writes runs and then combined files (such as
    :func:`safesim.sensitivity` or :func:`safesim.calibrate`): the lock is
    taken before the first run and kept until the last combined file is
    written, so no other job can take the folder in between. Sub-folders the
    job writes (a calibration's ``wave<k>/runs``) are part of the held folder
    (:func:`acquire_folder` nests them). A killed job leaves no lock behind: an
    advisory lock ends with its process, so a rerun resumes.
    """

    @functools.wraps(func)  # type: ignore[arg-type]
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        options = kwargs.get("options")
        out = kwargs.get("out", getattr(options, "out", None))
        with job_folder(out):
            return func(*args, **kwargs)  # type: ignore[operator]

    return wrapper  # type: ignore[return-value]


def run_id(scenario_hash: str, seed: int) -> str:
    """Return the file stem of a run: scenario hash prefix and seed."""
    if not re.fullmatch(r"[0-9a-f]{20,}", scenario_hash):
        raise ValueError(f"not a scenario hash: {scenario_hash!r}")
    return f"{scenario_hash[:20]}-{int(seed)}"


class RunStore:
    """The ``runs/`` folder of one output directory."""

    def __init__(self, out_dir: str | os.PathLike[str], csv: bool = False, force: bool = False) -> None:
        self.root = Path(os.path.abspath(out_dir))
        self.dir = self.root / "runs"
        self.csv = csv
        self.ext = "csv" if csv else "parquet"
        self.force = force
        self._folder: OutputFolder | None = None
        #: Run ids whose files were on disk but failed verification (recomputed), with the reason.
        self.rejected: dict[str, str] = {}
        self._manifests: dict[str, dict[str, Any]] = {}  # runs saved or verified by this store

    def _reject(self, rid: str, reason: str, damaged: bool = True) -> None:
        self.rejected[rid] = reason
        if damaged:
            warnings.warn(
                f"{self.dir / rid}: {reason}: not reused, computing the run again", RecomputedRunWarning, stacklevel=3
            )

    # ------------------------------------------------------------ lifecycle
    def open(self) -> RunStore:
        """Hold the folder (see :func:`job_folder`), create ``runs/``, remove temporaries a killed run left."""
        folder = acquire_folder(self.root, force=self.force)
        try:
            if self.dir.is_symlink():
                raise OutputRefused(f"{self.dir}: is a symbolic link: refusing to write run files through it")
            folder.relative(self.dir)
            self.dir.mkdir(parents=True, exist_ok=True)
            folder.own_dir(self.dir)
            # Temporaries of killed writes: any hidden .tmp in runs/ (safesim's folder), and
            # beside the combined outputs only names of the shape atomic_path makes.
            for place, pattern in ((self.root, _TMP), (self.dir, _RUN_TMP)):
                for tmp in place.iterdir():
                    if pattern.match(tmp.name) and tmp.is_file() and not tmp.is_symlink():
                        with contextlib.suppress(FileNotFoundError):
                            tmp.unlink()
        except BaseException:
            release_folder(folder, ok=False)
            raise
        self.root = folder.root if folder.root == self.root.resolve() else self.root.resolve()
        self.dir = self.root / "runs"
        self._folder = folder
        return self

    def close(self) -> None:
        """Release the folder (see :meth:`open`)."""
        if self._folder is not None:
            folder, self._folder = self._folder, None
            release_folder(folder, ok=True)

    def __enter__(self) -> RunStore:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ paths
    def _file(self, rid: str, suffix: str) -> Path:
        return safe_path(self.dir, f"{rid}{suffix}")

    def manifest_path(self, rid: str) -> Path:
        """Return the path of run ``rid``'s manifest."""
        return self._file(rid, ".json")

    def completed(self) -> list[str]:
        """Run ids with a manifest (finished runs)."""
        return sorted(
            p.name[: -len(".json")]
            for p in self.dir.glob("*.json")
            if not p.name.startswith(".") and not p.name.endswith(".summary.json")
        )

    # ------------------------------------------------------------ write
    def save(self, rid: str, scenario_name: str, scenario_hash: str, out: dict[str, Any]) -> None:
        """Write a run's data files, then its manifest (the completion mark)."""
        names = metric_names()
        days = int(out["days"])
        # Declared operators' scopes follow the platforms', named "operator:NAME"
        # (a platform name cannot hold ':').
        operators = [str(o) for o in out.get("operators", [])]
        scopes = [ECOSYSTEM, *out["platforms"], *(f"operator:{o}" for o in operators)]
        totals = np.asarray(out["totals"], dtype=np.float64)
        daily = np.asarray(out["daily"], dtype=np.float64)
        if operators:
            totals = np.concatenate([totals, np.asarray(out["operator_totals"], dtype=np.float64)])
            daily = np.concatenate([daily, np.asarray(out["operator_daily"], dtype=np.float64)])
        t_frame = pd.DataFrame(totals, columns=names)
        t_frame.insert(0, "scope", scopes)
        d_frame = pd.DataFrame(daily.reshape(len(scopes) * days, len(names)), columns=names)
        d_frame.insert(0, "day", np.tile(np.arange(days, dtype=np.int64), len(scopes)))
        d_frame.insert(0, "scope", np.repeat(np.array(scopes, dtype=object), days))
        g_frame = groups_table(out, scopes[: 1 + len(out["platforms"])])
        files = {}
        for kind, frame, suffix in (
            ("totals", t_frame, f".{self.ext}"),
            ("daily", d_frame, f".daily.{self.ext}"),
            ("groups", g_frame, f".groups.{self.ext}"),
        ):
            path = write_frame(frame, self._file(rid, suffix))
            files[kind] = {"name": path.name, "bytes": path.stat().st_size, "sha256": sha256_file(path)}
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
            "operators": operators,
            "days": days,
            "metrics": names,
            "build_seconds": float(out["build_seconds"]),
            "run_seconds": float(out["run_seconds"]),
            "files": files,
        }
        cohort = np.asarray(out.get("cohort", ()), dtype=np.float64)
        if cohort.size:  # population.ageing's cohort table: 18 ages x cohort_columns(), small
            manifest["cohort"] = cohort.tolist()
        write_json(self.manifest_path(rid), manifest)
        self._manifests[rid] = manifest

    def on_disk(self, rid: str, output: dict[str, Any]) -> dict[str, Any]:
        """Return ``output`` with its daily arrays replaced by references to its daily file.

        ``output`` is run ``rid``, saved or verified by this store; the references are :class:`DailyOnDisk`.
        """
        manifest = self._manifests[rid]
        info = manifest["files"]["daily"]
        split = 1 + len(manifest["platforms"])
        scopes = split + len(manifest.get("operators", []))
        path = safe_path(self.dir, info["name"])
        days = int(manifest["days"])
        out = dict(output)
        out["daily"] = DailyOnDisk(path, info["bytes"], info["sha256"], scopes, slice(0, split), days)
        out["operator_daily"] = DailyOnDisk(path, info["bytes"], info["sha256"], scopes, slice(split, scopes), days)
        return out

    # ------------------------------------------------------------ read
    def load(self, rid: str, scenario_hash: str, seed: int) -> dict[str, Any] | None:
        """Return the finished run ``rid`` as a run dict, or None if it is missing, unfinished, stale or damaged.

        A run whose manifest exists but whose files fail verification (size,
        SHA-256, shape) is recorded in :attr:`rejected` with the reason; the
        caller computes it again.
        """
        path = self.manifest_path(rid)
        if not path.exists():
            return None
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            self._reject(rid, "unreadable run manifest")
            return None
        names = metric_names()
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
            self._reject(rid, "run manifest of another format", damaged=False)
            return None
        if (
            not manifest.get("complete")
            or manifest.get("scenario_hash") != scenario_hash
            or manifest.get("seed") != int(seed)
            or manifest.get("version") != _core.version
            or manifest.get("metrics") != names
        ):
            self._reject(rid, "run manifest of another scenario, seed or version", damaged=False)
            return None
        try:
            frames = {}
            for kind in ("totals", "daily", "groups"):
                info = manifest["files"][kind]
                file = safe_path(self.dir, info["name"])
                if file.is_symlink() or not file.is_file():
                    self._reject(rid, f"{info['name']}: not a regular file")
                    return None
                if file.stat().st_size != info["bytes"]:
                    self._reject(rid, f"{info['name']}: size differs from the run manifest")
                    return None
                if sha256_file(file) != info["sha256"]:
                    self._reject(rid, f"{info['name']}: checksum differs from the run manifest")
                    return None
                if file.suffix == ".csv":
                    frames[kind] = pd.read_csv(file, **_EXACT_CSV)
                else:
                    frames[kind] = pd.read_parquet(file)
            operators = [str(o) for o in manifest.get("operators", [])]
            scopes = 1 + len(manifest["platforms"]) + len(operators)
            days = int(manifest["days"])
            totals = frames["totals"][names].to_numpy(dtype=np.float64)
            daily = frames["daily"][names].to_numpy(dtype=np.float64).reshape(scopes, days, len(names))
            split = 1 + len(manifest["platforms"])
            group_totals, group_minors = groups_arrays(frames["groups"], split)
        except (OSError, KeyError, ValueError, TypeError) as err:
            self._reject(rid, f"unreadable run files ({type(err).__name__})")
            return None
        if totals.shape != (scopes, len(names)):
            self._reject(rid, "run totals of the wrong shape")
            return None
        # The engine's output hash recomputed from the data read: tables that are not what
        # the engine produced (edited together with their checksums) are not reused.
        recomputed = int(
            _core.output_hash(totals[:split], daily[:split], totals[split:], daily[split:], group_totals, group_minors)
        )
        if recomputed != manifest["output_hash"]:
            self._reject(rid, "data differ from the run's output hash")
            return None
        self._manifests[rid] = manifest
        return {
            "platforms": list(manifest["platforms"]),
            "days": days,
            "seed": int(manifest["seed"]),
            "totals": np.ascontiguousarray(totals[:split]),
            "daily": np.ascontiguousarray(daily[:split]),
            "operators": operators,
            "operator_totals": np.ascontiguousarray(totals[split:]),
            "operator_daily": np.ascontiguousarray(daily[split:]),
            "group_totals": group_totals,
            "group_minors": group_minors,
            "cohort": np.asarray(manifest.get("cohort", []), dtype=np.float64).reshape(-1, len(_core.cohort_columns())),
            "build_seconds": manifest["build_seconds"],
            "run_seconds": manifest["run_seconds"],
            "hash": recomputed,
        }

    # ------------------------------------------------------------ summary records (calibration)
    def summary_path(self, rid: str) -> Path:
        """Return the path of run ``rid``'s summary record."""
        return self._file(rid, ".summary.json")

    def save_summary(
        self,
        rid: str,
        scenario_name: str,
        scenario_hash: str,
        out: dict[str, Any],
        windows: dict[WindowKey, float],
    ) -> None:
        """Write a run's summary record: what a calibration judges a run by, without its daily arrays.

        The record holds the run's totals (ecosystem and platforms, every metric) and ``windows``, the windowed
        value of each metric its targets read (``{(scope, first, last, metric): value}``, see
        :func:`safesim.targets.windowed_values`), with the provenance of a run manifest and a SHA-256 of all of
        it, which :meth:`load_summary` checks. One small JSON file, written atomically: a run with a record is
        finished.
        """
        totals = np.asarray(out["totals"], dtype=np.float64)
        body = {
            "format": SUMMARY_FORMAT,
            "run_id": rid,
            "complete": True,
            "scenario": scenario_name,
            "scenario_hash": scenario_hash,
            "seed": int(out["seed"]),
            "version": _core.version,
            "build_type": _core.build_type,
            "output_hash": int(out["hash"]),
            "platforms": list(out["platforms"]),
            "days": int(out["days"]),
            "metrics": metric_names(),
            "build_seconds": float(out["build_seconds"]),
            "run_seconds": float(out["run_seconds"]),
            "totals": [[_exact(v) for v in row] for row in totals.tolist()],
            "windows": [
                {"scope": k[0], "window": [int(k[1]), int(k[2])], "metric": k[3], "value": _exact(windows[k])}
                for k in sorted(windows)
            ],
        }
        body["sha256"] = _content_sha256(body)
        write_json(self.summary_path(rid), body)

    def load_summary(
        self, rid: str, scenario_hash: str, seed: int, needs: Iterable[WindowKey] = ()
    ) -> dict[str, Any] | None:
        """Return run ``rid`` from its summary record, or None if missing, of another run or damaged.

        The run dict holds ``platforms``, ``days``, ``seed``, ``totals``, ``windows`` and ``hash`` (no daily
        arrays). A record whose SHA-256 does not match its content, or that cannot be read, is recorded in
        :attr:`rejected` and a :class:`RecomputedRunWarning` says so; one of another scenario, seed or version,
        or without a windowed value in ``needs`` (made for other targets), is recorded quietly. The caller
        computes the run again.
        """
        path = self.summary_path(rid)
        if not path.exists():
            return None
        name = path.name
        try:
            if path.is_symlink() or not path.is_file():
                self._reject(rid, f"{name}: not a regular file")
                return None
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            self._reject(rid, f"{name}: unreadable summary record")
            return None
        if not isinstance(doc, dict) or doc.get("format") != SUMMARY_FORMAT:
            self._reject(rid, f"{name}: summary record of another format", damaged=False)
            return None
        recorded = doc.pop("sha256", None)
        if recorded != _content_sha256(doc):
            self._reject(rid, f"{name}: checksum differs from the record's content")
            return None
        names = metric_names()
        if (
            not doc.get("complete")
            or doc.get("scenario_hash") != scenario_hash
            or doc.get("seed") != int(seed)
            or doc.get("version") != _core.version
            or doc.get("metrics") != names
        ):
            self._reject(rid, f"{name}: summary record of another scenario, seed or version", damaged=False)
            return None
        try:
            platforms = [str(p) for p in doc["platforms"]]
            totals = np.array([[float(v) for v in row] for row in doc["totals"]], dtype=np.float64)
            windows = {
                (str(w["scope"]), int(w["window"][0]), int(w["window"][1]), str(w["metric"])): float(w["value"])
                for w in doc["windows"]
            }
            days, hash_ = int(doc["days"]), int(doc["output_hash"])
        except (KeyError, IndexError, ValueError, TypeError) as err:
            self._reject(rid, f"{name}: unreadable summary record ({type(err).__name__})")
            return None
        if totals.shape != (1 + len(platforms), len(names)):
            self._reject(rid, f"{name}: run totals of the wrong shape")
            return None
        missing = [k for k in needs if k not in windows]
        if missing:
            self._reject(
                rid,
                f"{name}: no windowed value of {missing[0][3]} over days {missing[0][1]}-"
                f"{missing[0][2]} (a record made for other targets)",
                damaged=False,
            )
            return None
        return {
            "platforms": platforms,
            "days": days,
            "seed": int(doc["seed"]),
            "totals": totals,
            "windows": windows,
            "hash": hash_,
        }


def _exact(x: float) -> float | str:
    """Return ``x`` as JSON that reads back bit for bit.

    A number (Python writes the shortest exact repr), or ``"nan"``, ``"inf"``, ``"-inf"`` (JSON has none of
    them; ``float()`` reads them back).
    """
    x = float(x)
    return x if math.isfinite(x) else str(x)


def _content_sha256(body: dict[str, Any]) -> str:
    """SHA-256 of a record's content, as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
