"""Open311 use cases: the service list, cases as service requests, reports from another
system, and the updates its organisation posts. Each takes a session and plain values and
returns plain dicts that ``documents`` renders.

A key is its organisation's and acts through the key's department user, so it sees and may
do exactly what that organisation's department users see and do: the cases the organisation
holds or held (``cases.services.visible_cases``), each in the view need-to-know gives it
(``backend.cases.visibility``: in full while it holds an open task, afterwards as the case
was when its last task closed), and its own tasks (``apply_event``).
Contacts are never service requests: only cases are listed, and no service creates one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.cases import visibility
from backend.cases.models import MERGED, Case
from backend.cases.services import visible_cases
from backend.errors import BadRequest, Forbidden, NotFound
from backend.open311 import params
from backend.open311.documents import w3c
from backend.open311.models import Open311Key, Open311Update
from backend.photos.models import Photo, PhotoUploader
from backend.photos.possession import reporter_possesses
from backend.photos.services import can_view
from backend.reference.models import Category, Zone
from backend.reports.models import Report, ReportPhoto
from backend.sync.services import Batch, SyncSettings, push
from backend.tasks.models import (
    ACKNOWLEDGED,
    IN_PROGRESS,
    NEW,
    OPEN,
    REJECTED,
    RESOLVED,
    Task,
)
from backend.tasks.schemas import NOTE_MAX
from backend.tasks.services import apply_event
from backend.users.models import User
from media.storage import Storage, key

JURISDICTION_ID = "stockholm.se"
"""The spec suggests the jurisdiction's web root; this endpoint serves one, so the parameter is
optional and any other value is 404 ``jurisdiction_not_found``."""

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-01T00:00:00Z"
"""When this endpoint's interface last changed (discovery's ``changeset``)."""

MAX_REQUESTS = 1000
WINDOW = timedelta(days=90)
"""The spec's response volume: "a span of 90 days or first 1000 requests, whichever is
smallest", and a longer explicit range is refused."""

DESCRIPTION_MAX = 4000
"""The spec limits ``description`` to 4,000 characters, in and out."""
UPDATE_NOTE_MAX = NOTE_MAX
"""An update's description becomes the task event's note: as long as a note in the console."""


NAMESPACE = uuid.UUID("5d0c6f5e-58a4-4c51-9a0e-0b3cb0d1f311")
"""uuid5 namespace of the item ids of reports posted through Open311 (see ``item_id``)."""

UPDATE_STATUSES: dict[str, str] = {
    "OPEN": ACKNOWLEDGED,
    "INVESTIGATING": ACKNOWLEDGED,
    "ACTION_SCHEDULED": IN_PROGRESS,
    "IN_PROGRESS": IN_PROGRESS,
    "CLOSED": RESOLVED,
    "FIXED": RESOLVED,
    "NOT_COUNCILS_RESPONSIBILITY": REJECTED,
}
"""FixMyStreet's update statuses (its "additional states") -> the task status they ask for.
DUPLICATE, NO_FURTHER_ACTION and INTERNAL_REFERRAL are refused: a duplicate is merged by a
supervisor, and handing a case on is a rejection, which routes it on."""

_STEPS: dict[str, tuple[str, ...]] = {NEW: (), ACKNOWLEDGED: ("acknowledge",)}
_STEPS[IN_PROGRESS] = (*_STEPS[ACKNOWLEDGED], "start")
_STEPS[RESOLVED] = (*_STEPS[IN_PROGRESS], "resolve")
_ORDER = (NEW, ACKNOWLEDGED, IN_PROGRESS, RESOLVED)

log = logging.getLogger(__name__)


# Services -------------------------------------------------------------------------------------


def _categories(session: Session, active_only: bool = True) -> list[Category]:
    query = select(Category).order_by(Category.code)
    if active_only:
        query = query.where(Category.active.is_(True))
    return list(session.execute(query).scalars())


def attributes_of(category: Category) -> list[dict[str, Any]]:
    """The category's Open311 attributes (``open311_attributes`` in categories.toml)."""
    return list((category.settings or {}).get("open311_attributes", []))


def services(session: Session) -> list[dict[str, Any]]:
    """One service per active category: ``service_code`` its code, ``group`` its kind."""
    return [
        {
            "service_code": c.code,
            "service_name": c.label_sv,
            "description": c.label_en,
            "metadata": bool(attributes_of(c)),
            "type": "realtime",
            "keywords": ", ".join((c.code, c.label_en)),
            "group": c.kind,
        }
        for c in _categories(session)
    ]


def _category(session: Session, code: str) -> Category:
    category = session.get(Category, code)
    if category is None or not category.active:
        raise NotFound(
            f"service_code: no service {code[:64]!r}; GET services for the list.",
            code="service_not_found",
            errors={"service_code": [f"no service {code[:64]!r}"]},
        )
    return category


def service_definition(session: Session, code: str) -> dict[str, Any]:
    category = _category(session, code)
    return {
        "service_code": category.code,
        "attributes": [
            {
                "variable": True,
                "code": a["code"],
                "datatype": a["datatype"],
                "required": bool(a.get("required", False)),
                "datatype_description": a.get("datatype_description"),
                "order": n,
                "description": a["description"],
                "values": [{"key": v["key"], "name": v["name"]} for v in a.get("values", [])],
            }
            for n, a in enumerate(attributes_of(category), start=1)
        ],
    }


def discovery(base_url: str) -> dict[str, Any]:
    return {
        "changeset": CHANGESET,
        "contact": "Samverkan Field administrators, City i Samverkan",
        "key_service": "Keys are issued per organisation by the administrators "
        "(flask --app wsgi open311 issue-key --org SLUG).",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base_url.rstrip("/") + "/open311/v2",
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


# Service requests -----------------------------------------------------------------------------


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
    known = {c.code for c in _categories(session, active_only=False)}
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


# POST requests --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewRequest:
    service_code: str
    lat: float
    lon: float
    description: str | None
    attributes: dict[str, str]
    media_url: str | None


def _attribute_lines(category: Category, given: Mapping[str, str]) -> list[str]:
    """The attribute values as lines of the report's note, checked against the definition."""
    defined = {a["code"]: a for a in attributes_of(category)}
    for code in given:
        if code not in defined:
            raise params.bad(
                "unknown_attribute", f"attribute[{code[:40]}]", "is not in the service definition"
            )
    lines = []
    for code, attribute in defined.items():
        value = given.get(code)
        if value is None:
            if attribute.get("required"):
                raise params.bad("missing_parameter", f"attribute[{code}]", "is required")
            continue
        if attribute["datatype"] == "number":
            try:
                float(value)
            except ValueError:
                raise params.bad(
                    "invalid_attribute", f"attribute[{code}]", "must be a number"
                ) from None
        allowed = {v["key"]: v["name"] for v in attribute.get("values", [])}
        if allowed and value not in allowed:
            raise params.bad(
                "invalid_attribute", f"attribute[{code}]", f"must be one of {', '.join(allowed)}"
            )
        lines.append(f"{attribute['description']}: {allowed.get(value, value)}")
    return lines


def item_id(organisation_id: uuid.UUID, idempotency_key: str) -> uuid.UUID:
    """The push item id of a posted report: the same for a resend, so the sync ledger's unique
    id stores it once (see the README: resends)."""
    return uuid.uuid5(NAMESPACE, f"{organisation_id}|{idempotency_key}")


def request_fingerprint(fields: Mapping[str, Sequence[str]], day: str) -> str:
    """Without an ``Idempotency-Key``: the request's own content (every parameter but the key)
    and the UTC day, so an identical resend the same day is recognised, while the same words
    about the same place on another day are a new report."""
    content = {k: list(v) for k, v in sorted(fields.items()) if k != "api_key"}
    blob = json.dumps([day, content], sort_keys=True, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode("utf-8", errors="replace")).hexdigest()


_REJECTION_FIELDS = {"category": "service_code", "note": "description", "location.lat": "lat"}


def create_request(
    session: Session,
    key: Open311Key,
    new: NewRequest,
    idempotency_key: str,
    settings: SyncSettings,
    now: datetime,
) -> dict[str, Any]:
    """Store a report from the organisation's system as the phones' push does (the same use
    case: ledger, case placement, routing), and answer with its service request. Commits."""
    category = _category(session, new.service_code)
    # The phones' service area (SERVICE_AREA): a report from another system outside it is 400
    # outside_service_area, as nobody here can act on it.
    if not settings.limits.area.contains(new.lat, new.lon):
        raise params.bad(
            "outside_service_area",
            "lat",
            f"the location is outside the service area ({settings.limits.area.describe()})",
        )
    lines = _attribute_lines(category, new.attributes)
    if new.media_url:
        lines.append(f"Media: {new.media_url}")
    note = "\n".join([new.description or "", *lines]).strip()
    report_id = item_id(key.organisation_id, idempotency_key)
    item = {
        "type": "report",
        "id": str(report_id),
        "captured_at": now.isoformat(),
        "location": {"lat": new.lat, "lon": new.lon},
        "kind": category.kind,
        "category": category.code,
        "note": note,
    }
    batch = Batch(
        device_id=f"open311:{key.prefix}", app_version="open311", sent_at=now, items=[item]
    )
    (result,) = push(session, key.user, batch, settings, now=now).results
    if result.status == "rejected":
        raise BadRequest(
            "The report was refused.",
            code=result.code or "rejected",
            errors={_REJECTION_FIELDS.get(f, f): m for f, m in result.errors.items()},
        )
    case_id = result.case_id
    joined = bool(result.joined_case)
    if result.status == "conflict":
        stored = session.get(Report, report_id)
        same = stored is not None and (stored.category, stored.lat, stored.lon, stored.note) == (
            category.code,
            new.lat,
            new.lon,
            note,
        )
        if not same or stored is None:
            raise params.bad(
                "idempotency_key_reused",
                "Idempotency-Key",
                "was used before for a different request; nothing was stored",
            )
        case_id, joined = stored.case_id, True
    return {
        "service_request_id": str(case_id),
        "service_notice": _notice(session, case_id, joined, result.status == "created"),
        "account_id": str(key.user_id),
    }


def _notice(session: Session, case_id: uuid.UUID | None, joined: bool, created: bool) -> str:
    task = session.execute(
        select(Task)
        .where(Task.case_id == case_id)
        .order_by(Task.routed_at.desc(), Task.id.desc())
        .limit(1)
    ).scalar()
    session.commit()
    start = "Received" if created else "Already received (a resend)"
    if joined and created:
        start = "Received; it joined an open service request about the same thing"
    if task is None:  # pragma: no cover - a new report's case is routed in its push
        return f"{start}; routing shortly."
    return f"{start}; with {task.organisation.name} ({task.status}), due {w3c(task.due_at)}."


# POST servicerequestupdates -------------------------------------------------------------------


@dataclass(frozen=True)
class NewUpdate:
    service_request_id: str
    update_id: str
    updated_datetime: datetime
    status: str
    description: str | None


def _steps(current: str, target: str) -> tuple[str, ...]:
    """The task actions that take a task from ``current`` to ``target``: a department's
    clicks in order, so the phones hear every one. Nothing when it is already there or past."""
    if current == target:
        return ()
    if current == RESOLVED:
        pass  # a resolved task stays resolved: fall through to the refusal
    elif target == REJECTED:
        if current in OPEN:
            return ("reject",)
    elif current in _ORDER:
        done = _STEPS[current]
        if _ORDER.index(current) >= _ORDER.index(target):
            return ()
        return _STEPS[target][len(done) :]
    raise params.bad(
        "request_closed",
        "status",
        f"your organisation's task is {current}: it can no longer be moved; "
        "a new report of the same place starts a new service request",
    )


def post_update(session: Session, key: Open311Key, update: NewUpdate) -> list[dict[str, str]]:
    """Move the organisation's task for the case as the update asks, through the same service
    call as the console (``apply_event``), with the update's row in the same transaction. The
    same ``update_id`` again changes nothing (the unique constraint decides). Commits."""
    target = UPDATE_STATUSES.get(update.status.upper())
    if target is None:
        raise params.bad(
            "unsupported_status", "status", f"must be one of {', '.join(UPDATE_STATUSES)}"
        )
    try:
        case_id = uuid.UUID(update.service_request_id)
    except ValueError:
        case_id = None
    visible = (
        case_id is not None
        and session.execute(
            visible_cases(select(Case.id).where(Case.id == case_id), key.user)
        ).first()
    )
    task = None
    if visible:
        task = session.execute(
            select(Task)
            .where(Task.case_id == case_id, Task.organisation_id == key.organisation_id)
            .order_by(Task.routed_at.desc(), Task.id.desc())
            .limit(1)
        ).scalar()
    if task is None or case_id is None:
        raise NotFound("No service request with this id.", code="request_not_found")
    row = Open311Update(
        organisation_id=key.organisation_id,
        key_id=key.id,
        update_id=update.update_id,
        case_id=case_id,
        task_id=task.id,
        status=update.status.upper(),
        description=update.description or "",
        updated_datetime=update.updated_datetime,
        task_status=task.status,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return _replay(session, key, update, case_id)
    steps = _steps(task.status, target)
    for n, action in enumerate(steps):
        last = n == len(steps) - 1
        task = apply_event(
            session, key.user, task.id, action, note=update.description if last else None
        )
    row.task_status = task.status
    session.commit()
    return [{"update_id": str(row.id)}]


def _replay(
    session: Session, key: Open311Key, update: NewUpdate, case_id: uuid.UUID
) -> list[dict[str, str]]:
    stored = session.execute(
        select(Open311Update).where(
            Open311Update.organisation_id == key.organisation_id,
            Open311Update.update_id == update.update_id,
        )
    ).scalar_one()
    session.commit()
    same = (stored.case_id, stored.status, stored.description) == (
        case_id,
        update.status.upper(),
        update.description or "",
    )
    if not same:
        raise params.bad(
            "update_id_reused",
            "update_id",
            "was posted before with other content; nothing was changed",
        )
    return [{"update_id": str(stored.id)}]


# Media links ----------------------------------------------------------------------------------


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="open311-media")


def sign_media(secret_key: str, sha256: str, user_id: uuid.UUID) -> str:
    """A token naming the photo and the key's user: valid until it expires, the key is
    revoked, or the organisation may no longer see the photo (all checked when it is used)."""
    return str(_serializer(secret_key).dumps([sha256, str(user_id)]))


def media(session: Session, storage: Storage, secret_key: str, token: str, max_age_s: int) -> bytes:
    """The sanitised full-size JPEG a media link names; never the original bytes."""
    try:
        sha256, user_id = _serializer(secret_key).loads(token, max_age=max_age_s)
    except SignatureExpired:
        raise Forbidden(
            "This media link has expired; GET the service request again for a fresh one.",
            code="media_link_expired",
        ) from None
    except (BadSignature, ValueError, TypeError):
        sha256 = user_id = None
    user = session.get(User, uuid.UUID(user_id)) if isinstance(user_id, str) else None
    photo = session.get(Photo, sha256) if isinstance(sha256, str) else None
    session.commit()
    if (
        user is None
        or photo is None
        or not user.active
        or photo.status != "ready"
        or not can_view(session, user, photo)
    ):
        raise NotFound("No media at this link.", code="media_not_found")
    try:
        return storage.get(key("full", photo.sha256))
    except FileNotFoundError:
        # The row says ready but the image is gone (a restored database, a store emptied by
        # hand): as the photo API answers, not a 500.
        log.error("photo %s is ready but its full image is missing", photo.sha256)
        raise NotFound("No media at this link.", code="media_not_found") from None
