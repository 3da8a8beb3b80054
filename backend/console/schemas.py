"""What the console's pages and forms accept. Empty form fields mean "no filter", so a filter
form submitted with nothing chosen gives the same URL meaning as no query at all."""

from __future__ import annotations

from datetime import date
from typing import Any

import marshmallow as ma
from marshmallow import validate

from backend.cases.schemas import MAX_SPLIT_REPORTS
from backend.contacts.services import READ_REASONS
from backend.delivery.models import STATUSES as DELIVERY_STATUSES
from backend.organisations.schemas import (
    CHANNELS,
    SLUG,
    WEBHOOK_URL,
)
from backend.reference import catalogue
from backend.stats.schemas import DATE_RANGE
from backend.tasks.models import STATUSES as TASK_STATUSES
from backend.tasks.schemas import TaskEventInSchema
from backend.users.models import ROLES

CASE_STATUSES = ("open", "resolved", "merged")
DAYS = validate.Range(date(2000, 1, 1), date(2999, 12, 31))
"""Days a page may ask for: no record of this service can lie outside (and year 1 or 9999
would overflow the local day's bounds in UTC)."""
CATEGORY = validate.OneOf(catalogue.category_codes())
ZONE = validate.OneOf(catalogue.zone_slugs())
"""Filters name what the catalogue knows: a mistyped one is an error on the page, not an
empty list that looks like "nothing happened" (as the API answers, 422)."""


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
    date = ma.fields.Date(validate=DAYS)
    overdue = ma.fields.Boolean()
    cursor = ma.fields.String(validate=validate.Length(max=200))


class DayQuerySchema(_Form):
    date = ma.fields.Date(validate=DAYS)
    zone = ma.fields.String(validate=ZONE)


class RangeQuerySchema(_Form):
    from_ = ma.fields.Date(data_key="from", validate=DAYS)
    to = ma.fields.Date(validate=DAYS)
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
    cursor = ma.fields.UUID()


class AuditFilterSchema(_Form):
    contact_id = ma.fields.UUID()
    reader_id = ma.fields.UUID()
    cursor = ma.fields.String(validate=validate.Length(max=20))


class StatsQuerySchema(_Form):
    """The Statistik page's query: the weekly statistics' own date bounds (2000-2099)."""

    from_ = ma.fields.Date(data_key="from", validate=DATE_RANGE)
    to = ma.fields.Date(validate=DATE_RANGE)
    zone = ma.fields.String(validate=ZONE)
