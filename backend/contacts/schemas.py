from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend.contacts.services import READ_REASONS
from backend.fields import Day, Timestamp
from backend.organisations.schemas import SLUG
from backend.reference import catalogue


class ContactQuerySchema(ma.Schema):
    reason = ma.fields.String(
        validate=validate.OneOf(READ_REASONS),
        metadata={
            "description": "Why you read it (written to the audit log); required unless you "
            "are its author"
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
    from_ = Day(required=True, data_key="from", metadata={"description": "First day"})
    to = Day(
        required=True,
        metadata={
            "description": "Last day, inclusive: on or after from (range_reversed), at most "
            "CONTACT_AGGREGATE_MAX_DAYS days (range_too_long)"
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
        allow_none=True, metadata={"description": "null when suppressed (a small count)"}
    )
    suppressed = ma.fields.Boolean()


class AggregatesSchema(ma.Schema):
    from_ = ma.fields.String(data_key="from", attribute="from")
    to = ma.fields.String()
    timezone = ma.fields.String()
    zone = ma.fields.String(allow_none=True)
    min_count = ma.fields.Integer(
        metadata={"description": "Counts from 1 to min_count - 1 are suppressed"}
    )
    total = ma.fields.Integer(allow_none=True)
    total_suppressed = ma.fields.Boolean()
    by_type = ma.fields.List(ma.fields.Nested(CellSchema))
    by_need = ma.fields.List(
        ma.fields.Nested(CellSchema), metadata={"description": "A contact counts once per need"}
    )
    by_age_group = ma.fields.List(ma.fields.Nested(CellSchema))
    by_zone = ma.fields.List(ma.fields.Nested(CellSchema))
    by_hour = ma.fields.List(
        ma.fields.Nested(CellSchema), metadata={"description": "Local hour of day, 00-23"}
    )
    by_week = ma.fields.List(
        ma.fields.Nested(CellSchema), metadata={"description": "ISO week, e.g. 2026-W43"}
    )


class AuditArgsSchema(ma.Schema):
    cursor = ma.fields.String(
        # Checked by the service (400 invalid_cursor), the pattern is the document's.
        metadata={"description": "next_cursor of the previous page", "pattern": r"^[0-9]{0,18}$"},
    )
    limit = ma.fields.Integer(load_default=100, validate=validate.Range(1, 500))
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


class AuditPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ContactReadSchema))
    next_cursor = ma.fields.String(
        allow_none=True, metadata={"description": "null on the last page"}
    )
