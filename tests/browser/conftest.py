"""Browser tests: the console in a real Chromium against the service under gunicorn.

Data comes in as the phones send it (``POST /api/v1/sync/push`` with a field worker's token)
and staff sign in through the form. After each test, the browser must have requested nothing
from another host and logged no error (a CSP violation is one)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.chromium import available, chromium, console_errors, foreign, requested_urls

PASSWORD = "correct horse battery staple"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests run on SQLite only when both databases are chosen: the browser adds no
    database behaviour, and every page's queries run on both in tests/api/test_console_*.py.
    (`--db postgresql` alone runs them on PostgreSQL.)"""
    if set(config.getoption("db") or ("sqlite", "postgresql")) != {"sqlite", "postgresql"}:
        return
    dropped = [i for i in items if "tests/browser/" in str(i.path) and "[postgresql" in i.name]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if i not in dropped]


@pytest.fixture
def expected_statuses() -> set[int]:
    """HTTP statuses a test provokes on purpose (a refused sign-in is a 401 page): Chromium
    logs each such page load as a console error, which is then no failure."""
    return set()


@pytest.fixture
def browser(live_server: Any, expected_statuses: set[int]) -> Iterator[Any]:
    if not available():
        pytest.fail("Chromium is missing: `bash .ci/system-deps chromium` installs it")
    with chromium() as driver:
        yield driver
        errors = console_errors(driver)
        strangers = foreign(requested_urls(driver), live_server.url)
    assert strangers == [], "requests to other hosts"
    provoked = tuple(f"the server responded with a status of {s} " for s in expected_statuses)
    unexpected = [e for e in errors if not any(p in e for p in provoked)]
    assert unexpected == [], "errors in the browser console"


@pytest.fixture
def staff(create_user: Callable[..., Any]) -> Callable[..., Any]:
    """A user with a console login: ``staff(role, org)``; returns the account with ``email``."""
    from backend.extensions import db
    from backend.users.services import set_password

    def factory(role: str = "supervisor", org: str = "city-i-samverkan") -> Any:
        account = create_user(role=role, org=org)
        email = f"{role}-{uuid.uuid4().hex[:6]}@test.example"
        from backend.users.services import get_user

        user = get_user(db.session(), account.id)
        user.email = email
        db.session.commit()
        set_password(db.session(), email, PASSWORD, 15)
        db.session.remove()  # release SQLite: gunicorn's workers write next
        account.email = email
        return account

    return factory


def wait_for(driver: Any, css: str, timeout: float = 10) -> Any:
    return WebDriverWait(driver, timeout).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def replaced(page: Any) -> Callable[[Any], bool]:
    """A wait condition: true once `page` (an element of the previous document) is gone.

    Selenium's `staleness_of` only knows StaleElementReferenceException; while Chromium swaps
    documents it may instead answer "Node with given id does not belong to the document" (an
    unknown error), which means the same thing."""

    def gone(_driver: Any) -> bool:
        try:
            page.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error.msg):
                return True
            raise
        return False

    return gone


def submit(driver: Any, css: str = "form button[type=submit]") -> None:
    """Click a submit button and wait until the next page has replaced this one."""
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, css).click()
    WebDriverWait(driver, 15).until(replaced(page))
    wait_for(driver, "main h1")


def sign_in(driver: Any, server: Any, email: str, password: str = PASSWORD) -> None:
    driver.get(f"{server.url}/console/sign-in")
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(password)
    submit(driver)


def push(server: Any, account: Any, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send items as the phone app does; returns the per-item results."""
    from tests.helpers.sync_items import batch

    response = requests.post(
        f"{server.url}/api/v1/sync/push", json=batch(items), headers=account.headers, timeout=30
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert all(r["status"] == "created" for r in results), results
    return results
