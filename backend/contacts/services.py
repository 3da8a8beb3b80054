"""Social-prevention contacts: aggregates for supervisors, audited reads for the few allowed.

An individual contact is shown only to its author and to the department users of the
organisation it was referred to; everyone else gets the same 404 as for a contact that does
not exist. Every read writes a ``contact_reads`` row in the transaction that returns it.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.contacts.models import ContactRead
from backend.database import immediate_writes
from backend.errors import BadRequest, NotFound, Unprocessable
from backend.presence.log import day_bounds
from backend.presence.services import check_range, check_zone
from backend.presence.values import LOCAL_TZ
from backend.reports.models import Contact
from backend.users.models import User

READ_REASONS = ("referral_intake", "follow_up", "correction", "own_record")
"""Why an individual contact is read: taking on a referral, following it up, correcting it,
or the author looking at their own record (the default for the author)."""

AGGREGATE_ROLES = ("supervisor", "admin")


def may_read(user: User, contact: Contact) -> bool:
    if contact.user_id == user.id:
        return True
    return (
        user.role == "department"
        and contact.referral is not None
        and contact.referral == user.organisation.slug
    )


def reasons_for(session: Session, user: User, contact_id: uuid.UUID) -> tuple[str, ...]:
    """The reasons ``user`` may give to read the contact (the console offers these); empty
    when they may not read it at all. ``own_record`` is its author's alone."""
    contact = session.get(Contact, contact_id)
    if contact is None or not may_read(user, contact):
        return ()
    if contact.user_id == user.id:
        return READ_REASONS
    return tuple(reason for reason in READ_REASONS if reason != "own_record")


def _not_found() -> NotFound:
    return NotFound("No contact with this id.", code="contact_not_found")


def contact_json(contact: Contact) -> dict[str, Any]:
    """The enumerated fields; the exact coordinates stay in the database (the zone is enough
    to follow a referral up)."""
    return {
        "id": contact.id,
        "contact_type": contact.contact_type,
        "age_group": contact.age_group,
        "needs": list(contact.needs),
        "referral": contact.referral,
        "zone": contact.zone,
        "occurred_at": contact.occurred_at,
    }


def read_contact(
    session: Session, user: User, contact_id: uuid.UUID, reason: str | None, now: datetime
) -> dict[str, Any]:
    """The contact for ``user``, with its audit row written in the same transaction. Commits.

    Existence and access are checked before the reason, so a refusal never tells whether the
    contact exists.
    """
    contact = session.get(Contact, contact_id)
    if contact is None or not may_read(user, contact):
        raise _not_found()
    if reason is None:
        if contact.user_id != user.id:
            raise Unprocessable(
                "Say why you read this contact: it is written to the audit log.",
                code="reason_required",
                errors={"reason": [f"required, one of {', '.join(READ_REASONS)}"]},
            )
        reason = "own_record"
    # A GET's transaction began read-only (SQLite: DEFERRED); the audited read happens in a
    # writing transaction of its own (IMMEDIATE), so the row returned is the row whose read is
    # logged and the audit insert never fails to upgrade a read lock.
    user_id, role, organisation = user.id, user.role, user.organisation.slug
    session.commit()
    with immediate_writes():
        contact = session.get(Contact, contact_id, populate_existing=True)
        if contact is None:  # deleted by retention between the two transactions
            raise _not_found()
        session.add(
            ContactRead(
                contact_id=contact.id,
                reader_id=user_id,
                reader_role=role,
                reader_organisation=organisation,
                reason=reason,
                read_at=now,
            )
        )
        body = contact_json(contact)
        session.commit()
    return body


@dataclass(frozen=True)
class AuditPage:
    items: list[ContactRead]
    next_cursor: str | None


def _cursor(raw: str | None) -> int:
    if raw is None or raw == "":
        return 0
    if not raw.isdigit() or len(raw) > 18:
        raise BadRequest(
            "The cursor is not one this service gave; start again without it.",
            code="invalid_cursor",
            errors={"cursor": ["not a cursor from a previous page"]},
        )
    return int(raw)


def audit_page(
    session: Session,
    *,
    cursor: str | None,
    limit: int,
    contact_id: uuid.UUID | None = None,
    reader_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditPage:
    """Audit rows in the order they were written, after ``cursor``, filtered."""
    query = select(ContactRead).where(ContactRead.seq > _cursor(cursor))
    if contact_id is not None:
        query = query.where(ContactRead.contact_id == contact_id)
    if reader_id is not None:
        query = query.where(ContactRead.reader_id == reader_id)
    if since is not None:
        query = query.where(ContactRead.read_at >= since)
    if until is not None:
        query = query.where(ContactRead.read_at < until)
    rows = list(session.execute(query.order_by(ContactRead.seq).limit(limit + 1)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(rows, str(rows[-1].seq) if more else None)


def _cells(counter: Counter[str], keys: list[str], min_count: int) -> list[dict[str, Any]]:
    cells = []
    for key in keys:
        count = counter.get(key, 0)
        hidden = 0 < count < min_count
        cells.append({"key": key, "count": None if hidden else count, "suppressed": hidden})
    return cells


def aggregates(
    session: Session,
    first: date,
    last: date,
    *,
    zone: str | None,
    max_days: int,
    min_count: int,
) -> dict[str, Any]:
    """Counts of contacts by type, need, age group, zone, local hour and ISO week.

    A count above zero and below ``min_count`` is suppressed (``count`` null, ``suppressed``
    true), the total included.
    """
    check_range(first, last, max_days)
    check_zone(session, zone)
    start, _ = day_bounds(first)
    _, end = day_bounds(last)
    query = select(
        Contact.contact_type, Contact.age_group, Contact.needs, Contact.zone, Contact.occurred_at
    ).where(Contact.occurred_at >= start, Contact.occurred_at < end)
    if zone is not None:
        query = query.where(Contact.zone == zone)
    by: dict[str, Counter[str]] = {
        k: Counter() for k in ("type", "need", "age_group", "zone", "hour", "week")
    }
    total = 0
    for contact_type, age_group, needs, contact_zone, at in session.execute(query):
        total += 1
        local = at.astimezone(LOCAL_TZ)
        iso = local.isocalendar()
        by["type"][contact_type] += 1
        by["age_group"][age_group] += 1
        by["zone"][contact_zone or ""] += 1
        by["hour"][f"{local.hour:02d}"] += 1
        by["week"][f"{iso.year}-W{iso.week:02d}"] += 1
        for need in needs or ["none"]:
            by["need"][need] += 1
    hidden_total = 0 < total < min_count
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "timezone": str(LOCAL_TZ),
        "zone": zone,
        "min_count": min_count,
        "total": None if hidden_total else total,
        "total_suppressed": hidden_total,
        **{
            f"by_{name}": _cells(counter, sorted(counter), min_count)
            for name, counter in by.items()
        },
    }
