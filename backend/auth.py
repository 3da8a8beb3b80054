"""Bearer-token authentication and role checks.

Tokens are 256 random bits, shown once and stored as their SHA-256: a token has far too much
entropy to guess, so a fast hash is the right one (a slow password hash would only add latency
to every request).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import uuid
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import g, request
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.database import deferred_reads
from backend.errors import Forbidden, Unauthorized
from backend.extensions import db
from backend.users.models import ApiToken, User

TOKEN_PREFIX = "sf_"
F = TypeVar("F", bound=Callable[..., Any])


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_row(session: Session, token: str) -> ApiToken | None:
    """The live token row of an active user, or None."""
    row = session.execute(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None)
        )
    ).scalar_one_or_none()
    if row is None or not row.user.active:
        return None
    return row


def user_for_token(session: Session, token: str) -> User | None:
    row = token_row(session, token)
    return None if row is None else row.user


def current_token_id() -> uuid.UUID:
    """The id of the token this request authenticated with (rate limits key on it)."""
    token_id = g.get("token_id")
    if token_id is None:  # pragma: no cover - only reachable if a view forgets @auth
        raise Unauthorized()
    return cast(uuid.UUID, token_id)


def current_user() -> User:
    user = g.get("user")
    if user is None:  # pragma: no cover - only reachable if a view forgets @auth
        raise Unauthorized()
    return cast(User, user)


def authenticate() -> User:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    session = db.session()
    with deferred_reads():
        row = token_row(session, token.strip())
        # End the read now: on SQLite no lock is then held while the request body arrives.
        session.commit()
    if row is None:
        raise Unauthorized("The API token is unknown or revoked.", code="invalid_token")
    g.user = row.user
    g.token_id = row.id
    return row.user


def require_role(user: User, roles: tuple[str, ...]) -> None:
    """403 ``forbidden`` unless ``user`` has one of ``roles`` (none given: any role). The one
    role check of the API and the console."""
    if roles and user.role not in roles:
        raise Forbidden(f"This needs one of the roles: {', '.join(roles)}.")


def auth(blp: Blueprint, *roles: str) -> Callable[[F], F]:
    """Require a valid token, and one of ``roles`` when given; document both in OpenAPI."""

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            require_role(authenticate(), roles)
            return func(*args, **kwargs)

        wrapped = blp.doc(security=[{"bearerAuth": []}])(wrapper)
        wrapped = blp.alt_response(401, response="UNAUTHORIZED")(wrapped)
        if roles:
            wrapped = blp.alt_response(403, response="FORBIDDEN")(wrapped)
        return cast(F, wrapped)

    return decorator
