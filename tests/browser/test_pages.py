"""The supervisors' pages drawn by Chromium, with data the phones pushed to gunicorn."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from backend.localtime import LOCAL_TZ
from backend.presence.log import day_bounds
from tests.browser.conftest import push, sign_in, submit, wait_for
from tests.helpers.photos import phone_jpeg, sha256
from tests.helpers.sync_items import contact, presence, report
from tests.helpers.tasks import bin_number

pytestmark = pytest.mark.browser


def _ago():
    """Instants before now, always today in Stockholm (also just after midnight)."""
    now = datetime.now(UTC)
    span = min(timedelta(hours=2), (now - day_bounds(now.astimezone(LOCAL_TZ).date())[0]) * 0.9)
    return lambda fraction: (now - span * fraction).isoformat()


@pytest.fixture
def day(live_server, create_user):
    """Two workers' day so far, pushed over HTTP: one still on shift, one gone home; a bin
    reported twice (one case, with a photo), broken glass elsewhere, two contacts."""
    from backend.extensions import db
    from backend.photos.jobs import process_photo

    ago = _ago()
    anna = create_user(role="field", name="Anna Fält")
    bo = create_user(role="field", name="Bo Borta")
    db.session.remove()
    photo = phone_jpeg()
    listed = [{"sha256": sha256(photo), "size": len(photo), "content_type": "image/jpeg"}]
    bin_reports = [report(captured_at=ago(0.8), photos=listed), report(captured_at=ago(0.7))]
    glass = report(captured_at=ago(0.3), location=bin_number(4), category="litter.broken_glass")
    results = push(
        live_server,
        anna,
        [
            presence(captured_at=ago(1.0), event="shift_start"),
            presence(captured_at=ago(0.5), event="ping", zone="hotorget"),
            presence(captured_at=ago(0.01), event="ping"),
            *bin_reports,
            glass,
            contact(captured_at=ago(0.2)),
            contact(captured_at=ago(0.1)),
        ],
    )
    push(
        live_server,
        bo,
        [
            presence(captured_at=ago(0.9), event="shift_start", zone="drottninggatan"),
            presence(captured_at=ago(0.6), event="shift_end", zone="drottninggatan"),
        ],
    )
    uploaded = requests.put(
        f"{live_server.url}/api/v1/photos/{sha256(photo)}",
        data=photo,
        headers=anna.headers,
        timeout=30,
    )
    assert uploaded.status_code == 201
    assert process_photo(sha256(photo)) == "ready"
    db.session.remove()
    return {
        "anna": anna,
        "bin_case": results[3]["case_id"],
        "bin_reports": bin_reports,
        "glass_case": results[5]["case_id"],
        "photo": sha256(photo),
    }


def _overdue(case_id: str) -> None:
    """Time passes: the case's task is past due (the push routed it a moment ago)."""
    from sqlalchemy import update

    from backend.extensions import db
    from backend.tasks.models import Task

    db.session.execute(
        update(Task)
        .where(Task.case_id == uuid.UUID(case_id))
        .values(due_at=datetime.now(UTC) - timedelta(hours=1))
    )
    db.session.commit()
    db.session.remove()


def test_idag_draws_the_map_with_markers_zones_and_the_day(browser, live_server, staff, day):
    _overdue(day["glass_case"])
    supervisor = staff("supervisor")
    sign_in(browser, live_server, supervisor.email)
    assert browser.current_url == f"{live_server.url}/console/"
    map_element = wait_for(browser, "#map[data-ready]")
    assert map_element.get_attribute("data-markers") == "2"
    markers = browser.find_elements(By.CSS_SELECTOR, "#map path.case-marker")
    assert len(markers) == 2
    assert len(browser.find_elements(By.CSS_SELECTOR, "#map path.case-marker.overdue")) == 1
    zones = browser.find_elements(By.CSS_SELECTOR, "#map .leaflet-overlay-pane path")
    assert len(zones) == 5 + 2  # the five zones from zones.geojson, the two cases
    assert not browser.find_elements(By.CSS_SELECTOR, "#map .leaflet-tile")  # no tiles set
    # A marker opens a popup that links to its case.
    browser.find_element(By.CSS_SELECTOR, "#map path.case-marker.overdue").click()
    link = wait_for(browser, ".leaflet-popup-content a")
    # The popup fades in: its text is empty until it is shown.
    WebDriverWait(browser, 10).until(lambda _: link.text != "")
    assert link.text.startswith("Krossat glas #")
    on_shift = browser.find_element(By.ID, "on-shift").text
    assert "Anna Fält" in on_shift and "Bo Borta" not in on_shift
    assert browser.find_element(By.CSS_SELECTOR, '[data-count="reports"]').text == "3"
    assert browser.find_element(By.CSS_SELECTOR, '[data-count="overdue"]').text == "1"
    assert day["glass_case"][:8] in browser.find_element(By.ID, "overdue-tasks").text
    grid = browser.find_element(By.CSS_SELECTOR, "table.coverage")
    assert "Sergels Torg och Plattan" in grid.text
    assert grid.find_elements(By.CSS_SELECTOR, "td.c-low")
    link.click()
    wait_for(browser, ".report")
    assert browser.current_url.endswith(f"/console/cases/{day['glass_case']}")


def test_case_filters_live_in_the_url_and_survive_a_reload(browser, live_server, staff, day):
    sign_in(browser, live_server, staff("supervisor").email)
    browser.get(f"{live_server.url}/console/cases")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.cases tbody tr")
    assert len(rows) == 2
    Select(browser.find_element(By.ID, "f-category")).select_by_value("litter.broken_glass")
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("category="))
    assert "category=litter.broken_glass" in browser.current_url  # htmx pushed the URL
    WebDriverWait(browser, 10).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "table.cases tbody tr")) == 1
    )
    browser.refresh()
    rows = browser.find_elements(By.CSS_SELECTOR, "table.cases tbody tr")
    assert len(rows) == 1 and "Krossat glas" in rows[0].text
    selected = Select(browser.find_element(By.ID, "f-category")).first_selected_option
    assert selected.get_attribute("value") == "litter.broken_glass"


def test_case_detail_shows_the_photo_and_splits(browser, live_server, staff, day):
    sign_in(browser, live_server, staff("supervisor").email)
    browser.get(f"{live_server.url}/console/cases/{day['bin_case']}")
    wait_for(browser, "#map[data-ready]")
    thumb = browser.find_element(By.CSS_SELECTOR, "ul.photos img")
    WebDriverWait(browser, 10).until(
        lambda d: d.execute_script("return arguments[0].naturalWidth", thumb) > 0
    )
    assert thumb.get_attribute("alt").startswith("Foto 1 till rapporten")
    full = thumb.find_element(By.XPATH, "..").get_attribute("href")
    assert full.endswith(f"/console/photos/{day['photo']}?size=full")
    moved = day["bin_reports"][1]["id"]
    browser.find_element(By.ID, f"pick-{moved}").click()
    submit(browser, "#split-form button[type=submit]")
    assert (
        "1 rapporter flyttades till ett nytt ärende."
        in browser.find_element(By.CSS_SELECTOR, ".flash").text
    )
    new_case = browser.current_url.rsplit("/", 1)[-1]
    assert new_case != day["bin_case"]
    # Merge it back, confirming the dialog.
    browser.get(f"{live_server.url}/console/cases/{day['bin_case']}")
    browser.find_element(By.ID, "merge-case").send_keys(new_case)
    browser.find_element(By.CSS_SELECTOR, "form.inline-form button[type=submit]").click()
    WebDriverWait(browser, 5).until(expected_conditions.alert_is_present()).accept()
    wait_for(browser, ".flash")
    assert len(browser.find_elements(By.CSS_SELECTOR, "li.report")) == 2
    pulled = requests.get(
        f"{live_server.url}/api/v1/sync/pull", headers=day["anna"].headers, timeout=30
    ).json()
    statuses = [c["data"].get("case_id") for c in pulled["changes"] if c["id"] == moved]
    assert statuses[-2:] == [new_case, day["bin_case"]]  # the phone heard both moves


def test_presence_day_navigation_and_csv(browser, live_server, staff, day):
    sign_in(browser, live_server, staff("supervisor").email)
    browser.get(f"{live_server.url}/console/presence")
    table = browser.find_element(By.ID, "presence-workers")
    assert "Anna Fält" in table.text and "Bo Borta" in table.text
    bars = table.find_elements(By.CSS_SELECTOR, "td.timeline svg rect")
    assert len(bars) >= 1 + 3  # background and at least Anna's two zones and Bo's shift
    today = browser.find_element(By.ID, "p-date").get_attribute("value")
    csv_text = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(document.querySelector('a[download]').href).then(r => r.text()).then(done);"
    )
    assert csv_text.splitlines()[0].lstrip("\ufeff").startswith("date,worker_id,worker,zone")
    assert "Anna Fält" in csv_text and today in csv_text
    browser.find_element(By.CSS_SELECTOR, ".day-nav a[rel=prev]").click()
    wait_for(browser, ".empty")
    assert "date=" in browser.current_url and today not in browser.current_url
    assert "Ingen var på plats denna dag." in browser.page_source


def test_contacts_hide_small_counts_and_english_is_remembered(browser, live_server, staff, day):
    sign_in(browser, live_server, staff("admin").email)
    browser.get(f"{live_server.url}/console/contacts")
    assert browser.find_element(By.ID, "contacts-total").text == "dolt"  # 2 < 3
    assert browser.find_elements(By.CSS_SELECTOR, "#by-type tr.is-suppressed")
    browser.find_element(By.LINK_TEXT, "English").click()
    wait_for(browser, "html[lang=en]")
    browser.find_element(By.LINK_TEXT, "Presence").click()
    wait_for(browser, "#presence-workers")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert browser.find_element(By.CSS_SELECTOR, "main h1").text.startswith("Presence")


def test_a_sign_in_form_without_its_csrf_token_is_refused(
    browser, live_server, staff, expected_statuses
):
    expected_statuses.add(400)
    supervisor = staff("supervisor")
    browser.get(f"{live_server.url}/console/sign-in")
    browser.execute_script("document.querySelector('input[name=csrf_token]').remove()")
    browser.find_element(By.ID, "email").send_keys(supervisor.email)
    browser.find_element(By.ID, "password").send_keys("correct horse battery staple")
    submit(browser)
    assert "Formuläret hade gått ut" in browser.find_element(By.CSS_SELECTOR, "main h1").text
    browser.get(f"{live_server.url}/console/")
    assert "/console/sign-in" in browser.current_url


def test_statistik_draws_its_charts_under_the_csp(browser, live_server, staff, day):
    from backend.extensions import db
    from backend.stats import refresh as stats

    now = datetime.now(UTC)
    # What the refresh job does for the marked day (the browser fixture fails on any console
    # error or CSP violation, so inline SVG with a pattern must draw cleanly).
    stats.refresh_day(
        db.session(),
        now.astimezone(LOCAL_TZ).date(),
        now=now,
        presence_retained_since=now - timedelta(days=365),
    )
    db.session.remove()
    sign_in(browser, live_server, staff("supervisor").email)
    browser.get(f"{live_server.url}/console/stats")
    chart = wait_for(browser, "svg#chart-kind-litter")
    assert chart.get_attribute("role") == "img"
    assert chart.size["width"] > 200 and chart.size["height"] > 60  # drawn, not collapsed
    bars = chart.find_elements(By.CSS_SELECTOR, "rect[data-value]")
    assert [b.get_attribute("data-value") for b in bars][-1] == "3"
    assert bars[-1].size["height"] > bars[0].size["height"]
    for chart_id in ("chart-cases", "chart-hours", "chart-zone-sergels-torg"):
        assert browser.find_element(By.ID, chart_id).is_displayed()
    assert "Rapporter: 3" in browser.find_element(By.ID, "stats-latest").text
