"""Time to the first paired result in the explorer, in headless Chromium; screenshots for docs/web.md.

    PYTHONPATH=python python docs/figures/web_first_result.py

Starts the explorer on a free 127.0.0.1 port, opens it, sets a control on the
full-size baseline (10,000 users, 365 days, 20 replicates), clicks Run and
times the click until the paired-effect table first shows.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from safesim.web.app import create_app

HERE = Path(__file__).resolve().parent

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
srv = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
threading.Thread(target=srv.run, daemon=True).start()
while not srv.started:
    time.sleep(0.05)
opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,800"):
    opts.add_argument(arg)
driver = webdriver.Chrome(options=opts, service=Service("/usr/bin/chromedriver"))
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
    print(f"first paired result {first:.2f} s, all 20 replicates {done:.2f} s")
finally:
    driver.quit()
    srv.should_exit = True
