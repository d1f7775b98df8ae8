"""The notebooks run top to bottom (at SAFESIM_NOTEBOOK_SCALE=small) and are committed without outputs."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

FOLDER = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))


def test_the_notebooks_are_those_make_writes() -> None:
    """Same files and, cell by cell, the same content: an edit to _make.py that was not
    regenerated (or an edit made to an .ipynb by hand) fails here."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_make", FOLDER / "_make.py")
    assert spec is not None
    assert spec.loader is not None
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    assert [p.name for p in NOTEBOOKS] == sorted(make.NOTEBOOKS)
    assert {"01_quickstart.ipynb", "05_sensitivity.ipynb", "06_calibration.ipynb"} <= set(make.NOTEBOOKS)
    for path in NOTEBOOKS:
        committed = [_meaning(c) for c in nbformat.read(path, as_version=4).cells]
        written = [_meaning(c) for c in make.build(make.NOTEBOOKS[path.name]).cells]
        assert committed == written, f"{path.name} differs from what notebooks/_make.py writes: run it"


def _meaning(cell: dict) -> tuple[str, str]:
    """A cell as its type and content: markdown as written, code as its syntax tree
    (the committed notebooks were reformatted; layout is not content)."""
    if cell["cell_type"] == "code":
        return "code", ast.dump(ast.parse(cell["source"]))
    return cell["cell_type"], cell["source"].strip()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a cell has outputs"
            assert cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFESIM_NOTEBOOK_SCALE", "small")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    # Ask the kernel, after the last cell, which scale the notebook ran at.
    nb.cells.append(nbformat.v4.new_code_cell('print("scale:", "small" if SMALL else "full")'))
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(FOLDER)}}
    )
    start = time.perf_counter()
    client.execute()
    print(f"{path.name}: {time.perf_counter() - start:.1f} s")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    assert printed == "scale: small\n", f"{path.name} did not run at the small scale: {printed!r}"
