"""The demo's users: who they are, and seeding them (``seed-demo``, ``run-demo``).

Four users, one per role, with the organisations the README's demo section names; each seeding
gives every one a fresh token and each console role a fresh password.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.users.models import User
from backend.users.services import create_user, replace_labelled_tokens, set_password

DEMO_USERS = (
    ("Demo Fältvärd", "field", "city-i-samverkan", None),
    ("Demo Trafikkontoret", "department", "trafikkontoret", "trafikkontoret@demo.example"),
    ("Demo Arbetsledare", "supervisor", "city-i-samverkan", "arbetsledare@demo.example"),
    ("Demo Admin", "admin", "city-i-samverkan", "admin@demo.example"),
)
"""Name, role, organisation and console e-mail (the reserved .example domain: no real
mailbox) of each demo user; field workers use the phone and have no console login."""


def seed_demo_users(session: Session) -> list[dict[str, Any]]:
    """Create the demo users when missing and give each a fresh token, and each console role a
    fresh password (both are stored only as hashes, so an earlier run's cannot be shown again;
    a new password also ends the earlier run's console sessions). The demo users' earlier
    ``seed-demo`` tokens are revoked, so each keeps exactly one live token of this command."""
    min_length = current_app.config["CONSOLE_PASSWORD_MIN_LENGTH"]
    logins = []
    for name, role, org, email in DEMO_USERS:
        user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
        password = secrets.token_urlsafe(max(12, min_length)) if email else None
        if user is None:
            user, token = create_user(
                session,
                name,
                role,
                org,
                label="seed-demo",
                email=email,
                password=password,
                password_min_length=min_length,
            )
        else:
            # Only the token this command issued before is revoked: no pile of demo tokens.
            _, token = replace_labelled_tokens(session, user.id, label="seed-demo")
            if email and password:
                user.email = email
                set_password(session, email, password, min_length)
        entry: dict[str, Any] = {
            "id": str(user.id),
            "name": name,
            "role": role,
            "organisation": org,
            "token": token,
        }
        if email:
            entry |= {"email": email, "password": password}
        logins.append(entry)
    return logins
