"""The explorer's routes (Starlette TestClient): pages, runs, limits, uploads, downloads, origin checks."""

from __future__ import annotations

import html
import re
import threading
import time
import warnings
from html.parser import HTMLParser
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("jinja2")
pytest.importorskip("multipart")

with warnings.catch_warnings():  # newer Starlette warns that its TestClient prefers httpx2 to httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import safesim as ss
from safesim import _core, report
from safesim.web.app import Limits, create_app

SMALL = {"scenario": "baseline", "users": "2000", "days": "60", "reps": "4"}
DM = "set:platforms.<name>.controls.dm_policy.under_16"


@pytest.fixture(scope="module")
def client() -> Any:
    with TestClient(create_app(limits=Limits(users=20_000, reps=10))) as c:
        yield c


def wait(client: TestClient, job_id: str, seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = client.get(f"/api/runs/{job_id}").json()
        if state["status"] in ("done", "cancelled", "error"):
            return state
        time.sleep(0.05)
    raise AssertionError(f"run {job_id} did not finish in {seconds} s")


def test_index_lists_controls_with_labels_and_bundles(client: TestClient) -> None:
    page = client.get("/").text
    assert 'name="set:platforms.&lt;name&gt;.controls.dm_policy.under_16"' in page
    assert 'for="c-platforms--name--controls-dm_policy-under_16"' in page  # labelled inputs
    assert 'value="industry_teen_accounts"' in page
    assert "http://" not in page.replace("http://www.w3.org", "")  # no external assets
    # Each control says its unit and bounds beside it, and its meaning, default and source as a tooltip,
    # all from the parameter dictionary.
    for key, dom in (
        ("population.youngest_age", "c-population-youngest_age"),
        ("population.minor_share", "c-population-minor_share"),
    ):
        info = report.parameter_info()[key]
        label = re.search(rf'<label for="{dom}" title="([^"]*)">[^<]*<small>\(([^)]*)\)</small>', page)
        assert label is not None
        tip = html.unescape(label.group(1))
        assert tip == f"{info['meaning']}. Default {info['default']}. Source: {info['source']}."
        kind, unit, low, high = next((k, u, lo, hi) for name, k, u, lo, hi in _core.parameters() if name == key)
        assert label.group(2) == (f"{unit}, 0 to 1" if kind == "prob" else f"{unit}, {low:g} to {high:g}")
        assert (
            f'id="{dom}" name="set:{key}" type="number" step="{"1" if kind != "prob" else "any"}" min="{float(low)}" max="{float(high)}"'
            in page
        )


def test_run_gives_the_same_effects_as_compare(client: TestClient) -> None:
    r = client.post("/api/runs", data={**SMALL, DM: "disabled", "label": "dm off"})
    assert r.status_code == 202, r.text
    state = wait(client, r.json()["id"])
    assert state["status"] == "done"
    assert state["done"] == 4
    base = ss.Scenario.default().set("population.users", 2000).set("horizon_days", 60)
    cmp = ss.compare(
        {"baseline": base, "dm off": base.set("platforms.main.controls.dm_policy.under_16", "disabled")}, n=4
    )
    eff = cmp.effects()
    want = eff[(eff.scope == "ecosystem") & (eff.metric == "minors_contacted_per_1k")].iloc[0]["diff"]
    assert f'data-value="{float(want)!r}"' in state["html"]


def test_downloads(client: TestClient, tmp_path: Any) -> None:
    job = client.post("/api/runs", data={**SMALL, "bundles": "industry_teen_accounts"}).json()["id"]
    wait(client, job)
    yaml_text = client.get(f"/runs/{job}/scenario.yaml").text
    path = tmp_path / "variant.yaml"
    path.write_text(yaml_text)
    sc = ss.Scenario.load(path)
    assert (
        sc.spec.policies == ["industry_teen_accounts"]
        or sc.to_dict()["platforms"]["main"]["controls"]["dm_policy"]["under_16"] == "connected_only"
    )
    assert client.get(f"/runs/{job}/runs.csv").text.startswith("scenario,replicate")
    assert client.get(f"/runs/{job}/runs.parquet").content[:4] == b"PAR1"
    assert "<svg" in client.get(f"/runs/{job}/report.html").text


def test_limits_and_bad_values_get_a_clear_message(client: TestClient) -> None:
    r = client.post("/api/runs", data={**SMALL, "users": "30000"})
    assert r.status_code == 400
    assert "limit of 20,000" in r.json()["error"]
    r = client.post("/api/runs", data={**SMALL, "reps": "11"})
    assert "between 1 and 10" in r.json()["error"]
    r = client.post("/api/runs", data={**SMALL, DM: "everyone"})
    assert "expected one of" in r.json()["error"]
    r = client.post("/api/runs", data={**SMALL, "set:population.minor_share": "1.5"})
    assert r.status_code == 400
    assert "population.minor_share" in r.json()["error"]  # the loader's own message
    r = client.post("/api/runs", data={**SMALL, "set:graph.edge_list": "/etc/passwd"})
    assert r.status_code == 400


def test_second_run_is_queued_and_cancel_works(client: TestClient) -> None:
    a = client.post("/api/runs", data={**SMALL, "reps": "10", "users": "20000", "days": "365", DM: "disabled"}).json()
    b = client.post("/api/runs", data={**SMALL, DM: "connected_only"}).json()
    client.post(f"/api/runs/{a['id']}/cancel")
    assert wait(client, a["id"])["status"] in ("cancelled", "done")
    assert wait(client, b["id"])["status"] == "done"  # not lost


def test_upload_good_bad_and_file_naming(client: TestClient) -> None:
    r = client.post("/upload", files={"file": ("bad.yaml", b"population: {users: -5}\n")})
    assert r.status_code == 400
    assert "bad.yaml:1:" in r.text  # the loader's one-line error beside the field
    r = client.post("/upload", files={"file": ("x.yaml", b"extends: /etc/passwd\n")})
    assert "may not name files" in r.text
    r = client.post("/upload", files={"file": ("x.yaml", b"policies: [../../secret]\n")})
    assert "not an installed policy bundle" in r.text
    r = client.post("/upload", files={"file": ("x.yaml", b"!!python/object:os.system {}\n")})
    assert r.status_code == 400
    r = client.post("/upload", files={"file": ("big.yaml", b"#" * (300 * 1024))})
    assert r.status_code in (400, 413)
    r = client.post("/upload", files={"file": ("mine.yaml", b"name: mine\nhorizon_days: 60\n")}, follow_redirects=False)
    assert r.status_code == 303
    assert "mine.yaml (uploaded)" in client.get(r.headers["location"]).text


def test_cross_origin_post_and_foreign_host_are_refused(client: TestClient) -> None:
    r = client.post("/api/runs", data=SMALL, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    r = client.get("/", headers={"Host": "evil.example"})
    assert r.status_code == 400


def test_page_without_javascript_runs_too(client: TestClient) -> None:
    r = client.post("/runs", data={**SMALL, DM: "disabled"}, follow_redirects=False)
    assert r.status_code == 303
    job = r.headers["location"].rsplit("/", 1)[1]
    wait(client, job)
    assert "effects" in client.get(f"/runs/{job}").text


def _cumulative_last_mean(cmp: ss.Comparison, arm: str, metric: str) -> float:
    """The mean over replicates of a flow metric summed over the whole horizon (the last point drawn)."""
    d = cmp.daily
    d = d[(d.scope == "ecosystem") & (d.metric == metric) & (d.scenario == arm)]
    return float(d.groupby("replicate")["value"].sum().mean())


def test_time_series_metric_picker(client: TestClient) -> None:
    job = client.post("/api/runs", data={**SMALL, DM: "disabled", "label": "dm off"}).json()["id"]
    state = wait(client, job)
    page = state["html"]
    options = re.findall(r'<option value="([a-z0-9_]+)" title="[^"]*" ?(selected)?>', page)
    assert [m for m, _ in options] == [row[0] for row in _core.metrics()]  # every metric of the dictionary
    assert [m for m, sel in options if sel] == ["minors_contacted"]  # the default stays
    assert 'data-metric="minors_contacted"' in page

    base = ss.Scenario.default().set("population.users", 2000).set("horizon_days", 60)
    cmp = ss.compare(
        {"baseline": base, "dm off": base.set("platforms.main.controls.dm_policy.under_16", "disabled")}, n=4
    )
    r = client.get(f"/api/runs/{job}/timeseries", params={"metric": "user_reports"})
    assert r.status_code == 200, r.text
    svg = r.json()["svg"]
    for arm in ("baseline", "dm off"):
        last = re.search(rf'data-arm="{arm}" data-metric="user_reports" data-last="([^"]+)"', svg)
        assert last is not None
        assert float(last.group(1)) == pytest.approx(_cumulative_last_mean(cmp, arm, "user_reports"), rel=1e-12)

    # The poll carries the choice, so a redraw keeps it (and the no-JavaScript page takes it too).
    again = client.get(f"/api/runs/{job}", params={"metric": "user_reports"}).json()["html"]
    assert re.search(r'<option value="user_reports" title="[^"]*" selected>', again)
    assert 'data-metric="user_reports" data-last=' in again
    assert 'data-metric="user_reports" data-last=' in client.get(f"/runs/{job}", params={"metric": "user_reports"}).text

    bad = client.get(f"/api/runs/{job}/timeseries", params={"metric": "../etc/passwd"})
    assert bad.status_code == 400
    assert "unknown metric" in bad.json()["error"]
    assert client.get(f"/api/runs/{job}", params={"metric": "nope"}).status_code == 400
    assert client.get("/api/runs/99999/timeseries").status_code == 404


class _Labels(HTMLParser):
    """Form fields of a page and the ids its labels name."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, dict[str, str | None]]] = []
        self.labelled: set[str] = set()
        self.tabindex: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "label" and a.get("for"):
            self.labelled.add(str(a["for"]))
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.fields.append((tag, a))
        if a.get("tabindex") is not None and str(a["tabindex"]).startswith("-"):
            self.tabindex.append(tag)


def test_every_field_is_labelled_and_nothing_is_kept_from_the_keyboard(client: TestClient) -> None:
    job = client.post("/api/runs", data=SMALL).json()["id"]
    wait(client, job)
    pages = {
        "explorer": (client.get("/").text, 100),
        "ecosystem": (client.get("/?scenario=ecosystem_us").text, 100),
        "run": (client.get(f"/runs/{job}").text, 1),  # the time-series picker
    }
    for page, fields in pages.values():
        parser = _Labels()
        parser.feed(page)
        assert len(parser.fields) >= fields
        unlabelled = [
            a.get("name") for _, a in parser.fields if a.get("id") not in parser.labelled and not a.get("aria-label")
        ]
        assert unlabelled == []
        assert parser.tabindex == []  # nothing taken out of the tab order
        assert "onclick=" not in page  # actions are buttons, links and form fields
        assert "onchange=" not in page


def test_no_external_assets(client: TestClient) -> None:
    """The page, its script and its stylesheet name no other host (no CDN, fonts or analytics)."""
    for path in ("/", "/static/app.js", "/static/style.css"):
        text = client.get(path).text
        urls = re.findall(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}", text)
        assert [u for u in urls if "www.w3.org" not in u] == [], path
        assert "@import" not in text
    refs = re.findall(r'(?:src|href|action)="([^"]*)"', client.get("/").text)
    assert {"/static/app.js", "/static/style.css"} <= set(refs)
    assert [u for u in refs if not u.startswith(("/", "#", "data:"))] == []  # only this server's own paths


def test_a_second_run_waits_in_the_queue_and_cancel_stops_the_first(small_baseline: ss.Scenario) -> None:
    """Deterministic: the first run is held inside its first batch while the second is submitted."""
    from safesim.web.jobs import Job, Runner

    ref = small_baseline
    first = ref.set("platforms.main.controls.dm_policy.under_16", "disabled")
    second = ref.set("platforms.main.controls.dm_policy.under_16", "connected_only")
    runner = Runner(workers=1)
    inside, release = threading.Event(), threading.Event()
    real = runner._runs

    def held(sc: ss.Scenario, seeds: list[int]) -> list[dict[str, Any]]:
        if sc.hash == first.hash:
            inside.set()
            assert release.wait(60)
        return real(sc, seeds)

    runner._runs = held  # type: ignore[method-assign]
    try:
        a = runner.submit(Job("1", "baseline", "a", ref, first, list(range(1, 9))))
        b = runner.submit(Job("2", "baseline", "b", ref, second, [1, 2, 3]))
        c = runner.submit(Job("3", "baseline", "c", ref, second, [1, 2]))
        assert inside.wait(60)
        assert (a.status, b.status, c.status) == ("running", "queued", "queued")
        assert (runner.queue_position(b), runner.queue_position(c)) == (1, 2)
        runner.cancel(c)  # a queued run is cancelled at once and never runs
        assert c.status == "cancelled"
        runner.cancel(a)  # a running one stops after the batch in hand
        release.set()
        deadline = time.monotonic() + 120
        while b.status not in ("done", "error") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (a.status, b.status, c.status) == ("cancelled", "done", "cancelled")
        assert (a.done_reps, b.done_reps, c.done_reps) == (2, 3, 0)
        cmp = b.comparison()
        assert cmp is not None
        assert list(cmp.seeds) == [1, 2, 3]  # the queued run was not lost, nor cut short
    finally:
        release.set()
        runner.close()


def test_limits_come_from_the_serve_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    import safesim.web
    from safesim.cli import main

    seen: dict[str, Any] = {}
    monkeypatch.setattr(safesim.web, "serve", lambda scenarios, **kw: seen.update(kw))
    assert main(["serve", "--max-users", "1234", "--max-days", "99", "--max-reps", "7", "--port", "8123"]) == 0
    assert (seen["limits"].users, seen["limits"].days, seen["limits"].reps) == (1234, 99, 7)
    assert seen["host"] == "127.0.0.1"  # this machine only unless told otherwise
    with TestClient(create_app(["baseline"], limits=seen["limits"])) as c:
        page = c.get("/").text
        for shown in ("at most 1,234", 'max="1234"', "at most 7"):
            assert shown in page
        r = c.post("/api/runs", data={**SMALL, "users": "1235"})
        assert r.status_code == 400
        assert "limit of 1,234" in r.json()["error"]
        assert "--max-users" in r.json()["error"]
        r = c.post("/api/runs", data={**SMALL, "users": "1000", "days": "100"})
        assert r.json()["error"] == "horizon_days 100 is over this server's limit of 99 (--max-days)"


def test_frontier_gathers_every_variant_tried_against_the_reference(client: TestClient) -> None:
    age = "set:platforms.<name>.controls.private_by_default.age_threshold"
    first = client.post("/api/runs", data={**SMALL, age: "17", "label": "frontier one"}).json()["id"]
    wait(client, first)
    second = client.post("/api/runs", data={**SMALL, "bundles": "eu_dsa_art28_guidelines", "label": "frontier two"})
    html = wait(client, second.json()["id"])["html"]
    figure = html[html.index("Exposure against burden") : html.index('<h4 id="ts-h">')]
    labels = re.findall(r"<text [^>]*>([^<]+)</text>", figure)
    assert {"baseline", "frontier one", "frontier two"} <= set(labels)
    other = client.post("/api/runs", data={**SMALL, "users": "1500", "label": "frontier three"}).json()["id"]
    figure = wait(client, other)["html"]
    figure = figure[figure.index("Exposure against burden") : figure.index('<h4 id="ts-h">')]
    assert "frontier one" not in figure  # another reference (1,500 users): not the same frontier
