"""Administration: organisations and their delivery channel, and the routing rule set.

The calls are the admin API's: ``organisations.services`` (the channel checks, the webhook
host policy) and ``routing.rule_store.save_rule_set`` (every problem at once, nothing stored on
error). A webhook secret is generated here, shown once, never typed in or shown again."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from backend import roles
from backend.console import access, labels
from backend.console.blueprint import bp
from backend.console.schemas import OrganisationFormSchema
from backend.console.views.common import category_names, parse, zone_names
from backend.errors import DomainError, Unprocessable
from backend.extensions import db
from backend.organisations import services as organisations
from backend.organisations.schemas import CHANNELS
from backend.routing import rule_store as routing

RULE_FILE_MAX_BYTES = 256 * 1024
"""The shipped rules.toml is 6 KiB with its comments; a quarter of a MiB is room for a city's
worth of rules, and bounds what one upload makes the validator read."""
VERSIONS_SHOWN = 20


def _allowed_hosts() -> tuple[str, ...]:
    return tuple(current_app.config["WEBHOOK_ALLOWED_HOSTS"])


def _message(error: DomainError | None) -> str | None:
    return str(labels.ERROR.get(error.code, error.message)) if error else None


def _organisations_page(status: int = 200, error: DomainError | None = None) -> Any:
    body = render_template(
        "console/admin/organisations.html",
        organisations=organisations.list_organisations(db.session()),
        channels=CHANNELS,
        form=request.form if error else {},
        error=_message(error),
        error_fields=error.errors if error else None,
    )
    return body, status


@bp.get("/admin/organisations")
@access.page(*roles.ADMINS)
def admin_organisations() -> Any:
    """Organisations, their channel, and the form to add one."""
    return _organisations_page()


@bp.post("/admin/organisations")
@access.page(*roles.ADMINS)
def admin_organisation_create() -> Any:
    """Add an organisation (a webhook one gets its secret on its own page)."""
    session = db.session()
    try:
        form = parse(OrganisationFormSchema(), request.form)
        if "slug" not in form:
            raise Unprocessable(errors={"slug": ["required"]})
        org = organisations.create_organisation(
            session, webhook_allowed_hosts=_allowed_hosts(), **form
        )
    except DomainError as error:
        session.rollback()
        return _organisations_page(error.status, error)
    flash(_("%(name)s was added.", name=org.name))
    return redirect(url_for("console.admin_organisation", slug=org.slug))


def _organisation_page(
    slug: str, status: int = 200, error: DomainError | None = None, secret: str | None = None
) -> Any:
    org = organisations.get_by_slug(db.session(), slug)
    body = render_template(
        "console/admin/organisation.html",
        org=org,
        channels=CHANNELS,
        form=request.form if error else {},
        secret=secret,
        error=_message(error),
        error_fields=error.errors if error else None,
    )
    return body, status


@bp.get("/admin/organisations/<string:slug>")
@access.page(*roles.ADMINS)
def admin_organisation(slug: str) -> Any:
    """One organisation: name, channel and its settings, active, the webhook secret."""
    return _organisation_page(slug)


@bp.post("/admin/organisations/<string:slug>")
@access.page(*roles.ADMINS)
def admin_organisation_update(slug: str) -> Any:
    """Change the name, channel, webhook URL, e-mail or active flag."""
    session = db.session()
    organisations.get_by_slug(session, slug)
    try:
        form = parse(OrganisationFormSchema(), request.form)
        form.pop("slug", None)  # the slug names the organisation in rules and tasks: fixed
        organisations.update_organisation(
            session, slug, webhook_allowed_hosts=_allowed_hosts(), **form
        )
    except DomainError as error:
        session.rollback()
        return _organisation_page(slug, error.status, error)
    flash(_("The organisation was saved."))
    return redirect(url_for("console.admin_organisation", slug=slug))


@bp.post("/admin/organisations/<string:slug>/secret")
@access.page(*roles.ADMINS)
def admin_organisation_secret(slug: str) -> Any:
    """A new webhook signing secret, shown once; the old one stops signing at once."""
    org, secret = organisations.rotate_webhook_secret(db.session(), slug)
    return _organisation_page(org.slug, secret=secret)


def _rules_page(status: int = 200, error: DomainError | None = None) -> Any:
    session = db.session()
    active = routing.active_rule_set(session)
    body = render_template(
        "console/admin/rules.html",
        rule_set=active,
        source=active.to_dict(),
        versions=routing.versions(session, VERSIONS_SHOWN),
        categories=category_names(),
        zones=zone_names(),
        organisations={o.slug: o.name for o in organisations.list_organisations(session)},
        max_kib=RULE_FILE_MAX_BYTES // 1024,
        error=_message(error),
        problems=error.errors if error else None,
    )
    return body, status


@bp.get("/admin/rules")
@access.page(*roles.ADMINS)
def admin_rules() -> Any:
    """The active routing rules, the stored versions, and the upload of a new version."""
    return _rules_page()


@bp.get("/admin/rules.json")
@access.page(*roles.ADMINS)
def admin_rules_json() -> Response:
    """The active rule set as JSON, the shape the upload and PUT /api/v1/admin/rules take."""
    rule_set = routing.active_rule_set(db.session())
    text = json.dumps(rule_set.to_dict(), ensure_ascii=False, indent=2)
    response = Response(text + "\n", mimetype="application/json")
    name = f"rules-v{rule_set.version}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.post("/admin/rules")
@access.page(*roles.ADMINS)
def admin_rules_upload() -> Any:
    """Store an uploaded rule file (TOML or JSON) as the new version; every problem listed
    and nothing changed when it is not valid."""
    session = db.session()
    upload = request.files.get("rules")
    try:
        if upload is None or not upload.filename:
            raise Unprocessable(code="no_file", errors={"file": [_("choose a file")]})
        data = upload.stream.read(RULE_FILE_MAX_BYTES + 1)
        if len(data) > RULE_FILE_MAX_BYTES:
            raise Unprocessable(
                code="invalid_rule_set",
                errors={"file": [f"larger than {RULE_FILE_MAX_BYTES // 1024} KiB"]},
            )
        stored = routing.save_rule_file(session, upload.filename, data, access.current_staff().id)
    except DomainError as error:
        session.rollback()
        return _rules_page(error.status, error)
    flash(_("Version %(version)d routes every case from now on.", version=stored.version))
    return redirect(url_for("console.admin_rules"))
