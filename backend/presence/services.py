"""Presence use cases: read each worker's stored day and the filed items, compute logs for
those allowed.

A worker's day is kept as a record (``backend.presence.stored``), recomputed from the events
when a push or retention has marked it, so an item pushed late changes the day it belongs to
the next time that day is asked for, and only its worker's record is computed again. What
depends on the present (an open shift cut at now) and the filed items are computed at read.
"""

from __future__ import annotations

import gc
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from backend import roles
from backend.contacts.models import Contact
from backend.database import deferred_reads, immediate_writes
from backend.errors import Forbidden, Unprocessable
from backend.presence import log as presence_log
from backend.presence import stored
from backend.presence.models import PresenceEvent as StoredEvent
from backend.presence.record import DayRecord
from backend.presence.values import DailyLog, FiledItem, PresenceEvent, Summary
from backend.reference.models import Zone
from backend.reference.services import check_zone
from backend.reports.models import Report
from backend.users.models import User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DailyAnswer:
    log: DailyLog
    # Contacts are listed one by one only to their author: the field worker reading their own
    # log. Supervisors see counts (the issue: aggregates, not individual contacts).
    include_contacts: bool


def visible_worker(user: User, worker: uuid.UUID | None) -> uuid.UUID | None:
    """The worker whose presence ``user`` may read (``None``: everyone), or 403.

    The refusal does not repeat the worker asked for: it says nothing about whether that
    worker exists or was present.
    """
    if user.role in roles.SEES_ALL:
        return worker
    if user.role == "field":
        if worker is not None and worker != user.id:
            raise Forbidden(
                "A field worker may read only their own presence log.",
                code="not_your_presence",
                errors={"worker": ["must be your own id, or left out"]},
            )
        return user.id
    raise Forbidden("Presence logs are for supervisors and the workers themselves.")


class _EpochSeconds(FunctionElement[int]):
    """A UTC timestamp column as whole seconds since 1970, floored, computed by the database."""

    type = Integer()
    inherit_cache = True


@compiles(_EpochSeconds, "sqlite")
def _epoch_sqlite(element: _EpochSeconds, compiler: Any, **kw: Any) -> str:
    # SQLite stores the naive UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'. The fraction is cut off
    # as text: SQLite's date functions round it to milliseconds, so .9995 would become the
    # next second (the test of the loader caught it).
    column = compiler.process(element.clauses, **kw)
    return f"CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER)"


@compiles(_EpochSeconds, "postgresql")
def _epoch_postgresql(element: _EpochSeconds, compiler: Any, **kw: Any) -> str:
    return f"CAST(floor(extract(epoch FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


class _UuidText(FunctionElement[str]):
    """A UUID column as text: on PostgreSQL its canonical form (``str(uuid)``), on SQLite the
    32 hex digits it is stored as (SQLAlchemy's Uuid without a native type), which
    ``_canonical`` dashes: SQLite's substr and || took 400 ms for a busy day's ids, against
    50 ms in Python."""

    type = String()
    inherit_cache = True


@compiles(_UuidText, "sqlite")
def _uuid_sqlite(element: _UuidText, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


def _canonical(text: str) -> str:
    """A UUID's text as ``str(uuid)`` gives it, from either form ``_UuidText`` selects."""
    if len(text) == 36:
        return text
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@compiles(_UuidText, "postgresql")
def _uuid_postgresql(element: _UuidText, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS TEXT)"


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No garbage collection inside: loading a busy day builds ~150,000 acyclic objects, and the
    collections their allocation triggers (each walking the whole process heap, which they
    cannot shrink) were ~40 % of the request (issue 20). Objects freed by reference counting
    still go at once; a collection due meanwhile runs at the next allocation after. Process
    wide, so another thread's collections wait too, for this load and computation only."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_events(
    session: Session, lo: datetime, hi: datetime, worker: uuid.UUID | None
) -> list[PresenceEvent]:
    """Stored presence events with ``lo <= occurred_at <= hi`` as the computation's values.

    Times come to the whole second (floored), which is all the computation keeps (see
    ``backend.presence.log``). The database gives the ids as text (``_UuidText``) and the times
    as integers (``_EpochSeconds``), and the rows are read from the driver's cursor:
    SQLAlchemy's per-row UUID and datetime processing was most of the cost of loading a busy
    day (issue 20, the benchmark)."""
    query = select(
        _UuidText(StoredEvent.user_id), _UuidText(StoredEvent.id), StoredEvent.event,
        _EpochSeconds(StoredEvent.occurred_at), StoredEvent.zone,
    ).where(StoredEvent.occurred_at >= lo, StoredEvent.occurred_at <= hi)  # fmt: skip
    if worker is not None:
        query = query.where(StoredEvent.user_id == worker)
    # The statement's columns are plain text and integers (no result processing to skip), so
    # the driver's own tuples are the rows.
    with session.connection().execute(query) as result:
        rows = result.cursor.fetchall()
    # Many events share a second (200 workers pinging each minute): one datetime per second.
    times: dict[int, datetime] = {}
    events: list[PresenceEvent] = []
    append = events.append
    workers: dict[str, str] = {}
    for raw_worker, item_id, event, seconds, zone in rows:
        at = times.get(seconds)
        if at is None:
            at = times[seconds] = _EPOCH + timedelta(seconds=seconds)
        worker_id = workers.get(raw_worker)
        if worker_id is None:
            worker_id = workers[raw_worker] = _canonical(raw_worker)
        if len(item_id) != 36:
            item_id = _canonical(item_id)
        # The event kind was validated against PRESENCE_EVENTS at push time.
        append(PresenceEvent(worker_id, item_id, event, at, zone))
    return events


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def load_filed(
    session: Session, lo: datetime, hi: datetime, worker: uuid.UUID | None
) -> list[FiledItem]:
    """Reports and contacts filed in ``[lo, hi)``: id, time and zone only, no content."""
    filed: list[FiledItem] = []
    for model, kind in ((Report, "report"), (Contact, "contact")):
        query = select(model.user_id, model.id, model.occurred_at, model.zone).where(
            model.occurred_at >= lo, model.occurred_at < hi
        )
        if worker is not None:
            query = query.where(model.user_id == worker)
        filed.extend(
            FiledItem(str(user_id), str(item_id), kind, at, zone)  # type: ignore[arg-type]
            for user_id, item_id, at, zone in session.execute(query)
        )
    return filed


def daily(
    session: Session,
    user: User,
    day: date,
    *,
    zone: str | None = None,
    worker: uuid.UUID | None = None,
    now: datetime,
) -> DailyAnswer:
    """The daily log of the workers ``user`` may see (``worker`` narrows it)."""
    allowed = visible_worker(user, worker)
    check_zone(session, zone)
    day_start, day_end = presence_log.day_bounds(day)
    with _gc_paused():
        records, fresh = day_records(session, day, day, allowed)
        result = presence_log.daily_log_from_records(
            records.get(day, {}),
            load_filed(session, day_start, day_end, allowed),
            day,
            zone=zone,
            now=now,
        )
    save_fresh(session, fresh)
    return DailyAnswer(result, include_contacts=user.role == "field")


_FEW_WORKERS = 8
"""Up to this many dirty workers in a day are loaded one by one (by the worker index); more,
and the whole day's events are loaded once."""


def day_records(
    session: Session, first: date, last: date, worker: uuid.UUID | None
) -> tuple[dict[date, dict[str, DayRecord]], list[stored.StoredDay]]:
    """Each day's records by worker over ``first``..``last``, and the records this call had
    to compute from the events (the dirty ones) for ``save_fresh``.

    The stored rows are read before the events: a push committing in between bumps a row's
    version after we read it, so saving what we computed from older events then fails its
    version check (``stored.save``) and the row stays dirty."""
    by_day: dict[date, dict[str, DayRecord]] = defaultdict(dict)
    dirty: dict[date, list[stored.StoredDay]] = defaultdict(list)
    for row in stored.read(session, first, last, worker):
        if row.record is None:
            dirty[row.day].append(row)
        else:
            by_day[row.day][row.record.worker_id] = row.record
    fresh = _compute(session, dirty, worker)
    for row in fresh:
        if row.record is not None:
            by_day[row.day][row.record.worker_id] = row.record
    return by_day, fresh


def _compute(
    session: Session, dirty: dict[date, list[stored.StoredDay]], worker: uuid.UUID | None
) -> list[stored.StoredDay]:
    """The dirty rows with their records computed from the events (``worker``: all of theirs)."""
    fresh: list[stored.StoredDay] = []
    for day, rows in sorted(dirty.items()):
        lo, hi = presence_log.event_window(day)
        ids = {str(row.user_id) for row in rows}
        if worker is not None or len(rows) > _FEW_WORKERS:
            events = [e for e in load_events(session, lo, hi, worker) if e.worker_id in ids]
        else:
            events = [e for row in rows for e in load_events(session, lo, hi, row.user_id)]
        computed = presence_log.records_of(presence_log.timelines_of(events), day)
        for row in rows:
            worker_id = str(row.user_id)
            day_record = computed.get(worker_id) or DayRecord(worker_id, (), None, None)
            fresh.append(row._replace(record=day_record))
    return fresh


REFRESH_BATCH = 200
"""Dirty days the relay computes per pass: a pass stays short (~5 ms a worker's day)."""


def refresh_dirty(session: Session, limit: int = REFRESH_BATCH) -> int:
    """Compute and save up to ``limit`` dirty days (the relay's pass calls it), so a reader
    of a busy day mostly finds them clean; returns how many were computed."""
    with deferred_reads():
        dirty: dict[date, list[stored.StoredDay]] = defaultdict(list)
        for row in stored.dirty(session, limit):
            dirty[row.day].append(row)
        with _gc_paused():
            fresh = _compute(session, dirty, None)
    save_fresh(session, fresh)
    return len(fresh)


def save_fresh(session: Session, fresh: list[stored.StoredDay]) -> None:
    """Keep what ``day_records`` computed, in a short write transaction of its own (the read
    ends first: on SQLite a read transaction cannot safely become a write). Best effort: if
    the database is busy the rows stay dirty and the next read computes them again."""
    if not fresh:
        return
    session.commit()
    try:
        with immediate_writes():
            stored.save(session, fresh)
            session.commit()
    except OperationalError:
        session.rollback()
        log.warning("presence days not saved (database busy): %d stay dirty", len(fresh))


def check_range(first: date, last: date, max_days: int) -> None:
    if last < first:
        raise Unprocessable(
            "The range ends before it starts.",
            code="range_reversed",
            errors={"to": ["must be on or after from"]},
        )
    days = (last - first).days + 1
    if days > max_days:
        raise Unprocessable(
            f"The range is {days} days; at most {max_days} are served at once.",
            code="range_too_long",
            errors={"to": [f"at most {max_days} days after from, inclusive"]},
        )


def summary(
    session: Session,
    user: User,
    first: date,
    last: date,
    *,
    zone: str | None = None,
    max_days: int,
    now: datetime,
) -> Summary:
    """Per-day and total presence over ``first``..``last`` for the workers ``user`` may see."""
    check_range(first, last, max_days)
    allowed = visible_worker(user, None)
    check_zone(session, zone)
    start, _ = presence_log.day_bounds(first)
    _, end = presence_log.day_bounds(last)
    with _gc_paused():
        records, fresh = day_records(session, first, last, allowed)
        result = presence_log.summary_from_records(
            lambda day: records.get(day, {}),
            load_filed(session, start, end, allowed),
            first,
            last,
            zone=zone,
            now=now,
        )
    save_fresh(session, fresh)
    return result


def names(session: Session, worker_ids: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Display names for the CSV: workers by id, zones by slug."""
    ids = [uuid.UUID(w) for w in worker_ids]
    workers: dict[str, str] = {}
    # In chunks: the number of bound parameters per statement is limited on both backends.
    for n in range(0, len(ids), 500):
        rows = session.execute(select(User.id, User.name).where(User.id.in_(ids[n : n + 500])))
        workers.update((str(user_id), name) for user_id, name in rows)
    zones = {slug: name for slug, name in session.execute(select(Zone.slug, Zone.name))}
    return workers, zones
