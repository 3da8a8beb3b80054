from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.auth import hash_token, new_token
from backend.database import utcnow
from backend.errors import NotFound, Unprocessable
from backend.organisations.services import get_by_slug
from backend.users.models import ROLES, ApiToken, User

DEFAULT_ORG = "city-i-samverkan"
"""Users created without an organisation belong to the partnership itself."""


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise Unprocessable(
            f"Unknown role {role!r}.",
            code="invalid_role",
            errors={"role": [f"must be one of {', '.join(ROLES)}"]},
        )


def get_user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    return user


def list_users(
    session: Session, role: str | None = None, organisation: str | None = None
) -> list[User]:
    query = select(User).order_by(User.created_at, User.id)
    if role:
        query = query.where(User.role == role)
    if organisation:
        query = query.where(User.organisation_id == get_by_slug(session, organisation).id)
    return list(session.execute(query).scalars())


def issue_token(session: Session, user: User, label: str = "") -> tuple[ApiToken, str]:
    """Create a token for ``user``; the plain token is returned once and never stored."""
    token = new_token()
    row = ApiToken(user_id=user.id, token_hash=hash_token(token), prefix=token[:10], label=label)
    session.add(row)
    session.flush()
    return row, token


def create_user(
    session: Session, name: str, role: str, organisation: str | None = None, label: str = ""
) -> tuple[User, str]:
    _check_role(role)
    org = get_by_slug(session, organisation or DEFAULT_ORG)
    user = User(name=name, role=role, organisation_id=org.id)
    session.add(user)
    session.flush()
    _, token = issue_token(session, user, label=label)
    session.commit()
    return user, token


def update_user(session: Session, user_id: uuid.UUID, **fields: Any) -> User:
    user = get_user(session, user_id)
    if "role" in fields:
        _check_role(fields["role"])
    if "organisation" in fields:
        user.organisation_id = get_by_slug(session, fields.pop("organisation")).id
    for key, value in fields.items():
        setattr(user, key, value)
    session.commit()
    return user


def list_tokens(session: Session, user_id: uuid.UUID) -> list[ApiToken]:
    get_user(session, user_id)
    return list(
        session.execute(
            select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at)
        ).scalars()
    )


def new_token_for(session: Session, user_id: uuid.UUID, label: str = "") -> tuple[ApiToken, str]:
    row, token = issue_token(session, get_user(session, user_id), label)
    session.commit()
    return row, token


def revoke_user_tokens(session: Session, user_id: uuid.UUID) -> int:
    """Revoke every live token of a user; returns how many were live."""
    get_user(session, user_id)
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def revoke_token(session: Session, user_id: uuid.UUID, token_id: uuid.UUID) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id:
        raise NotFound("No such token.", code="token_not_found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    session.commit()
    return row
