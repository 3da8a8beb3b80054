"""The contact API's shapes: the list query, a contact, aggregates, the audit log."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend import pagination
from backend.contacts.services import READ_REASONS
from backend.fields import Day, Timestamp
from backend.organisations.schemas import SLUG
from backend.reference import catalogue


class ContactQuerySchema(ma.Schema):
    reason = ma.fields.String(
        validate=validate.OneOf(READ_REASONS),
        metadata={
            "description": "Why you read it (written to the audit log); required unless you "
            "are its author. The author may give own_record, follow_up, correction; the "
            "referred organisation referral_intake, follow_up, correction"
        },
    )


class ContactSchema(ma.Schema):
    id = ma.fields.UUID()
    contact_type = ma.fields.String()
    age_group = ma.fields.String()
    needs = ma.fields.List(ma.fields.String())
    referral = ma.fields.String(allow_none=True, metadata={"description": "Organisation slug"})
    zone = ma.fields.String(allow_none=True)
    occurred_at = ma.fields.DateTime()


class AggregateArgsSchema(ma.Schema):
    from_ = Day(
        required=True,
        data_key="from",
        metadata={"description": "First day asked for"},
    )
    to = Day(
        required=True,
        metadata={
            "description": "Last day asked for, inclusive: on or after from (range_reversed), "
            "at most CONTACT_AGGREGATE_MAX_DAYS days after from (range_too_long). The answer "
            "covers the week, month, quarter or ISO year that holds the range's weeks (see "
            "from/to and period in the answer)"
        },
    )
    zone = ma.fields.String(
        validate=SLUG,
        # Enumerated in the document; the service answers another slug with unknown_zone.
        metadata={"description": "Only this zone", "enum": list(catalogue.zone_slugs())},
    )


class CellSchema(ma.Schema):
    key = ma.fields.String(metadata={"description": "The value counted; '' for no zone"})
    count = ma.fields.Integer(
        allow_none=True,
        metadata={
            "description": "The count rounded down to a multiple of rounding_base: 10 stands "
            "for 10 to 14. null (suppressed) for 0 to rounding_base - 1: zero looks the same"
        },
    )
    suppressed = ma.fields.Boolean(metadata={"description": "count is null"})


class AggregatesSchema(ma.Schema):
    from_ = ma.fields.String(
        data_key="from",
        attribute="from",
        metadata={"description": "First day counted: the Monday of the period's first week"},
    )
    to = ma.fields.String(
        metadata={"description": "Last day counted: the Sunday of the period's last week"}
    )
    period = ma.fields.String(
        metadata={
            "description": "What was counted: 2026-W10 (a week), 2026-03 (the weeks whose "
            "Thursday is in March), 2026-Q1, or 2026 (an ISO year)"
        }
    )
    period_kind = ma.fields.String(validate=validate.OneOf(("week", "month", "quarter", "year")))
    requested_from = ma.fields.String(metadata={"description": "from as asked"})
    requested_to = ma.fields.String(metadata={"description": "to as asked"})
    timezone = ma.fields.String()
    zone = ma.fields.String(allow_none=True)
    rounding_base = ma.fields.Integer(
        metadata={"description": "Every count, the total included, is rounded down to this"}
    )
    min_count = ma.fields.Integer(
        metadata={"description": "The smallest count shown; below it (zero included): null"}
    )
    total = ma.fields.Integer(allow_none=True, metadata={"description": "Rounded like a cell"})
    total_suppressed = ma.fields.Boolean()
    by_type = ma.fields.List(ma.fields.Nested(CellSchema))
    by_need = ma.fields.List(
        ma.fields.Nested(CellSchema),
        metadata={"description": "A contact counts once per need; 'none' for no need"},
    )
    by_age_group = ma.fields.List(ma.fields.Nested(CellSchema))
    by_zone = ma.fields.List(
        ma.fields.Nested(CellSchema),
        metadata={"description": "Every zone and '' (none); with zone=, that zone only"},
    )
    by_hour = ma.fields.List(
        ma.fields.Nested(CellSchema), metadata={"description": "Local hour of day, 00-23"}
    )
    by_week = ma.fields.List(
        ma.fields.Nested(CellSchema),
        metadata={"description": "Every ISO week of the period, e.g. 2026-W43"},
    )


class AuditArgsSchema(ma.Schema):
    cursor = pagination.cursor_field()
    limit = pagination.limit_field(100, 500)
    contact_id = ma.fields.UUID()
    reader_id = ma.fields.UUID()
    since = Timestamp(metadata={"description": "Reads at or after this time"})
    until = Timestamp(metadata={"description": "Reads before this time"})


class ContactReadSchema(ma.Schema):
    seq = ma.fields.Integer()
    contact_id = ma.fields.UUID()
    reader_id = ma.fields.UUID()
    reader_role = ma.fields.String()
    reader_organisation = ma.fields.String()
    reason = ma.fields.String()
    read_at = ma.fields.DateTime()


class AuditPageSchema(pagination.PageSchema):
    items = ma.fields.List(ma.fields.Nested(ContactReadSchema))
