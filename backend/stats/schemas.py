"""Weekly statistics: query arguments and the answer's shape."""

from __future__ import annotations

import marshmallow as ma

from backend.contacts.schemas import AggregatesSchema
from backend.fields import Day
from backend.organisations.schemas import SLUG
from backend.reference import catalogue


class WeeklyArgsSchema(ma.Schema):
    from_ = Day(
        required=True,
        data_key="from",
        metadata={"description": "First day; the answer starts on the Monday of its ISO week"},
    )
    to = Day(
        required=True,
        metadata={
            "description": "Last day, inclusive; the answer ends on the Sunday of its ISO week. "
            "At most STATS_WEEKLY_MAX_DAYS days after from"
        },
    )
    zone = ma.fields.String(
        validate=SLUG,
        # Enumerated in the document; the service answers another slug with unknown_zone.
        metadata={"description": "Only this zone", "enum": list(catalogue.zone_slugs())},
    )
    organisation = ma.fields.String(
        validate=SLUG,
        metadata={
            "description": "Only this organisation's task figures (a department: its own, the "
            "default)"
        },
    )


class CountSchema(ma.Schema):
    key = ma.fields.String()
    count = ma.fields.Integer()


class ReportsSchema(ma.Schema):
    total = ma.fields.Integer(metadata={"description": "Reports captured in the week"})
    by_kind = ma.fields.List(ma.fields.Nested(CountSchema))
    by_category = ma.fields.List(ma.fields.Nested(CountSchema))


class CasesSchema(ma.Schema):
    opened = ma.fields.Integer(
        metadata={"description": "Cases the service opened (received the first report)"}
    )
    resolved = ma.fields.Integer()


class HoursSchema(ma.Schema):
    median = ma.fields.Float(allow_none=True, metadata={"description": "null: none measured"})
    p90 = ma.fields.Float(allow_none=True, metadata={"description": "90th percentile"})


class OrganisationWeekSchema(ma.Schema):
    organisation = ma.fields.String()
    received = ma.fields.Integer(metadata={"description": "Tasks routed to it"})
    forwarded_in = ma.fields.Integer(
        metadata={"description": "Of those, rerouted to it by another organisation"}
    )
    acknowledged = ma.fields.Integer()
    resolved = ma.fields.Integer()
    resolved_within_deadline = ma.fields.Integer()
    forwarded = ma.fields.Integer(
        metadata={"description": "Tasks it rejected, routing the case to another organisation"}
    )
    became_overdue = ma.fields.Integer(
        metadata={"description": "Tasks whose deadline fell in the week while still open"}
    )
    hours_to_acknowledge = ma.fields.Nested(
        HoursSchema, metadata={"description": "From routing to acknowledgement"}
    )
    hours_to_resolve = ma.fields.Nested(
        HoursSchema, metadata={"description": "From routing to resolution"}
    )
    within_deadline_share = ma.fields.Float(
        allow_none=True,
        metadata={"description": "resolved_within_deadline / resolved; null if none resolved"},
    )
    forwarding_rate = ma.fields.Float(
        allow_none=True,
        metadata={"description": "forwarded / (resolved + forwarded); null if neither"},
    )


class ZoneHoursSchema(ma.Schema):
    zone = ma.fields.String(allow_none=True, metadata={"description": "null: in no known zone"})
    hours = ma.fields.Float()


class HourHoursSchema(ma.Schema):
    hour = ma.fields.Integer(metadata={"description": "Local hour of day, 0-23"})
    hours = ma.fields.Float()


class PresenceSchema(ma.Schema):
    hours = ma.fields.Float(metadata={"description": "Staff hours present"})
    by_zone = ma.fields.List(ma.fields.Nested(ZoneHoursSchema))
    by_hour = ma.fields.List(ma.fields.Nested(HourHoursSchema))


class FiguresSchema(ma.Schema):
    start = ma.fields.String(metadata={"description": "First day (a Monday)"})
    end = ma.fields.String(metadata={"description": "Last day (a Sunday)"})
    reports = ma.fields.Nested(ReportsSchema, allow_none=True)
    cases = ma.fields.Nested(CasesSchema, allow_none=True)
    organisations = ma.fields.List(ma.fields.Nested(OrganisationWeekSchema))
    presence = ma.fields.Nested(PresenceSchema, allow_none=True)


class WeekSchema(FiguresSchema):
    week = ma.fields.String(metadata={"description": "ISO week, e.g. 2026-W13"})


class WeeklySchema(ma.Schema):
    from_ = ma.fields.String(data_key="from", attribute="from")
    to = ma.fields.String()
    timezone = ma.fields.String()
    zone = ma.fields.String(allow_none=True)
    organisation = ma.fields.String(allow_none=True)
    pending_days = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "Days changed since their figures were last computed"},
    )
    weeks = ma.fields.List(ma.fields.Nested(WeekSchema))
    total = ma.fields.Nested(FiguresSchema, metadata={"description": "The whole range"})
    contacts = ma.fields.Nested(
        AggregatesSchema,
        allow_none=True,
        metadata={
            "description": "GET /contacts/aggregates for the period (week, month, quarter or "
            "ISO year) holding the range, counts rounded down to fives; null for a department, "
            "with organisation, or for a range whose weeks lie in two ISO years"
        },
    )
