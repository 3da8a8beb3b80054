"""The task API's shapes: a task, its detail with reports and events, an event posted."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend import pagination
from backend.cases.schemas import ROUNDED, VIEW_DESCRIPTION, ZONE_FILTER
from backend.database import utcnow
from backend.fields import Pattern
from backend.organisations.schemas import SLUG
from backend.reference import catalogue
from backend.tasks.models import STATUSES, Task
from backend.tasks.reads import TaskView
from backend.tasks.services import ACTIONS

# A page of tasks is one screen of a department's list; 200 rows is still a small response.
MAX_PAGE = 200
NOTE_MAX = 2000
"""A note is a sentence or two for the field worker; long prose belongs in the department's
own system."""


def _location(task: Task | TaskView) -> dict[str, float] | None:
    if task.lat is None or task.lon is None:
        return None
    return {"lat": task.lat, "lon": task.lon}


class LocationSchema(ma.Schema):
    lat = ma.fields.Float()
    lon = ma.fields.Float()


class TaskSchema(ma.Schema):
    id = ma.fields.UUID()
    case_id = ma.fields.UUID(
        allow_none=True, metadata={"description": "The case; null on a contact's task"}
    )
    contact_id = ma.fields.UUID(
        allow_none=True,
        metadata={
            "description": "A referred social-prevention contact; read it (audited) at "
            "/api/v1/contacts/{contact_id}. Null on a case's task, and once the contact's "
            "retention period has ended."
        },
    )
    organisation = ma.fields.Function(
        lambda t: t.organisation.slug, metadata={"type": "string", "description": "Slug"}
    )
    status = ma.fields.String(validate=validate.OneOf(STATUSES))
    kind = ma.fields.String()
    category = ma.fields.String(allow_none=True)
    zone = ma.fields.String(allow_none=True)
    location = ma.fields.Function(
        _location,
        metadata={
            "type": "object",
            "nullable": True,
            "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}},
            "description": f"The case's first report; null on a contact's task; {ROUNDED}",
        },
    )
    view = ma.fields.String(
        validate=validate.OneOf(("full", "history")), metadata={"description": VIEW_DESCRIPTION}
    )
    as_of = ma.fields.AwareDateTime(
        allow_none=True,
        metadata={"description": "history: when your organisation's last task closed"},
    )
    priority = ma.fields.String()
    deadline = ma.fields.String(metadata={"description": "The rule's deadline policy"})
    due_at = ma.fields.AwareDateTime()
    overdue = ma.fields.Function(
        lambda t: t.is_overdue(utcnow()),
        metadata={"type": "boolean", "description": "Open and past due_at"},
    )
    rule_id = ma.fields.String()
    rule_set_version = ma.fields.Integer()
    rerouted_from_id = ma.fields.UUID(allow_none=True)
    routed_at = ma.fields.AwareDateTime()
    resolved_at = ma.fields.AwareDateTime(allow_none=True)
    updated_at = ma.fields.AwareDateTime()


class ReportSchema(ma.Schema):
    id = ma.fields.UUID()
    kind = ma.fields.String()
    category = ma.fields.String()
    zone = ma.fields.String(allow_none=True)
    location = ma.fields.Function(
        lambda r: {"lat": r.lat, "lon": r.lon},
        metadata={
            "type": "object",
            "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}},
            "description": ROUNDED,
        },
    )
    note = ma.fields.String(allow_none=True, metadata={"description": "null in history"})
    occurred_at = ma.fields.AwareDateTime()
    photos = ma.fields.List(
        ma.fields.String(),
        metadata={
            "description": "SHA-256 of each photo the report lists (empty in history); a "
            "photo opens once its reporter has uploaded it"
        },
    )


class TaskEventSchema(ma.Schema):
    action = ma.fields.String()
    note = ma.fields.String(allow_none=True)
    user_id = ma.fields.UUID(allow_none=True, metadata={"description": "null: the system"})
    at = ma.fields.AwareDateTime()


class TaskDetailSchema(TaskSchema):
    reports = ma.fields.List(ma.fields.Nested(ReportSchema))
    events = ma.fields.List(ma.fields.Nested(TaskEventSchema))


class TaskPageSchema(pagination.PageSchema):
    items = ma.fields.List(ma.fields.Nested(TaskSchema))


class TaskQuerySchema(ma.Schema):
    status = ma.fields.String(
        validate=validate.OneOf((*STATUSES, "open")),
        metadata={"description": "open: new, acknowledged or in_progress"},
    )
    overdue = ma.fields.Boolean(metadata={"description": "true: open and past due_at"})
    zone = ma.fields.String(metadata=ZONE_FILTER)
    category = ma.fields.String(validate=validate.OneOf(catalogue.category_codes()))
    organisation = ma.fields.String(
        validate=SLUG, metadata={"description": "Only this organisation's (a slug)"}
    )
    cursor = pagination.cursor_field()
    limit = pagination.limit_field(50, MAX_PAGE)


class TaskEventInSchema(ma.Schema):
    action = ma.fields.String(required=True, validate=validate.OneOf(tuple(ACTIONS)))
    note = ma.fields.String(
        load_default=None,
        validate=[
            validate.Length(max=NOTE_MAX),
            # PostgreSQL text cannot hold NUL; refuse it here rather than fail at the insert.
            Pattern(r"^[^\x00]*$", error="must not contain NUL characters"),
        ],
    )
    reroute_to = ma.fields.String(
        load_default=None,
        validate=SLUG,
        metadata={"description": "With reject: the organisation to route the case to instead"},
    )
