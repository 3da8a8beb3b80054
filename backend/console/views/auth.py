"""Signing in and out."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from backend.console import access, nav, signin
from backend.console.blueprint import bp
from backend.console.schemas import SignInSchema
from backend.console.views.common import parse
from backend.extensions import db


def _form(
    status: int = 200,
    error: str | None = None,
    email: str = "",
    notice: str | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    next_url = access.safe_next(request.values.get("next"))
    body = render_template(
        "console/sign_in.html", error=error, email=email, next_url=next_url, notice=notice
    )
    return body, status, headers or {}


@bp.get("/sign-in")
def sign_in() -> Any:
    """The sign-in form (signed-in users go to their first page)."""
    if g.get("staff") is not None:
        return redirect(url_for(nav.home_for(g.staff)))
    notice = None
    if g.get("session_ended") or request.args.get("ended"):
        notice = _("Your session has ended; sign in again.")
    elif request.args.get("signed_out"):
        notice = _("You have signed out.")
    return _form(notice=notice)


@bp.post("/sign-in")
def sign_in_post() -> Any:
    data = parse(SignInSchema(), request.form)
    email = data["email"].strip()
    try:
        user = signin.check(db.session(), email, data["password"], request.remote_addr)
    except signin.Refused as refused:
        if refused.code == "rate_limited":
            minutes = max(1, -(-refused.retry_after // 60))
            message = _(
                "Too many failed sign-ins. Try again in %(minutes)d minutes.", minutes=minutes
            )
            return _form(429, message, email, headers={"Retry-After": str(refused.retry_after)})
        if refused.code == "not_console_role":
            message = _("Field staff use the phone app; the console is for office staff.")
            return _form(403, message, email)
        return _form(401, _("Wrong e-mail address or password."), email)
    access.sign_in_as(user)
    return redirect(access.safe_next(data.get("next")) or url_for(nav.home_for(user)))


@bp.post("/sign-out")
def sign_out() -> Response:
    access.sign_out()
    return redirect(url_for("console.sign_in", signed_out=1))


@bp.get("/signed-in")
@access.page()
def signed_in() -> str:
    """Where a user with no page of their own lands (no such role today)."""
    return render_template("console/signed_in.html")
