"""End to end in headless Chromium (Debian's chromium and chromium-driver, driven by Selenium).

Open the explorer, change a control, run, wait for the effect table, check the
numbers equal ``ss.compare`` on the same seeds, download the variant's YAML
and load it with the CLI; open a generated report and check it renders with
no console errors and no network requests. Screenshots go to
``$SAFESIM_ARTIFACTS`` (default ``build/artifacts/web``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, run_cli

import safesim as ss

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
if not (CHROMIUM and DRIVER):
    pytest.skip("chromium and chromium-driver are not installed (scripts/install-system-deps)", allow_module_level=True)
pytest.importorskip("selenium")
pytest.importorskip("uvicorn")

import uvicorn  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from safesim.web.app import create_app  # noqa: E402

ARTIFACTS = Path(os.environ.get("SAFESIM_ARTIFACTS", REPO / "build" / "artifacts" / "web"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Any:
    port = _free_port()
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "the explorer did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(15)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Any:
    downloads = tmp_path_factory.mktemp("downloads")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,800"):
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads)})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(DRIVER))
    driver.downloads = downloads
    yield driver
    driver.quit()


def _shot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / name))


def test_explorer_change_run_check_download(server: str, browser: Any) -> None:
    browser.get(f"{server}/?scenario=baseline")
    for name, value in (("users", "3000"), ("days", "120"), ("reps", "6"), ("label", "DMs off under 16")):
        box = browser.find_element(By.ID, name)
        box.clear()
        box.send_keys(value)
    Select(browser.find_element(By.ID, "c-platforms--name--controls-dm_policy-under_16")).select_by_value("disabled")
    browser.find_element(By.ID, "run").click()
    wait = WebDriverWait(browser, 60, poll_frequency=0.1)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".result[data-status=done] #dl-yaml")))
    cell = browser.find_element(By.CSS_SELECTOR, "#effects-table tr[data-metric=minors_contacted_per_1k] td.diff")
    shown = float(cell.get_attribute("data-value"))
    _shot(browser, "explorer.png")

    base = ss.Scenario.default().set("population.users", 3000).set("horizon_days", 120)
    variant = base.set("platforms.main.controls.dm_policy.under_16", "disabled")
    eff = ss.compare({"baseline": base, "DMs off under 16": variant}, n=6).effects()
    want = eff[(eff.scope == "ecosystem") & (eff.metric == "minors_contacted_per_1k")].iloc[0]["diff"]
    assert shown == pytest.approx(float(want), rel=1e-12)

    browser.find_element(By.ID, "dl-yaml").click()
    deadline = time.monotonic() + 20
    files: list[Path] = []
    while time.monotonic() < deadline and not files:
        files = [p for p in browser.downloads.glob("*.yaml")]
        time.sleep(0.1)
    assert files, "the YAML download did not arrive"
    r = run_cli("run", files[0], "--reps", "1", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["scenario_hash"] == variant.hash


def test_report_renders_offline_without_errors(browser: Any, small_baseline: ss.Scenario, tmp_path: Path) -> None:
    cmp = ss.compare({"baseline": small_baseline, "teen": small_baseline.with_policy("industry_teen_accounts")}, n=4)
    path = tmp_path / "report.html"
    path.write_text(cmp.to_html(), encoding="utf-8")
    browser.get_log("performance")  # drop earlier events
    browser.get_log("browser")
    browser.get(path.as_uri())
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Comparison")
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.figure")) >= 4
    _shot(browser, "report.png")
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    urls = []
    for entry in browser.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    assert [u for u in urls if not u.startswith(("file:", "data:"))] == []
