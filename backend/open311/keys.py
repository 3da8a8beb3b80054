"""Open311 API keys: issued to an organisation, shown once, stored as SHA-256, revocable.

Like the bearer tokens (``backend.auth``): 256 random bits, so a fast hash is the right one.
A key is not a bearer token and a token is not a key: each opens only its own API, so a key
copied into a contractor's system cannot reach the staff API.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth import hash_token
from backend.database import utcnow
from backend.errors import NotFound
from backend.open311.models import Open311Key
from backend.organisations.services import get_by_slug
from backend.users.models import User

KEY_PREFIX = "o311_"


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Issued:
    key: Open311Key
    api_key: str


def issue_key(session: Session, organisation: str, label: str = "") -> Issued:
    """A new key for ``organisation`` (a slug) and the department user it acts as. Commits;
    the plain key is returned once and never stored."""
    org = get_by_slug(session, organisation)
    api_key = new_key()
    prefix = api_key[:10]
    name = f"Open311 {prefix}" + (f" ({label})" if label else "")
    user = User(name=name[:200], role="department", organisation_id=org.id)
    session.add(user)
    session.flush()
    key = Open311Key(
        organisation_id=org.id,
        user_id=user.id,
        key_hash=hash_token(api_key),
        prefix=prefix,
        label=label,
    )
    session.add(key)
    session.commit()
    return Issued(key, api_key)


def list_keys(session: Session, organisation: str | None = None) -> list[Open311Key]:
    query = select(Open311Key).order_by(Open311Key.created_at, Open311Key.id)
    if organisation:
        query = query.where(Open311Key.organisation_id == get_by_slug(session, organisation).id)
    return list(session.execute(query).scalars())


def revoke_key(session: Session, key_id: uuid.UUID) -> Open311Key:
    """Revoke a key (idempotent) and deactivate its user: its system is locked out at once,
    and the media links it was given stop working. Commits."""
    key = session.get(Open311Key, key_id)
    if key is None:
        raise NotFound("No Open311 key with this id.", code="key_not_found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    key.user.active = False
    session.commit()
    return key


def key_for(session: Session, api_key: str) -> Open311Key | None:
    """The live key for ``api_key`` (not revoked, its user active), or None."""
    if not api_key.startswith(KEY_PREFIX) or len(api_key) > 100:
        return None
    key = session.execute(
        select(Open311Key).where(
            Open311Key.key_hash == hash_token(api_key), Open311Key.revoked_at.is_(None)
        )
    ).scalar_one_or_none()
    if key is None or not key.user.active or not key.organisation.active:
        return None
    return key
