"""Ärenden: the case list with its filters, a case with its reports, photos and history, and
the corrections (split, merge)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from backend import roles
from backend.cases import reads as case_reads
from backend.cases import services as cases
from backend.cases import visibility
from backend.cases.models import Case
from backend.console import access, labels
from backend.console.blueprint import bp
from backend.console.schemas import CASE_STATUSES, CaseFilterSchema, MergeFormSchema
from backend.console.views.common import category_names, parse, zone_names, zones_geojson
from backend.database import utcnow
from backend.errors import DomainError, Unprocessable
from backend.extensions import db
from backend.photos import services as photos
from backend.photos.schemas import ImageQuerySchema
from backend.photos.store import storage_from
from backend.tasks import reads as task_reads
from backend.users.services import display_names

RESULTS_ID = "case-results"
"""The element htmx swaps when a filter changes; the rest of the page stays."""


@bp.get("/cases", endpoint="cases")
@access.page(*roles.STAFF)
def cases_list() -> str:
    """The case list: filters in the URL, newest first, keyset pages."""
    user = access.current_staff()
    session = db.session()
    filters = parse(CaseFilterSchema())
    now = utcnow()
    page = case_reads.list_cases(
        session,
        user,
        limit=current_app.config["CASES_PAGE_DEFAULT_LIMIT"],
        cursor=filters.get("cursor", ""),
        status=filters.get("status"),
        category=filters.get("category"),
        zone=filters.get("zone"),
        day=filters.get("date"),
        overdue=filters.get("overdue"),
        now=now,
    )
    context: dict[str, Any] = {
        "page": page,
        "filters": filters,
        "open_tasks": task_reads.open_tasks_by_case(session, user, [c.id for c in page.items]),
        "now": now,
        "categories": category_names(),
        "zones": zone_names(),
        "statuses": CASE_STATUSES,
        "results_id": RESULTS_ID,
    }
    if request.headers.get("HX-Target") == RESULTS_ID:
        return render_template("console/cases/_results.html", **context)
    return render_template("console/cases/list.html", **context)


def _detail(case: Case, status: int = 200, error: str | None = None) -> Any:
    user = access.current_staff()
    session = db.session()
    history = task_reads.case_tasks(session, user, case.id)
    # The case as this reader may see it (backend.cases.visibility): a department that no
    # longer holds an open task for it sees it as it was then, without notes or photos.
    seen = visibility.case_view(session, user, case)
    reports = seen.reports
    actor_ids = {e.user_id for t in history for e in t.events if e.user_id}
    for report in reports:
        by = (report.merge_reason or {}).get("by")
        if by:
            actor_ids.add(uuid.UUID(by))
    actors = {str(k): v for k, v in display_names(session, actor_ids).items()}
    body = render_template(
        "console/cases/detail.html",
        case=seen,
        reports=reports,
        photos=photos.report_photos(
            session, [r.id for r in reports] if seen.view == visibility.FULL else []
        ),
        history=history,
        actors=actors,
        may_correct=cases.may_correct(session, user, case),
        categories=category_names(),
        zones=zone_names(),
        zones_geojson=zones_geojson(),
        now=utcnow(),
        error=error,
    )
    return body, status


@bp.get("/cases/<uuid:case_id>")
@access.page(*roles.STAFF)
def case(case_id: uuid.UUID) -> Any:
    """One case: its reports and why each is in it, photos, tasks, corrections."""
    return _detail(case_reads.get_case(db.session(), access.current_staff(), case_id))


def _refused(case_id: uuid.UUID, error: DomainError) -> Any:
    """Re-show the case with what was wrong, answering the status the API would."""
    db.session.rollback()
    current = case_reads.get_case(db.session(), access.current_staff(), case_id)
    return _detail(current, error.status, str(labels.ERROR.get(error.code, error.message)))


@bp.post("/cases/<uuid:case_id>/split")
@access.page(*roles.STAFF)
def case_split(case_id: uuid.UUID) -> Any:
    """Move the chosen reports into a new case."""
    try:
        ids = [uuid.UUID(value) for value in request.form.getlist("report_ids")]
    except ValueError:
        ids = []
    if not ids:
        return _refused(
            case_id, Unprocessable(_("Choose the reports to move."), code="no_reports_chosen")
        )
    try:
        new = cases.split(db.session(), access.current_staff(), case_id, ids)
    except DomainError as error:
        if error.status == 404:
            raise
        return _refused(case_id, error)
    flash(_("%(count)d reports moved to a new case.", count=len(ids)))
    return redirect(url_for("console.case", case_id=new.id))


@bp.post("/cases/<uuid:case_id>/merge")
@access.page(*roles.STAFF)
def case_merge(case_id: uuid.UUID) -> Any:
    """Merge another case into this one."""
    try:
        other = parse(MergeFormSchema(), request.form)["case_id"]
    except Unprocessable:
        return _refused(
            case_id,
            Unprocessable(_("Give the full number of the case to merge."), code="no_case_given"),
        )
    try:
        merged = cases.merge(db.session(), access.current_staff(), case_id, other)
    except DomainError as error:
        if error.status == 404:
            raise
        return _refused(case_id, error)
    flash(_("The other case was merged into this one."))
    return redirect(url_for("console.case", case_id=merged.id))


@bp.get("/photos/<string:sha256>")
@access.page(*roles.STAFF)
def photo(sha256: str) -> Response:
    """A sanitised photo or its thumbnail, for those the photo service lets see it."""
    size = parse(ImageQuerySchema())["size"]
    found = photos.servable_photo(db.session(), access.current_staff(), sha256)
    # Always through the service, also with PHOTO_SERVE=redirect: the pages' CSP allows
    # images from this origin only.
    image = photos.served_image(storage_from(current_app.config), found, size)
    response = Response(image.data, mimetype=photos.SERVED_CONTENT_TYPE)
    response.set_etag(f"{found.sha256}-{size}")
    # Private and never stored on disk: photos may show passers-by.
    response.headers["Cache-Control"] = "private, no-store"
    return response.make_conditional(request)
