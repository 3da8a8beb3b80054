"""Stored worker days (``PresenceDay``): marked dirty when their events change, read, saved.

Low in the dependency order (models, the time zone and the pure presence modules), so the
push and retention can call ``mark_dirty`` without depending on how logs are served.

Why marks and not a recomputation in the push: the push holds the write lock (SQLite) while
it runs, and recomputing a worker's day means loading ~700 events; a mark is one upsert per
(worker, day) the push touches (usually one or two), in the push's own transaction, so it
commits with the events or not at all. The read recomputes exactly the dirty rows (a late
ping: its worker's days, nothing else) and saves them in a short transaction of its own, on
the condition that no mark came meanwhile (``version`` unchanged). A crash anywhere leaves
at worst a dirty row, which is recomputed, never a stale one served.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.localtime import LOCAL_TZ
from backend.presence.log import day_bounds
from backend.presence.models import PresenceDay
from backend.presence.record import DayRecord, decode, encode
from backend.presence.values import MAX_SHIFT

_DAY = timedelta(days=1)


@functools.lru_cache(maxsize=4096)
def _window(day: date) -> tuple[datetime, datetime]:
    # Cached: the push asks for the same few days for every event (zoneinfo arithmetic was
    # ~80 µs an event uncached).
    start, end = day_bounds(day)
    return start - MAX_SHIFT, end + MAX_SHIFT


def days_of(at: datetime) -> Iterator[date]:
    """The local days whose event window (``log.event_window``) holds the instant ``at``: the
    days whose log an event at ``at`` can change (up to three: MAX_SHIFT is 13 h)."""
    local = at.astimezone(LOCAL_TZ).date()
    for day in (local - _DAY - _DAY, local - _DAY, local, local + _DAY, local + _DAY + _DAY):
        lo, hi = _window(day)
        if lo <= at <= hi:
            yield day


def touched(events: Iterable[tuple[uuid.UUID, datetime]]) -> list[tuple[date, uuid.UUID]]:
    """The sorted (day, worker) keys ``days_of`` gives each event's time."""
    # Window edges fall on whole hours (Stockholm's offsets are whole hours), so every instant
    # strictly inside one UTC hour has the days of any other in it: one lookup per hour.
    memo: dict[tuple[datetime, bool], tuple[date, ...]] = {}
    keys: set[tuple[date, uuid.UUID]] = set()
    for worker, at in events:
        at = at.astimezone(UTC)
        hour = at.replace(minute=0, second=0, microsecond=0)
        days = memo.get((hour, hour == at))
        if days is None:
            days = memo[hour, hour == at] = tuple(days_of(at))
        keys.update((day, worker) for day in days)
    return sorted(keys)


def mark_dirty(session: Session, events: Iterable[tuple[uuid.UUID, datetime]]) -> None:
    """Mark the days of each (worker, event time) for recomputation and clear what they held
    (retention calls this for deleted events: nothing derived from them stays). In the
    caller's transaction; the caller commits. Keys are upserted in order, so two pushes never
    lock the same rows in opposite orders."""
    keys = touched(events)
    if not keys:
        return
    table = PresenceDay.__table__
    dialect = session.get_bind().dialect.name
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert_(table).on_conflict_do_update(
        index_elements=["day", "user_id"],
        set_={"version": table.c.version + 1, "computed": None, "segments": None}
        | {"first_seen": None, "last_seen": None},
    )
    session.execute(statement, [{"day": d, "user_id": w, "version": 1} for d, w in keys])


class StoredDay(NamedTuple):
    day: date
    user_id: uuid.UUID
    version: int
    record: DayRecord | None  # None: dirty, to be computed from the events


def read(session: Session, first: date, last: date, worker: uuid.UUID | None) -> list[StoredDay]:
    """The stored days ``first``..``last`` (of ``worker`` only, if given)."""
    query = select(
        PresenceDay.day, PresenceDay.user_id, PresenceDay.version, PresenceDay.computed,
        PresenceDay.segments, PresenceDay.first_seen, PresenceDay.last_seen,
    ).where(PresenceDay.day >= first, PresenceDay.day <= last)  # fmt: skip
    if worker is not None:
        query = query.where(PresenceDay.user_id == worker)
    times: dict[int, datetime] = {}
    days: list[StoredDay] = []
    for day, user_id, version, computed, segments, first_seen, last_seen in session.execute(query):
        day_record = None
        if computed == version and segments is not None:
            day_record = decode(str(user_id), segments, first_seen, last_seen, times)
        days.append(StoredDay(day, user_id, version, day_record))
    return days


def dirty(session: Session, limit: int) -> list[StoredDay]:
    """Up to ``limit`` dirty days, the latest first (today's are the ones being read)."""
    query = (
        select(PresenceDay.day, PresenceDay.user_id, PresenceDay.version)
        .where(PresenceDay.computed.is_(None))
        .order_by(PresenceDay.day.desc(), PresenceDay.user_id)
        .limit(limit)
    )
    return [StoredDay(day, user, version, None) for day, user, version in session.execute(query)]


def save(session: Session, computed: Iterable[StoredDay]) -> None:
    """Store freshly computed records, each only if its row is still at the version it was
    computed from (a mark since means newer events: the row stays dirty). The caller commits."""
    table = PresenceDay.__table__
    statement = (
        update(table)
        .where(
            table.c.day == bindparam("k_day"),
            table.c.user_id == bindparam("k_user"),
            table.c.version == bindparam("k_version"),
        )
        .values(
            computed=bindparam("k_version"),
            segments=bindparam("k_segments"),
            first_seen=bindparam("k_first"),
            last_seen=bindparam("k_last"),
        )
    )
    rows = [
        {"k_day": d.day, "k_user": d.user_id, "k_version": d.version}
        | {"k_segments": encode(d.record), "k_first": d.record.first_seen}
        | {"k_last": d.record.last_seen}
        # In key order, as the push marks them: a save and a push never wait on each other's
        # rows in opposite orders (PostgreSQL row locks).
        for d in sorted(computed, key=lambda d: (d.day, d.user_id))
        if d.record is not None
    ]
    if rows:
        session.connection().execute(statement, rows)


def forget_before(session: Session, cutoff: datetime) -> None:
    """Delete the days whose whole event window lies before ``cutoff`` (retention deleted every
    event of theirs). The caller commits."""
    day = (cutoff - MAX_SHIFT).astimezone(LOCAL_TZ).date()
    while day_bounds(day)[1] + MAX_SHIFT >= cutoff:
        day -= _DAY
    session.execute(delete(PresenceDay).where(PresenceDay.day <= day))
