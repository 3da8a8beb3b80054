"""The ledger of pushed items (``sync_items``): one row per item id, claimed exactly once.

The claim is the push's idempotency: an ``INSERT ... ON CONFLICT DO NOTHING RETURNING id``
of many rows (SQLite: multi-row ``VALUES``; PostgreSQL: ``SELECT FROM unnest``) returns the ids
this transaction created; the others were stored before (a replay, or the
same id with other content: a conflict). The push first reads which ids are stored
(:func:`stored_before`), decides everything for the others, and claims them last, with their
final status; should the claim return fewer (:class:`Raced`), it runs again. Rows go in id
order, so two batches sharing ids lock them in the same order on PostgreSQL and never deadlock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import insert, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.database import among, unnest_insert, unnest_rows
from backend.reports.models import Report
from backend.sync.models import SyncItem
from sync.envelope import ValidItem


def ledger_rows(
    items: Iterable[ValidItem],
    user_id: uuid.UUID,
    device_id: str,
    skew: float,
    now: datetime,
    statuses: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The ledger rows of validated items, each with its status after the push
    (``statuses``: item id -> status, ``feed.own_statuses``), ``received`` where none."""
    statuses = statuses or {}
    return [
        {
            "id": item.id,
            "type": item.type,
            "user_id": user_id,
            "device_id": device_id,
            "content_hash": item.content_hash,
            "captured_at_raw": item.captured_at_raw,
            "captured_at": item.captured_at,
            "occurred_at": item.occurred_at,
            "clock_skew_s": skew,
            "received_at": now,
            "status": statuses.get(str(item.id), "received"),
        }
        for item in items
    ]


def claim_set_based(session: Session, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert the ledger rows in one statement; returns the ids this transaction created."""
    if not rows:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        return _claim_unnest(session, rows)
    # executemany form: the statement compiles once and is cached; SQLAlchemy's
    # "insertmanyvalues" still sends it as one multi-row INSERT ... RETURNING. (A literal
    # .values(rows) recompiles per batch and took two thirds of a push.)
    statement = sqlite.insert(SyncItem.__table__).on_conflict_do_nothing().returning(SyncItem.id)
    return set(session.execute(statement, rows).scalars())


def _claim_unnest(session: Session, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """PostgreSQL: ``INSERT ... SELECT FROM unnest(<one array per column>)``
    (``database.unnest_rows``). A multi-row ``VALUES`` of 50 rows is a new 550-parameter query
    text for every batch size, which psycopg parses anew each time (2 ms a claim); this text
    is the same for every batch."""
    names, params = unnest_rows(SyncItem.__table__, rows)
    return set(session.execute(_claim_statement(names), params).scalars())


@lru_cache(maxsize=16)
def _claim_statement(names: tuple[str, ...]) -> Any:
    table = SyncItem.__table__
    return unnest_insert(table, names).on_conflict_do_nothing().returning(table.c.id)


def claim_per_item(session: Session, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """The round-trip-per-item alternative (a savepoint and an INSERT each), kept because the
    benchmark measures it against ``claim_set_based``; the push uses the set-based one."""
    created: set[uuid.UUID] = set()
    for row in rows:
        try:
            with session.begin_nested():
                session.execute(insert(SyncItem).values(row))
            created.add(row["id"])
        except IntegrityError:
            pass
    return created


class Raced(Exception):
    """Another transaction claimed ids this push had found free: the push read them before its
    write transaction, and the other stored them in between. The push rolls back and runs
    again, reading them after :func:`lock_ids`, and then sees them stored: a duplicate, or a
    conflict."""


Claim = Callable[[Session, list[dict[str, Any]]], set[uuid.UUID]]


ID_LOCKS = 20
"""The first key of the push's advisory locks on item ids (PostgreSQL's two-key advisory
locks, a key space apart from the one-key dedup cell locks of ``cases.assignment``)."""


def lock_ids(session: Session, ids: Sequence[uuid.UUID]) -> None:
    """Serialise pushes that share item ids (PostgreSQL; SQLite's BEGIN IMMEDIATE already does):
    taken first in the write transaction, in ascending key order, so :func:`stored_before`
    after it sees every push of these ids that went before, and the claim of a push that read
    them after the locks never races."""
    keys = sorted({int.from_bytes(i.bytes[:4], "big", signed=True) for i in ids})
    if not keys or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(:space, k)) "
            "FROM unnest(CAST(:keys AS integer[])) AS k"
        ),
        {"space": ID_LOCKS, "keys": keys},
    )


class StoredItem(NamedTuple):
    """What an earlier push stored under an id this push sent again."""

    content_hash: str
    user_id: uuid.UUID
    case_id: uuid.UUID | None
    joined: bool | None
    merge_reason: Any


def stored_before(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, StoredItem]:
    """The stored items of these ids (which this push did not claim), with their reports'
    placement, so a replay answers what the first push decided. One read when none is stored
    (a new batch, the usual case), two otherwise."""
    if not ids:
        return {}
    found = session.execute(
        select(SyncItem.id, SyncItem.content_hash, SyncItem.user_id, SyncItem.type).where(
            among(session, SyncItem.id, ids)
        )
    ).all()
    report_ids = [row.id for row in found if row.type == "report"]
    placement: dict[uuid.UUID, Any] = {}
    if report_ids:
        placed = select(Report.id, Report.case_id, Report.joined, Report.merge_reason)
        rows = session.execute(placed.where(among(session, Report.id, report_ids)))
        placement = {row.id: row for row in rows}
    out = {}
    for row in found:
        report = placement.get(row.id)
        out[row.id] = StoredItem(
            row.content_hash,
            row.user_id,
            report.case_id if report else None,
            report.joined if report else None,
            report.merge_reason if report else None,
        )
    return out
