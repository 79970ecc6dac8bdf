"""The suite's real browser: Debian's headless Chromium through its WebDriver, logged in to Airflow as a user."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from airflow_provider_instagram.local_airflow import LocalAirflow

WAIT = 60


@contextmanager
def headless_chromium(width: int = 1400, height: int = 900) -> Iterator[webdriver.Chrome]:
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert binary and driver, "Chromium is missing: `make test` installs Debian's chromium and chromium-driver"
    options = Options()
    options.binary_location = binary
    flags = ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
             f"--window-size={width},{height}", "--lang=en-US")  # fmt: skip
    for flag in flags:
        options.add_argument(flag)
    browser = webdriver.Chrome(options=options, service=Service(driver))
    try:
        yield browser
    finally:
        browser.quit()


def log_in(browser: webdriver.Chrome, server: LocalAirflow, user: str, password: str, path: str = "/") -> None:
    """Open ``path`` logged out (Airflow shows its login page), log in, and come back to ``path``."""
    browser.delete_all_cookies()
    browser.get(f"{server.base_url}{path}")
    wait = WebDriverWait(browser, WAIT)
    wait.until(ec.presence_of_element_located((By.NAME, "username"))).send_keys(user)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda b: b.get_cookie("_token") is not None)
    if not browser.current_url.startswith(f"{server.base_url}{path}"):
        browser.get(f"{server.base_url}{path}")


def screenshot(browser: webdriver.Chrome, folder: Path, name: str) -> Path:
    """Save what the browser shows as ``folder/name.png`` (the docs' images come from here)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    assert browser.save_screenshot(str(path)), f"no screenshot {path}"
    return path
