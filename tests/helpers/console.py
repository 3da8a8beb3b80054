"""Helpers for console tests with Flask's test client: staff with a password, signing in
through the form (with its CSRF token), and reading a page's CSRF token."""

from __future__ import annotations

import re
import uuid
from typing import Any

PASSWORD = "correct horse battery staple"


def make_staff(create_user: Any, role: str = "supervisor", org: str = "city-i-samverkan") -> Any:
    from backend.extensions import db
    from backend.users.services import get_user, set_password

    account = create_user(role=role, org=org)
    account.email = f"{role}-{uuid.uuid4().hex[:6]}@test.example"
    get_user(db.session(), account.id).email = account.email
    db.session.commit()
    set_password(db.session(), account.email, PASSWORD, 15)
    return account


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(client: Any, email: str, password: str = PASSWORD, **extra: str) -> Any:
    token = csrf(client.get("/console/sign-in").get_data(as_text=True))
    return client.post(
        "/console/sign-in",
        data={"email": email, "password": password, "csrf_token": token, **extra},
    )
