"""Time to the first paired result in the explorer, in headless Chromium; screenshots for docs/web.md.

    PYTHONPATH=python python docs/figures/web_first_result.py

Starts the explorer on a free 127.0.0.1 port, opens it in a 1280x800 viewport,
sets a control on the full-size baseline (10,000 users, 365 days, 20
replicates), clicks Run and times the click until the paired-effect table
first shows, then until all 20 replicates are in. Writes web_explorer_form.png
(the form), web_explorer.png (the results), and web_report.png and
web_report_checks.png (the top and the safety-check section of the HTML report
of the starter safety suite's teen-accounts check file against its reference,
20 paired replicates).
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

import safesim as ss
from safesim.web.app import create_app

HERE = Path(__file__).resolve().parent
CHECKS = HERE.parents[1] / "scenarios" / "checks"

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
app = create_app()
srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
threading.Thread(target=srv.run, daemon=True).start()
while not srv.started:
    time.sleep(0.05)
opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000"):
    opts.add_argument(arg)
driver = webdriver.Chrome(options=opts, service=Service("/usr/bin/chromedriver"))
driver.execute_cdp_cmd(
    "Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False}
)
try:
    driver.get(f"http://127.0.0.1:{port}/?scenario=baseline")
    driver.save_screenshot(str(HERE / "web_explorer_form.png"))
    Select(driver.find_element(By.ID, "c-platforms--name--controls-dm_policy-under_16")).select_by_value("disabled")
    label = driver.find_element(By.ID, "label")
    label.send_keys("DMs from strangers off for under-16s")
    t0 = time.perf_counter()
    driver.find_element(By.ID, "run").click()
    WebDriverWait(driver, 60, poll_frequency=0.02).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#effects-table tr[data-metric]")
    )
    first = time.perf_counter() - t0
    WebDriverWait(driver, 120, poll_frequency=0.1).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".result[data-status=done]")
    )
    done = time.perf_counter() - t0
    driver.execute_script("document.getElementById('results-h').scrollIntoView()")
    driver.save_screenshot(str(HERE / "web_explorer.png"))
    job = next(iter(app.state.explorer.runner.jobs.values()))
    batch = job.first_result - job.started  # the simulation's share: the first two paired replicates
    print(
        f"first paired result {first:.2f} s (of which its 2 paired replicates {batch:.2f} s), "
        f"all 20 replicates {done:.2f} s (load {os.getloadavg()[0]:.1f})"
    )

    reference = ss.Scenario.load(CHECKS / "small_baseline.yaml")
    teen = ss.Scenario.load(CHECKS / "teen_accounts.yaml")
    cmp = ss.compare({"small_baseline": reference, "teen_accounts": teen}, n=20)
    html = cmp.to_html(
        title="Teen-account defaults against the baseline",
        question="Do teen-account defaults protect children, and at what cost to everyone else?",
    )
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        driver.get(page.as_uri())
        driver.save_screenshot(str(HERE / "web_report.png"))
        driver.execute_script("document.getElementById('safety-checks').scrollIntoView()")
        driver.save_screenshot(str(HERE / "web_report_checks.png"))
finally:
    driver.quit()
    srv.should_exit = True
