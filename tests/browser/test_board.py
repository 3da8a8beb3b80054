"""The departments' board and the admin pages worked in Chromium against gunicorn: every click
is the API's own call, and what it changes is read back through the phone's and the admin's
API."""

from __future__ import annotations

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.browser.conftest import push, replaced, sign_in, submit, wait_for
from tests.helpers.sync_items import report
from tests.helpers.tasks import bin_number, deliver_pending

pytestmark = pytest.mark.browser
POLL = {"CONSOLE_BOARD_POLL_SECONDS": "1"}


def _delivered() -> None:
    """The relay's work, done here: the inbox deliveries that put tasks on the boards."""
    from backend.extensions import db

    deliver_pending()
    db.session.remove()


def _sign_out(driver) -> None:
    submit(driver, "form.sign-out button[type=submit]")


def _pulled(server, account, item_id: str) -> list[str]:
    changes = requests.get(
        f"{server.url}/api/v1/sync/pull", headers=account.headers, timeout=30
    ).json()["changes"]
    return [c["status"] for c in changes if c["id"] == item_id]


@pytest.mark.parametrize("live_server_env", [POLL])
def test_a_department_works_a_task_to_resolved_and_another_never_sees_it(
    browser, live_server, staff, create_user, expected_statuses
):
    expected_statuses.add(404)
    worker = create_user(role="field")
    first = report()
    push(live_server, worker, [first])
    _delivered()
    sign_in(browser, live_server, staff("department", "trafikkontoret").email)
    assert browser.current_url == f"{live_server.url}/console/tasks"
    assert browser.find_element(By.CSS_SELECTOR, '[data-count="open"]').text == "1"
    # A new task appears while the board is open, without a reload.
    browser.execute_script("window.stillThisPage = true")
    second = report(location=bin_number(4))
    push(live_server, worker, [second])
    _delivered()
    WebDriverWait(browser, 15).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "table.tasks tbody tr")) == 2
    )
    assert browser.execute_script("return window.stillThisPage") is True
    assert browser.find_element(By.CSS_SELECTOR, '[data-count="open"]').text == "2"
    rows = browser.find_elements(By.CSS_SELECTOR, "table.tasks tbody tr a")
    task_url = next(a.get_attribute("href") for a in rows)
    browser.get(task_url)
    wait_for(browser, "#map[data-ready]")
    for action in ("acknowledge", "start"):
        submit(browser, f"#do-{action} button[type=submit]")
        assert browser.find_element(By.CSS_SELECTOR, ".flash").text
    browser.find_element(By.ID, "resolve-note").send_keys("Tömd, påsen bytt")
    submit(browser, "#do-resolve button[type=submit]")
    assert "Uppgiften är åtgärdad" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    assert not browser.find_elements(By.CSS_SELECTOR, "form[id^=do-]")  # nothing left to do
    resolved = [
        i for i in (first, second) if _pulled(live_server, worker, i["id"])[-1:] == ["resolved"]
    ]
    (done,) = resolved
    assert _pulled(live_server, worker, done["id"])[-3:] == [
        "acknowledged",
        "in_progress",
        "resolved",
    ]
    # Another department's user: an empty board, and the task's address is a 404 page.
    _sign_out(browser)
    sign_in(browser, live_server, staff("department", "fastighetskontoret").email)
    assert browser.find_element(By.CSS_SELECTOR, '[data-count="open"]').text == "0"
    assert not browser.find_elements(By.CSS_SELECTOR, "table.tasks tbody tr")
    browser.get(task_url)
    assert "Sidan finns inte" in browser.find_element(By.CSS_SELECTOR, "main h1").text


def test_reject_with_reroute_lands_on_the_other_organisations_board(
    browser, live_server, staff, create_user
):
    worker = create_user(role="field")
    item = report()
    push(live_server, worker, [item])
    _delivered()
    sign_in(browser, live_server, staff("department", "trafikkontoret").email)
    browser.find_element(By.CSS_SELECTOR, "table.tasks tbody tr a").click()
    wait_for(browser, "#do-acknowledge")
    browser.find_element(By.CSS_SELECTOR, "details.reject summary").click()
    browser.find_element(By.ID, "reject-note").send_keys("Parkmark: Norrmalms")
    Select(browser.find_element(By.ID, "reroute-to")).select_by_value("norrmalm-sdf")
    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "#do-reject button[type=submit]").click()
    WebDriverWait(browser, 5).until(expected_conditions.alert_is_present()).accept()
    WebDriverWait(browser, 15).until(replaced(page))
    assert "Norrmalms stadsdelsförvaltning" in wait_for(browser, ".flash").text
    assert _pulled(live_server, worker, item["id"])[-2:] == ["rejected", "routed"]
    _delivered()
    _sign_out(browser)
    sign_in(browser, live_server, staff("department", "norrmalm-sdf").email)
    (row,) = browser.find_elements(By.CSS_SELECTOR, "table.tasks tbody tr")
    row.find_element(By.TAG_NAME, "a").click()
    handed = wait_for(browser, "#handed-over").text
    assert "Trafikkontoret" in handed and "Parkmark: Norrmalms" in handed
    assert browser.find_elements(By.ID, "do-acknowledge")


def test_an_admin_creates_a_field_user_whose_token_works_on_the_phone(browser, live_server, staff):
    sign_in(browser, live_server, staff("admin").email)
    browser.get(f"{live_server.url}/console/admin/users")
    browser.find_element(By.ID, "u-name").send_keys("Nora Fält")
    Select(browser.find_element(By.ID, "u-role")).select_by_value("field")
    Select(browser.find_element(By.ID, "u-organisation")).select_by_value("city-i-samverkan")
    browser.find_element(By.ID, "u-label").send_keys("Tjänstetelefon 12")
    submit(browser, "#new-user button[type=submit]")
    token = browser.find_element(By.ID, "new-token").get_attribute("value")
    qr = browser.find_element(By.CSS_SELECTOR, "svg.qr")
    assert qr.size["width"] >= 200 and qr.find_elements(By.CSS_SELECTOR, "path.qrline")
    phone = type("Phone", (), {"headers": {"Authorization": f"Bearer {token}"}})()
    (result,) = push(live_server, phone, [report()])
    assert result["status"] == "created"
    me = requests.get(f"{live_server.url}/api/v1/me", headers=phone.headers, timeout=30).json()
    assert (me["name"], me["role"]) == ("Nora Fält", "field")
    # Back on the user's page only the token's first characters remain.
    browser.find_element(By.LINK_TEXT, "Klart: till användaren").click()
    tokens = wait_for(browser, "#tokens").text
    assert token[:10] in tokens and token not in browser.page_source


def test_a_bad_rule_set_shows_its_problems_and_changes_nothing(
    browser, live_server, staff, tmp_path, expected_statuses
):
    expected_statuses.add(422)
    admin = staff("admin")
    rules = f"{live_server.url}/api/v1/admin/rules"
    before = requests.get(rules, headers=admin.headers, timeout=30).json()
    bad = tmp_path / "rules.toml"
    bad.write_text(
        "version = 99\n[fallback]\norganisation = 'city-i-samverkan'\npriority = 'soon'\n"
        "deadline = 'working_hours(24)'\n[[rule]]\nid = 'x'\ncategories = ['no.such']\n"
        "organisation = 'trafikkontoret'\npriority = 'high'\ndeadline = 'hours(8)'\n"
    )
    sign_in(browser, live_server, admin.email)
    browser.get(f"{live_server.url}/console/admin/rules")
    browser.find_element(By.ID, "rules-file").send_keys(str(bad))
    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "#upload-rules button[type=submit]").click()
    WebDriverWait(browser, 5).until(expected_conditions.alert_is_present()).accept()
    WebDriverWait(browser, 15).until(replaced(page))
    problems = wait_for(browser, "#problems").text
    assert "fallback.priority" in problems and "rule[0].categories" in problems
    assert "no.such" in problems
    assert requests.get(rules, headers=admin.headers, timeout=30).json() == before
