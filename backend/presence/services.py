"""Presence use cases: load stored events and filed items, compute logs for those allowed.

The log is computed from the stored rows on every request (``backend.presence.log``), so an
item pushed late changes the day it belongs to the next time that day is asked for.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, select, type_coerce
from sqlalchemy.orm import Session

from backend.contacts.models import Contact
from backend.errors import Forbidden, Unprocessable
from backend.presence import log as presence_log
from backend.presence.models import PresenceEvent as StoredEvent
from backend.presence.values import DailyLog, FiledItem, PresenceEvent, Summary
from backend.reference.models import Zone
from backend.reports.models import Report
from backend.users.models import User

VIEWER_ROLES = ("supervisor", "admin")
"""Roles that see every worker's presence; a field worker sees only their own."""


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
    if user.role in VIEWER_ROLES:
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


def check_zone(session: Session, zone: str | None) -> None:
    if (
        zone is not None
        and session.execute(select(Zone.id).where(Zone.slug == zone)).first() is None
    ):
        raise Unprocessable(
            "No zone has this slug; GET /api/v1/zones lists them.",
            code="unknown_zone",
            errors={"zone": ["is not a zone slug"]},
        )


def load_events(
    session: Session, lo: datetime, hi: datetime, worker: uuid.UUID | None
) -> list[PresenceEvent]:
    """Stored presence events with ``lo <= occurred_at <= hi`` as the computation's values."""
    # The ids are read as the driver gives them (SQLite: hex text) instead of as UUID objects:
    # building two UUIDs per row was the largest cost of loading a busy day (the benchmark).
    # The item id only breaks ties in the sort; the worker id is formatted once per worker.
    query = select(
        type_coerce(StoredEvent.user_id, String), type_coerce(StoredEvent.id, String),
        StoredEvent.event, StoredEvent.occurred_at, StoredEvent.zone,
    ).where(StoredEvent.occurred_at >= lo, StoredEvent.occurred_at <= hi)  # fmt: skip
    if worker is not None:
        query = query.where(StoredEvent.user_id == worker)
    worker_ids: dict[Any, str] = {}
    events = []
    for raw_user, raw_item, event, at, zone in session.execute(query):
        worker_id = worker_ids.get(raw_user)
        if worker_id is None:
            worker_id = worker_ids[raw_user] = str(uuid.UUID(str(raw_user)))
        # The event kind was validated against PRESENCE_EVENTS at push time.
        events.append(PresenceEvent(worker_id, str(raw_item), event, at, zone))  # type: ignore[arg-type]
    return events


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
    lo, hi = presence_log.event_window(day)
    day_start, day_end = presence_log.day_bounds(day)
    result = presence_log.daily_log(
        load_events(session, lo, hi, allowed),
        load_filed(session, day_start, day_end, allowed),
        day,
        zone=zone,
        now=now,
    )
    return DailyAnswer(result, include_contacts=user.role == "field")


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
    lo, hi = presence_log.event_window(first, last)
    start, _ = presence_log.day_bounds(first)
    _, end = presence_log.day_bounds(last)
    return presence_log.summary(
        load_events(session, lo, hi, allowed),
        load_filed(session, start, end, allowed),
        first,
        last,
        zone=zone,
        now=now,
    )


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
