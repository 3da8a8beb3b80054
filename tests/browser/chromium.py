"""Debian's Chromium driven by Selenium, as the browser tests and `make screenshots` use it.

Headless, in a fresh profile, with Chromium's own background traffic (updates, sync, safe
browsing, field trials) turned off: this machine's network is closed, and a browser test must
see only the requests the page makes. The performance log records every request the page
makes (CDP Network events), the browser log every console message.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",  # as root, Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


def available() -> bool:
    return os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)


@contextmanager
def chromium(language: str = "sv-SE", width: int = 1400, height: int = 1000) -> Iterator[Any]:
    """A Chromium WebDriver in a profile of its own, removed afterwards."""
    # Selenium Manager would look for (and could try to download) drivers; both paths are
    # given, so it is never consulted, and these make sure it would not phone home if it were.
    os.environ.setdefault("SE_AVOID_STATS", "true")
    os.environ.setdefault("SE_OFFLINE", "true")
    profile = Path(tempfile.mkdtemp(prefix="sf-chromium-"))
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--lang={language}")
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def requested_urls(driver: Any) -> list[str]:
    """Every URL the browser requested since the last call (the performance log drains)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


INTERNAL = ("data", "about", "blob", "chrome", "chrome-untrusted", "devtools")
"""Schemes that never leave the browser (its new-tab page is chrome://)."""


def foreign(urls: list[str], origin: str) -> list[str]:
    """The URLs of requests that went (or would have gone) anywhere but ``origin``."""
    own = urlsplit(origin)
    return [
        url
        for url in urls
        if urlsplit(url).scheme not in INTERNAL
        and (urlsplit(url).scheme, urlsplit(url).netloc) != (own.scheme, own.netloc)
    ]


def console_errors(driver: Any) -> list[str]:
    """Messages the page logged at error level since the last call (CSP violations among them)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
