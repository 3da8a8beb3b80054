"""Console sessions as rows: started at sign-in, looked up on every console request, ended at
sign-out, at a password change, after the idle timeout or the session's maximum age.

Why rows rather than a signed cookie alone: a signed cookie stays valid until it expires, so
signing out on one machine, a deactivation or a password change would not end it. Here the row
is the truth: deleting it (or deactivating the user, checked on every lookup) takes effect on
the next request, on every gunicorn worker and host.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.orm import Session

from backend import roles
from backend.users.models import ConsoleSession, User

TOUCH_EVERY = timedelta(minutes=1)
"""``last_seen_at`` is written at most this often per session, so browsing costs a write a
minute rather than one per page; the idle timeout is exact to within this."""


@dataclass(frozen=True)
class Lifetime:
    idle: timedelta
    maximum: timedelta


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(session: Session, user: User, now: datetime, lifetime: Lifetime) -> str:
    """A new session for ``user``; returns the id the browser keeps (shown nowhere else).

    The user's expired sessions are deleted on the way, so rows do not pile up."""
    token = secrets.token_urlsafe(32)
    session.execute(
        delete(ConsoleSession).where(ConsoleSession.user_id == user.id, _expired(now, lifetime))
    )
    session.add(
        ConsoleSession(token_hash=_hash(token), user_id=user.id, created_at=now, last_seen_at=now)
    )
    return token


def _expired(now: datetime, lifetime: Lifetime) -> ColumnElement[bool]:
    return or_(
        ConsoleSession.last_seen_at < now - lifetime.idle,
        ConsoleSession.created_at < now - lifetime.maximum,
    )


def find(session: Session, token: str, now: datetime, lifetime: Lifetime) -> ConsoleSession | None:
    """The live session with this id: not idle too long, not too old, its user active and
    still of a console role (a role changed to field ends the session too)."""
    row = session.execute(
        select(ConsoleSession).where(ConsoleSession.token_hash == _hash(token))
    ).scalar_one_or_none()
    if row is None:
        return None
    user = row.user
    if (
        row.last_seen_at < now - lifetime.idle
        or row.created_at < now - lifetime.maximum
        or not user.active
        or user.role not in roles.STAFF
    ):
        return None
    return row


def due_for_touch(row: ConsoleSession, now: datetime) -> bool:
    return row.last_seen_at < now - TOUCH_EVERY


def touch(session: Session, row: ConsoleSession, now: datetime) -> None:
    session.execute(
        update(ConsoleSession).where(ConsoleSession.id == row.id).values(last_seen_at=now)
    )


def end(session: Session, token: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _hash(token)))


def end_all(session: Session, user: User) -> int:
    """End every console session of ``user`` (a password change); returns how many."""
    result = session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
    return int(result.rowcount)  # type: ignore[attr-defined]
