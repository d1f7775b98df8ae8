"""The explorer's routes (Starlette TestClient): pages, runs, limits, uploads, downloads, origin checks."""

from __future__ import annotations

import time
import warnings
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("jinja2")
pytest.importorskip("multipart")

with warnings.catch_warnings():  # newer Starlette warns that its TestClient prefers httpx2 to httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import safesim as ss
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
