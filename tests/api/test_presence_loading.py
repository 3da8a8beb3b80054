"""The presence loader (ids and times formatted by the database, rows read from the cursor)
returns what the ORM reads, on both backends, and so the same logs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.localtime import LOCAL_TZ
from backend.presence import log as presence_log
from backend.presence.models import PresenceEvent as StoredEvent
from backend.presence.services import load_events
from backend.presence.values import PresenceEvent
from tests.helpers.sync_items import batch, presence

PUSH = "/api/v1/sync/push"
SPRING = date(2026, 3, 29)  # 02:00 CET -> 03:00 CEST: a 23-hour day
AUTUMN = date(2026, 10, 25)  # 03:00 CEST -> 02:00 CET: a 25-hour day


@pytest.fixture
def old_items_accepted(app, monkeypatch):
    monkeypatch.setitem(app.config, "SYNC_MAX_ITEM_AGE_DAYS", 36500)


def _day(day: date, shift_end: bool) -> list[dict]:
    """A shift through the switch hour: sub-second times, two events in one second, a ping in
    no known zone (a location outside every polygon), zone moves."""
    start = datetime(day.year, day.month, day.day, 0, 30, tzinfo=LOCAL_TZ)
    items = [presence(event="shift_start", captured_at=start.isoformat(), zone="sergels-torg")]
    for minute in range(0, 240, 7):
        at = (start + timedelta(minutes=minute, microseconds=999_999)).astimezone(UTC)
        zone = ("sergels-torg", "hotorget", None)[minute % 3]
        item = presence(event="ping", captured_at=at.isoformat(), zone=zone)
        if zone is None:
            item["location"] = {"lat": 59.40, "lon": 17.80, "accuracy_m": 10}
        items.append(item)
    same = (start + timedelta(minutes=100, microseconds=500_000)).isoformat()
    items += [
        presence(event="zone_exit", captured_at=same, zone="hotorget"),
        presence(event="zone_enter", captured_at=same, zone="sergels-torg"),
    ]
    if shift_end:
        end = (start + timedelta(hours=4)).isoformat()
        items.append(presence(event="shift_end", captured_at=end, zone=None))
    return items


def _push(client, account, items) -> list[dict]:
    response = client.post(PUSH, json=batch(items), headers=account.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


def _orm_events() -> list[PresenceEvent]:
    """The events as the ORM gives them, to the whole second (all the computation keeps)."""
    return [
        PresenceEvent(
            str(e.user_id), str(e.id), e.event, e.occurred_at.replace(microsecond=0), e.zone  # type: ignore[arg-type]
        )
        for e in db.session.execute(select(StoredEvent)).scalars()
    ]  # fmt: skip


def _key(event: PresenceEvent) -> tuple:
    return (event.worker_id, event.at, event.item_id)


def test_loaded_events_equal_the_orm_rows_and_give_the_same_logs(
    app, client, create_user, old_items_accepted
):
    first, second = create_user(role="field"), create_user(role="field")
    assert {r["status"] for r in _push(client, first, _day(SPRING, True))} == {"created"}
    assert {r["status"] for r in _push(client, first, _day(AUTUMN, False))} == {"created"}
    assert {r["status"] for r in _push(client, second, _day(AUTUMN, True))} == {"created"}
    # The earliest time a phone may send, with a fraction that must floor, not round.
    epoch = presence(event="ping", captured_at="1970-01-01T00:00:00.999999Z")
    assert _push(client, second, [epoch])[0]["status"] == "created"
    # Year 1 and 9999 never reach the table: the push refuses them.
    hostile = [
        presence(event="ping", captured_at="0001-01-01T00:00:00+01:00"),
        presence(event="ping", captured_at="9999-12-31T23:59:59-01:00"),
    ]
    assert [(r["status"], r["code"]) for r in _push(client, second, hostile)] == [
        ("rejected", "invalid_timestamp")
    ] * 2

    with app.app_context():
        orm = sorted(_orm_events(), key=_key)
        lo, hi = datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
        loaded = sorted(load_events(db.session(), lo, hi, None), key=_key)
        assert len(orm) == 3 * len(_day(AUTUMN, True))  # one shift without its end, one 1970
        assert loaded == orm
        assert all(e.at.utcoffset() == timedelta(0) for e in loaded)
        assert datetime(1970, 1, 1, tzinfo=UTC) in {e.at for e in loaded}
        # One worker, and a window: the same rows as filtering the ORM's.
        lo, hi = presence_log.event_window(AUTUMN)
        assert sorted(load_events(db.session(), lo, hi, first.id), key=_key) == [
            e for e in orm if e.worker_id == str(first.id) and lo <= e.at <= hi
        ]
        for day in (SPRING, AUTUMN):
            lo, hi = presence_log.event_window(day)
            window = [e for e in orm if lo <= e.at <= hi]
            now = datetime(2026, 12, 1, tzinfo=UTC)
            assert presence_log.daily_log(
                load_events(db.session(), lo, hi, None), [], day, now=now
            ) == presence_log.daily_log(window, [], day, now=now)
