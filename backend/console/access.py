"""Who is signed in: the console session of this request, and the page decorator.

The browser's cookie (Flask's signed session cookie, see the SESSION_COOKIE_* settings in
backend/config.py) carries a random session id and the CSRF token, nothing else. The session
row (``backend.users.sessions``) is looked up on every request, so a sign-out, a deactivation,
a role change or a password change takes effect on the very next request everywhere.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from backend.auth import require_role
from backend.console import i18n
from backend.console.blueprint import csrf
from backend.database import deferred_reads, immediate_writes, utcnow
from backend.extensions import db
from backend.users import sessions
from backend.users.models import User

F = TypeVar("F", bound=Callable[..., Any])
SESSION_KEY = "sid"
POLL_HEADER = "X-Console-Poll"
"""Sent by htmx polling (``hx-headers``): a page left open refreshing itself is not a person
at the screen, so it does not keep the session from idling out."""
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def lifetime() -> sessions.Lifetime:
    config = current_app.config
    return sessions.Lifetime(
        idle=timedelta(minutes=config["CONSOLE_IDLE_MINUTES"]),
        maximum=timedelta(hours=config["CONSOLE_SESSION_MAX_HOURS"]),
    )


def _load() -> User | None:
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        return None
    now = utcnow()
    db_session = db.session()
    with deferred_reads():
        row = sessions.find(db_session, token, now, lifetime())
        user = row.user if row is not None else None
        # End the read: no SQLite lock is held while the page is computed.
        db_session.commit()
    if row is None:
        session.pop(SESSION_KEY, None)
        g.session_ended = True
        return None
    if sessions.due_for_touch(row, now) and not request.headers.get(POLL_HEADER):
        with immediate_writes():
            sessions.touch(db_session, row, now)
            db_session.commit()
    return user


def _before() -> None:
    # A request's own: where an app context outlives requests (the test client inside an
    # app context), g would otherwise carry the last request's user, language (Flask-Babel
    # caches it in g._flask_babel) and CSRF token.
    for key in ("staff", "lang_choice", "session_ended", "csrf_token", "_flask_babel"):
        g.pop(key, None)
    i18n.take_choice()
    if request.endpoint == "console.static":
        return
    if request.method in UNSAFE:
        csrf.protect()
    g.staff = _load()


def current_staff() -> User:
    user = g.get("staff")
    if user is None:  # pragma: no cover - only reachable if a view forgets @page
        raise RuntimeError("no signed-in user")
    return cast(User, user)


def safe_next(target: str | None) -> str | None:
    """A console path to return to after sign-in, or None: never another site (an open
    redirect would let a phishing link borrow the console's address)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/"):
        return None
    if "\\" in target or target.startswith("//"):
        return None
    return target


def _to_sign_in() -> Response:
    target = request.full_path if request.method == "GET" else None
    ended = 1 if g.get("session_ended") else None
    location = url_for("console.sign_in", next=safe_next(target), ended=ended)
    if request.headers.get("HX-Request"):
        # htmx would swap the sign-in page into a fragment; make it load the page instead.
        response = Response(status=401)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location)


def page(*roles: str) -> Callable[[F], F]:
    """A console page for signed-in staff of ``roles`` (the same role tuples as the API's)."""

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = g.get("staff")
            if user is None:
                return _to_sign_in()
            require_role(user, roles)
            return func(*args, **kwargs)

        return cast(F, wrapper)

    return decorator


def sign_in_as(user: User) -> None:
    """Start a session for ``user``: a new session id (never one the browser brought, so a
    planted id is useless) and, with the cleared cookie, a new CSRF token. Commits."""
    db_session = db.session()
    session.clear()
    session[SESSION_KEY] = sessions.start(db_session, user, utcnow(), lifetime())
    db_session.commit()


def sign_out() -> None:
    token = session.get(SESSION_KEY)
    if isinstance(token, str):
        db_session = db.session()
        sessions.end(db_session, token)
        db_session.commit()
    session.clear()


def register(bp: Blueprint) -> None:
    bp.before_request(_before)
    bp.after_request(i18n.remember_choice)
