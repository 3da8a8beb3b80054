"""User use cases: create, list and update users, issue and revoke tokens, display names."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

import marshmallow as ma
from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend import pagination
from backend.auth import hash_token, new_token
from backend.database import utcnow
from backend.errors import Conflict, NotFound, Unprocessable
from backend.organisations.services import filter_organisation, known_organisation
from backend.roles import ROLES
from backend.users import passwords, sessions
from backend.users.models import ApiToken, User

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


def display_names(session: Session, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Names of these users (who did what in a history), in chunks: the number of bound
    parameters per statement is limited on both backends."""
    ids = list(set(user_ids))
    names: dict[uuid.UUID, str] = {}
    for n in range(0, len(ids), 500):
        rows = session.execute(select(User.id, User.name).where(User.id.in_(ids[n : n + 500])))
        names.update((user_id, name) for user_id, name in rows)
    return names


def _users(session: Session, role: str | None, organisation: str | None) -> Select[Any]:
    query = select(User)
    if role:
        query = query.where(User.role == role)
    org = filter_organisation(session, organisation)
    if org is not None:
        query = query.where(User.organisation_id == org.id)
    return query


def list_users(
    session: Session, role: str | None = None, organisation: str | None = None
) -> list[User]:
    """Every user matching the filters, oldest first (the console's admin page); 422
    ``unknown_organisation`` for an organisation filter that names none."""
    query = _users(session, role, organisation).order_by(User.created_at, User.id)
    return list(session.execute(query).scalars())


LIST = "users"
"""The user lists' name in their cursors (``backend.pagination``): the admin's list and the
supervisors' directory page through the same rows."""


def user_page(
    session: Session,
    *,
    cursor: str | None = None,
    limit: int = 50,
    role: str | None = None,
    organisation: str | None = None,
) -> pagination.Page[User]:
    """Users matching the filters, oldest first, a page at a time."""
    return pagination.keyset_page(
        session,
        _users(session, role, organisation),
        LIST,
        (User.created_at, User.id),
        cursor,
        limit,
        parts=(pagination.AT, pagination.ID),
        descending=False,
    )


def issue_token(session: Session, user: User, label: str = "") -> tuple[ApiToken, str]:
    """Create a token for ``user``; the plain token is returned once and never stored."""
    token = new_token()
    row = ApiToken(user_id=user.id, token_hash=hash_token(token), prefix=token[:10], label=label)
    session.add(row)
    session.flush()
    return row, token


def enrolment(server_url: str, token: str) -> str:
    """What a new phone token's QR code holds: compact JSON ``{"server": ..., "token": ...}``,
    the service's public base URL and the token, so the phone app is set up by one scan."""
    return json.dumps({"server": server_url, "token": token}, separators=(",", ":"))


def normal_email(email: str) -> str:
    """The stored form of an e-mail address (lower case, trimmed); 422 ``invalid_email``."""
    value = email.strip().lower()
    try:
        ma.validate.Email()(value)
    except ma.ValidationError as exc:
        raise Unprocessable(
            "This is not an e-mail address.",
            code="invalid_email",
            errors={"email": ["not an e-mail address"]},
        ) from exc
    return value


def find_by_email(session: Session, email: str) -> User | None:
    return session.execute(
        select(User).where(User.email == email.strip().lower())
    ).scalar_one_or_none()


def create_user(
    session: Session,
    name: str,
    role: str,
    organisation: str | None = None,
    label: str = "",
    *,
    email: str | None = None,
    password: str | None = None,
    password_min_length: int = 15,
) -> tuple[User, str]:
    """Create a user and their first API token; with ``email`` (and ``password``) the user
    can also sign in to the console. 409 ``email_taken`` when another user has the address."""
    _check_role(role)
    if password is not None and email is None:
        raise Unprocessable(
            "A console password needs an e-mail address to sign in with.",
            code="email_required",
            errors={"email": ["required with a password"]},
        )
    org = known_organisation(session, organisation or DEFAULT_ORG)
    user = User(name=name, role=role, organisation_id=org.id)
    if email is not None:
        user.email = normal_email(email)
    if password is not None:
        passwords.check_policy(password, password_min_length)
        user.password_hash = passwords.hash_password(password)
        user.password_changed_at = utcnow()
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError as exc:
        raise _email_taken() from exc
    _, token = issue_token(session, user, label=label)
    session.commit()
    return user, token


def _email_taken() -> Conflict:
    return Conflict(
        "Another user has this e-mail address.",
        code="email_taken",
        errors={"email": ["belongs to another user"]},
    )


def set_password(session: Session, email: str, password: str, min_length: int) -> User:
    """Set the console password of the user with ``email`` and end their console sessions
    (whoever knew the old password is signed out everywhere). Commits."""
    user = find_by_email(session, email)
    if user is None:
        raise NotFound("No user has this e-mail address.", code="user_not_found")
    passwords.check_policy(password, min_length)
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = utcnow()
    sessions.end_all(session, user)
    session.commit()
    return user


def update_user(session: Session, user_id: uuid.UUID, **fields: Any) -> User:
    user = get_user(session, user_id)
    if "role" in fields:
        _check_role(fields["role"])
    if "organisation" in fields:
        user.organisation_id = known_organisation(session, fields.pop("organisation")).id
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


def replace_labelled_tokens(
    session: Session, user_id: uuid.UUID, label: str
) -> tuple[ApiToken, str]:
    """Revoke the user's live tokens labelled ``label`` and issue one new token with it, in one
    transaction: a tool that re-issues its own token (``seed-demo``) leaves one live token, and
    the user's other tokens (a phone enrolled by an admin) keep working."""
    user = get_user(session, user_id)
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.label == label, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    row, token = issue_token(session, user, label)
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
