"""End to end in headless Chromium (Debian's chromium and chromium-driver, driven by Selenium).

Open the explorer, change a control, run, wait for the effect table, check the
numbers equal ``ss.compare`` on the same seeds, download the variant's YAML
and load it with the CLI; open a generated report and check it renders with
no console errors and no network requests. Screenshots go to
``$SAFESIM_ARTIFACTS`` (default ``build/artifacts/web``).
"""

from __future__ import annotations

import base64
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
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
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


def _requests(driver: Any) -> list[str]:
    """URLs the page asked for since the performance log was last read."""
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def _viewport(driver: Any, width: int, height: int, mobile: bool = False) -> None:
    """The page's viewport exactly ``width`` x ``height`` CSS pixels (a tablet: ``mobile``, touch)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": mobile})


def _placement(driver: Any, element: Any) -> dict[str, Any]:
    """Scroll ``element`` to the middle of the viewport; where it lands, and whether it is on top there."""
    return driver.execute_script(
        """
        const el = arguments[0];
        el.scrollIntoView({block: "center", inline: "nearest"});
        const r = el.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + Math.min(r.height / 2, 10));
        return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: innerWidth,
                height: innerHeight, on_top: !!hit && (hit === el || el.contains(hit))};
        """,
        element,
    )


def _on_screen(at: dict[str, Any], what: str, whole: bool = True) -> None:
    """``at`` (from :func:`_placement`) lies within the viewport's width (and height, if ``whole``) and is on top."""
    assert at["left"] >= 0, (what, at)
    assert at["right"] <= at["width"], (what, at)
    if whole:
        assert at["top"] >= 0, (what, at)
        assert at["bottom"] <= at["height"], (what, at)
    assert at["on_top"], f"{what} is covered by something else: {at}"


def _no_horizontal_overflow(driver: Any) -> None:
    widths = driver.execute_script(
        "const d = document.documentElement; return [d.scrollWidth, d.clientWidth, document.body.scrollWidth];"
    )
    assert widths[0] <= widths[1], f"page wider than the viewport: {widths}"
    assert widths[2] <= widths[1], f"body wider than the viewport: {widths}"


def test_explorer_change_run_check_download(server: str, browser: Any) -> None:
    _requests(browser)  # drop earlier events
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
    cmp = ss.compare({"baseline": base, "DMs off under 16": variant}, n=6)
    eff = cmp.effects()
    want = eff[(eff.scope == "ecosystem") & (eff.metric == "minors_contacted_per_1k")].iloc[0]["diff"]
    assert shown == pytest.approx(float(want), rel=1e-12)

    # The time-series picker: another metric of the dictionary, the same numbers as compare's.
    Select(browser.find_element(By.ID, "ts-metric")).select_by_value("exposure_days")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#timeseries[data-metric=exposure_days] svg")))
    line = browser.find_element(By.CSS_SELECTOR, '#timeseries polyline[data-arm="DMs off under 16"]')
    d = cmp.daily
    d = d[(d.scope == "ecosystem") & (d.metric == "exposure_days") & (d.scenario == "DMs off under 16")]
    assert float(line.get_attribute("data-last")) == pytest.approx(
        float(d.groupby("replicate")["value"].sum().mean()), rel=1e-12
    )

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

    # Everything the page asked for came from the explorer itself.
    urls = _requests(browser)
    assert any(u.startswith(server + "/static/") for u in urls)
    assert [u for u in urls if not u.startswith((server + "/", "data:"))] == []
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


@pytest.mark.parametrize(("width", "height", "tablet"), [(1280, 800, False), (768, 1024, True)])
def test_layout_fits_a_laptop_and_a_tablet(server: str, browser: Any, width: int, height: int, tablet: bool) -> None:
    """No sideways scrolling; the run button, the controls, the effect table and the downloads are on screen."""
    _viewport(browser, width, height, tablet)
    try:
        browser.get(f"{server}/?scenario=baseline")
        assert browser.execute_script("return [innerWidth, innerHeight]") == [width, height]
        _no_horizontal_overflow(browser)
        run = browser.find_element(By.ID, "run")
        r = browser.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.top, r.bottom]", run)
        assert r[0] >= 0, f"the run button is off screen before any scrolling: {r}"
        assert r[1] <= height, f"the run button is off screen before any scrolling: {r}"
        dm = "c-platforms--name--controls-dm_policy-under_16"
        for name in ("scenario", "users", "reps", "label", "b-industry_teen_accounts", dm, "run"):
            _on_screen(_placement(browser, browser.find_element(By.ID, name)), name)
        for name, value in (("users", "2000"), ("days", "60"), ("reps", "4"), ("label", "DMs from strangers off")):
            box = browser.find_element(By.ID, name)
            box.clear()
            box.send_keys(value)
        Select(browser.find_element(By.ID, dm)).select_by_value("disabled")
        browser.find_element(By.ID, "run").click()
        WebDriverWait(browser, 60, poll_frequency=0.1).until(
            ec.presence_of_element_located((By.CSS_SELECTOR, ".result[data-status=done] #dl-report"))
        )
        if tablet:  # one column: Run brought the results into view
            top = browser.execute_script("return document.getElementById('results-h').getBoundingClientRect().top")
            assert 0 <= top < height
        _no_horizontal_overflow(browser)
        table = browser.find_element(By.CSS_SELECTOR, "#effects-table table.effects")
        fits = browser.execute_script(
            "const t = arguments[0]; return [t.scrollWidth, t.parentElement.clientWidth]", table
        )
        assert fits[0] <= fits[1], f"the effect table needs sideways scrolling: {fits}"
        _on_screen(_placement(browser, table), "the effect table", whole=False)
        _shot(browser, f"explorer_{width}x{height}.png")
        for css in (
            "#effects-table tr[data-metric=minors_contacted_per_1k] td.diff",
            "#ts-metric",
            "#dl-yaml",
            "#dl-report",
        ):
            _on_screen(_placement(browser, browser.find_element(By.CSS_SELECTOR, css)), css)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        browser.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": False})


def _tab_to(browser: Any, element_id: str, most: int = 400) -> int:
    """Press Tab until ``element_id`` has the focus; how many presses it took."""
    for n in range(1, most + 1):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        if browser.execute_script("return document.activeElement.id") == element_id:
            return n
    raise AssertionError(f"#{element_id} not reached with {most} presses of Tab")


def test_keyboard_alone_changes_a_control_runs_and_picks_a_series(server: str, browser: Any) -> None:
    browser.get(f"{server}/?scenario=baseline")
    url = browser.current_url
    ActionChains(browser).send_keys(Keys.TAB).perform()
    skip = browser.switch_to.active_element
    assert skip.get_attribute("class") == "skip"  # the first stop skips to the content, and shows itself
    assert browser.execute_script("return arguments[0].getBoundingClientRect().left", skip) >= 0

    _tab_to(browser, "scenario")
    ActionChains(browser).send_keys(Keys.ARROW_DOWN).perform()
    assert browser.current_url == url  # arrowing through the scenarios does not leave the page
    ActionChains(browser).send_keys(Keys.ARROW_UP).perform()

    for name, value in (("users", "2000"), ("days", "60"), ("reps", "4")):
        _tab_to(browser, name)
        ActionChains(browser).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).send_keys(value).perform()
    dm = "c-platforms--name--controls-dm_policy-under_16"
    _tab_to(browser, dm)
    before = browser.switch_to.active_element.get_attribute("value")
    ActionChains(browser).send_keys(Keys.ARROW_DOWN).perform()
    after = browser.switch_to.active_element.get_attribute("value")
    assert after != before
    assert browser.find_element(By.ID, "changed").text.startswith("1 control(s) changed")

    _tab_to(browser, "run")
    outline = browser.execute_script("return getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")  # the focus is visible
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    WebDriverWait(browser, 60, poll_frequency=0.1).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, ".result[data-status=done] #dl-yaml"))
    )
    row = browser.find_element(By.CSS_SELECTOR, "#effects-table tr[data-metric=minors_contacted_per_1k]")
    assert row.get_attribute("data-scenario").startswith("variant")

    _tab_to(browser, "ts-metric")
    ActionChains(browser).send_keys(Keys.ARROW_DOWN).perform()
    WebDriverWait(browser, 30, poll_frequency=0.1).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#timeseries[data-metric=minors_engaged] svg"))
    )
    assert browser.execute_script("return document.activeElement.id") == "ts-metric"  # the focus stays put


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
    urls = _requests(browser)
    assert [u for u in urls if not u.startswith(("file:", "data:"))] == []

    # Printed, the collapsed sections open (every metric, the full provenance) and their toggles go.
    folded = browser.find_elements(By.CSS_SELECTOR, "details > :not(summary)")
    assert folded
    assert not any(browser.execute_script("return arguments[0].checkVisibility()", el) for el in folded)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        shown = [browser.execute_script("return arguments[0].checkVisibility()", el) for el in folded]
        assert all(shown), shown
        summaries = browser.find_elements(By.TAG_NAME, "summary")
        assert not any(browser.execute_script("return arguments[0].checkVisibility()", el) for el in summaries)
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    pdf = base64.b64decode(browser.execute_cdp_cmd("Page.printToPDF", {"printBackground": False})["data"])
    assert pdf.startswith(b"%PDF")
