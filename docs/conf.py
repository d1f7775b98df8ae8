"""Sphinx configuration of the safesim documentation (``make docs`` builds it to build/docs/).

Why Sphinx with MyST and myst-nb rather than MkDocs: the API reference comes from NumPy-style
docstrings through autodoc and numpydoc, which check every cross-reference when warnings are
errors (``-W --keep-going`` plus ``nitpicky``); myst-nb executes the tutorials at build time and
fails the build on a cell error; and the pages stay in Markdown. It is the toolchain of the
scientific Python projects our users know (NumPy, SciPy, pandas), so their habits carry over.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS))

import _generate  # noqa: E402  (needs DOCS on the path)

import safesim  # noqa: E402

# The notebooks run at the small scale of the test suite (tests/python/test_notebooks.py): a
# tutorial shows the method and its outputs; the full-scale figures are in the pages that cite them.
os.environ["SAFESIM_NOTEBOOK_SCALE"] = "small"
os.environ["MPLBACKEND"] = "Agg"
# The kernels start in the notebooks' folder: give them the safesim this build imported (an
# installed package, or a source tree on a relative PYTHONPATH, which would not resolve there).
os.environ["PYTHONPATH"] = os.pathsep.join(
    [
        str(Path(safesim.__file__).resolve().parents[1]),
        *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep)),
    ]
)
_generate.main()

project = "safesim"
author = "the safesim authors"
copyright = "the safesim authors"
version = release = safesim.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", ".gitignore", "**/.ipynb_checkpoints", "_generated/params/**"]
root_doc = "index"

# ---- MyST
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist", "attrs_inline"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # the generated dictionary starts its tables at ###

# ---- myst-nb: execute every notebook at each build, fail on any error.
nb_execution_mode = "force"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# ---- API reference
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # numpydoc shows the types written in the docstrings
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
nitpicky = False

intersphinx_mapping = {}

# ---- HTML
html_theme = "furo"
html_title = f"safesim {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
