"""What the console's pages and forms accept. Empty form fields mean "no filter", so a filter
form submitted with nothing chosen gives the same URL meaning as no query at all."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from backend.cases.schemas import MAX_SPLIT_REPORTS
from backend.contacts.services import READ_REASONS
from backend.delivery.models import STATUSES as DELIVERY_STATUSES
from backend.fields import Day
from backend.organisations.schemas import (
    CHANNELS,
    SLUG,
    WEBHOOK_URL,
)
from backend.pagination import MAX_CURSOR_LENGTH
from backend.reference import catalogue
from backend.roles import ROLES
from backend.tasks.models import STATUSES as TASK_STATUSES
from backend.tasks.schemas import TaskEventInSchema

CASE_STATUSES = ("open", "resolved", "merged")
CATEGORY = validate.OneOf(catalogue.category_codes())
ZONE = SLUG
"""A zone filter is a slug here; the services answer a slug that names no zone with 422
``unknown_zone`` (``backend.reference.services.check_zone``), as the API does: an error on the
page, not an empty list that looks like "nothing happened"."""


class _Form(ma.Schema):
    """Blank values are absent; unknown keys (``lang``, htmx's) are ignored."""

    class Meta:
        unknown = ma.EXCLUDE

    @ma.pre_load
    def _drop_blank(self, data: Any, **_: Any) -> dict[str, Any]:
        return {k: v for k, v in dict(data).items() if v not in ("", None)}


class CaseFilterSchema(_Form):
    status = ma.fields.String(validate=validate.OneOf(CASE_STATUSES))
    category = ma.fields.String(validate=CATEGORY)
    zone = ma.fields.String(validate=ZONE)
    date = Day()
    overdue = ma.fields.Boolean()
    cursor = ma.fields.String(validate=validate.Length(max=200))


class DayQuerySchema(_Form):
    date = Day()
    zone = ma.fields.String(validate=ZONE)


class RangeQuerySchema(_Form):
    from_ = Day(data_key="from")
    to = Day()
    zone = ma.fields.String(validate=ZONE)


class SignInSchema(_Form):
    email = ma.fields.String(required=True, validate=validate.Length(1, 320))
    password = ma.fields.String(required=True, validate=validate.Length(1, 1024))
    next = ma.fields.String(validate=validate.Length(max=2000))


class SplitFormSchema(ma.Schema):
    report_ids = ma.fields.List(
        ma.fields.UUID(), required=True, validate=validate.Length(1, MAX_SPLIT_REPORTS)
    )


class MergeFormSchema(_Form):
    case_id = ma.fields.UUID(required=True)


class TaskFilterSchema(_Form):
    """The board's filters; with none given it shows the open tasks."""

    status = ma.fields.String(
        load_default="open", validate=validate.OneOf((*TASK_STATUSES, "open", "all"))
    )
    category = ma.fields.String(validate=CATEGORY)
    zone = ma.fields.String(validate=ZONE)
    organisation = ma.fields.String(validate=SLUG)
    overdue = ma.fields.Boolean()


class TaskEventFormSchema(_Form, TaskEventInSchema):
    """The API's event body from a form: a blank note or reroute is none."""


class ContactReadFormSchema(_Form):
    reason = ma.fields.String(required=True, validate=validate.OneOf(READ_REASONS))


class UserFilterSchema(_Form):
    role = ma.fields.String(validate=validate.OneOf(ROLES))
    organisation = ma.fields.String(validate=SLUG)


class UserCreateFormSchema(_Form):
    name = ma.fields.String(required=True, validate=validate.Length(1, 200))
    role = ma.fields.String(required=True, validate=validate.OneOf(ROLES))
    organisation = ma.fields.String(required=True, validate=SLUG)
    label = ma.fields.String(load_default="", validate=validate.Length(0, 100))
    email = ma.fields.String(validate=validate.Length(1, 320))
    password = ma.fields.String(validate=validate.Length(1, 1024))


class UserUpdateFormSchema(_Form):
    name = ma.fields.String(required=True, validate=validate.Length(1, 200))
    role = ma.fields.String(required=True, validate=validate.OneOf(ROLES))
    organisation = ma.fields.String(required=True, validate=SLUG)
    active = ma.fields.Boolean(load_default=False)
    """An unticked checkbox sends nothing: absent is inactive."""


class TokenFormSchema(_Form):
    label = ma.fields.String(load_default="", validate=validate.Length(0, 100))


class OrganisationFormSchema(_Form):
    """Create (with ``slug``) or change an organisation; the webhook secret is never typed in
    (the console generates it and shows it once)."""

    slug = ma.fields.String(validate=SLUG)
    name = ma.fields.String(required=True, validate=validate.Length(1, 200))
    channel = ma.fields.String(load_default="inbox", validate=validate.OneOf(CHANNELS))
    webhook_url = ma.fields.String(
        load_default=None, validate=[validate.Length(max=2000), WEBHOOK_URL]
    )
    email = ma.fields.Email(load_default=None, validate=validate.Length(max=320))
    active = ma.fields.Boolean(load_default=False)


class DeliveryFilterSchema(_Form):
    status = ma.fields.String(load_default="failed", validate=validate.OneOf(DELIVERY_STATUSES))
    organisation = ma.fields.String(validate=SLUG)
    cursor = ma.fields.String(validate=validate.Length(max=MAX_CURSOR_LENGTH))


class AuditFilterSchema(_Form):
    contact_id = ma.fields.UUID()
    reader_id = ma.fields.UUID()
    cursor = ma.fields.String(validate=validate.Length(max=MAX_CURSOR_LENGTH))


class StatsQuerySchema(_Form):
    """The Statistik page's query (the days of ``backend.fields.Day``, as every page)."""

    from_ = Day(data_key="from")
    to = Day()
    zone = ma.fields.String(validate=ZONE)
