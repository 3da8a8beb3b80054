"""Administration: what the service did on its own: deliveries to the organisations (retry the
failed ones), the audit log of contact reads, and the retention runs."""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from backend import roles
from backend.console import access, labels
from backend.console.blueprint import bp
from backend.console.schemas import AuditFilterSchema, DeliveryFilterSchema
from backend.console.views.common import parse
from backend.contacts import services as contacts
from backend.database import utcnow
from backend.delivery import services as deliveries
from backend.delivery.models import STATUSES as DELIVERY_STATUSES
from backend.errors import DomainError
from backend.extensions import db
from backend.organisations.services import list_organisations
from backend.retention import jobs as retention_jobs
from backend.retention import services as retention
from backend.users.services import display_names

PAGE = 50
AUDIT_PAGE = 100
RUNS_SHOWN = 60
"""Two months of nightly runs."""


def _deliveries_page(status: int = 200, error: DomainError | None = None) -> Any:
    filters = parse(DeliveryFilterSchema())
    session = db.session()
    page = deliveries.list_deliveries(session, limit=PAGE, **filters)
    body = render_template(
        "console/admin/deliveries.html",
        page=page,
        filters=filters,
        statuses=DELIVERY_STATUSES,
        organisations=list_organisations(session),
        error=str(labels.ERROR.get(error.code, error.message)) if error else None,
    )
    return body, status


@bp.get("/admin/deliveries")
@access.page(*roles.ADMINS)
def admin_deliveries() -> Any:
    """Deliveries to the organisations, the failed ones first shown, with a retry each."""
    return _deliveries_page()


@bp.post("/admin/deliveries/<uuid:delivery_id>/retry")
@access.page(*roles.ADMINS)
def admin_delivery_retry(delivery_id: uuid.UUID) -> Response | Any:
    """Give a failed delivery a fresh round of attempts on the organisation's channel now."""
    try:
        done = deliveries.retry_delivery(db.session(), delivery_id)
    except DomainError as error:
        if error.status == 404:
            raise
        db.session.rollback()
        return _deliveries_page(error.status, error)
    flash(_("The delivery to %(name)s is tried again.", name=done.organisation.name))
    back: dict[str, str] = request.args.to_dict()
    return redirect(url_for("console.admin_deliveries", _external=False, **back))


@bp.get("/admin/audit")
@access.page(*roles.ADMINS)
def admin_audit() -> Any:
    """Reads of individual contacts: who, when, why, oldest first, by cursor."""
    filters = parse(AuditFilterSchema())
    session = db.session()
    page = contacts.audit_page(session, limit=AUDIT_PAGE, **{"cursor": None, **filters})
    readers = {
        str(k): v for k, v in display_names(session, {r.reader_id for r in page.items}).items()
    }
    return render_template("console/admin/audit.html", page=page, filters=filters, readers=readers)


@bp.get("/admin/retention")
@access.page(*roles.ADMINS)
def admin_retention() -> Any:
    """The retention periods in force and the runs that applied them."""
    config = current_app.config
    return render_template(
        "console/admin/retention.html",
        runs=retention.recent_runs(db.session(), RUNS_SHOWN),
        periods=retention.Periods.from_config(config),
        next_run=retention_jobs.next_run(utcnow()),
    )
