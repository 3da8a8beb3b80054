"""What the console's pages and forms accept. Empty form fields mean "no filter", so a filter
form submitted with nothing chosen gives the same URL meaning as no query at all."""

from __future__ import annotations

from datetime import date
from typing import Any

import marshmallow as ma
from marshmallow import validate

from backend.cases.schemas import MAX_SPLIT_REPORTS
from backend.organisations.schemas import SLUG

CASE_STATUSES = ("open", "resolved", "merged")
DAYS = validate.Range(date(2000, 1, 1), date(2999, 12, 31))
"""Days a page may ask for: no record of this service can lie outside (and year 1 or 9999
would overflow the local day's bounds in UTC)."""


class _Form(ma.Schema):
    """Blank values are absent; unknown keys (``lang``, htmx's) are ignored."""

    class Meta:
        unknown = ma.EXCLUDE

    @ma.pre_load
    def _drop_blank(self, data: Any, **_: Any) -> dict[str, Any]:
        return {k: v for k, v in dict(data).items() if v not in ("", None)}


class CaseFilterSchema(_Form):
    status = ma.fields.String(validate=validate.OneOf(CASE_STATUSES))
    category = ma.fields.String(validate=validate.Length(1, 64))
    zone = ma.fields.String(validate=SLUG)
    date = ma.fields.Date(validate=DAYS)
    overdue = ma.fields.Boolean()
    cursor = ma.fields.String(validate=validate.Length(max=200))


class DayQuerySchema(_Form):
    date = ma.fields.Date(validate=DAYS)
    zone = ma.fields.String(validate=SLUG)


class RangeQuerySchema(_Form):
    from_ = ma.fields.Date(data_key="from", validate=DAYS)
    to = ma.fields.Date(validate=DAYS)
    zone = ma.fields.String(validate=SLUG)


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
