"""Social-prevention contacts: aggregates for supervisors, audited reads for the few allowed.

An individual contact is shown only to its author and to the department users of the
organisation it was referred to; everyone else gets the same 404 as for a contact that does
not exist. Every read writes a ``contact_reads`` row in the transaction that returns it.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import pagination
from backend.contacts.models import Contact, ContactRead
from backend.contacts.periods import period_for, week_label
from backend.contacts.rounding import cells, published
from backend.database import immediate_writes
from backend.errors import NotFound, Unprocessable
from backend.localtime import LOCAL_TZ
from backend.presence.log import day_bounds
from backend.presence.services import check_range
from backend.reference.models import Zone
from backend.reference.services import check_zone
from backend.users.models import User
from sync.envelope import AGE_GROUPS, CONTACT_TYPES, NEEDS

READ_REASONS = ("referral_intake", "follow_up", "correction", "own_record")
"""Why an individual contact is read: taking on a referral, following it up, correcting it,
or the author looking at their own record (the default for the author)."""

AUTHOR_REASONS = ("own_record", "follow_up", "correction")
REFERRAL_REASONS = ("referral_intake", "follow_up", "correction")
"""The reasons each reader may give: ``own_record`` is the author's alone and
``referral_intake`` the referred organisation's alone, so the audit log never records a
department reading "its own record" or a colleague "taking on a referral"."""


def allowed_reasons(user: User, contact: Contact) -> tuple[str, ...]:
    """The reasons ``user`` may read ``contact`` for; empty when they may not read it."""
    if contact.user_id == user.id:
        return AUTHOR_REASONS
    if (
        user.role == "department"
        and contact.referral is not None
        and contact.referral == user.organisation.slug
    ):
        return REFERRAL_REASONS
    return ()


def reasons_for(session: Session, user: User, contact_id: uuid.UUID) -> tuple[str, ...]:
    """The reasons ``user`` may give to read the contact (the console offers these); empty
    when they may not read it at all (``allowed_reasons``)."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        return ()
    return allowed_reasons(user, contact)


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
    if contact is None or not (allowed := allowed_reasons(user, contact)):
        raise _not_found()
    if reason is None:
        if contact.user_id != user.id:
            raise Unprocessable(
                "Say why you read this contact: it is written to the audit log.",
                code="reason_required",
                errors={"reason": [f"required, one of {', '.join(allowed)}"]},
            )
        reason = "own_record"
    if reason not in allowed:
        raise Unprocessable(
            f"You may not read this contact for {reason!r}; give one of {', '.join(allowed)}.",
            code="reason_not_allowed",
            errors={"reason": [f"not a reason you may give; one of {', '.join(allowed)}"]},
        )
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


AUDIT_LIST = "audit"
"""The audit log's name in its cursors (``backend.pagination``)."""


def audit_page(
    session: Session,
    *,
    cursor: str | None,
    limit: int,
    contact_id: uuid.UUID | None = None,
    reader_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pagination.Page[ContactRead]:
    """Audit rows in the order they were written (``seq``), after ``cursor``, filtered."""
    query = select(ContactRead)
    if contact_id is not None:
        query = query.where(ContactRead.contact_id == contact_id)
    if reader_id is not None:
        query = query.where(ContactRead.reader_id == reader_id)
    if since is not None:
        query = query.where(ContactRead.read_at >= since)
    if until is not None:
        query = query.where(ContactRead.read_at < until)
    return pagination.keyset_page(
        session,
        query,
        AUDIT_LIST,
        (ContactRead.seq,),
        cursor,
        limit,
        parts=(pagination.SEQ,),
        descending=False,
    )


HOURS = tuple(f"{hour:02d}" for hour in range(24))
NO_NEED = "none"
NO_ZONE = ""


def aggregates(
    session: Session,
    first: date,
    last: date,
    *,
    zone: str | None,
    max_days: int,
    base: int,
) -> dict[str, Any]:
    """Counts of contacts by type, need, age group, zone, local hour and ISO week, for the
    period (``backend.contacts.periods``) that holds ``first``..``last``.

    Every count, the total included, is rounded down to a multiple of ``base``; below it the
    count is suppressed (``count`` null, ``suppressed`` true), zero included, and every key
    of every breakdown is listed (``backend.contacts.rounding``).
    """
    check_range(first, last, max_days)
    check_zone(session, zone)
    period = period_for(first, last)
    start, _ = day_bounds(period.first)
    _, end = day_bounds(period.last)
    query = select(
        Contact.contact_type, Contact.age_group, Contact.needs, Contact.zone, Contact.occurred_at
    ).where(Contact.occurred_at >= start, Contact.occurred_at < end)
    if zone is not None:
        query = query.where(Contact.zone == zone)
    zones = {zone} if zone is not None else set(session.execute(select(Zone.slug)).scalars())
    keys: dict[str, list[str]] = {
        "type": list(CONTACT_TYPES),
        "need": [*NEEDS, NO_NEED],
        "age_group": list(AGE_GROUPS),
        "zone": sorted(zones) + ([NO_ZONE] if zone is None else []),
        "hour": list(HOURS),
        "week": list(period.weeks),
    }
    by: dict[str, Counter[str]] = {name: Counter() for name in keys}
    total = 0
    for contact_type, age_group, needs, contact_zone, at in session.execute(query):
        total += 1
        local = at.astimezone(LOCAL_TZ)
        by["type"][contact_type] += 1
        by["age_group"][age_group] += 1
        # A zone no longer in the reference data counts as none of the current ones.
        by["zone"][contact_zone if contact_zone in zones else NO_ZONE] += 1
        by["hour"][f"{local.hour:02d}"] += 1
        by["week"][week_label(local.date())] += 1
        for need in needs or [NO_NEED]:
            by["need"][need] += 1
    shown = published(total, base)
    return {
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "period": period.label,
        "period_kind": period.kind,
        "requested_from": first.isoformat(),
        "requested_to": last.isoformat(),
        "timezone": str(LOCAL_TZ),
        "zone": zone,
        "rounding_base": base,
        "min_count": base,
        "total": shown,
        "total_suppressed": shown is None,
        # Validation keeps every stored value within these keys; a value that is not (a zone
        # removed from the reference data) is still counted, under its own key.
        **{
            f"by_{name}": cells(
                counter, [*keys[name], *sorted(set(counter) - set(keys[name]))], base
            )
            for name, counter in by.items()
        },
    }
