"""The explorer's routes (Starlette): pages, the run API, downloads and uploads.

Safe by default: the server binds 127.0.0.1 (see :func:`serve`), accepts only
its own host names (a DNS-rebinding page cannot reach it) and refuses POSTs
from another origin; the browser can name no file: scenarios are installed
ones or uploads, which are size-limited, parsed with a safe YAML loader,
refused if they name files (``extends``, ``graph.edge_list``) or bundles that
are not installed, and then validated by the same loader as the CLI.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from safesim import _core, report
from safesim.api import common_seeds
from safesim.errors import ScenarioError
from safesim.scenario import Scenario, installed_scenarios
from safesim.web import controls as ctl
from safesim.web.jobs import TERMINAL, Job, Runner

__all__ = ["Limits", "create_app"]

HERE = Path(__file__).resolve().parent
UPLOAD_PREFIX = "upload-"
#: The time series shown until the user picks another metric.
DEFAULT_SERIES = "minors_contacted"


def series_metrics() -> list[tuple[str, str, str]]:
    """Every metric of the dictionary as ``(name, unit, meaning)``, in its order: the time-series picker."""
    return [(name, unit, meaning) for name, _kind, unit, meaning in _core.metrics()]


def series_metric(value: str | None) -> str:
    """Return the metric the page asked for (the default when it asked for none); InputProblem for an unknown one."""
    if not value:
        return DEFAULT_SERIES
    if value not in {m for m, _, _ in series_metrics()}:
        raise InputProblem(f"unknown metric {value[:80]!r}: pick one from the list (safesim metrics lists them)")
    return value


@dataclass(frozen=True)
class Limits:
    """The largest run a browser may ask for (``safesim serve --max-…``)."""

    users: int = 50_000
    days: int = 730
    reps: int = 50
    upload_bytes: int = 256 * 1024
    uploads: int = 50


class InputProblem(ValueError):
    """A request the page explains in one line (HTTP 400)."""


class Explorer:
    """State of one explorer server: scenarios offered, uploads, the job runner."""

    def __init__(self, scenarios: list[str] | None, limits: Limits, workers: int | None) -> None:
        self.limits = limits
        self.runner = Runner(workers=workers)
        self.uploads: dict[str, tuple[str, Scenario]] = {}  # id -> (file name, scenario)
        self._points: dict[str, list[dict[str, Any]]] = {}  # finished job id -> its frontier points
        self._fragments: OrderedDict[tuple[Any, ...], str] = OrderedDict()
        self._lock = threading.Lock()
        self.offered: dict[str, Scenario] = {}
        for item in scenarios or installed_scenarios():
            sc = Scenario.load(item)
            self.offered[sc.name if item in installed_scenarios() else Path(item).stem] = sc
        if not self.offered:
            raise ValueError("no scenarios to offer")

    def choices(self) -> list[tuple[str, str]]:
        out = [(k, k) for k in self.offered]
        out += [(k, f"{name} (uploaded)") for k, (name, _) in self.uploads.items()]
        return out

    def scenario(self, key: str | None) -> tuple[str, Scenario]:
        if not key:
            key = "baseline" if "baseline" in self.offered else next(iter(self.offered))
        if key in self.offered:
            return key, self.offered[key]
        if key in self.uploads:
            return key, self.uploads[key][1]
        raise InputProblem(f"unknown scenario {key!r}")

    def add_upload(self, filename: str, data: bytes) -> str:
        if len(data) > self.limits.upload_bytes:
            raise InputProblem(f"the file is {len(data):,} bytes; the limit is {self.limits.upload_bytes:,}")
        if len(self.uploads) >= self.limits.uploads:
            raise InputProblem("too many uploads on this server; restart it to clear them")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InputProblem("the file is not UTF-8 text") from None
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(filename or "upload.yaml").name)[:80] or "upload.yaml"
        try:
            parsed = yaml.safe_load(text)  # safe: no tags that construct objects
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
            raise InputProblem(f"{name}{where}: not valid YAML ({getattr(err, 'problem', err)})") from None
        try:
            ctl.check_upload(parsed)
        except ValueError as err:
            raise InputProblem(f"{name}: {err}") from None
        sc = Scenario.from_text(text, name=name)
        sc.spec  # noqa: B018  (ScenarioError: the loader's one-line message)
        key = UPLOAD_PREFIX + hashlib.sha256(data).hexdigest()[:10]
        self.uploads[key] = (name, sc)
        return key

    def check_size(self, sc: Scenario, reps: int) -> None:
        lim = self.limits
        data = sc.to_dict()
        users = int(data.get("population", {}).get("users", 0))
        days = int(data.get("horizon_days", 0))
        if users > lim.users:
            raise InputProblem(
                f"population.users {users:,} is over this server's limit of {lim.users:,}: set a smaller population "
                f"under Run settings (or start the server with --max-users)"
            )
        if days > lim.days:
            raise InputProblem(f"horizon_days {days:,} is over this server's limit of {lim.days:,} (--max-days)")
        if not 1 <= reps <= lim.reps:
            raise InputProblem(f"replicates must be between 1 and {lim.reps} (--max-reps), got {reps}")

    def make_job(self, form: dict[str, str]) -> Job:
        key, base = self.scenario(form.get("scenario"))
        platform = form.get("platform") or "*"
        if platform != "*" and platform not in base.platforms:
            raise InputProblem(f"unknown platform {platform!r}")
        try:
            reps = int(form.get("reps") or 20)
            users = form.get("users", "").strip()
            days = form.get("days", "").strip()
            seed = form.get("seed", "").strip()
            ref = base
            if users:
                ref = ref.set("population.users", int(users))
            if days:
                ref = ref.set("horizon_days", int(days))
            seed_value = int(seed) if seed else None
        except ValueError as err:
            raise InputProblem(f"run settings: {err}") from None
        current = ctl.current_values(base.to_dict(), base.platforms[0] if platform == "*" else platform)
        try:
            overrides = ctl.form_overrides(form, current, platform)
        except ValueError as err:
            raise InputProblem(str(err)) from None
        variant = ref
        for k, text in overrides:
            variant = variant.set_yaml(k, text)
        bundles = [b for b in form.get("bundles", "").split(",") if b]
        for b in bundles:
            if b not in ctl.installed_bundles():
                raise InputProblem(f"unknown policy bundle {b!r}")
            variant = variant.with_policy(b)
        ref.spec  # noqa: B018  (validate both before queueing: the loader's message, never a hung page)
        variant.spec  # noqa: B018
        self.check_size(ref, reps)
        self.check_size(variant, reps)
        ref_label = base.name if key in self.offered else self.uploads[key][0].removesuffix(".yaml")
        label = (form.get("label") or "").strip()[:60] or (
            "+".join(bundles) if bundles and not overrides else f"variant {self.runner.new_id()}"
        )
        if label == ref_label:
            label += " (variant)"
        try:
            seeds = common_seeds(ref, seed_value, reps)
        except ValueError as err:
            raise InputProblem(str(err)) from None
        job = Job(self.runner.new_id(), ref_label, label, ref, variant, seeds)
        return self.runner.submit(job)

    def frontier(self, job: Job, cmp: Any) -> list[dict[str, Any]]:
        """Every variant run so far against the same reference (same hash), as frontier points.

        ``cmp`` is ``job``'s comparison as the rest of the page shows it; a
        finished job's points are computed once (its runs no longer change).
        """
        points: dict[str, dict[str, Any]] = {}
        for j in [job, *self.runner.finished_jobs()]:  # the same scenario run twice is one point, named as now
            if j.reference.hash != job.reference.hash:
                continue
            if j.id == job.id:
                mine = report.frontier_points(_means(cmp))
            else:
                mine = self._points.get(j.id) or []
                if j.id not in self._points:
                    done = j.comparison()
                    mine = [] if done is None else report.frontier_points(_means(done))
                    if len(self._points) >= 1000:  # forget runs the runner no longer keeps
                        self._points = {k: v for k, v in self._points.items() if self.runner.get(k) is not None}
                    self._points[j.id] = mine
            for p in mine:
                key = j.reference.hash if p["label"] == j.reference_label else j.variant.hash
                points.setdefault(key, p)
        return list(points.values())

    def rendered(self, key: tuple[Any, ...], make: Any) -> str:
        """Return the results fragment for ``key`` (run, status, replicates, metric, finished runs), drawn once.

        The page polls a few times a second; a fragment is redrawn only when
        one of these changed, so polling does not compete with the runs.
        """
        with self._lock:
            html = self._fragments.get(key)
            if html is not None:
                self._fragments.move_to_end(key)
                return html
        html = make()
        with self._lock:
            self._fragments[key] = html
            while len(self._fragments) > 64:
                self._fragments.popitem(last=False)
        return html


def _means(cmp: Any) -> Any:
    m = cmp.means()
    m["scenario"] = m["scenario"].astype(str)
    return m


def _form_dict(form: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in form.multi_items():
        if isinstance(v, str):
            out[k] = f"{out[k]},{v}" if k == "bundles" and k in out else v
    return out


def create_app(
    scenarios: list[str] | None = None,
    limits: Limits | None = None,
    workers: int | None = None,
    allowed_hosts: list[str] | None = None,
) -> Starlette:
    """Return the explorer as an ASGI app (``safesim serve`` runs it with uvicorn)."""
    ex = Explorer(scenarios, limits or Limits(), workers)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(fmt=report.fmt, version=_core.version, series_metrics=series_metrics())

    def page(request: Request, error: str = "", upload_error: str = "", status: int = 200) -> Response:
        try:
            key, sc = ex.scenario(request.query_params.get("scenario"))
        except InputProblem as err:
            key, sc = ex.scenario(None)
            error = str(err)
        platform = request.query_params.get("platform") or (sc.platforms[0] if len(sc.platforms) == 1 else "*")
        if platform != "*" and platform not in sc.platforms:
            platform = "*"
        resolved = sc.to_dict()
        values = ctl.current_values(resolved, sc.platforms[0] if platform == "*" else platform)
        ctx = {
            "scenario_key": key,
            "scenario": sc,
            "choices": ex.choices(),
            "platform": platform,
            "groups": ctl.groups(),
            "values": {k: ctl.value_text(v) for k, v in values.items()},
            "bundles": ctl.installed_bundles(),
            "limits": ex.limits,
            "users": resolved.get("population", {}).get("users"),
            "days": resolved.get("horizon_days"),
            "description": resolved.get("description", ""),
            "error": error,
            "upload_error": upload_error,
        }
        return templates.TemplateResponse(request, "index.html", ctx, status_code=status)

    async def index(request: Request) -> Response:
        return page(request)

    async def upload(request: Request) -> Response:
        length = int(request.headers.get("content-length") or 0)
        if length > ex.limits.upload_bytes + 64 * 1024:
            return page(request, upload_error=f"the upload is over {ex.limits.upload_bytes:,} bytes", status=413)
        async with request.form(max_files=1, max_fields=10) as form:  # closes the upload's temporary file
            f = form.get("file")
            try:
                if f is None or isinstance(f, str):
                    raise InputProblem("choose a YAML file to upload")
                data = await f.read(ex.limits.upload_bytes + 1)
                key = ex.add_upload(f.filename or "upload.yaml", data)
            except (InputProblem, ScenarioError) as err:
                return page(request, upload_error=str(err), status=400)
        return RedirectResponse(f"/?scenario={key}", status_code=303)

    def job_state(job: Job, metric: str = DEFAULT_SERIES) -> dict[str, Any]:
        status, done, cmp = job.snapshot()  # one instant: a done status never comes with part of the numbers
        fragment = ""
        if cmp is not None:
            key = (job.id, status, done, metric, len(ex.runner.finished_jobs()))
            fragment = ex.rendered(
                key,
                lambda: templates.get_template("results.html").render(
                    job=job,
                    status=status,
                    done=done,
                    html=_results_fragment(ex, job, cmp, metric),
                    metric=metric,
                    terminal=status in TERMINAL,
                ),
            )
        return {
            "id": job.id,
            "status": status,
            "done": done,
            "total": job.total,
            "queue_position": ex.runner.queue_position(job),
            "error": job.error,
            "label": job.label,
            "reference": job.reference_label,
            "html": fragment,
        }

    async def api_run(request: Request) -> Response:
        async with request.form(max_files=0) as raw:
            form = _form_dict(raw)
        try:
            job = ex.make_job(form)
        except (InputProblem, ScenarioError) as err:
            return JSONResponse({"error": str(err)}, status_code=400)
        return JSONResponse({"id": job.id, "url": f"/runs/{job.id}"}, status_code=202)

    async def run_page_post(request: Request) -> Response:  # the form without JavaScript
        async with request.form(max_files=0) as raw:
            form = _form_dict(raw)
        try:
            job = ex.make_job(form)
        except (InputProblem, ScenarioError) as err:
            return page(request, error=str(err), status=400)
        return RedirectResponse(f"/runs/{job.id}", status_code=303)

    def find(request: Request) -> Job:
        job = ex.runner.get(request.path_params["job"])
        if job is None:
            raise LookupError
        return job

    def job_and_metric(request: Request) -> tuple[Job, str] | JSONResponse:
        """Return the run a request names and its ``?metric=`` (checked), or the error response to send."""
        try:
            job = find(request)
        except LookupError:
            return JSONResponse({"error": "no such run"}, status_code=404)
        try:
            return job, series_metric(request.query_params.get("metric"))
        except InputProblem as err:
            return JSONResponse({"error": str(err)}, status_code=400)

    async def api_state(request: Request) -> Response:
        found = job_and_metric(request)
        if isinstance(found, JSONResponse):
            return found
        return JSONResponse(job_state(*found))

    async def api_series(request: Request) -> Response:
        """Return the time-series figure of one metric (the picker swaps it in without redrawing the page)."""
        found = job_and_metric(request)
        if isinstance(found, JSONResponse):
            return found
        job, metric = found
        cmp = job.comparison()
        if cmp is None:
            return JSONResponse({"error": "no finished replicates yet"}, status_code=409)
        return JSONResponse({"metric": metric, "svg": _series_svg(cmp, metric)})

    async def api_cancel(request: Request) -> Response:
        try:
            job = find(request)
        except LookupError:
            return JSONResponse({"error": "no such run"}, status_code=404)
        ex.runner.cancel(job)
        return JSONResponse({"id": job.id, "status": job.status})

    async def run_page(request: Request) -> Response:
        try:
            job = find(request)
        except LookupError:
            return PlainTextResponse("no such run", status_code=404)
        try:
            metric = series_metric(request.query_params.get("metric"))
        except InputProblem as err:
            return PlainTextResponse(str(err), status_code=400)
        return templates.TemplateResponse(request, "run.html", {"state": job_state(job, metric), "job": job})

    async def download(request: Request) -> Response:
        try:
            job = find(request)
        except LookupError:
            return PlainTextResponse("no such run", status_code=404)
        what = request.path_params["what"]
        cmp = job.comparison()
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", job.label)
        if what == "scenario.yaml":
            text = f"# {job.label}: exported from the safesim explorer\n" + job.variant.dump()
            return _attachment(text.encode(), f"{slug}.yaml", "application/yaml")
        if cmp is None:
            return PlainTextResponse("no finished replicates yet", status_code=409)
        if what == "runs.csv":
            return _attachment(cmp.runs.to_csv(index=False).encode(), f"{slug}_runs.csv", "text/csv")
        if what == "effects.csv":
            return _attachment(cmp.effects().to_csv(index=False).encode(), f"{slug}_effects.csv", "text/csv")
        if what == "runs.parquet":
            buf = io.BytesIO()
            cmp.runs.to_parquet(buf)
            return _attachment(buf.getvalue(), f"{slug}_runs.parquet", "application/vnd.apache.parquet")
        if what == "report.html":
            return _attachment(cmp.to_html().encode(), f"{slug}_report.html", "text/html")
        return PlainTextResponse("unknown download", status_code=404)

    routes = [
        Route("/", index),
        Route("/upload", upload, methods=["POST"]),
        Route("/runs", run_page_post, methods=["POST"]),
        Route("/runs/{job}", run_page),
        Route("/runs/{job}/{what}", download),
        Route("/api/runs", api_run, methods=["POST"]),
        Route("/api/runs/{job}", api_state),
        Route("/api/runs/{job}/timeseries", api_series),
        Route("/api/runs/{job}/cancel", api_cancel, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    hosts = allowed_hosts or ["127.0.0.1", "localhost", "testserver"]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts), Middleware(_SameOrigin)],
        lifespan=_lifespan(ex),
    )
    app.state.explorer = ex
    return app


def _lifespan(ex: Explorer) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        ex.runner.close()  # cancel queued and running jobs when the server stops

    return lifespan


class _SameOrigin:
    """Refuse a POST whose Origin is another site (a page elsewhere cannot start runs here)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            headers = dict(scope["headers"])
            origin = headers.get(b"origin", b"").decode("latin-1")
            host = headers.get(b"host", b"").decode("latin-1")
            if origin and origin != "null" and re.sub(r"^https?://", "", origin) != host:
                await PlainTextResponse("cross-origin request refused", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _attachment(data: bytes, filename: str, media_type: str) -> Response:
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _series_svg(cmp: Any, metric: str) -> str:
    """Return the ecosystem time series of ``metric``, read straight from the runs' daily arrays.

    The same figure as :func:`safesim.report.timeseries_svg` of ``cmp.daily``,
    without building that frame (every metric, scope and day of every run),
    which took most of the time to a first result.
    """
    col = [m for m, _, _ in series_metrics()].index(metric)
    values = {}
    for label, res in cmp.arms.items():
        outs = res.outputs
        if not outs:
            continue
        matrix = np.stack([np.asarray(o["daily"], dtype=np.float64)[0, :, col] for o in outs])  # scope 0: ecosystem
        values[str(label)] = (np.arange(matrix.shape[1], dtype=np.float64), matrix)
    return report.series_svg(values, metric)


def _results_fragment(ex: Explorer, job: Job, cmp: Any, metric: str = DEFAULT_SERIES) -> dict[str, str]:
    eff = cmp.effects()
    eff["scenario"] = eff["scenario"].astype(str)
    means = _means(cmp)
    eco = eff[eff["scope"].astype(str) == report.ECOSYSTEM]
    words = []
    for name in (*report.HEADLINE[:4], report.BURDEN):
        row = eco[eco["metric"].astype(str) == name]
        if not row.empty:
            words.append(report.effect_sentence(row.iloc[0].to_dict(), job.reference_label))
    elapsed = (job.first_result or time.monotonic()) - job.created
    return {
        "words": words,
        "table": report.effects_table_html(eff),
        "all": report.effects_table_html(eff, metrics=None),
        "funnel": report.funnel_svg(means, labels=[job.reference_label, job.label]),
        "frontier": report.frontier_svg(ex.frontier(job, cmp)),
        "timeseries": _series_svg(cmp, metric),
        "first_result_s": f"{elapsed:.2f}",
    }
