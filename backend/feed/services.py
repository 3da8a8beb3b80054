"""The pull feed: append status changes inside the writer's transaction, read them by cursor.

Two streams reach a phone: its user's own stream (the status of every item the user pushed)
and the shared ``reference`` stream (categories, zones, organisations changed). Each stream has
a counter row that writers increment with an upsert ``... RETURNING`` in their own transaction;
the row lock serialises writers of one stream until commit, so commit order equals sequence
order and a cursor "after seq N" never skips a change that commits late, nor repeats one.

The cursor is opaque to the phone: base64 of ``v1:<user check>:<user seq>:<reference seq>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import heapq
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.database import insert_rows, utcnow
from backend.errors import BadRequest, NotFound
from backend.feed.models import Change, FeedStream
from backend.sync.models import SyncItem

REFERENCE_STREAM = "reference"
ITEM_STATUSES = (
    "received",
    "awaiting_photos",
    "merged",
    "routed",
    "acknowledged",
    "in_progress",
    "resolved",
    "rejected",
)
CURSOR_VERSION = "v1"


def _claim(session: Session, stream: str, count: int) -> int:
    """Reserve ``count`` sequence numbers of ``stream``; returns the last. Locks the counter.

    One upsert: the counter row is created at ``count`` or incremented by it (both databases
    lock the row until commit either way)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(FeedStream).values(stream=stream, seq=count)
    last = session.execute(
        statement.on_conflict_do_update(
            index_elements=[FeedStream.stream],
            set_={"seq": FeedStream.seq + statement.excluded.seq},
        ).returning(FeedStream.seq)
    ).scalar_one()
    return int(last)


@dataclass(frozen=True)
class NewChange:
    subject: str
    type: str
    status: str
    note: str | None = None
    data: dict[str, Any] | None = None


def append(
    session: Session, stream: str, changes: Sequence[NewChange], at: datetime | None = None
) -> None:
    """Append changes to one stream in the caller's transaction (the caller commits)."""
    if not changes:
        return
    last = _claim(session, stream, len(changes))
    at = at or utcnow()
    first = last - len(changes) + 1
    insert_rows(
        session,
        Change.__table__,
        [
            {
                "stream": stream,
                "seq": first + n,
                "subject": c.subject,
                "type": c.type,
                "status": c.status,
                "note": c.note,
                "data": c.data or {},
                "at": at,
            }
            for n, c in enumerate(changes)
        ],
    )


def own_statuses(changes: Sequence[NewChange]) -> dict[str, str]:
    """Each subject's status after ``changes`` (its last one here): the status the push writes
    into the ledger rows of the items it stores, once, before it appends the same changes
    with :func:`append`. So an item's ``SyncItem.status`` is always its last feed change:
    written by this module's rule (here, or :func:`append_item_statuses` later), never
    inserted only to be updated a moment later."""
    return {c.subject: c.status for c in changes}


def append_item_status(
    session: Session,
    item_id: uuid.UUID,
    status: str,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Tell the phone that pushed ``item_id`` its new status (merged, routed, resolved ...).

    The one function other modules call; it joins the caller's transaction, so the change is
    visible exactly when the state it reports is. ``data`` carries e.g. ``case_id`` or
    ``organisation``; ``note`` is shown to the field worker (a rejection's reason).
    """
    append_item_statuses(session, [item_id], status, note=note, data=data)


def append_item_statuses(
    session: Session,
    item_ids: Iterable[uuid.UUID],
    status: str,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """:func:`append_item_status` for several items (a case's reports, often from several
    phones): one read, one update, one append per phone.

    The phones' streams are claimed in sorted order. Each claim locks that stream's counter row
    until commit, so two transactions telling overlapping sets of phones in different orders
    (two departments resolving two cases with the same reporters) would deadlock on
    PostgreSQL; in one order they only queue.
    """
    if status not in ITEM_STATUSES:
        raise ValueError(f"unknown item status {status!r}")
    ids = sorted(set(item_ids))
    if not ids:
        return
    rows = session.execute(
        select(SyncItem.id, SyncItem.type, SyncItem.user_id).where(SyncItem.id.in_(ids))
    ).all()
    if len(rows) != len(ids):
        raise NotFound("No such item.", code="item_not_found")
    session.execute(update(SyncItem).where(SyncItem.id.in_(ids)).values(status=status))
    by_stream: dict[str, list[NewChange]] = {}
    for item_id, item_type, user_id in sorted(rows):
        by_stream.setdefault(str(user_id), []).append(
            NewChange(str(item_id), item_type, status, note, data)
        )
    for stream in sorted(by_stream):
        append(session, stream, by_stream[stream])


def append_reference_update(session: Session, dataset: str, version: int) -> None:
    """Tell every phone that a reference data set changed, so it fetches /sync/config again."""
    append(
        session,
        REFERENCE_STREAM,
        [NewChange(dataset, "reference", "updated", data={"version": version})],
    )


def _user_check(user_id: uuid.UUID) -> str:
    # Binds a cursor to its user, so a phone that changes account restarts instead of
    # silently reading past changes it never saw.
    return hashlib.sha256(user_id.bytes).hexdigest()[:8]


def encode_cursor(user_id: uuid.UUID, user_seq: int, reference_seq: int) -> str:
    raw = f"{CURSOR_VERSION}:{_user_check(user_id)}:{user_seq}:{reference_seq}"
    return base64.urlsafe_b64encode(raw.encode("ascii")).decode("ascii").rstrip("=")


def _invalid_cursor(detail: str) -> BadRequest:
    return BadRequest(
        "The cursor is unknown; restart pulling from an empty cursor.",
        code="invalid_cursor",
        errors={"cursor": [detail]},
    )


def decode_cursor(cursor: str, user_id: uuid.UUID) -> tuple[int, int]:
    """The (user seq, reference seq) of a cursor; BadRequest ``invalid_cursor`` otherwise."""
    if not cursor:
        return 0, 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        version, check, user_seq, reference_seq = raw.split(":")
        seqs = int(user_seq), int(reference_seq)
    except (ValueError, UnicodeError, binascii.Error):
        raise _invalid_cursor("is not a cursor this service issued") from None
    if version != CURSOR_VERSION:
        raise _invalid_cursor("has an unsupported version")
    if check != _user_check(user_id):
        raise _invalid_cursor("belongs to another user")
    # A sequence number is a BIGINT: a forged one past it would fail in the driver.
    if min(seqs) < 0 or max(seqs) >= 1 << 63:
        raise _invalid_cursor("is not a cursor this service issued")
    return seqs


@dataclass
class Page:
    changes: list[Change]
    cursor: str
    has_more: bool


def _head(session: Session, stream: str) -> int:
    seq = session.execute(
        select(FeedStream.seq).where(FeedStream.stream == stream)
    ).scalar_one_or_none()
    return int(seq or 0)


def _after(session: Session, stream: str, seq: int, limit: int) -> list[Change]:
    return list(
        session.execute(
            select(Change)
            .where(Change.stream == stream, Change.seq > seq)
            .order_by(Change.seq)
            .limit(limit)
        ).scalars()
    )


def pull(session: Session, user_id: uuid.UUID, cursor: str, limit: int) -> Page:
    """The changes after ``cursor`` for this user, oldest first, at most ``limit``."""
    user_seq, reference_seq = decode_cursor(cursor, user_id)
    stream = str(user_id)
    if user_seq > _head(session, stream) or reference_seq > _head(session, REFERENCE_STREAM):
        # A cursor from before a database restore, or from another installation.
        raise _invalid_cursor("is ahead of this service's feed")
    own = _after(session, stream, user_seq, limit + 1)
    shared = _after(session, REFERENCE_STREAM, reference_seq, limit + 1)
    # Each stream is in seq order; merging by time keeps that order within each stream, so
    # what is taken from each is a prefix and the cursor can advance each stream to its last.
    merged = list(heapq.merge(own, shared, key=lambda c: c.at))[:limit]
    for change in merged:
        if change.stream == stream:
            user_seq = change.seq
        else:
            reference_seq = change.seq
    return Page(
        changes=merged,
        cursor=encode_cursor(user_id, user_seq, reference_seq),
        has_more=len(own) + len(shared) > len(merged),
    )
