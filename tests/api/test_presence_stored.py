"""Stored worker days give exactly the logs the events give: random pushes (late and out of
order, DST days, zone changes, shifts without ends), read at several "now"s, through the daily
log, the field worker's own log, a zone filter, summaries and the statistics, then after
retention; a late ping makes only its worker's days dirty; a save racing a push is refused."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.localtime import LOCAL_TZ
from backend.photos.store import storage_from
from backend.presence import log as presence_log
from backend.presence import services, stored
from backend.presence.models import PresenceDay, PresenceEvent
from backend.presence.schemas import DailyLogSchema
from backend.retention import services as retention
from backend.stats import daily as stats_daily
from backend.stats.refresh import compute_presence
from backend.users.models import User
from tests.helpers.sync_items import batch, iso, presence

PUSH = "/api/v1/sync/push"
SPRING = date(2026, 3, 29)  # 23 hours
AUTUMN = date(2026, 10, 25)  # 25 hours
ZONES = ("sergels-torg", "hotorget", "drottninggatan", None)
KINDS = ("ping",) * 6 + ("zone_enter", "zone_exit", "shift_start", "shift_end")
OUTSIDE = {"lat": 59.40, "lon": 17.80, "accuracy_m": 10}  # in no zone polygon


@pytest.fixture
def old_items_accepted(app, monkeypatch):
    monkeypatch.setitem(app.config, "SYNC_MAX_ITEM_AGE_DAYS", 36500)


def _push(client, account, items) -> None:
    response = client.post(PUSH, json=batch(items), headers=account.headers)
    assert response.status_code == 200, response.get_json()
    assert {r["status"] for r in response.get_json()["results"]} == {"created"}


def _random_items(rnd: random.Random, day: date, count: int) -> list[dict]:
    """Events from the evening before ``day`` to the morning after (shifts over midnight)."""
    base = datetime.combine(day - timedelta(days=1), time(18), LOCAL_TZ).astimezone(UTC)
    items = []
    for _ in range(count):
        at = base + timedelta(seconds=rnd.randrange(36 * 3600))
        if rnd.random() < 0.2:
            at += timedelta(microseconds=rnd.randrange(1_000_000))
        zone = rnd.choice(ZONES)
        item = presence(event=rnd.choice(KINDS), captured_at=iso(at), zone=zone)
        if zone is None:
            item["location"] = dict(OUTSIDE)
        items.append(item)
    return items


def _event_log(session, day: date, now: datetime, worker=None, zone=None):
    lo, hi = presence_log.event_window(day)
    start, end = presence_log.day_bounds(day)
    return presence_log.daily_log(
        services.load_events(session, lo, hi, worker),
        services.load_filed(session, start, end, worker),
        day,
        zone=zone,
        now=now,
    )


def _event_summary(session, first: date, last: date, now: datetime):
    lo, hi = presence_log.event_window(first, last)
    start, _ = presence_log.day_bounds(first)
    _, end = presence_log.day_bounds(last)
    return presence_log.summary(
        services.load_events(session, lo, hi, None),
        services.load_filed(session, start, end, None),
        first,
        last,
        now=now,
    )


def _same_answers(supervisor_id, worker_id, day: date, nows: list[datetime]) -> None:
    session = db.session()
    supervisor, worker = session.get(User, supervisor_id), session.get(User, worker_id)
    days = [day - timedelta(days=1), day, day + timedelta(days=1)]
    for now in nows:
        for d in days:
            expected = _event_log(session, d, now)
            assert services.daily(session, supervisor, d, now=now).log == expected
            assert services.daily(session, worker, d, now=now).log == _event_log(
                session, d, now, worker=worker_id
            )
            assert services.daily(session, supervisor, d, zone="hotorget", now=now).log == (
                _event_log(session, d, now, zone="hotorget")
            )
            assert compute_presence(session, d, now) == stats_daily.presence_seconds(expected)
            session.commit()
        assert services.summary(
            session, supervisor, days[0], days[-1], max_days=31, now=now
        ) == _event_summary(session, days[0], days[-1], now)
        session.commit()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stored_days_equal_the_event_computation(
    app, client, create_user, old_items_accepted, seed
):
    rnd = random.Random(seed)
    day = (SPRING, AUTUMN, date(2026, 5, 12))[seed % 3]
    workers = [create_user(role="field") for _ in range(3)]
    supervisor = create_user(role="supervisor")
    pending = [(w, item) for w in workers for item in _random_items(rnd, day, 50)]
    rnd.shuffle(pending)  # late and out-of-order pushes
    start = datetime.combine(day, time(), LOCAL_TZ).astimezone(UTC)
    nows = [start + timedelta(hours=rnd.uniform(-2, 26)) for _ in range(2)]
    nows.append(datetime(2100, 1, 1, tzinfo=UTC))
    while pending:
        size = rnd.randint(5, 40)
        chunk, pending = pending[:size], pending[size:]
        for worker in workers:
            items = [item for w, item in chunk if w is worker]
            if items:
                _push(client, worker, items)
        with app.app_context():
            if rnd.random() < 0.5:  # the relay's pass got to some of them first
                services.refresh_dirty(db.session(), limit=rnd.randint(1, 6))
            _same_answers(supervisor.id, workers[0].id, day, nows)

    # Retention with its cut-offs inside the pushed span: the pings before 21:00 on the day
    # and every event before 21:00 the evening before go; the days computed from them are
    # cleared in the same step, then read again from what is left.
    ping_cut = start + timedelta(hours=21)
    as_of = ping_cut + timedelta(days=20)
    periods = retention.Periods(contacts=365, presence_pings=20, presence_events=21, photos=365)
    event_cut = as_of - timedelta(days=21)
    with app.app_context():
        deleted = [
            (e.user_id, e.occurred_at)
            for e in db.session.execute(select(PresenceEvent)).scalars()
            if e.occurred_at < event_cut or (e.event == "ping" and e.occurred_at < ping_cut)
        ]
        cleared = {(d, w) for w, at in deleted for d in stored.days_of(at)}
        assert deleted and cleared
        retention.run(db.session(), storage_from(app.config), periods, now=as_of)
        rows = {(r.day, r.user_id): r for r in db.session.execute(select(PresenceDay)).scalars()}
        # Nothing derived from a deleted event is kept: those days are cleared until read.
        assert all(rows[key].segments is None and rows[key].computed is None for key in cleared)
        db.session.rollback()
        _same_answers(supervisor.id, workers[0].id, day, nows)
        # A month later every event has gone, and so has every stored day.
        retention.run(
            db.session(), storage_from(app.config), periods, now=as_of + timedelta(days=30)
        )
        assert db.session.execute(select(PresenceDay)).first() is None
        db.session.rollback()
        _same_answers(supervisor.id, workers[0].id, day, nows)


def test_a_late_ping_makes_only_its_workers_days_dirty(
    app, client, create_user, old_items_accepted
):
    first, second = create_user(role="field"), create_user(role="field")
    supervisor = create_user(role="supervisor")
    rnd = random.Random(7)
    _push(client, first, _random_items(rnd, AUTUMN, 40))
    _push(client, second, _random_items(rnd, AUTUMN, 40))
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with app.app_context():
        session = db.session()
        for d in (AUTUMN - timedelta(days=1), AUTUMN, AUTUMN + timedelta(days=1)):
            services.daily(session, session.get(User, supervisor.id), d, now=now)
        assert all(r.computed == r.version for r in session.execute(select(PresenceDay)).scalars())
        session.commit()
    late = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CEST, the first of the two
    _push(client, second, [presence(event="ping", captured_at=iso(late), zone="hotorget")])
    with app.app_context():
        dirty = {
            (r.user_id, r.day)
            for r in db.session.execute(select(PresenceDay)).scalars()
            if r.computed != r.version
        }
        assert dirty == {(second.id, d) for d in stored.days_of(late)}
        assert stored.days_of(late) and AUTUMN in set(stored.days_of(late))


def test_a_save_racing_a_push_leaves_the_day_dirty(app, client, create_user, old_items_accepted):
    worker, supervisor = create_user(role="field"), create_user(role="supervisor")
    at = datetime(2026, 5, 12, 8, tzinfo=UTC)
    _push(client, worker, [presence(event="shift_start", captured_at=iso(at))])
    now = datetime(2026, 12, 1, tzinfo=UTC)
    day = date(2026, 5, 12)
    with app.app_context():
        session = db.session()
        _, fresh = services.day_records(session, day, day, None)
        session.commit()
    # The push commits between the read's computation and its save.
    later = at + timedelta(hours=2)
    _push(client, worker, [presence(event="shift_end", captured_at=iso(later))])
    with app.app_context():
        session = db.session()
        services.save_fresh(session, fresh)
        row = session.get(PresenceDay, (day, worker.id))
        # The old record was refused: the row stays dirty and holds nothing (retention marks
        # rows the same way, so a racing save never brings back what it cleared).
        assert row is not None and row.computed is None and row.segments is None
        log = services.daily(session, session.get(User, supervisor.id), day, now=now).log
        assert [(i.start, i.end) for i in log.workers[0].intervals] == [(at, later)]
        assert log == _event_log(session, day, now)


def test_the_daily_json_is_what_its_schema_documents(app, client, create_user, old_items_accepted):
    """The route serves ``export.daily_log_json``'s body as built: it must be exactly what
    dumping it through the documented schema gives (no field more, none less)."""
    worker, supervisor = create_user(role="field"), create_user(role="supervisor")
    _push(client, worker, _random_items(random.Random(3), AUTUMN, 30))
    for account in (worker, supervisor):
        response = client.get(
            "/api/v1/presence/daily", query_string={"date": AUTUMN}, headers=account.headers
        )
        body = response.get_json()
        assert body["workers"] and DailyLogSchema().dump(body) == body


def test_the_relay_pass_computes_the_dirty_days_so_reads_find_them_clean(
    app, client, create_user, old_items_accepted
):
    workers = [create_user(role="field") for _ in range(3)]
    rnd = random.Random(11)
    for worker in workers:
        _push(client, worker, _random_items(rnd, SPRING, 30))
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with app.app_context():
        session = db.session()
        dirty = len(stored.dirty(session, 1000))
        assert dirty >= 3
        assert services.refresh_dirty(session, limit=2) == 2
        assert services.refresh_dirty(session) == dirty - 2
        assert stored.dirty(session, 1000) == [] and services.refresh_dirty(session) == 0
        _, fresh = services.day_records(session, SPRING, SPRING, None)
        assert fresh == []  # nothing left to compute at read
        supervisor = session.get(User, create_user(role="supervisor").id)
        assert services.daily(session, supervisor, SPRING, now=now).log == _event_log(
            session, SPRING, now
        )
