"""Cases as Open311 service requests: the query arguments (``parse_query``), the list and the
single request, each case rendered as the key's organisation may see it.

A key is its organisation's and acts through the key's department user, so it sees exactly what
that organisation's department users see: the cases the organisation holds or held
(``cases.reads.visible_cases``), each in the view need-to-know gives it
(``backend.cases.visibility``: in full while it holds an open task, afterwards as the case was
when its last task closed). Contacts are never service requests: only cases are listed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from backend.cases import visibility
from backend.cases.models import MERGED, Case
from backend.cases.reads import visible_cases
from backend.errors import NotFound
from backend.open311 import params
from backend.open311.catalogue import categories
from backend.open311.models import Open311Key
from backend.photos.models import Photo, PhotoUploader
from backend.photos.possession import reporter_possesses
from backend.photos.services import can_view
from backend.reference.models import Category, Zone
from backend.reports.models import Report, ReportPhoto
from backend.tasks.models import (
    ACKNOWLEDGED,
    IN_PROGRESS,
    NEW,
    OPEN,
    RESOLVED,
    Task,
)
from backend.users.models import User

MAX_REQUESTS = 1000
WINDOW = timedelta(days=90)
"""The spec's response volume: "a span of 90 days or first 1000 requests, whichever is
smallest", and a longer explicit range is refused."""

DESCRIPTION_MAX = 4000
"""The spec limits ``description`` to 4,000 characters, in and out."""


@dataclass(frozen=True)
class Query:
    ids: list[uuid.UUID]
    service_codes: list[str]
    statuses: list[str]
    start: datetime | None
    end: datetime | None


def parse_query(session: Session, args: Mapping[str, str], now: datetime) -> Query:
    """``service_request_id`` overrides every other argument (the spec); otherwise the range is
    at most 90 days and defaults to the 90 days before ``end_date`` or after ``start_date``,
    or the last 90 days."""
    ids = params.request_ids("service_request_id", args.get("service_request_id"))
    if ids:
        return Query(ids, [], [], None, None)
    codes = params.comma_list("service_code", args.get("service_code"))
    known = {c.code for c in categories(session, active_only=False)}
    for code in codes:
        if code not in known:
            raise params.bad("unknown_service_code", "service_code", f"no service {code[:64]!r}")
    statuses = params.comma_list("status", args.get("status"))
    for status in statuses:
        if status not in ("open", "closed"):
            raise params.bad("invalid_status", "status", "must be open, closed or both")
    start = params.w3c_datetime("start_date", args.get("start_date"))
    end = params.w3c_datetime("end_date", args.get("end_date"))
    if start is not None and end is not None:
        if end < start:
            raise params.bad("range_reversed", "end_date", "is before start_date")
        if end - start > WINDOW:
            raise params.bad("range_too_long", "end_date", "at most 90 days after start_date")
    elif start is not None:
        end = start + WINDOW
    elif end is not None:
        start = end - WINDOW
    else:
        start, end = now - WINDOW, now
    return Query([], codes, statuses, start, end)


def _holds_open(organisation_id: uuid.UUID) -> Any:
    return exists().where(
        Task.case_id == Case.id,
        Task.organisation_id == organisation_id,
        Task.status.in_(OPEN),
    )


MediaLink = Callable[[str, uuid.UUID], str]
"""(photo sha256, the key's user id) -> a signed media URL; made by the view."""


def list_requests(
    session: Session, key: Open311Key, query: Query, media_link: MediaLink
) -> list[dict[str, Any]]:
    """The cases the key's organisation holds or held, newest first, as service requests."""
    statement = visible_cases(select(Case), key.user)
    if query.ids:
        statement = statement.where(Case.id.in_(query.ids))
    else:
        statement = statement.where(Case.created_at >= query.start, Case.created_at <= query.end)
        if query.service_codes:
            statement = statement.where(Case.category.in_(query.service_codes))
        if query.statuses == ["open"]:
            statement = statement.where(_holds_open(key.organisation_id))
        elif query.statuses == ["closed"]:
            statement = statement.where(~_holds_open(key.organisation_id))
    rows = list(
        session.execute(
            statement.order_by(Case.created_at.desc(), Case.id.desc()).limit(MAX_REQUESTS)
        ).scalars()
    )
    return _documents(session, key, rows, media_link)


def get_request(
    session: Session, key: Open311Key, raw_id: str, media_link: MediaLink
) -> list[dict[str, Any]]:
    try:
        case_id = uuid.UUID(raw_id)
    except ValueError:
        case_id = None
    case = None
    if case_id is not None:
        case = session.execute(
            visible_cases(select(Case).where(Case.id == case_id), key.user)
        ).scalar_one_or_none()
    if case is None:
        raise NotFound("No service request with this id.", code="request_not_found")
    return _documents(session, key, [case], media_link)


def _documents(
    session: Session, key: Open311Key, cases: Sequence[Case], media_link: MediaLink
) -> list[dict[str, Any]]:
    if not cases:
        return []
    ids = [c.id for c in cases]
    views = {
        v.id: v
        for v in visibility.case_views(session, cases, visibility.access(session, key.user, ids))
    }
    tasks: dict[uuid.UUID, list[Task]] = {}
    for task in session.execute(
        select(Task).where(Task.case_id.in_(ids)).order_by(Task.routed_at, Task.id)
    ).scalars():
        tasks.setdefault(task.case_id, []).append(task)  # type: ignore[arg-type]
    # The notes of the reports the organisation sees, oldest first (none in a history view).
    notes = {case_id: [r.note for r in view.reports if r.note] for case_id, view in views.items()}
    photos = _first_photos(session, key.user, ids)
    names = dict(session.execute(select(Category.code, Category.label_sv)).all())
    zones = dict(session.execute(select(Zone.slug, Zone.name)).all())
    return [
        _document(
            views[case.id],
            tasks.get(case.id, []),
            key.organisation_id,
            notes.get(case.id, []),
            media_link(photos[case.id], key.user_id) if case.id in photos else None,
            names,
            zones,
        )
        for case in cases
    ]


def _first_photos(session: Session, user: User, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each case's first processed photo that ``user`` may see (the photo rule decides).
    Only photos the report's author uploaded count, as in ``photos.report_photos``: a hash
    listed without its bytes attaches nothing, not someone else's photo of another case."""
    found: dict[uuid.UUID, str] = {}
    rows = session.execute(
        select(Report.case_id, Photo)
        .join(ReportPhoto, ReportPhoto.report_id == Report.id)
        .join(
            PhotoUploader,
            reporter_possesses(),
        )
        .join(Photo, Photo.sha256 == ReportPhoto.sha256)
        .where(Report.case_id.in_(case_ids), Photo.status == "ready")
        .order_by(Report.occurred_at, Report.id, ReportPhoto.position)
    ).all()
    for case_id, photo in rows:
        if case_id is not None and case_id not in found and can_view(session, user, photo):
            found[case_id] = photo.sha256
    return found


def _status_notes(case: visibility.CaseView, own: Task | None, current: Task | None) -> str:
    if case.status == MERGED:
        return f"Merged into service request {case.merged_into_id}."
    if own is None:  # pragma: no cover - a visible case has a task of the organisation
        return ""
    org = own.organisation.name
    if own.status == NEW:
        return f"Routed to {org}; not acknowledged yet."
    if own.status == ACKNOWLEDGED:
        return f"Acknowledged by {org}."
    if own.status == IN_PROGRESS:
        return f"In progress at {org}."
    if own.status == RESOLVED:
        return f"Resolved by {org}."
    # Rejected: the organisation no longer holds the case, so it sees its history view. Where
    # its rejection sent the case, not what became of it there.
    elsewhere = ""
    if current is not None and current.id != own.id:
        elsewhere = f"; passed on to {current.organisation.name}"
    return f"Rejected by {org}{elsewhere}."


def _document(
    case: visibility.CaseView,
    tasks: list[Task],
    organisation_id: uuid.UUID,
    notes: list[str],
    media_url: str | None,
    names: Mapping[str, str],
    zones: Mapping[str, str],
) -> dict[str, Any]:
    """One case as the key's organisation sees it: ``open`` while it holds an open task for
    it, ``closed`` once it resolved it, rejected it or the case was merged away. In a history
    view nothing that happened after its last task closed is told: only its own tasks and
    those its rejections routed the case to (made in the same transaction), no later
    deadline or update time, the position rounded."""
    history = case.view == visibility.HISTORY
    if history:
        mine = {t.id for t in tasks if t.organisation_id == organisation_id}
        tasks = [t for t in tasks if t.id in mine or t.rerouted_from_id in mine]
    own_tasks = [t for t in tasks if t.organisation_id == organisation_id]
    own = next((t for t in reversed(own_tasks) if t.status in OPEN), None) or (
        own_tasks[-1] if own_tasks else None
    )
    current = (tasks[-1] if tasks else None) if history else None
    current = (
        current
        or next((t for t in reversed(tasks) if t.status in OPEN), None)
        or (tasks[-1] if tasks else None)
    )
    is_open = own is not None and own.status in OPEN and case.status != MERGED
    updated = max(
        [case.created_at]
        + [t.updated_at for t in tasks]
        + ([case.resolved_at] if case.resolved_at else [])
    )
    if case.as_of is not None:
        updated = min(updated, case.as_of)
    description = "\n\n".join(notes)[:DESCRIPTION_MAX] or None
    return {
        "service_request_id": str(case.id),
        "status": "open" if is_open else "closed",
        "status_notes": _status_notes(case, own, current),
        "service_name": names.get(case.category, case.category),
        "service_code": case.category,
        "description": description,
        "agency_responsible": current.organisation.name if current else None,
        "service_notice": None,
        "requested_datetime": case.created_at,
        "updated_datetime": updated,
        "expected_datetime": (
            current.due_at if current and current.status in OPEN and not history else None
        ),
        "address": zones.get(case.zone) if case.zone else None,
        "address_id": None,
        "zipcode": None,
        "lat": case.lat,
        "long": case.lon,
        "media_url": media_url,
    }
