"""The console's pages through Flask's test client: who may see what (a matrix over every
console route), what they show from data pushed by phones, filters, paging, corrections, the
CSV, languages and the headers that keep pages safe. Chromium checks the same pages drawn
(tests/browser/)."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from backend.localtime import LOCAL_TZ
from backend.presence.log import day_bounds
from tests.helpers.console import csrf, make_staff, sign_in
from tests.helpers.sync_items import batch, contact, presence, report
from tests.helpers.tasks import bin_number, push

ROLES = ("department", "supervisor", "admin")


def today() -> tuple[datetime, timedelta]:
    """Now, and how far back the test day's items may lie: two hours, and always today
    (Stockholm), also when the suite runs just after midnight."""
    now = datetime.now(UTC)
    return now, min(
        timedelta(hours=2), (now - day_bounds(now.astimezone(LOCAL_TZ).date())[0]) * 0.9
    )


@pytest.fixture
def pushed(client, create_user):
    """A worker's day so far, pushed by their phone: a shift in two zones, two reports of one
    bin (one case), one report elsewhere, two contacts. Routed to Trafikkontoret."""
    worker = create_user(role="field", name="Anna Fält")

    now, span = today()

    def ago(fraction: float) -> str:
        return (now - span * fraction).isoformat()

    items = [
        presence(captured_at=ago(1.0), event="shift_start"),
        presence(captured_at=ago(0.5), event="ping", zone="hotorget"),
        presence(captured_at=ago(0.02), event="ping"),
        report(captured_at=ago(0.75)),
        report(captured_at=ago(0.7)),
        report(captured_at=ago(0.25), location=bin_number(3), category="litter.broken_glass"),
        contact(captured_at=ago(0.2)),
        contact(captured_at=ago(0.1), needs=["food"]),
    ]
    response = client.post("/api/v1/sync/push", json=batch(items), headers=worker.headers)
    assert response.status_code == 200
    results = response.get_json()["results"]
    return {"worker": worker, "items": items, "results": results}


def _staff_client(app, create_user, role, org="city-i-samverkan"):
    client = app.test_client()
    account = make_staff(create_user, role, org)
    assert sign_in(client, account.email).status_code == 302
    return client, account


def test_idag_shows_counts_the_shift_coverage_and_the_map_data(app, create_user, pushed):
    client, _ = _staff_client(app, create_user, "supervisor")
    page = client.get("/console/").get_data(as_text=True)
    assert '<html lang="sv">' in page
    assert re.search(r'data-count="reports">3<', page)
    assert re.search(r'data-count="new_cases">2<', page)
    assert "Anna Fält" in page  # on shift now: her last ping was 4 minutes ago
    assert "Sergels Torg och Plattan" in page
    data = re.search(r'<script type="application/json" id="today-map-data">(.*?)</script>', page)
    assert data is not None
    import json

    features = json.loads(data.group(1))
    assert len(features["zones"]["features"]) == 5
    assert {f["properties"]["category"] for f in features["cases"]} == {
        "Överfull papperskorg",
        "Krossat glas",
    }
    assert not any(f["properties"]["overdue"] for f in features["cases"])


def test_overdue_case_is_marked_on_idag_and_in_the_list(app, create_user, pushed):
    from backend.extensions import db
    from backend.tasks.models import Task

    # Time passes: the glass's task is past its deadline (the push routed it a moment ago).
    glass_case = uuid.UUID(pushed["results"][5]["case_id"])
    db.session.execute(
        update(Task)
        .where(Task.case_id == glass_case)
        .values(due_at=datetime.now(UTC) - timedelta(hours=1))
    )
    db.session.commit()
    client, _ = _staff_client(app, create_user, "supervisor")
    page = client.get("/console/").get_data(as_text=True)
    assert re.search(r'data-count="overdue">1<', page)
    assert f"#{glass_case.hex[:8]}" in page
    listed = client.get("/console/cases?overdue=true").get_data(as_text=True)
    assert f"/console/cases/{glass_case}" in listed
    assert listed.count('href="/console/cases/') == 1


def test_case_list_filters_are_in_the_url_and_narrow_the_list(app, create_user, pushed):
    client, _ = _staff_client(app, create_user, "supervisor")
    bin_case, glass_case = pushed["results"][3]["case_id"], pushed["results"][5]["case_id"]
    every = client.get("/console/cases").get_data(as_text=True)
    assert bin_case in every and glass_case in every
    glass = client.get("/console/cases?category=litter.broken_glass").get_data(as_text=True)
    assert glass_case in glass and bin_case not in glass
    assert 'value="litter.broken_glass" selected' in glass
    day = today()[0].astimezone(LOCAL_TZ).date().isoformat()
    assert bin_case in client.get(f"/console/cases?date={day}&status=open").get_data(as_text=True)
    assert "Inga ärenden" in client.get("/console/cases?date=2001-01-01").get_data(as_text=True)
    hotorget = client.get("/console/cases?zone=hotorget").get_data(as_text=True)
    assert glass_case in hotorget and bin_case not in hotorget  # the glass is north, at Hötorget
    assert "Inga ärenden" in client.get("/console/cases?zone=brunkebergstorg").get_data(
        as_text=True
    )
    # Only the results when htmx asks for them, with the same filters.
    partial = client.get(
        "/console/cases?category=litter.broken_glass", headers={"HX-Target": "case-results"}
    ).get_data(as_text=True)
    assert partial.startswith('\n<section id="case-results"') or partial.lstrip().startswith(
        '<section id="case-results"'
    )
    assert glass_case in partial and "<html" not in partial


@pytest.mark.parametrize(
    "query,status",
    [
        ("status=closed", 422),
        ("date=9999-12-31", 422),
        ("date=0001-01-01", 422),
        ("date=not-a-date", 422),
        ("zone=%ED%A0%80", 422),
        ("cursor=garbage", 400),
        ("overdue=maybe", 422),
        ("category=" + "x" * 65, 422),
        ("category=litter.no_such_thing", 422),
        ("zone=no-such-zone", 422),
    ],
)
def test_bad_case_filters_get_a_clear_4xx_page(app, create_user, query, status):
    client, _ = _staff_client(app, create_user, "supervisor")
    response = client.get(f"/console/cases?{query}")
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert "<h1" in response.get_data(as_text=True)


def test_case_list_pages_by_keyset_and_keeps_filters(app, client, create_user, field_user):
    app.config["CASES_PAGE_DEFAULT_LIMIT"] = 2
    try:
        push(client, field_user, [report(location=bin_number(n)) for n in range(5)])
        staff, _ = _staff_client(app, create_user, "supervisor")
        seen, url = [], "/console/cases?status=open"
        while url:
            page = staff.get(url.replace("&amp;", "&")).get_data(as_text=True)
            seen += re.findall(r'href="/console/cases/([0-9a-f-]{36})"', page)
            found = re.search(r'rel="next" href="([^"]+)"', page)
            url = found.group(1) if found else ""
            assert not url or "status=open" in url
        assert len(seen) == 5 and len(set(seen)) == 5
    finally:
        app.config["CASES_PAGE_DEFAULT_LIMIT"] = 50


def test_case_detail_shows_reports_reasons_and_history(app, create_user, pushed):
    client, _ = _staff_client(app, create_user, "supervisor")
    case_id = pushed["results"][3]["case_id"]
    page = client.get(f"/console/cases/{case_id}").get_data(as_text=True)
    assert page.count('class="report"') == 2
    assert "Papperskorgen vid trappan är full" in page
    assert "Sammanslagen: inom kategorins radie och tidsfönster" in page
    assert "Trafikkontoret" in page and "Skickad" in page
    assert 'name="report_ids"' in page  # a supervisor may split


def test_split_and_merge_through_the_console_tell_the_phones(app, create_user, pushed):
    from backend.cases.models import Case
    from backend.extensions import db

    client, _ = _staff_client(app, create_user, "supervisor")
    case_id = pushed["results"][3]["case_id"]
    moved = pushed["items"][4]["id"]
    page = client.get(f"/console/cases/{case_id}").get_data(as_text=True)
    split = client.post(
        f"/console/cases/{case_id}/split", data={"csrf_token": csrf(page), "report_ids": [moved]}
    )
    assert split.status_code == 302
    new_id = split.headers["Location"].rsplit("/", 1)[-1]
    assert new_id != case_id
    landed = client.get(split.headers["Location"]).get_data(as_text=True)
    assert "1 rapporter flyttades till ett nytt ärende." in landed
    pulled = client.get("/api/v1/sync/pull", headers=pushed["worker"].headers).get_json()
    told = [c for c in pulled["changes"] if c["id"] == moved and c["status"] == "merged"]
    assert told[-1]["data"]["case_id"] == new_id
    merged = client.post(
        f"/console/cases/{case_id}/merge", data={"csrf_token": csrf(landed), "case_id": new_id}
    )
    assert merged.status_code == 302
    assert db.session.get(Case, uuid.UUID(new_id)).status == "merged"


@pytest.mark.parametrize(
    "form,status,message",
    [
        ({"case_id": "SELF"}, 409, "Ett ärende kan inte slås ihop med sig självt."),
        ({"case_id": str(uuid.uuid4())}, 422, "Ärendet finns inte"),
        ({"case_id": "not a uuid"}, 422, "Ange hela ärendenumret"),
        ({}, 422, "Ange hela ärendenumret"),
    ],
)
def test_a_refused_merge_shows_why_and_changes_nothing(
    app, create_user, pushed, form, status, message
):
    client, _ = _staff_client(app, create_user, "supervisor")
    case_id = pushed["results"][3]["case_id"]
    page = client.get(f"/console/cases/{case_id}").get_data(as_text=True)
    data = {k: (case_id if v == "SELF" else v) for k, v in form.items()}
    response = client.post(
        f"/console/cases/{case_id}/merge", data={"csrf_token": csrf(page), **data}
    )
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert response.get_data(as_text=True).count('class="report"') == 2


def test_split_of_every_report_is_refused(app, create_user, pushed):
    client, _ = _staff_client(app, create_user, "supervisor")
    case_id = pushed["results"][3]["case_id"]
    page = client.get(f"/console/cases/{case_id}").get_data(as_text=True)
    everything = [pushed["items"][3]["id"], pushed["items"][4]["id"]]
    response = client.post(
        f"/console/cases/{case_id}/split", data={"csrf_token": csrf(page), "report_ids": everything}
    )
    assert response.status_code == 422
    assert "minst en rapport kvar" in response.get_data(as_text=True)


def test_presence_page_and_its_csv_match_the_api(app, create_user, pushed):
    client, account = _staff_client(app, create_user, "supervisor")
    page = client.get("/console/presence").get_data(as_text=True)
    assert "Anna Fält" in page
    assert "Hötorget och Sergelgatan" in page
    today = re.search(r'name="date" type="date" value="([0-9-]+)"', page).group(1)
    ours = client.get(f"/console/presence.csv?date={today}")
    assert ours.headers["Content-Disposition"] == f'attachment; filename="presence-{today}.csv"'
    theirs = client.get(
        f"/api/v1/presence/daily?date={today}", headers={**account.headers, "Accept": "text/csv"}
    )
    assert ours.data == theirs.data
    rows = list(csv.DictReader(io.StringIO(ours.data.decode("utf-8-sig"))))
    assert {row["zone"] for row in rows} >= {"sergels-torg", "hotorget"}
    yesterday = client.get("/console/presence?date=2026-05-12").get_data(as_text=True)
    assert "Ingen var på plats denna dag." in yesterday


def test_contacts_page_shows_counts_never_a_contact(app, create_user, pushed):
    client, _ = _staff_client(app, create_user, "supervisor")
    page = client.get("/console/contacts").get_data(as_text=True)
    # Two contacts: below the minimum of 3, so the total and every cell are hidden.
    assert re.search(r'id="contacts-total"><span class="suppressed">dolt<', page)
    assert "dolt" in page
    for item in pushed["items"][6:]:
        assert item["id"] not in page


def test_contacts_page_shows_bands_for_the_period_counted(app, client, create_user):
    worker = create_user(role="field")
    now, span = today()
    items = [contact(captured_at=(now - span * (n + 1) / 20).isoformat()) for n in range(12)]
    assert client.post("/api/v1/sync/push", json=batch(items), headers=worker.headers).status_code
    staff, _ = _staff_client(app, create_user, "supervisor")
    page = staff.get("/console/contacts").get_data(as_text=True)
    # 12 contacts: shown as the band 10-14, never as 12.
    assert re.search(r'id="contacts-total">10–14<', page)
    assert ">12<" not in page
    assert 'id="contacts-period"' in page and "Räknat för hela veckor" in page


def test_statistik_shows_the_weekly_figures_and_their_csv(app, create_user, pushed):
    from redis import Redis
    from rq import Queue, SimpleWorker

    from backend.extensions import db
    from backend.queues import DEFAULT
    from backend.stats import jobs

    # What the relay and a worker do: enqueue the marked days, run their jobs.
    connection = Redis.from_url(app.config["REDIS_URL"])
    assert jobs.enqueue_dirty_days(db.session(), connection, 0) > 0
    SimpleWorker([Queue(DEFAULT, connection=connection)], connection=connection).work(burst=True)
    db.session.remove()
    client, _ = _staff_client(app, create_user, "supervisor")
    response = client.get("/console/stats")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<h1>Statistik" in page
    start = page.index('class="main-nav"')
    nav = page[start : page.index("</nav>", start)]
    assert re.findall(r">([^<>]+)</a>", nav)[-1] == "Statistik"
    assert 'href="/console/stats" aria-current="page"' in nav
    week = datetime.now(UTC).astimezone(LOCAL_TZ).date().isocalendar()
    # Eight weeks, this one last; three reports in two cases, all in this week. Rows per
    # week: the weeks, the zones' hours, Trafikkontoret; and one row by hour of day.
    assert page.count('<tr data-week="') == 3 * 8 + 1
    this_week = re.search(rf'<tr data-week="{week.year}-W{week.week:02d}">(.*?)</tr>', page, re.S)
    assert this_week is not None
    cells = re.findall(r'<td class="num">([^<]*)<', this_week.group(1))
    assert cells[:4] == ["3", "3", "2", "0"]  # reports, of them litter, opened, resolved
    assert 'id="org-trafikkontoret">Trafikkontoret<' in page
    org = page[page.index('id="stats-org-trafikkontoret"') :]
    total = re.search(r'<tr class="total" data-week="total">(.*?)</tr>', org, re.S)
    assert total is not None
    assert re.findall(r'<td class="num">([^<]*)<', total.group(1))[0] == "2"  # received
    # Two contacts: the count is issue 14's band, hidden below five.
    assert re.search(r'id="stats-contacts"><span class="suppressed">dolt<', page)
    link = re.search(r'id="stats-csv" href="([^"]+)"', page)
    assert link is not None
    csv_response = client.get(link.group(1).replace("&amp;", "&"))
    assert csv_response.status_code == 200
    assert csv_response.headers["Content-Disposition"].startswith(
        'attachment; filename="statistik-'
    )
    rows = list(csv.DictReader(io.StringIO(csv_response.get_data(as_text=True).lstrip("\ufeff"))))
    assert {
        r["value"]
        for r in rows
        if r["week"] == "total"
        and r["section"] == "reports"
        and r["measure"] == "count"
        and r["key"] == ""
    } == {"3"}
    for bad in ("from=2026-05-10&to=2026-05-01", "from=9999-12-25&to=9999-12-31", "zone=atlantis"):
        assert client.get(f"/console/stats?{bad}").status_code == 422, bad


def _refresh_stats(app):
    """What the relay and a worker do: enqueue the marked days, run their jobs."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    from backend.extensions import db
    from backend.queues import DEFAULT
    from backend.stats import jobs

    connection = Redis.from_url(app.config["REDIS_URL"])
    jobs.enqueue_dirty_days(db.session(), connection, 0)
    SimpleWorker([Queue(DEFAULT, connection=connection)], connection=connection).work(burst=True)
    db.session.remove()


def _cell(page, table, week, column):
    """The value and the change of one cell of a Statistik table."""
    body = page[page.index(f'id="{table}"') :]
    row = re.search(rf'<tr[^>]*data-week="{week}">(.*?)</tr>', body, re.S)
    assert row is not None, (table, week)
    cells = re.findall(r'<td class="num">(.*?)</td>', row.group(1), re.S)
    value, _, rest = cells[column].partition("<span")
    shown = re.search(r'class="change"[^>]*>([^<]*)<', rest)
    return value.strip(), shown.group(1) if shown else None


def _bars(page, chart):
    svg = page[page.index(f'<svg id="{chart}"') :]
    svg = svg[: svg.index("</svg>")]
    return [
        (label, float(value), float(height))
        for label, value, height in re.findall(
            r'data-label="([^"]+)" data-value="([^"]+)" x="[^"]+" y="[^"]+" width="[^"]+" '
            r'height="([^"]+)"',
            svg,
        )
    ], svg


def test_statistik_charts_and_week_over_week_change(app, client, create_user, pushed):
    now = datetime.now(UTC)
    # Last week (the same weekday, 7 days ago): one litter report, pushed late by a phone
    # that was offline. This week: the three of `pushed` (litter) and one damage report.
    push(
        client,
        pushed["worker"],
        [
            report(captured_at=(now - timedelta(days=7)).isoformat(), location=bin_number(5)),
            report(
                kind="damage",
                category="damage.building",
                location=bin_number(7),
                captured_at=(now - timedelta(minutes=1)).isoformat(),
            ),
        ],
    )
    _refresh_stats(app)
    staff, _ = _staff_client(app, create_user, "supervisor")
    page = staff.get("/console/stats").get_data(as_text=True)
    this = now.astimezone(LOCAL_TZ).date().isocalendar()
    last = (now - timedelta(days=7)).astimezone(LOCAL_TZ).date().isocalendar()
    this_week, last_week = f"{this.year}-W{this.week:02d}", f"{last.year}-W{last.week:02d}"
    # Columns: reports, damage, litter (kinds sorted), opened, resolved, hours.
    assert _cell(page, "stats-weeks", this_week, 0) == ("4", "+3 (+300 %)")
    assert _cell(page, "stats-weeks", last_week, 0) == ("1", "ny")  # none the week before
    assert _cell(page, "stats-weeks", this_week, 1) == ("1", "ny")  # damage: none last week
    assert _cell(page, "stats-weeks", this_week, 2) == ("3", "+2 (+200 %)")  # litter
    # Empty weeks: zeros, no change, no error.
    two_before = (now - timedelta(days=14)).astimezone(LOCAL_TZ).date().isocalendar()
    empty = f"{two_before.year}-W{two_before.week:02d}"
    assert _cell(page, "stats-weeks", empty, 0) == ("0", "±0")
    assert _cell(page, "stats-weeks", empty, 5)[0] == "0.0"
    # The latest week beside the one before, as text.
    latest = page[page.index('id="stats-latest"') :]
    latest = latest[: latest.index("</section>")]
    figure = r'data-figure="reports">Rapporter: 4 <span class="change"[^>]*>\+3 \(\+300 %\)<'
    assert re.search(figure, latest)
    # The litter chart: eight bars, heights in proportion (the largest, 3, is the full 86).
    bars, svg = _bars(page, "chart-kind-litter")
    assert [v for _, v, _ in bars] == [0, 0, 0, 0, 0, 0, 1, 3]
    assert [h for _, _, h in bars][-2:] == [28.67, 86.0]
    assert bars[-1][0] == f"v. {this.week:02d}"
    assert (
        'role="img"' in svg
        and '<title id="chart-kind-litter-title">Rapporter per vecka: Skräp</title>' in svg
    )
    assert f"v. {this.week:02d}: 3" in svg  # the text alternative lists every bar
    # Opened against resolved: two series, the second striped (not colour alone).
    bars, svg = _bars(page, "chart-cases")
    assert len(bars) == 16 and 'fill="url(#chart-cases-stripes)"' in svg
    assert 'id="chart-hours"' in page and 'id="chart-deadline-trafikkontoret"' in page
    assert 'id="chart-zone-sergels-torg"' in page
    # Twenty weeks: every third week labelled (7 labels), no value labels crowding the bars.
    monday = now.astimezone(LOCAL_TZ).date() - timedelta(weeks=19)
    long = staff.get(f"/console/stats?from={monday}").get_data(as_text=True)
    bars, svg = _bars(long, "chart-cases")
    assert len(bars) == 2 * 20
    assert svg.count('fill="#4f5863">') == 7 and 'fill="#1b1f24">' not in svg
    # In English.
    english = staff.get("/console/stats?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert '<title id="chart-kind-litter-title">Reports per week: Litter</title>' in english
    assert _cell(english, "stats-weeks", this_week, 1) == ("1", "new")
    assert f"w. {this.week:02d}" in english


def test_statistik_for_a_department_is_its_own_organisation_only(app, create_user, pushed):
    _refresh_stats(app)
    trafik, _ = _staff_client(app, create_user, "department", org="trafikkontoret")
    page = trafik.get("/console/stats").get_data(as_text=True)
    assert 'id="stats-org-trafikkontoret"' in page
    assert 'id="chart-deadline-trafikkontoret"' in page
    total = _cell(page, "stats-org-trafikkontoret", "total", 0)
    assert total[0] == "2"  # received: the two cases
    # The partnership's reports, cases, presence and contacts are not an organisation's.
    for hidden in (
        'id="stats-weeks"',
        'id="stats-zones"',
        "chart-kind-",
        "chart-cases",
        "chart-hours",
        'id="stats-contacts"',
        'data-figure="reports"',
    ):
        assert hidden not in page, hidden
    other, _ = _staff_client(app, create_user, "department", org="fastighetskontoret")
    page = other.get("/console/stats").get_data(as_text=True)
    assert 'id="stats-org-fastighetskontoret"' in page
    assert "trafikkontoret" not in page.lower().replace("/console/tasks", "")
    assert _cell(page, "stats-org-fastighetskontoret", "total", 0)[0] == "0"


def test_a_department_sees_a_case_it_let_go_as_it_was_then(app, client, create_user, pushed):
    trafik, account = _staff_client(app, create_user, "department", org="trafikkontoret")
    case_id = pushed["results"][3]["case_id"]
    working = trafik.get(f"/console/cases/{case_id}").get_data(as_text=True)
    assert "Papperskorgen vid trappan är full" in working and 'id="history-view"' not in working
    from backend.extensions import db
    from backend.tasks.models import Task
    from backend.tasks.services import record_event
    from backend.users.services import get_user

    task = db.session.query(Task).filter(Task.case_id == uuid.UUID(case_id)).one()
    record_event(db.session(), get_user(db.session(), account.id), task.id, "reject")
    push(client, pushed["worker"], [report(note="En man sover bakom korgen")])
    page = trafik.get(f"/console/cases/{case_id}").get_data(as_text=True)
    assert 'id="history-view"' in page
    assert "Papperskorgen vid trappan är full" not in page and "sover" not in page
    assert page.count('class="report"') == 2  # the two reports it had, not the third


def test_english_by_parameter_is_remembered_and_accept_language_works(app, create_user):
    client, _ = _staff_client(app, create_user, "supervisor")
    english = client.get("/console/cases?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english and ">Cases</a>" in english
    assert '<html lang="en">' in client.get("/console/presence").get_data(as_text=True)
    assert '<html lang="sv">' in client.get("/console/presence?lang=sv").get_data(as_text=True)
    browser = app.test_client()
    page = browser.get("/console/sign-in", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert '<html lang="en">' in page.get_data(as_text=True)
    page = browser.get("/console/sign-in", headers={"Accept-Language": "de-DE"})
    assert '<html lang="sv">' in page.get_data(as_text=True)


PAGES = (
    "/console/sign-in",
    "/console/",
    "/console/cases",
    "/console/presence",
    "/console/contacts",
    "/console/stats",
    "/console/tasks",
    "/console/admin/users",
    "/console/admin/organisations",
    "/console/admin/organisations/trafikkontoret",
    "/console/admin/rules",
    "/console/admin/deliveries",
    "/console/admin/audit",
    "/console/admin/retention",
)


def test_pages_carry_a_strict_csp_and_no_inline_code(app, create_user, pushed):
    client, _ = _staff_client(app, create_user, "admin")
    from tests.helpers.tasks import task_of

    case_id = pushed["results"][3]["case_id"]
    task_id = task_of(pushed["items"][3]["id"]).id
    made = client.post(
        "/console/admin/users",
        data={
            "csrf_token": csrf(client.get("/console/admin/users").get_data(as_text=True)),
            "name": "Ny",
            "role": "field",
            "organisation": "trafikkontoret",
        },
    )
    assert made.status_code == 201 and "<svg" in made.get_data(as_text=True)  # the QR code
    urls = (*PAGES, f"/console/cases/{case_id}", f"/console/tasks/{task_id}", "/console/nope")
    for url, response in [(u, client.get(u)) for u in urls] + [("token page", made)]:
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        html = response.get_data(as_text=True)
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, tag
        assert not re.search(r"<style\b", html), url
        assert not re.search(r'\sstyle="', html), url
        assert not re.search(r"\son[a-z]+=", html), url


def test_map_tiles_are_allowed_by_the_csp_only_when_configured(app, create_user):
    client, _ = _staff_client(app, create_user, "supervisor")
    assert "img-src 'self';" in client.get("/console/").headers["Content-Security-Policy"]
    app.config["MAP_TILE_URL"] = "https://{s}.tiles.example.org/{z}/{x}/{y}.png"
    app.config["MAP_TILE_ATTRIBUTION"] = "© Kartbolaget"
    try:
        response = client.get("/console/")
        assert (
            "img-src 'self' https://*.tiles.example.org;"
            in response.headers["Content-Security-Policy"]
        )
        assert "© Kartbolaget" in response.get_data(as_text=True)
    finally:
        app.config["MAP_TILE_URL"] = app.config["MAP_TILE_ATTRIBUTION"] = ""


def test_static_assets_are_served_with_a_version(app, create_user):
    client, _ = _staff_client(app, create_user, "supervisor")
    page = client.get("/console/").get_data(as_text=True)
    for path in re.findall(r'(?:src|href)="(/console/static/[^"]+)"', page):
        assert "?v=" in path
        response = app.test_client().get(path.replace("&amp;", "&"))
        assert response.status_code == 200
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        response.close()


# Who may open what: every console route, every role, objects of another organisation.
# None: signed out. A department's case here is another organisation's (404 as in the API).
MATRIX = {
    ("GET", "/console/sign-in"): {None: 200, "department": 302, "supervisor": 302, "admin": 302},
    ("POST", "/console/sign-in"): {None: 401, "department": 401, "supervisor": 401, "admin": 401},
    ("POST", "/console/sign-out"): {None: 302, "department": 302, "supervisor": 302, "admin": 302},
    ("GET", "/console/signed-in"): {None: 302, "department": 200, "supervisor": 200, "admin": 200},
    ("GET", "/console/"): {None: 302, "department": 302, "supervisor": 200, "admin": 200},
    ("GET", "/console/today/live"): {None: 302, "department": 403, "supervisor": 200, "admin": 200},
    ("GET", "/console/cases"): {None: 302, "department": 200, "supervisor": 200, "admin": 200},
    ("GET", "/console/cases/{case_id}"): {
        None: 302, "department": 404, "supervisor": 200, "admin": 200,
    },
    ("POST", "/console/cases/{case_id}/split"): {
        None: 302, "department": 404, "supervisor": 302, "admin": 302,
    },
    ("POST", "/console/cases/{case_id}/merge"): {
        None: 302, "department": 404, "supervisor": 302, "admin": 302,
    },
    ("GET", "/console/photos/{sha256}"): {
        None: 302, "department": 404, "supervisor": 200, "admin": 200,
    },
    ("GET", "/console/presence"): {None: 302, "department": 403, "supervisor": 200, "admin": 200},
    ("GET", "/console/presence.csv"): {
        None: 302, "department": 403, "supervisor": 200, "admin": 200,
    },
    ("GET", "/console/contacts"): {None: 302, "department": 403, "supervisor": 200, "admin": 200},
    ("GET", "/console/stats"): {None: 302, "department": 200, "supervisor": 200, "admin": 200},
    ("GET", "/console/stats.csv"): {None: 302, "department": 200, "supervisor": 200, "admin": 200},
    ("GET", "/console/tasks"): {None: 302, "department": 200, "supervisor": 200, "admin": 200},
    ("GET", "/console/tasks/{task_id}"): {
        None: 302, "department": 404, "supervisor": 200, "admin": 200,
    },
    ("POST", "/console/tasks/{task_id}/events"): {
        None: 302, "department": 404, "supervisor": 403, "admin": 302,
    },
    ("POST", "/console/tasks/{task_id}/contact"): {
        None: 302, "department": 404, "supervisor": 302, "admin": 302,
    },
    **{
        (method, f"/console/admin/{path}"): {
            None: 302, "department": 403, "supervisor": 403, "admin": status,
        }
        for method, path, status in (
            ("GET", "users", 200),
            ("POST", "users", 201),
            ("GET", "users/{user_id}", 200),
            ("POST", "users/{user_id}", 302),
            ("POST", "users/{user_id}/tokens", 201),
            ("POST", "users/{user_id}/tokens/{token_id}/revoke", 302),
            ("POST", "users/{user_id}/tokens/revoke", 302),
            ("GET", "organisations", 200),
            ("POST", "organisations", 302),
            ("GET", "organisations/{slug}", 200),
            ("POST", "organisations/{slug}", 302),
            ("POST", "organisations/{slug}/secret", 200),
            ("GET", "rules", 200),
            ("GET", "rules.json", 200),
            ("POST", "rules", 422),  # no file: the problem is listed
            ("GET", "deliveries", 200),
            ("POST", "deliveries/{delivery_id}/retry", 409),  # delivered, not failed
            ("GET", "audit", 200),
            ("GET", "retention", 200),
        )
    },
    ("GET", "/console/<path:anything>"): {
        None: 404, "department": 404, "supervisor": 404, "admin": 404,
    },
}  # fmt: skip
SKIP = {"/console/static/<path:filename>"}
FORMS = {
    "/console/tasks/{task_id}/events": {"action": "acknowledge"},
    "/console/tasks/{task_id}/contact": {"reason": "referral_intake"},
    "/console/admin/users": {"name": "Ny", "role": "field", "organisation": "trafikkontoret"},
    "/console/admin/users/{user_id}": {
        "name": "Ändrad", "role": "field", "organisation": "fastighetskontoret", "active": "true",
    },
    "/console/admin/organisations": {"name": "Ny", "slug": "ny-organisation", "channel": "inbox"},
    "/console/admin/organisations/{slug}": {"name": "Fastighetskontoret", "channel": "inbox"},
}  # fmt: skip
"""What each form sends in the matrix, so an allowed role's answer is the page's success."""


def test_every_console_route_has_a_row(app):
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/console") and rule.rule not in SKIP:
            path = re.sub(r"<(?:uuid|string):([a-z_0-9]+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                served.add((method, path))
    assert served == set(MATRIX)


@pytest.fixture
def others(client, create_user):
    """A case with a processed photo, of another organisation (Fastighetskontoret)."""
    from backend.photos.jobs import process_photo
    from tests.helpers.photos import phone_jpeg, sha256

    other = create_user(role="field", org="fastighetskontoret")
    photo = phone_jpeg()
    digest = sha256(photo)
    assert client.put(f"/api/v1/photos/{digest}", data=photo, headers=other.headers).status_code
    assert process_photo(digest) == "ready"
    far = {"lat": 59.3325, "lon": 18.0642 + 0.002, "accuracy_m": 5}
    building = {"kind": "damage", "category": "damage.building"}
    listed = [{"sha256": digest, "size": len(photo), "content_type": "image/jpeg"}]
    first, second, elsewhere = (
        report(**building, photos=listed),
        report(**building),
        report(**building, location=far),
    )
    results = client.post(
        "/api/v1/sync/push", json=batch([first, second, elsewhere]), headers=other.headers
    ).get_json()["results"]
    from sqlalchemy import select

    from backend.delivery.models import Delivery
    from backend.extensions import db
    from backend.users.models import ApiToken
    from tests.helpers.tasks import deliver_pending, task_of

    deliver_pending()
    return {
        "case_id": results[0]["case_id"],
        "report_id": second["id"],
        "other_case_id": results[2]["case_id"],
        "sha256": digest,
        "task_id": task_of(first["id"]).id,
        "user_id": other.id,
        "token_id": db.session.execute(select(ApiToken.id).where(ApiToken.user_id == other.id))
        .scalars()
        .first(),
        "slug": "fastighetskontoret",
        "delivery_id": db.session.execute(select(Delivery.id)).scalars().first(),
    }


@pytest.mark.parametrize("role", [None, *ROLES])
def test_console_matrix(app, create_user, others, role):
    """One signed-in client per role walks every route (sign-out last: it ends the session)."""
    if role is None:
        client = app.test_client()
    else:
        client, _ = _staff_client(app, create_user, role, "trafikkontoret")
    order = sorted(MATRIX, key=lambda route: route[1] == "/console/sign-out")
    for method, path in order:
        url = path.replace("<path:anything>", "no/such/page").format(**others)
        data = None
        if method == "POST":
            page = "/console/sign-in" if role is None else "/console/cases"
            data = {"csrf_token": csrf(client.get(page).get_data(as_text=True))}
            if path.endswith("/split"):
                data["report_ids"] = others["report_id"]
            if path.endswith("/merge"):
                data["case_id"] = others["other_case_id"]
            if path == "/console/sign-in":
                data |= {"email": "nobody@test.example", "password": "x"}
            data |= FORMS.get(path, {})
        response = client.open(url, method=method, data=data)
        expected = MATRIX[(method, path)][role]
        assert response.status_code == expected, f"{method} {path} as {role}"
        if response.status_code >= 400:
            assert response.mimetype == "text/html"
            # A refusal says nothing of the object refused (the page's own links aside).
            text = response.get_data(as_text=True).split("<main", 1)[1]
            assert others["sha256"] not in text and others["report_id"] not in text
