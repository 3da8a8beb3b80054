"""Uppdrag: a department's board of its organisation's tasks, and a task page with the actions
the workflow allows now. Every action is ``tasks.services.record_event``, the API's call."""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from backend import roles
from backend.console import access, labels
from backend.console.blueprint import bp
from backend.console.schemas import ContactReadFormSchema, TaskEventFormSchema, TaskFilterSchema
from backend.console.views.common import category_names, parse, zone_names, zones_geojson
from backend.contacts import services as contacts
from backend.database import utcnow
from backend.errors import DomainError
from backend.extensions import db
from backend.organisations.services import filter_organisation, list_organisations
from backend.photos import services as photos
from backend.reference.services import check_zone
from backend.tasks import reads as task_reads
from backend.tasks import services as tasks
from backend.tasks.models import STATUSES
from backend.users.services import display_names

BOARD_ID = "board"
"""The element the filters and the polling replace; the rest of the page stays."""
BOARD_LIMIT = 200
"""Tasks on one board: a district's crew has a few dozen open at a time; past 200 the board
says how many more match and the filters narrow it."""


def _board_context() -> dict[str, Any]:
    user = access.current_staff()
    session = db.session()
    filters = parse(TaskFilterSchema())
    now = utcnow()
    status = filters["status"]
    query = {
        "status": None if status == "all" else status,
        "overdue": filters.get("overdue"),
        "zone": filters.get("zone"),
        "category": filters.get("category"),
        "organisation": filters.get("organisation"),
    }
    # An unknown slug is the API's 422, not an empty board that looks like "nothing to do".
    filter_organisation(session, query["organisation"])
    check_zone(session, query["zone"])
    rows = task_reads.board(session, user, now=now, limit=BOARD_LIMIT, **query)
    return {
        "tasks": rows,
        "matching": task_reads.count_tasks(session, user, now=now, **query)
        if len(rows) == BOARD_LIMIT
        else len(rows),
        "open_count": task_reads.count_tasks(session, user, now=now, status="open"),
        "overdue_count": task_reads.count_tasks(session, user, now=now, overdue=True),
        "filters": filters,
        "now": now,
        "statuses": ("open", *STATUSES, "all"),
        "categories": category_names(),
        "zones": zone_names(),
        "organisations": list_organisations(session) if user.role in roles.SEES_ALL else [],
        "sees_all": user.role in roles.SEES_ALL,
        "board_id": BOARD_ID,
        "poll_seconds": current_app.config["CONSOLE_BOARD_POLL_SECONDS"],
    }


@bp.get("/tasks")
@access.page(*roles.STAFF)
def tasks_board() -> str:
    """The board: its organisation's tasks, overdue first, then by due time; filters in the
    URL; the open page polls for new tasks."""
    context = _board_context()
    if request.headers.get("HX-Target") == BOARD_ID:
        return render_template("console/tasks/_board.html", **context)
    return render_template("console/tasks/board.html", **context)


def _detail(
    task_id: uuid.UUID,
    status: int = 200,
    error: DomainError | None = None,
    contact: dict[str, Any] | None = None,
) -> Any:
    user = access.current_staff()
    session = db.session()
    detail = task_reads.task_detail(session, user, task_id)
    # Shown: the task as the API's detail gives it to this reader (need-to-know decides what
    # of the case that is); the row itself only for the service calls.
    task = detail.task
    shown = detail
    history = task_reads.case_tasks(session, user, task.case_id) if task.case_id else [task]
    states = photos.report_photos(session, [r.id for r in detail.reports])
    # Only the photos the task's reading lists (the need-to-know rule decides that list).
    shots = {
        r.id: [(sha, state) for sha, state in states[r.id] if sha in r.photos]
        for r in detail.reports
    }
    actor_ids = {e.user_id for t in history for e in t.events if e.user_id}
    actors = {str(k): v for k, v in display_names(session, actor_ids).items()}
    actions = tasks.allowed_actions(user, task)
    now = utcnow()
    map_data = None
    if shown.lat is not None and shown.lon is not None:
        map_data = {
            "zones": zones_geojson(),
            "cases": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [shown.lon, shown.lat]},
                    "properties": {
                        "id": str(task.case_id or task.id).replace("-", "")[:8],
                        "category": category_names().get(task.category or "", task.category),
                        "colour": "#1f5fa8",
                        "overdue": task.is_overdue(now),
                        "reports": len(detail.reports),
                    },
                }
            ],
            "zoom": 17,
        }
    reasons = contacts.reasons_for(session, user, task.contact_id) if task.contact_id else ()
    body = render_template(
        "console/tasks/detail.html",
        task=shown,
        reports=detail.reports,
        photos=shots,
        history=history,
        actors=actors,
        actions=actions,
        reroute_to=task_reads.reroute_targets(session, task) if "reject" in actions else [],
        fallback=tasks.FALLBACK_ORGANISATION,
        handed_over=task_reads.handed_over(session, task),
        reasons=reasons,
        contact=contact,
        map_data=map_data,
        categories=category_names(),
        zones=zone_names(),
        now=now,
        error=str(labels.ERROR.get(error.code, error.message)) if error else None,
        error_fields=error.errors if error else None,
    )
    return body, status


@bp.get("/tasks/<uuid:task_id>")
@access.page(*roles.STAFF)
def task(task_id: uuid.UUID) -> Any:
    """One task: the case on a map, its reports, photos, history, deadline and actions."""
    return _detail(task_id)


def _refused(task_id: uuid.UUID, error: DomainError) -> Any:
    """Re-show the task with what was wrong, answering the status the API would."""
    db.session.rollback()
    return _detail(task_id, error.status, error)


DONE = {
    "acknowledge": _l("The task is acknowledged; the reporters are told."),
    "start": _l("Work on the task has started; the reporters are told."),
    "resolve": _l("The task is resolved; the reporters are told."),
}


@bp.post("/tasks/<uuid:task_id>/events")
@access.page(*roles.TASK_WORKERS)
def task_event(task_id: uuid.UUID) -> Any:
    """Acknowledge, start, resolve or reject: the API's ``record_event``."""
    user = access.current_staff()
    try:
        form = parse(TaskEventFormSchema(), request.form)
        done = tasks.record_event(db.session(), user, task_id, **form)
    except DomainError as error:
        if error.status == 404:
            raise
        return _refused(task_id, error)
    if form["action"] == "reject":
        successor = task_reads.successor_of(db.session(), done.task)
        flash(
            _(
                "The task is rejected; the case went on to %(organisation)s.",
                organisation=successor.organisation.name if successor else "—",
            )
        )
    else:
        flash(str(DONE[form["action"]]))
    return redirect(url_for("console.task", task_id=task_id))


@bp.post("/tasks/<uuid:task_id>/contact")
@access.page(*roles.STAFF)
def task_contact(task_id: uuid.UUID) -> Response | Any:
    """Open the referred contact of a task: the audited read, with the reason given."""
    user = access.current_staff()
    session = db.session()
    found = task_reads.get_task(session, user, task_id)
    if found.contact_id is None:
        return redirect(url_for("console.task", task_id=task_id))
    contact_id = found.contact_id
    try:
        reason = parse(ContactReadFormSchema(), request.form)["reason"]
        contact = contacts.read_contact(session, user, contact_id, reason, utcnow())
    except DomainError as error:
        return _refused(task_id, error)
    return _detail(task_id, contact=contact)
