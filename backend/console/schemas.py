"""What the console's pages and forms accept. Empty form fields mean "no filter", so a filter
form submitted with nothing chosen gives the same URL meaning as no query at all."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from backend.cases.schemas import MAX_SPLIT_REPORTS
from backend.organisations.schemas import SLUG

CASE_STATUSES = ("open", "resolved", "merged")


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
    date = ma.fields.Date()
    overdue = ma.fields.Boolean()
    cursor = ma.fields.String(validate=validate.Length(max=200))


class DayQuerySchema(_Form):
    date = ma.fields.Date()
    zone = ma.fields.String(validate=SLUG)


class RangeQuerySchema(_Form):
    from_ = ma.fields.Date(data_key="from")
    to = ma.fields.Date()
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
