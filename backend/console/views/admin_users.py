"""Administration: users, their roles and organisations, and their phone tokens.

A new token is shown once, as text and as a QR code, in the answer to the form that made it:
it is never stored, put in a URL or kept in the session. The calls are the admin API's
(``backend.users.services``)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from backend import roles
from backend.console import access, labels, present
from backend.console.blueprint import bp
from backend.console.schemas import (
    TokenFormSchema,
    UserCreateFormSchema,
    UserFilterSchema,
    UserUpdateFormSchema,
)
from backend.console.views.common import parse
from backend.errors import DomainError
from backend.extensions import db
from backend.organisations.services import list_organisations
from backend.roles import ROLES
from backend.users import services as users
from backend.users.models import User


def _choices() -> dict[str, Any]:
    return {"roles": ROLES, "organisations": list_organisations(db.session())}


def _list(status: int = 200, error: DomainError | None = None) -> Any:
    filters = parse(UserFilterSchema())
    found = users.list_users(db.session(), **filters)
    body = render_template(
        "console/admin/users.html",
        users=found,
        filters=filters,
        form=request.form if error else {},
        error=_message(error),
        error_fields=error.errors if error else None,
        **_choices(),
    )
    return body, status


def _message(error: DomainError | None) -> str | None:
    return str(labels.ERROR.get(error.code, error.message)) if error else None


@bp.get("/admin/users")
@access.page(*roles.ADMINS)
def admin_users() -> Any:
    """Users, filtered by role and organisation, and the form to add one."""
    return _list()


def _shown_once(user: User, token: str, status: int) -> Any:
    """The page that shows a new token, once: as text and as the QR code the app scans."""
    payload = users.enrolment(current_app.config["PUBLIC_BASE_URL"], token)
    body = render_template(
        "console/admin/token.html",
        user=user,
        token=token,
        qr=present.qr_svg(payload, _("QR code of the new token for %(name)s", name=user.name)),
        server=current_app.config["PUBLIC_BASE_URL"],
    )
    return body, status


@bp.post("/admin/users")
@access.page(*roles.ADMINS)
def admin_user_create() -> Any:
    """Create a user and their first phone token (shown once)."""
    session = db.session()
    try:
        form = parse(UserCreateFormSchema(), request.form)
        user, token = users.create_user(
            session,
            form["name"],
            form["role"],
            form["organisation"],
            form["label"],
            email=form.get("email"),
            password=form.get("password"),
            password_min_length=current_app.config["CONSOLE_PASSWORD_MIN_LENGTH"],
        )
    except DomainError as error:
        session.rollback()
        return _list(error.status, error)
    return _shown_once(user, token, 201)


def _user_page(user_id: uuid.UUID, status: int = 200, error: DomainError | None = None) -> Any:
    session = db.session()
    user = users.get_user(session, user_id)
    body = render_template(
        "console/admin/user.html",
        user=user,
        tokens=users.list_tokens(session, user_id),
        error=_message(error),
        error_fields=error.errors if error else None,
        **_choices(),
    )
    return body, status


@bp.get("/admin/users/<uuid:user_id>")
@access.page(*roles.ADMINS)
def admin_user(user_id: uuid.UUID) -> Any:
    """One user: name, role, organisation, active, and their tokens."""
    return _user_page(user_id)


@bp.post("/admin/users/<uuid:user_id>")
@access.page(*roles.ADMINS)
def admin_user_update(user_id: uuid.UUID) -> Any:
    """Change name, role, organisation or active (deactivation ends sessions and tokens at
    once: both are checked against the user on every request)."""
    session = db.session()
    try:
        form = parse(UserUpdateFormSchema(), request.form)
        users.update_user(session, user_id, **form)
    except DomainError as error:
        if error.status == 404:
            raise
        session.rollback()
        return _user_page(user_id, error.status, error)
    flash(_("The user was saved."))
    return redirect(url_for("console.admin_user", user_id=user_id))


@bp.post("/admin/users/<uuid:user_id>/tokens")
@access.page(*roles.ADMINS)
def admin_token_issue(user_id: uuid.UUID) -> Any:
    """Issue a new phone token (shown once)."""
    session = db.session()
    user = users.get_user(session, user_id)
    label = parse(TokenFormSchema(), request.form)["label"]
    _row, token = users.new_token_for(session, user_id, label)
    return _shown_once(user, token, 201)


@bp.post("/admin/users/<uuid:user_id>/tokens/<uuid:token_id>/revoke")
@access.page(*roles.ADMINS)
def admin_token_revoke(user_id: uuid.UUID, token_id: uuid.UUID) -> Response:
    """Revoke one token: the phone holding it is refused from its next request."""
    row = users.revoke_token(db.session(), user_id, token_id)
    flash(_("Token %(prefix)s… is revoked.", prefix=row.prefix))
    return redirect(url_for("console.admin_user", user_id=user_id))


@bp.post("/admin/users/<uuid:user_id>/tokens/revoke")
@access.page(*roles.ADMINS)
def admin_tokens_revoke_all(user_id: uuid.UUID) -> Response:
    """Revoke every live token of the user (a lost phone, someone leaving)."""
    count = users.revoke_user_tokens(db.session(), user_id)
    flash(_("%(count)d tokens revoked.", count=count))
    return redirect(url_for("console.admin_user", user_id=user_id))
