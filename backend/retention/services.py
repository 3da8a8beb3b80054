"""Retention: delete what has been kept long enough, in batches, and log that it did; and
read that log (the runs an admin checks to see that the policy is applied).

Periods come from the configuration (``RETENTION_*_DAYS``, reasons in ``backend/config.py``):

- contacts older than ``RETENTION_CONTACT_DAYS`` are deleted;
- presence pings older than ``RETENTION_PRESENCE_PING_DAYS`` are deleted, and the other
  presence events of that age lose their coordinates (event, zone and time stay);
- other presence events older than ``RETENTION_PRESENCE_EVENT_DAYS`` are deleted;
- the workers' days computed from presence events (``presence_days``) are cleared and marked
  for recomputation with each batch of deleted events, and deleted once none of a day's
  events is left;
- photos uploaded longer ago than ``RETENTION_PHOTO_DAYS`` lose their stored files, then
  their row.

The ``sync_items`` ledger row of a deleted contact or presence event stays, so a late resend of
the same item is still a ``duplicate`` and is not stored again; what it held beyond the id,
owner and content hash (device id, the phone's raw time, the exact times) is cleared or
coarsened to the cut-off. Each run writes a ``retention_runs`` row with the cut-offs and the
counts, never the deleted content.
The nightly RQ job that runs it is ``backend.retention.jobs``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from backend.contacts.models import Contact
from backend.database import utcnow
from backend.photos.models import Photo
from backend.presence import stored as presence_days
from backend.presence.models import PresenceEvent
from backend.retention.models import RetentionRun
from backend.sync.models import SyncItem
from media.storage import Storage, key

log = logging.getLogger(__name__)

Progress = Callable[[str, int], None]
"""Called after every batch with the kind of record and the running count."""


@dataclass(frozen=True)
class Periods:
    contacts: int
    presence_pings: int
    presence_events: int
    photos: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Periods:
        return cls(
            contacts=config["RETENTION_CONTACT_DAYS"],
            presence_pings=config["RETENTION_PRESENCE_PING_DAYS"],
            presence_events=config["RETENTION_PRESENCE_EVENT_DAYS"],
            photos=config["RETENTION_PHOTO_DAYS"],
        )


def _forget_ledger_details(session: Session, ids: list[uuid.UUID], cutoff: datetime) -> None:
    session.execute(
        update(SyncItem)
        .where(SyncItem.id.in_(ids))
        .values(device_id="", captured_at_raw="", captured_at=cutoff, occurred_at=cutoff)
    )


def _delete_items(
    session: Session,
    model: type[Contact] | type[PresenceEvent],
    condition: Any,
    cutoff: datetime,
    batch: int,
    progress: Progress,
    kind: str,
) -> int:
    count = 0
    while True:
        rows = session.execute(
            select(model.id, model.user_id, model.occurred_at).where(condition).limit(batch)
        ).all()
        if not rows:
            session.commit()
            return count
        ids = [row.id for row in rows]
        session.execute(delete(model).where(model.id.in_(ids)))
        _forget_ledger_details(session, ids, cutoff)
        if model is PresenceEvent:
            # The workers' days computed from these events go with them, in this transaction.
            presence_days.mark_dirty(session, [(row.user_id, row.occurred_at) for row in rows])
        session.commit()
        count += len(ids)
        progress(kind, count)


def _drop_locations(session: Session, cutoff: datetime, batch: int, progress: Progress) -> int:
    count = 0
    while True:
        ids = list(
            session.execute(
                select(PresenceEvent.id)
                .where(PresenceEvent.occurred_at < cutoff, PresenceEvent.lat.is_not(None))
                .limit(batch)
            ).scalars()
        )
        if not ids:
            session.commit()
            return count
        session.execute(
            update(PresenceEvent)
            .where(PresenceEvent.id.in_(ids))
            .values(lat=None, lon=None, accuracy_m=None)
        )
        session.execute(update(SyncItem).where(SyncItem.id.in_(ids)).values(device_id=""))
        session.commit()
        count += len(ids)
        progress("presence_locations", count)


def _delete_photos(
    session: Session, storage: Storage, cutoff: datetime, batch: int, progress: Progress
) -> int:
    count = 0
    while True:
        shas = list(
            session.execute(
                select(Photo.sha256).where(Photo.created_at < cutoff).limit(batch)
            ).scalars()
        )
        if not shas:
            session.commit()
            return count
        # Files first: a crash in between leaves a row without files (refused when served,
        # deleted by the next run), never files that no row points at any more.
        for sha in shas:
            for area in ("full", "thumb", "raw"):
                storage.delete(key(area, sha))
        session.execute(delete(Photo).where(Photo.sha256.in_(shas)))
        session.commit()
        count += len(shas)
        progress("photos", count)


def run(
    session: Session,
    storage: Storage,
    periods: Periods,
    *,
    now: datetime | None = None,
    batch: int = 1000,
    progress: Progress | None = None,
) -> RetentionRun:
    """Apply every retention period as of ``now``; returns the logged run. Idempotent."""
    now = now or utcnow()
    report = progress or (lambda kind, count: None)
    cutoffs = {
        "contacts": (periods.contacts, now - timedelta(days=periods.contacts)),
        "presence_pings": (periods.presence_pings, now - timedelta(days=periods.presence_pings)),
        "presence_locations": (
            periods.presence_pings,
            now - timedelta(days=periods.presence_pings),
        ),
        "presence_events": (
            periods.presence_events,
            now - timedelta(days=periods.presence_events),
        ),
        "photos": (periods.photos, now - timedelta(days=periods.photos)),
    }
    record = RetentionRun(as_of=now, started_at=utcnow(), status="running", details={})
    session.add(record)
    session.commit()
    run_id = record.id

    def cut(kind: str) -> datetime:
        return cutoffs[kind][1]

    counts = {
        "contacts": _delete_items(
            session, Contact, Contact.occurred_at < cut("contacts"), cut("contacts"), batch,
            report, "contacts",
        ),
        "presence_pings": _delete_items(
            session, PresenceEvent,
            (PresenceEvent.event == "ping") & (PresenceEvent.occurred_at < cut("presence_pings")),
            cut("presence_pings"), batch, report, "presence_pings",
        ),
        "presence_events": _delete_items(
            session, PresenceEvent, PresenceEvent.occurred_at < cut("presence_events"),
            cut("presence_events"), batch, report, "presence_events",
        ),
        "presence_locations": _drop_locations(session, cut("presence_locations"), batch, report),
        "photos": _delete_photos(session, storage, cut("photos"), batch, report),
    }  # fmt: skip
    # The stored worker days none of whose events are left (derived rows: not counted).
    presence_days.forget_before(session, cut("presence_events"))
    session.commit()
    done = session.get(RetentionRun, run_id, populate_existing=True)
    if done is None:  # pragma: no cover - nothing deletes retention_runs rows
        raise RuntimeError("the retention run's own log row disappeared")
    record = done
    record.details = {
        kind: {"days": days, "cutoff": cutoff.isoformat(), "deleted": counts[kind]}
        for kind, (days, cutoff) in cutoffs.items()
    }
    record.status = "done"
    record.finished_at = utcnow()
    session.commit()
    log.info("retention run %s: %s", run_id, {k: v for k, v in counts.items()})
    return record


def recent_runs(session: Session, limit: int) -> list[RetentionRun]:
    """The latest runs, newest first (one a night: a page of them is a month or two)."""
    return list(
        session.execute(
            select(RetentionRun)
            .order_by(RetentionRun.started_at.desc(), RetentionRun.id)
            .limit(limit)
        ).scalars()
    )
