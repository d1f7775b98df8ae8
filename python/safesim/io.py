"""Output files.

Atomic writes (a reader never sees a half-written file), safe names inside an output folder, frames and JSON-safe
records.

The bottom layer of the output code: it imports no other safesim module, so
results, the run store and the analyses can all write through it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "WriteGuard",
    "atomic_path",
    "fsync_dir",
    "json_number",
    "json_records",
    "safe_name",
    "safe_path",
    "set_write_guard",
    "write_bytes",
    "write_frame",
    "write_frames",
    "write_json",
    "write_text",
]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _file_mode() -> int:
    # mkstemp creates 0600 files; outputs get the mode a plain open() would give.
    # Read once at import: os.umask can only be read by setting it, which races with threads.
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_MODE = _file_mode()


class WriteGuard:
    """Told of every file safesim writes through this module (the run store's output-folder manifest).

    ``before`` may refuse a path by raising, ``after`` records it once it is in place. Install with
    :func:`set_write_guard`.
    """

    def before(self, path: Path) -> None:
        """Check ``path`` before it is written; raise to refuse it."""

    def after(self, path: Path) -> None:
        """Record ``path``, now in place."""

    def failed(self, path: Path) -> None:
        """Note that the write of ``path`` failed (``before`` passed)."""


_guard: WriteGuard = WriteGuard()


def set_write_guard(guard: WriteGuard | None) -> WriteGuard:
    """Install ``guard`` (None: none); returns the one it replaces."""
    global _guard
    old, _guard = _guard, guard or WriteGuard()
    return old


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Flush a folder's entries (a rename, a new file) to disk; a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``.

    The temporary file lives in the same folder so ``os.replace`` is an atomic
    rename; on error it is removed and ``path`` is left as it was. The data
    reach the disk before the rename and the rename before returning (the file,
    then its folder, are fsynced), so a power cut leaves the old file or the
    new one, never an empty one. The write guard sees ``path`` first.
    """
    target = Path(path)
    _guard.before(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except BaseException:
        _guard.failed(target)
        raise
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, _MODE)
        _fsync_file(tmp)
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        _guard.failed(target)
        raise
    _guard.after(target)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (flushed to disk before the rename)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
    return Path(path)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically.

    A list of records (dicts) among the values of a top-level dict is written
    one record per line: an ecosystem's summary has hundreds of thousands of
    them, which Python's indenting encoder (pure Python) took minutes over.
    """
    return write_text(path, json_text(obj) + "\n")


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and len(value) > 0 and all(isinstance(r, dict) for r in value)


def json_text(obj: Any) -> str:
    """``obj`` as indented JSON text, a top-level dict's lists of records one record per line (see write_json)."""
    if not (isinstance(obj, dict) and all(isinstance(k, str) for k in obj) and any(map(_is_records, obj.values()))):
        return json.dumps(obj, indent=2, allow_nan=False)
    parts = []
    for key, value in obj.items():
        if _is_records(value):
            text = "[\n" + ",\n".join("    " + json.dumps(r, allow_nan=False) for r in value) + "\n  ]"
        else:
            text = json.dumps(value, indent=2, allow_nan=False).replace("\n", "\n  ")
        parts.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}"


def write_frame(frame: pd.DataFrame, path: str | os.PathLike[str], csv: bool = False) -> Path:
    """Write ``frame`` to ``path`` atomically, as CSV or Parquet by the suffix.

    Without a ``.csv`` or ``.parquet`` suffix, ``csv`` picks one and it is added.
    """
    path = Path(path)
    if path.suffix not in (".csv", ".parquet"):
        path = path.with_name(f"{path.name}.{'csv' if csv else 'parquet'}")
    with atomic_path(path) as tmp:
        if path.suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
    return path


def write_frames(chunks: Iterable[pd.DataFrame], path: str | os.PathLike[str], csv: bool = False) -> Path:
    """Write the concatenation of ``chunks`` to ``path`` atomically, one chunk in memory at a time.

    The file reads back as :func:`write_frame` of the concatenated frame would
    (same columns, types and rows; a Parquet row group per chunk). Every chunk
    must have the columns and types of the first; an empty iterable writes
    nothing and raises ValueError. Suffixes as for :func:`write_frame`.
    """
    path = Path(path)
    if path.suffix not in (".csv", ".parquet"):
        path = path.with_name(f"{path.name}.{'csv' if csv else 'parquet'}")
    with atomic_path(path) as tmp:
        if path.suffix == ".csv":
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                first = True
                for chunk in chunks:
                    chunk.to_csv(f, index=False, header=first)
                    first = False
            if first:
                raise ValueError(f"{path}: no rows to write")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            writer = None
            try:
                for chunk in chunks:
                    if writer is None:
                        table = pa.Table.from_pandas(chunk, preserve_index=False)
                        writer = pq.ParquetWriter(tmp, table.schema)
                    else:
                        table = pa.Table.from_pandas(chunk, schema=writer.schema, preserve_index=False)
                    writer.write_table(table)
            finally:
                if writer is not None:
                    writer.close()
            if writer is None:
                raise ValueError(f"{path}: no rows to write")
    return path


def json_number(x: Any) -> float | None:
    """``x`` as a JSON number: None for NaN and infinities (JSON has neither)."""
    x = float(x)
    return x if math.isfinite(x) else None


def _json_value(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        return json_number(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts (NaN -> None, NumPy scalars -> Python numbers).

    Built column by column (a float column's values checked as Python floats
    in one pass), not row by row: an ecosystem's summary has hundreds of
    thousands of rows.
    """
    columns = []
    for name in frame.columns:
        col = frame[name]
        kind = col.dtype.kind if isinstance(col.dtype, np.dtype) else ""
        if kind == "f":
            columns.append([x if math.isfinite(x) else None for x in col.tolist()])
        elif kind and kind in "iub":
            columns.append(col.tolist())
        else:
            columns.append([_json_value(v) for v in col.tolist()])
    names = list(frame.columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)] if names else []


def safe_name(text: str, max_len: int = 80) -> str:
    """``text`` as one file-name component: letters, digits, ``._-`` only, no leading dot."""
    name = _UNSAFE.sub("_", str(text)).lstrip(".")[:max_len]
    return name or "_"


def safe_path(root: str | os.PathLike[str], *parts: str) -> Path:
    """``root/part/...`` with each part sanitised; raises if the result leaves ``root``."""
    base = Path(root).resolve()
    path = base.joinpath(*(safe_name(p) for p in parts)).resolve()
    if path != base and base not in path.parents:
        raise ValueError(f"output path {path} escapes {base}")
    return path
