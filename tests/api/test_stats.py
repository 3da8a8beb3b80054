"""GET /api/v1/stats/weekly: three weeks of known data made through the phone and task APIs.

The weeks are ISO 2026-W13 to W15: clocks go forward on Sunday 29 March (a 23-hour day), and
Good Friday (3 April) and Easter Monday (6 April) are Swedish public holidays, which stretch a
working-hours deadline over the Easter weekend. Every push and task action happens at its own
moment of server time (``time_machine``), as it would have then; the figures are recomputed
through the real path (the marks the push and the task events wrote, the relay's pass, the RQ
job on a SimpleWorker) and compared with what is worked out by hand below.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import func, select, update

from backend.extensions import db
from backend.localtime import LOCAL_TZ
from backend.queues import DEFAULT
from backend.reports.models import Report
from backend.stats import jobs
from backend.stats.models import StatsDirtyDay, StatsTaskDay
from backend.tasks.models import Task
from tests.helpers.sync_items import batch, contact, iso, presence, report
from tests.helpers.tasks import bin_number, task_of

WEEKLY = "/api/v1/stats/weekly"
RANGE = {"from": "2026-03-25", "to": "2026-04-12"}  # a Wednesday: the answer starts Monday
HOUR = 3600


def at(day: str, clock: str) -> datetime:
    """Stockholm wall-clock time on a day of 2026."""
    month, dom = (int(p) for p in day.split("-"))
    hh, mm = (int(p) for p in clock.split(":"))
    return datetime(2026, month, dom, hh, mm, tzinfo=LOCAL_TZ)


@pytest.fixture
def old_items_accepted(app, monkeypatch):
    # The weeks lie months before the real clock; the push refuses items older than
    # SYNC_MAX_ITEM_AGE_DAYS as measured by that clock in some steps below.
    monkeypatch.setitem(app.config, "SYNC_MAX_ITEM_AGE_DAYS", 36500)
    monkeypatch.setitem(app.config, "STATS_REFRESH_DELAY_SECONDS", 0)


def push_at(client, account, moment: datetime, items: list[dict]) -> list[dict]:
    with time_machine.travel(moment, tick=False):
        response = client.post("/api/v1/sync/push", json=batch(items), headers=account.headers)
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert {r["status"] for r in results} == {"created"}, results
    return results


def report_at(client, account, moment: datetime, n: int, **fields) -> Task:
    """A report pushed when it was captured, at the n-th bin (a case of its own; -2 to 2 are
    in the Sergels torg zone); its task."""
    item = report(captured_at=iso(moment), location=bin_number(n), **fields)
    push_at(client, account, moment, [item])
    task = task_of(item["id"])
    assert task is not None
    return task


def act(client, account, task: Task, moment: datetime, action: str, **extra) -> None:
    with time_machine.travel(moment, tick=False):
        response = client.post(
            f"/api/v1/tasks/{task.id}/events",
            json={"action": action, **extra},
            headers=account.headers,
        )
    assert response.status_code == 200, response.get_json()


def refresh_statistics(app) -> int:
    """What the relay and a worker do: enqueue the marked days, run their jobs."""
    connection = Redis.from_url(app.config["REDIS_URL"])
    enqueued = jobs.enqueue_dirty_days(db.session(), connection, 0)
    SimpleWorker([Queue(DEFAULT, connection=connection)], connection=connection).work(burst=True)
    db.session.remove()
    return enqueued


def weekly(client, account, **query):
    return client.get(WEEKLY, query_string={**RANGE, **query}, headers=account.headers)


def org(week: dict, slug: str) -> dict:
    (found,) = [o for o in week["organisations"] if o["organisation"] == slug]
    return found


@pytest.fixture
def three_weeks(app, client, create_user, old_items_accepted):
    """The known data. Trafikkontoret gets every case (bins and graffiti at Sergels Torg, rule
    deadline working_hours(24)); it forwards the graffiti to Fastighetskontoret."""
    field = create_user(role="field")
    trafik = create_user(role="department", org="trafikkontoret")
    fastighet = create_user(role="department", org="fastighetskontoret")

    # W13. T1: Monday 10:00 CET, due Tuesday 10:00; acknowledged after 2 h, resolved after 22 h.
    t1 = report_at(client, field, at("03-23", "10:00"), -2)
    assert t1.due_at == at("03-24", "10:00")
    act(client, trafik, t1, at("03-23", "12:00"), "acknowledge")
    act(client, trafik, t1, at("03-23", "13:00"), "start")
    act(client, trafik, t1, at("03-24", "08:00"), "resolve")
    # T2: Thursday 09:00 CET, due Friday 09:00, acknowledged after 1 h, resolved Monday
    # 30 March 09:00 CEST: 95 real hours (96 on the wall clock, the night lost an hour), late.
    t2 = report_at(client, field, at("03-26", "09:00"), -1)
    assert t2.due_at == at("03-27", "09:00")
    act(client, trafik, t2, at("03-26", "10:00"), "acknowledge")
    act(client, trafik, t2, at("03-26", "11:00"), "start")
    # T3: graffiti Friday 14:00 CET, due Monday 14:00 CEST (10 working hours on Friday, 14 on
    # Monday); acknowledged after 24 h, then forwarded to Fastighetskontoret Saturday 15:00.
    t3 = report_at(
        client, field, at("03-27", "14:00"), 0, kind="damage", category="damage.graffiti"
    )
    assert t3.due_at == at("03-30", "14:00")
    act(client, trafik, t3, at("03-28", "14:00"), "acknowledge")
    act(client, trafik, t3, at("03-28", "15:00"), "reject", reroute_to="fastighetskontoret")
    t3b = db.session.execute(select(Task).where(Task.rerouted_from_id == t3.id)).scalar_one()
    # A night shift across the switch to summer time: Saturday 22:00 CET to Sunday 04:00 CEST,
    # in Sergels torg until 00:30, then Hötorget: Saturday 2 h, Sunday 3 real hours.
    worker = create_user(role="field")
    push_at(
        client,
        worker,
        at("03-29", "05:00"),
        [
            presence(event="shift_start", captured_at=iso(at("03-28", "22:00")),
                     zone="sergels-torg"),
            presence(event="ping", captured_at=iso(at("03-29", "00:30")), zone="hotorget"),
            presence(event="shift_end", captured_at=iso(at("03-29", "04:00")), zone="hotorget"),
            contact(captured_at=iso(at("03-28", "23:00")), referral=None),
        ],
    )  # fmt: skip

    # W14. Monday 30 March (CEST): T2 resolved late; Fastighetskontoret acknowledges T3b after
    # 40 real hours (Saturday 15:00 CET to Monday 08:00 CEST) and resolves it after 44, in time.
    act(client, trafik, t2, at("03-30", "09:00"), "resolve")
    act(client, fastighet, t3b, at("03-30", "08:00"), "acknowledge")
    act(client, fastighet, t3b, at("03-30", "09:00"), "start")
    act(client, fastighet, t3b, at("03-30", "12:00"), "resolve")
    # T4: Maundy Thursday 10:00, 14 working hours that day; Good Friday, the weekend and Easter
    # Monday are not working days: due Tuesday 7 April 10:00. Acknowledged after 1 h, resolved
    # Tuesday 09:00: 119 h, within its deadline only because of the holidays.
    t4 = report_at(client, field, at("04-02", "10:00"), 1)
    assert t4.due_at == at("04-07", "10:00")
    act(client, trafik, t4, at("04-02", "11:00"), "acknowledge")
    act(client, trafik, t4, at("04-02", "12:00"), "start")
    # T5: reported on Good Friday itself: the 24 working hours start on Tuesday, due Wednesday
    # 8 April 00:00; never touched, so it becomes overdue in W15.
    t5 = report_at(client, field, at("04-03", "11:00"), 2)
    assert t5.due_at == at("04-08", "00:00")
    # A guard on Good Friday, 10:00-12:30 at Sergels torg.
    push_at(
        client,
        worker,
        at("04-03", "13:00"),
        [
            presence(event="shift_start", captured_at=iso(at("04-03", "10:00")),
                     zone="sergels-torg"),
            presence(event="shift_end", captured_at=iso(at("04-03", "12:30")),
                     zone="sergels-torg"),
        ],
    )  # fmt: skip

    # W15.
    act(client, trafik, t4, at("04-07", "09:00"), "resolve")

    # The relay's pass and the job, a few minutes later; then the nightly run of 9 April,
    # which counts T5's deadline passing on the 8th, a day nothing else happened on.
    with time_machine.travel(at("04-07", "09:05"), tick=False):
        assert refresh_statistics(app) > 0
    with time_machine.travel(at("04-09", "03:30"), tick=False):
        assert at("04-08", "00:00").date() in jobs.run_nightly(db.session(), app.config)
    supervisor = create_user(role="supervisor")
    return {
        "field": field,
        "supervisor": supervisor,
        "trafik": trafik,
        "fastighet": fastighet,
    }


def test_weeks_equal_the_figures_worked_out_by_hand(client, three_weeks):
    body = weekly(client, three_weeks["supervisor"]).get_json()
    assert body["from"] == "2026-03-23" and body["to"] == "2026-04-12"
    assert body["pending_days"] == []
    w13, w14, w15 = body["weeks"]
    assert [w["week"] for w in body["weeks"]] == ["2026-W13", "2026-W14", "2026-W15"]
    assert (w13["start"], w13["end"]) == ("2026-03-23", "2026-03-29")

    assert w13["reports"] == {
        "total": 3,
        "by_kind": [{"key": "damage", "count": 1}, {"key": "litter", "count": 2}],
        "by_category": [
            {"key": "damage.graffiti", "count": 1},
            {"key": "litter.overflowing_bin", "count": 2},
        ],
    }
    assert w14["reports"]["total"] == 2 and w15["reports"]["total"] == 0
    # Keys that occur in the range are in every week, with zeros.
    assert w15["reports"]["by_kind"] == [
        {"key": "damage", "count": 0},
        {"key": "litter", "count": 0},
    ]
    assert [w["cases"] for w in body["weeks"]] == [
        {"opened": 3, "resolved": 1},  # T1's case on Tuesday
        {"opened": 2, "resolved": 2},  # T2's and T3's (by Fastighetskontoret) on Monday
        {"opened": 0, "resolved": 1},  # T4's
    ]

    t13, t14, t15 = (org(w, "trafikkontoret") for w in (w13, w14, w15))
    # Acknowledged after 2, 1 and 24 h: median 2; p90 at rank 0.9 x 2 = 1.8 of [1, 2, 24].
    assert t13 == {
        "organisation": "trafikkontoret",
        "received": 3,
        "forwarded_in": 0,
        "acknowledged": 3,
        "resolved": 1,
        "resolved_within_deadline": 1,
        "forwarded": 1,
        "became_overdue": 1,  # T2, due Friday 09:00, still open then
        "hours_to_acknowledge": {"median": 2.0, "p90": 2 + (24 - 2) * 0.8},
        "hours_to_resolve": {"median": 22.0, "p90": 22.0},
        "within_deadline_share": 1.0,
        "forwarding_rate": 0.5,  # one forwarded of two closed
    }
    assert (t14["received"], t14["acknowledged"], t14["resolved"]) == (2, 1, 1)
    assert t14["hours_to_acknowledge"] == {"median": 1.0, "p90": 1.0}
    assert t14["hours_to_resolve"] == {"median": 95.0, "p90": 95.0}
    assert t14["within_deadline_share"] == 0.0
    assert t14["forwarding_rate"] == 0.0
    assert t14["became_overdue"] == 0  # T3 was forwarded before its deadline
    assert t15["hours_to_resolve"] == {"median": 119.0, "p90": 119.0}
    assert t15["within_deadline_share"] == 1.0  # thanks to Easter
    assert t15["became_overdue"] == 1  # T5, due Wednesday 00:00

    f13, f14, f15 = (org(w, "fastighetskontoret") for w in (w13, w14, w15))
    assert (f13["received"], f13["forwarded_in"], f13["acknowledged"]) == (1, 1, 0)
    assert f14["hours_to_acknowledge"] == {"median": 40.0, "p90": 40.0}
    assert f14["hours_to_resolve"] == {"median": 44.0, "p90": 44.0}
    assert f14["within_deadline_share"] == 1.0
    assert f15["received"] == 0 and f15["hours_to_resolve"] == {"median": None, "p90": None}
    assert f15["within_deadline_share"] is None and f15["forwarding_rate"] is None

    # Presence: Saturday 22-24 in Sergels torg (2 h); Sunday 00:00-00:30 there, then Hötorget
    # 00:30-01:00, 01:00-02:00 and, after the skipped hour, 03:00-04:00.
    p13 = w13["presence"]
    assert p13["hours"] == 5.0
    assert p13["by_zone"] == [
        {"zone": "hotorget", "hours": 2.5},
        {"zone": "sergels-torg", "hours": 2.5},
    ]
    hours = {h["hour"]: h["hours"] for h in p13["by_hour"]}
    assert len(hours) == 24
    assert {h: v for h, v in hours.items() if v} == {0: 1.0, 1: 1.0, 3: 1.0, 22: 1.0, 23: 1.0}
    p14 = w14["presence"]
    assert p14["by_zone"] == [{"zone": "hotorget", "hours": 0.0}, {"zone": "sergels-torg",
                                                                    "hours": 2.5}]  # fmt: skip
    assert {h["hour"]: h["hours"] for h in p14["by_hour"] if h["hours"]} == {
        10: 1.0,
        11: 1.0,
        12: 0.5,
    }
    assert w15["presence"]["hours"] == 0.0

    total = body["total"]
    assert total["reports"]["total"] == 5
    assert total["presence"]["hours"] == 7.5
    # Over the three weeks: resolved after 22, 95, 119 h.
    assert org(total, "trafikkontoret")["hours_to_resolve"] == {
        "median": 95.0,
        "p90": round(95 + (119 - 95) * 0.8, 2),
    }
    assert org(total, "trafikkontoret")["within_deadline_share"] == round(2 / 3, 4)


def test_the_figures_are_those_the_presence_and_contact_routes_give(client, three_weeks):
    supervisor = three_weeks["supervisor"]
    body = weekly(client, supervisor).get_json()
    summary = client.get(
        "/api/v1/presence/summary",
        query_string={"from": "2026-03-23", "to": "2026-04-12"},
        headers=supervisor.headers,
    ).get_json()
    seconds = {z["zone"]: z["seconds"] for z in summary["zones"]}
    assert {z["zone"]: z["hours"] for z in body["total"]["presence"]["by_zone"]} == {
        zone: round(s / HOUR, 2) for zone, s in seconds.items()
    }
    contacts = client.get(
        "/api/v1/contacts/aggregates",
        query_string={"from": "2026-03-23", "to": "2026-04-12"},
        headers=supervisor.headers,
    ).get_json()
    assert body["contacts"] == contacts
    # One contact: below the suppression threshold, so it is not shown.
    assert body["contacts"]["total"] is None and body["contacts"]["total_suppressed"] is True


def test_a_late_push_changes_the_week_it_was_captured_in(app, client, three_weeks):
    supervisor, field = three_weeks["supervisor"], three_weeks["field"]
    before = weekly(client, supervisor).get_json()
    # A phone forgotten in a drawer sends, on 20 April, a report captured Wednesday 25 March.
    item = report(captured_at=iso(at("03-25", "12:00")), location=bin_number(-2))
    push_at(client, field, at("04-20", "12:05"), [item])
    # Until its day is recomputed the answer says so, and still shows the stored figures.
    pending = weekly(client, supervisor).get_json()
    assert "2026-03-25" in pending["pending_days"]
    assert pending["weeks"] == before["weeks"]
    with time_machine.travel(at("04-20", "12:10"), tick=False):
        refresh_statistics(app)
    after = weekly(client, supervisor).get_json()
    assert after["pending_days"] == []
    w13 = after["weeks"][0]
    assert w13["reports"]["total"] == 4
    assert {c["key"]: c["count"] for c in w13["reports"]["by_category"]} == {
        "damage.graffiti": 1,
        "litter.overflowing_bin": 3,
    }
    # The case was opened and routed when the service received it, after these weeks.
    assert after["weeks"][1:] == before["weeks"][1:]
    assert [w["cases"] for w in after["weeks"]] == [w["cases"] for w in before["weeks"]]


def test_the_answer_reads_the_aggregates_not_the_rows(app, client, three_weeks):
    supervisor = three_weeks["supervisor"]
    before = weekly(client, supervisor).get_json()
    # Rows changed behind the service's back (no mark): the answer does not change until the
    # day is recomputed, which shows it never scans the reports.
    db.session.execute(update(Report).values(category="litter.broken_glass"))
    db.session.commit()
    assert weekly(client, supervisor).get_json() == before
    jobs.refresh(db.session(), at("03-23", "00:00").date(), app.config)
    changed = weekly(client, supervisor).get_json()
    assert {c["key"]: c["count"] for c in changed["weeks"][0]["reports"]["by_category"]} == {
        "damage.graffiti": 1,
        "litter.broken_glass": 1,  # Monday's report, the only day recomputed
        "litter.overflowing_bin": 1,
    }


def test_zone_and_organisation_filters(client, three_weeks):
    supervisor = three_weeks["supervisor"]
    hotorget = weekly(client, supervisor, zone="hotorget").get_json()
    assert hotorget["zone"] == "hotorget"
    assert hotorget["total"]["presence"]["hours"] == 2.5
    assert hotorget["total"]["reports"]["total"] == 0
    assert hotorget["total"]["organisations"] == []
    own = weekly(client, supervisor, organisation="fastighetskontoret").get_json()
    assert own["organisation"] == "fastighetskontoret"
    assert [o["organisation"] for o in own["total"]["organisations"]] == ["fastighetskontoret"]
    # An organisation's answer holds its task figures only.
    assert own["total"]["reports"] is None and own["total"]["presence"] is None
    assert own["contacts"] is None


def test_a_department_reads_its_own_organisation_only(client, three_weeks, create_user):
    trafik = three_weeks["trafik"]
    body = weekly(client, trafik).get_json()
    assert body["organisation"] == "trafikkontoret"
    assert [o["organisation"] for o in body["weeks"][0]["organisations"]] == ["trafikkontoret"]
    assert body["weeks"][0]["reports"] is None and body["contacts"] is None
    assert weekly(client, trafik, organisation="trafikkontoret").status_code == 200
    refused = weekly(client, trafik, organisation="fastighetskontoret")
    assert refused.status_code == 403
    assert refused.get_json()["code"] == "not_your_organisation"
    field = create_user(role="field")
    assert weekly(client, field).status_code == 403


def test_csv_has_the_same_figures(client, three_weeks):
    response = client.get(
        WEEKLY, query_string=RANGE, headers={**three_weeks["supervisor"].headers,
                                             "Accept": "text/csv"}
    )  # fmt: skip
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert (
        'filename="statistik-2026-03-23-2026-04-12.csv"' in response.headers["Content-Disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    value = {
        (r["week"], r["section"], r["organisation"], r["key"], r["measure"]): r["value"]
        for r in rows
    }
    assert value[("2026-W13", "reports", "", "", "count")] == "3"
    assert value[("2026-W13", "organisation", "trafikkontoret", "", "forwarding_rate")] == "0.5"
    assert (
        value[("2026-W14", "organisation", "trafikkontoret", "", "hours_to_resolve_median")]
        == "95.0"
    )
    share = ("2026-W15", "organisation", "fastighetskontoret", "", "within_deadline_share")
    assert value[share] == ""
    assert value[("2026-W13", "presence", "", "h03", "hours")] == "1.0"
    assert value[("total", "presence", "", "", "hours")] == "7.5"
    # The one contact is suppressed: no number, and a row saying so.
    assert value[("2026-W13", "contacts", "", "", "count")] == ""
    assert value[("2026-W13", "contacts", "", "", "suppressed")] == "true"


def test_weeks_with_nothing_are_there_with_zeros(client, create_user):
    supervisor = create_user(role="supervisor")
    body = client.get(
        WEEKLY, query_string={"from": "2025-12-29", "to": "2026-12-27"}, headers=supervisor.headers
    ).get_json()
    assert len(body["weeks"]) == 52
    assert body["weeks"][0]["week"] == "2026-W01"
    assert all(w["reports"]["total"] == 0 and w["presence"]["hours"] == 0 for w in body["weeks"])
    assert all(len(w["presence"]["by_hour"]) == 24 for w in body["weeks"])


@pytest.mark.parametrize(
    "query,status,code",
    [
        ({"from": "2026-04-12", "to": "2026-03-23"}, 422, "range_reversed"),
        ({"from": "2025-01-01", "to": "2026-03-23"}, 422, "range_too_long"),
        ({"from": "0001-01-01", "to": "0001-01-07"}, 422, "validation_error"),
        ({"from": "9999-12-25", "to": "9999-12-31"}, 422, "validation_error"),
        ({"from": "2026-13-01", "to": "2026-03-23"}, 422, "validation_error"),
        ({"from": "2026-03-23"}, 422, "validation_error"),
        ({**RANGE, "zone": "atlantis"}, 422, "unknown_zone"),
        ({**RANGE, "organisation": "no-such-org"}, 422, "unknown_organisation"),
        ("zone=%ED%A0%80", 422, "validation_error"),  # a lone surrogate, UTF-8 encoded
    ],
)
def test_bad_queries_are_clear_4xx(client, create_user, query, status, code):
    supervisor = create_user(role="supervisor")
    if isinstance(query, str):
        url = f"{WEEKLY}?from={RANGE['from']}&to={RANGE['to']}&{query}"
        response = client.get(url, headers=supervisor.headers)
    else:
        response = client.get(WEEKLY, query_string=query, headers=supervisor.headers)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["code"] == code


def test_marks_enqueue_one_job_per_day_however_many_pushes(app, client, create_user):
    field = create_user(role="field")
    for _ in range(3):
        response = client.post("/api/v1/sync/push", json=batch([report()]),
                               headers=field.headers)  # fmt: skip
        assert response.status_code == 200
    marks = db.session.execute(select(func.count()).select_from(StatsDirtyDay)).scalar_one()
    assert marks >= 3
    connection = Redis.from_url(app.config["REDIS_URL"])
    first = jobs.enqueue_dirty_days(db.session(), connection, 0)
    again = jobs.enqueue_dirty_days(db.session(), connection, 0)
    assert first >= 1 and again == 0
    assert Queue(DEFAULT, connection=connection).count == first
    # Young marks wait for the delay: a busy day is recomputed once a delay, not per push.
    SimpleWorker([Queue(DEFAULT, connection=connection)], connection=connection).work(burst=True)
    db.session.remove()
    assert db.session.execute(select(func.count()).select_from(StatsDirtyDay)).scalar_one() == 0
    client.post("/api/v1/sync/push", json=batch([report()]), headers=field.headers)
    assert jobs.enqueue_dirty_days(db.session(), connection, 3600) == 0


def test_a_deadline_passing_without_any_event_is_counted_by_the_nightly_run(
    app, client, create_user, old_items_accepted
):
    field = create_user(role="field")
    task = report_at(client, field, at("05-12", "09:00"), 1)  # a Tuesday: due Wednesday 09:00
    with time_machine.travel(at("05-13", "08:00"), tick=False):
        refresh_statistics(app)
        body = client.get(WEEKLY, query_string={"from": "2026-05-13", "to": "2026-05-13"},
                          headers=create_user(role="supervisor").headers).get_json()  # fmt: skip
    assert org(body["weeks"][0], "trafikkontoret")["became_overdue"] == 0
    with time_machine.travel(at("05-14", "03:30"), tick=False):
        days = jobs.run_nightly(db.session(), app.config)
    assert at("05-13", "00:00").date() in days
    row = db.session.execute(
        select(StatsTaskDay).where(StatsTaskDay.day == at("05-13", "00:00").date())
    ).scalar_one()
    assert (row.organisation, row.became_overdue) == ("trafikkontoret", 1)
    assert task.due_at == at("05-13", "09:00").astimezone(UTC)
    assert jobs.next_run(at("05-14", "03:30")) == at("05-15", "03:30")
    assert jobs.next_run(at("05-14", "03:29")) == at("05-14", "03:30")
    assert timedelta(0) < jobs.next_run(datetime.now(UTC)) - datetime.now(UTC) <= timedelta(days=1)


def test_rebuild_fills_the_aggregates_of_existing_data(runner, client, create_user):
    field, supervisor = create_user(role="field"), create_user(role="supervisor")
    today = datetime.now(LOCAL_TZ).date()
    response = client.post("/api/v1/sync/push", json=batch([report()]), headers=field.headers)
    assert response.status_code == 200
    db.session.remove()
    query = {"from": today.isoformat(), "to": today.isoformat()}
    before = client.get(WEEKLY, query_string=query, headers=supervisor.headers).get_json()
    assert before["total"]["reports"]["total"] == 0 and before["pending_days"]
    start = (today - timedelta(days=2)).isoformat()
    result = runner.invoke(args=["stats", "rebuild", "--from", start])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == '{"days": 3}'
    db.session.remove()
    after = client.get(WEEKLY, query_string=query, headers=supervisor.headers).get_json()
    assert after["total"]["reports"]["total"] == 1 and after["pending_days"] == []
    assert runner.invoke(args=["stats", "rebuild", "--from", "soon"]).exit_code == 2
    reversed_ = runner.invoke(
        args=["stats", "rebuild", "--from", "2026-05-02", "--to", "2026-05-01"]
    )
    assert reversed_.exit_code == 2


def test_referred_contacts_are_not_counted_as_tasks(app, client, create_user):
    """A referred contact routes a task to the outreach team: counted per organisation and
    week, those tasks would publish the contact counts issue 14 rounds down to fives."""
    field = create_user(role="field")
    supervisor = create_user(role="supervisor")
    push_at(
        client,
        field,
        at("05-05", "12:05"),
        [contact(captured_at=iso(at("05-05", "12:00")))],  # referred to the outreach team
    )
    with time_machine.travel(at("05-05", "12:10"), tick=False):
        refresh_statistics(app)
    body = client.get(
        WEEKLY, query_string={"from": "2026-05-04", "to": "2026-05-10"}, headers=supervisor.headers
    ).get_json()
    (week,) = body["weeks"]
    assert week["cases"] == {"opened": 0, "resolved": 0}
    assert week["reports"]["by_kind"] == []
    assert all(o["received"] == 0 for o in week["organisations"])
    # The one contact is in the contact section only, rounded down to nothing.
    assert body["contacts"]["total"] is None and body["contacts"]["total_suppressed"] is True


def test_contacts_follow_the_periods_issue_14_answers(client, create_user):
    supervisor = create_user(role="supervisor")
    body = client.get(
        WEEKLY, query_string={"from": "2026-03-02", "to": "2026-03-29"}, headers=supervisor.headers
    ).get_json()
    assert (body["contacts"]["period"], body["contacts"]["period_kind"]) == ("2026-03", "month")
    # Weeks of two ISO years: no contact answer covers them (two could be subtracted).
    across = client.get(
        WEEKLY, query_string={"from": "2025-12-15", "to": "2026-01-11"}, headers=supervisor.headers
    ).get_json()
    assert len(across["weeks"]) == 4 and across["contacts"] is None
