"""GET /api/v1/presence/daily and /summary: a worker's day pushed through the sync API."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest

from backend.localtime import LOCAL_TZ
from tests.helpers.sync_items import SERGELS_TORG, batch, contact, iso, presence, report

PUSH = "/api/v1/sync/push"
DAILY = "/api/v1/presence/daily"
SUMMARY = "/api/v1/presence/summary"
# 2026-10-25: clocks go back from 03:00 CEST to 02:00 CET, so 02:00-03:00 happens twice and
# the day is 25 hours long.
DST_DAY = "2026-10-25"


def local(clock: str, fold: int = 0, day: str = DST_DAY) -> datetime:
    """A Stockholm wall-clock time; fold=1 is the second of two ambiguous ones."""
    y, m, d = (int(p) for p in day.split("-"))
    hh, mm = (int(p) for p in clock.split(":"))
    return datetime(y, m, d, hh, mm, tzinfo=LOCAL_TZ, fold=fold)


@pytest.fixture
def old_items_accepted(app, monkeypatch):
    # The DST day lies in the past; the push refuses items older than SYNC_MAX_ITEM_AGE_DAYS.
    # monkeypatch restores it: the app object is shared by every test of the session.
    monkeypatch.setitem(app.config, "SYNC_MAX_ITEM_AGE_DAYS", 36500)


def push(client, account, items):
    response = client.post(PUSH, json=batch(items), headers=account.headers)
    assert response.status_code == 200, response.get_json()
    assert {r["status"] for r in response.get_json()["results"]} == {"created"}


def ping(at: datetime, zone: str | None = None) -> dict:
    item = presence(event="ping", captured_at=iso(at), zone=zone)
    if zone is None:
        item["location"] = dict(SERGELS_TORG)  # inside the sergels-torg polygon
    return item


def intervals(body: dict, worker_id) -> list[tuple]:
    (worker,) = [w for w in body["workers"] if w["worker_id"] == str(worker_id)]
    return [
        (i["zone"], i["start"], i["end"], i["minutes"], i["inferred"]) for i in worker["intervals"]
    ]


def test_dst_day_with_late_out_of_order_items_and_no_shift_end(
    client, create_user, old_items_accepted
):
    worker = create_user(role="field")
    supervisor = create_user(role="supervisor")
    # What the phone sent first: the shift start, a ping whose zone comes from the polygons,
    # and a ping in the repeated hour (02:30 CET, after 02:30 CEST) in Hötorget.
    push(
        client,
        worker,
        [
            presence(event="shift_start", captured_at=iso(local("01:00")), zone="sergels-torg"),
            ping(local("02:30", fold=0)),
            ping(local("02:30", fold=1), zone="hotorget"),
        ],
    )
    first = client.get(DAILY, query_string={"date": DST_DAY}, headers=supervisor.headers)
    assert first.status_code == 200
    assert intervals(first.get_json(), worker.id) == [
        ("sergels-torg", "2026-10-25T01:00:00+02:00", "2026-10-25T02:30:00+01:00", 150.0, False),
        # No shift end yet: closed 15 minutes (the grace) after the last sign, inferred.
        ("hotorget", "2026-10-25T02:30:00+01:00", "2026-10-25T02:45:00+01:00", 15.0, True),
    ]
    # Later, from the outbox: an earlier ping (out of order) and a later one, a report and a
    # contact. Still no shift end.
    push(
        client,
        worker,
        [
            ping(local("02:45", fold=1), zone="hotorget"),
            ping(local("02:10", fold=0)),
            report(captured_at=iso(local("02:40", fold=1))),
            contact(captured_at=iso(local("02:50", fold=1))),
        ],
    )
    second = client.get(DAILY, query_string={"date": DST_DAY}, headers=supervisor.headers)
    body = second.get_json()
    assert intervals(body, worker.id) == [
        ("sergels-torg", "2026-10-25T01:00:00+02:00", "2026-10-25T02:30:00+01:00", 150.0, False),
        ("hotorget", "2026-10-25T02:30:00+01:00", "2026-10-25T03:00:00+01:00", 30.0, True),
    ]
    (day,) = body["workers"]
    # Three wall-clock hours 01:00-03:00 hold one extra real hour on this day.
    assert day["minutes"] == 180.0
    assert day["zones"] == [
        {"zone": "sergels-torg", "seconds": 9000, "minutes": 150.0},
        {"zone": "hotorget", "seconds": 1800, "minutes": 30.0},
    ]
    assert day["first_seen"] == "2026-10-25T01:00:00+02:00"
    # Filed reports and contacts are listed, but only presence events are signs of presence.
    assert day["last_seen"] == "2026-10-25T02:45:00+01:00"
    assert day["filed"] == {"reports": 1, "contacts": 1}
    assert "contacts" not in day  # a supervisor gets the count, not the contact
    assert len(body["coverage"]) == 25
    hours = {c["start"]: c for c in body["coverage"] if c["workers"]}
    # The repeated hour: Sergels torg until 02:30 CET, then Hötorget.
    assert hours["2026-10-25T02:00:00+01:00"]["zones"] == [
        {"zone": "hotorget", "workers": 1},
        {"zone": "sergels-torg", "workers": 1},
    ]
    assert hours["2026-10-25T02:00:00+02:00"]["zones"] == [{"zone": "sergels-torg", "workers": 1}]
    own = client.get(DAILY, query_string={"date": DST_DAY}, headers=worker.headers).get_json()
    assert [c["at"] for c in own["workers"][0]["contacts"]] == ["2026-10-25T02:50:00+01:00"]


def _day_with_two_workers(client, create_user, name: str = "Åsa Öberg"):
    anna = create_user(role="field", name=name)
    bo = create_user(role="field", org="fastighetskontoret")
    push(
        client,
        anna,
        [
            presence(event="shift_start", captured_at=iso(local("08:00", day="2026-05-12"))),
            ping(local("09:00", day="2026-05-12")),
            ping(local("10:00", day="2026-05-12"), zone="hotorget"),
            presence(
                event="shift_end", captured_at=iso(local("12:00", day="2026-05-12")), zone=None
            ),
        ],
    )
    push(
        client,
        bo,
        [
            presence(event="shift_start", captured_at=iso(local("09:30", day="2026-05-12")),
                     zone="drottninggatan"),
            presence(event="shift_end", captured_at=iso(local("11:00", day="2026-05-12"))),
        ],
    )  # fmt: skip
    return anna, bo


def test_csv_has_one_row_per_interval_matching_the_json(client, create_user, old_items_accepted):
    anna, _ = _day_with_two_workers(client, create_user)
    supervisor = create_user(role="supervisor")
    query = {"date": "2026-05-12"}
    body = client.get(DAILY, query_string=query, headers=supervisor.headers).get_json()
    response = client.get(
        DAILY, query_string=query, headers={**supervisor.headers, "Accept": "text/csv"}
    )
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for å, ä, ö
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    from_json = [
        (w["worker_id"], i["zone"] or "", i["start"], i["end"], f"{i['minutes']:.2f}",
         "true" if i["inferred"] else "false")
        for w in body["workers"]
        for i in w["intervals"]
    ]  # fmt: skip
    from_csv = [
        (r["worker_id"], r["zone"], r["start"], r["end"], r["minutes"], r["inferred"]) for r in rows
    ]
    assert from_csv == from_json
    assert len(from_csv) == 3  # Anna: sergels-torg, hotorget; Bo: drottninggatan
    names = {r["worker_id"]: r["worker"] for r in rows}
    assert names[str(anna.id)] == "Åsa Öberg"
    assert {r["zone_name"] for r in rows if r["zone"] == "hotorget"} == {"Hötorget och Sergelgatan"}


def test_zone_filter_and_worker_filter(client, create_user, old_items_accepted):
    anna, bo = _day_with_two_workers(client, create_user)
    supervisor = create_user(role="supervisor")
    only_hotorget = client.get(
        DAILY, query_string={"date": "2026-05-12", "zone": "hotorget"}, headers=supervisor.headers
    ).get_json()
    assert [w["worker_id"] for w in only_hotorget["workers"]] == [str(anna.id)]
    assert [i["zone"] for i in only_hotorget["workers"][0]["intervals"]] == ["hotorget"]
    only_bo = client.get(
        DAILY, query_string={"date": "2026-05-12", "worker": str(bo.id)}, headers=supervisor.headers
    ).get_json()
    assert [w["worker_id"] for w in only_bo["workers"]] == [str(bo.id)]
    unknown = client.get(
        DAILY, query_string={"date": "2026-05-12", "zone": "nowhere"}, headers=supervisor.headers
    )
    assert (unknown.status_code, unknown.get_json()["code"]) == (422, "unknown_zone")


def test_field_worker_sees_only_themselves_and_learns_nothing_of_others(
    client, create_user, old_items_accepted
):
    anna, bo = _day_with_two_workers(client, create_user, name="Anna Secret-Name")
    own = client.get(DAILY, query_string={"date": "2026-05-12"}, headers=anna.headers).get_json()
    assert [w["worker_id"] for w in own["workers"]] == [str(anna.id)]
    assert all(c["workers"] <= 1 for c in own["coverage"])  # Bo is not counted either
    for query in ({"worker": str(bo.id)}, {"worker": str(bo.id), "zone": "drottninggatan"}):
        refused = client.get(
            DAILY, query_string={"date": "2026-05-12", **query}, headers=anna.headers
        )
        assert refused.status_code == 403
        assert refused.get_json()["code"] == "not_your_presence"
        assert str(bo.id) not in refused.get_data(as_text=True)
    summary = client.get(
        SUMMARY, query_string={"from": "2026-05-12", "to": "2026-05-12"}, headers=anna.headers
    ).get_json()
    assert summary["workers"] == 1


@pytest.mark.parametrize("path", [DAILY, SUMMARY])
def test_departments_get_no_presence(client, create_user, old_items_accepted, path):
    anna, _ = _day_with_two_workers(client, create_user, name="Anna Secret-Name")
    department = create_user(role="department", org="fastighetskontoret")
    if path == DAILY:
        queries = [{"date": "2026-05-12"}, {"date": "2026-05-12", "worker": str(anna.id)}]
    else:  # the summary takes no worker
        queries = [{"from": "2026-05-12", "to": "2026-05-12"}]
    for query in queries:
        refused = client.get(path, query_string=query, headers=department.headers)
        assert refused.status_code == 403
        text = refused.get_data(as_text=True)
        assert str(anna.id) not in text and "Secret" not in text


def test_summary_adds_up_the_daily_logs_and_bounds_the_range(
    client, app, create_user, old_items_accepted, monkeypatch
):
    _day_with_two_workers(client, create_user)
    supervisor = create_user(role="supervisor")
    daily = client.get(
        DAILY, query_string={"date": "2026-05-12"}, headers=supervisor.headers
    ).get_json()
    summary = client.get(
        SUMMARY, query_string={"from": "2026-05-11", "to": "2026-05-13"}, headers=supervisor.headers
    ).get_json()
    assert [d["date"] for d in summary["days"]] == ["2026-05-11", "2026-05-12", "2026-05-13"]
    assert summary["workers"] == 2
    total = sum(w["seconds"] for w in daily["workers"])
    assert sum(z["seconds"] for z in summary["zones"]) == total == (4 * 60 + 90) * 60
    reversed_ = client.get(
        SUMMARY, query_string={"from": "2026-05-13", "to": "2026-05-11"}, headers=supervisor.headers
    )
    assert (reversed_.status_code, reversed_.get_json()["code"]) == (422, "range_reversed")
    monkeypatch.setitem(app.config, "PRESENCE_SUMMARY_MAX_DAYS", 7)
    too_long = client.get(
        SUMMARY, query_string={"from": "2026-05-01", "to": "2026-05-08"}, headers=supervisor.headers
    )
    assert (too_long.status_code, too_long.get_json()["code"]) == (422, "range_too_long")


@pytest.mark.parametrize("event", ["shift_start", "zone_enter", "zone_exit", "shift_end"])
def test_every_event_without_a_zone_gets_it_from_the_polygons(client, create_user, app, event):
    from sqlalchemy import select

    from backend.extensions import db
    from backend.presence.models import PresenceEvent

    worker = create_user(role="field")
    inside = presence(event=event, zone=None)  # located inside the sergels-torg polygon
    outside = presence(event=event, zone=None, location={"lat": 59.40, "lon": 18.20})
    named = presence(event=event, zone="hotorget")  # what the phone names is kept
    push(client, worker, [inside, outside, named])
    stored = dict(
        db.session.execute(
            select(PresenceEvent.id, PresenceEvent.zone).where(PresenceEvent.user_id == worker.id)
        ).all()
    )
    assert {str(k): v for k, v in stored.items()} == {
        inside["id"]: "sergels-torg",
        outside["id"]: None,
        named["id"]: "hotorget",
    }


def test_shift_start_without_zone_on_sergels_torg_is_logged_there(
    client, create_user, old_items_accepted
):
    worker = create_user(role="field")
    supervisor = create_user(role="supervisor")
    push(
        client,
        worker,
        [
            presence(
                event="shift_start", captured_at=iso(local("10:00", day="2026-11-03")), zone=None
            ),
            presence(
                event="shift_end", captured_at=iso(local("10:30", day="2026-11-03")), zone=None
            ),
        ],
    )
    response = client.get(DAILY, query_string={"date": "2026-11-03"}, headers=supervisor.headers)
    assert response.status_code == 200, response.get_json()
    zones = {i[0] for i in intervals(response.get_json(), worker.id)}
    assert zones == {"sergels-torg"}


def test_daily_log_json_names_each_worker_for_a_supervisor_and_the_worker(
    client, create_user, old_items_accepted
):
    worker = create_user(role="field", name="Åsa Öberg \u2028 <b>")
    supervisor = create_user(role="supervisor")
    push(client, worker, [presence(captured_at=iso(local("09:00", day="2026-11-04")))])
    for reader in (supervisor, worker):
        body = client.get(
            DAILY, query_string={"date": "2026-11-04"}, headers=reader.headers
        ).get_json()
        (day,) = [w for w in body["workers"] if w["worker_id"] == str(worker.id)]
        assert day["name"] == "Åsa Öberg \u2028 <b>"


@pytest.mark.parametrize(
    "name",
    ['=HYPERLINK("http://x/","y")', "+46 8 508 000 00", "-1", "@attacker", "\tAnna", "\rAnna"],
)
def test_a_name_that_is_a_formula_reaches_the_csv_as_text(
    client, create_user, old_items_accepted, name
):
    worker, _ = _day_with_two_workers(client, create_user, name=name)
    supervisor = create_user(role="supervisor")
    response = client.get(
        DAILY,
        query_string={"date": "2026-05-12"},
        headers={**supervisor.headers, "Accept": "text/csv"},
    )
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    names = {row["worker"] for row in rows if row["worker_id"] == str(worker.id)}
    assert names == {"'" + name}
