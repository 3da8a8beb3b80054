"""Signing in and out of the console in Chromium."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.browser.conftest import PASSWORD, sign_in, submit

pytestmark = pytest.mark.browser


def test_supervisor_signs_in_lands_on_idag_and_signs_out(browser, live_server, staff):
    supervisor = staff("supervisor")
    browser.get(f"{live_server.url}/console/cases")
    assert "/console/sign-in" in browser.current_url  # sent to sign in first ...
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "sv"
    browser.find_element(By.ID, "email").send_keys(supervisor.email)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    submit(browser)
    assert browser.current_url.endswith("/console/cases")  # ... and back where they were going
    assert browser.find_element(By.CSS_SELECTOR, "main h1").text == "Ärenden"
    nav = [a.text for a in browser.find_elements(By.CSS_SELECTOR, ".main-nav a")]
    assert nav == ["Idag", "Uppgifter", "Ärenden", "Närvaro", "Kontakter", "Statistik"]
    cookie = browser.get_cookie("samverkan_console")
    assert (
        cookie["httpOnly"] is True and cookie["sameSite"] == "Lax" and cookie["path"] == "/console"
    )
    submit(browser, ".sign-out button")
    assert "Du är utloggad." in browser.page_source
    browser.get(f"{live_server.url}/console/")
    assert "/console/sign-in" in browser.current_url


def test_wrong_password_and_field_worker_are_refused(
    browser, live_server, staff, expected_statuses
):
    expected_statuses.update({401, 403})
    supervisor = staff("supervisor")
    sign_in(browser, live_server, supervisor.email, "not the right password at all")
    assert browser.find_element(By.CSS_SELECTOR, "[role=alert]").text == (
        "Fel e-postadress eller lösenord."
    )
    assert "/console/sign-in" in browser.current_url
    worker = staff("field")
    sign_in(browser, live_server, worker.email)
    assert "mobilappen" in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    browser.get(f"{live_server.url}/console/")
    assert "/console/sign-in" in browser.current_url
