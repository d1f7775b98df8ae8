"""``safesim serve``: a local web explorer for people who do not code.

Pick a scenario (or upload one), change controls generated from the parameter
dictionary or tick policy bundles, and run the variant against the reference
on common seeds: the paired effects fill in as replicates finish, beside the
exposure funnel, the exposure-versus-burden frontier of every variant tried
and the time series; the variant downloads as a scenario YAML the CLI loads,
the runs as CSV or Parquet, and the comparison as an HTML report.

Needs the ``web`` extra (``pip install "safesim[web]"``: Starlette, uvicorn,
Jinja2, python-multipart). See docs/web.md.
"""

from __future__ import annotations

import threading
import webbrowser
from typing import Any

__all__ = ["Limits", "create_app", "serve"]


def __getattr__(name: str) -> Any:
    if name in ("Limits", "create_app"):
        from safesim.web import app

        return getattr(app, name)
    raise AttributeError(name)


def serve(
    scenarios: list[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 8050,
    open_browser: bool = False,
    limits: Any = None,
    workers: int | None = None,
    log_level: str = "warning",
) -> None:
    """Run the explorer until interrupted (Ctrl-C)."""
    import uvicorn

    from safesim.web.app import create_app

    hosts = ["127.0.0.1", "localhost", host] + (["*"] if host in ("0.0.0.0", "::") else [])
    app = create_app(scenarios, limits=limits, workers=workers, allowed_hosts=hosts)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    print(f"safesim explorer on {url} (Ctrl-C to stop)", flush=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=host, port=port, log_level=log_level)
