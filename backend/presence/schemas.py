"""Presence query arguments and the shapes of ``backend.presence.export``'s JSON."""

from __future__ import annotations

import marshmallow as ma

from backend.fields import Day
from backend.organisations.schemas import SLUG
from backend.reference import catalogue

LOCAL_TIME = {"description": "Europe/Stockholm local time, ISO 8601 with its offset"}


class DailyArgsSchema(ma.Schema):
    date = Day(required=True, metadata={"description": "Local day"})
    zone = ma.fields.String(
        validate=SLUG,
        # Enumerated in the document; the service answers another slug with unknown_zone.
        metadata={"description": "Only this zone", "enum": list(catalogue.zone_slugs())},
    )
    worker = ma.fields.UUID(
        metadata={"description": "Only this worker (field workers: their own id only)"}
    )


class SummaryArgsSchema(ma.Schema):
    from_ = Day(required=True, data_key="from", metadata={"description": "First day"})
    to = Day(
        required=True,
        metadata={
            "description": "Last day, inclusive: on or after from (range_reversed), at most "
            "PRESENCE_SUMMARY_MAX_DAYS days (range_too_long)"
        },
    )
    zone = ma.fields.String(
        validate=SLUG,
        # Enumerated in the document; the service answers another slug with unknown_zone.
        metadata={"description": "Only this zone", "enum": list(catalogue.zone_slugs())},
    )


class IntervalSchema(ma.Schema):
    zone = ma.fields.String(allow_none=True, metadata={"description": "null: in no known zone"})
    start = ma.fields.String(metadata=LOCAL_TIME)
    end = ma.fields.String(metadata=LOCAL_TIME)
    seconds = ma.fields.Integer()
    minutes = ma.fields.Float()
    inferred = ma.fields.Boolean(
        metadata={"description": "A bound was inferred (a missing shift start or end)"}
    )


class ZoneTimeSchema(ma.Schema):
    zone = ma.fields.String(allow_none=True)
    seconds = ma.fields.Integer()
    minutes = ma.fields.Float()


class FiledSchema(ma.Schema):
    id = ma.fields.String()
    at = ma.fields.String(metadata=LOCAL_TIME)
    zone = ma.fields.String(allow_none=True)


class FiledCountSchema(ma.Schema):
    reports = ma.fields.Integer()
    contacts = ma.fields.Integer()


class WorkerDaySchema(ma.Schema):
    worker_id = ma.fields.String()
    name = ma.fields.String(metadata={"description": "The worker's display name"})
    first_seen = ma.fields.String(allow_none=True, metadata=LOCAL_TIME)
    last_seen = ma.fields.String(allow_none=True, metadata=LOCAL_TIME)
    intervals = ma.fields.List(ma.fields.Nested(IntervalSchema))
    zones = ma.fields.List(ma.fields.Nested(ZoneTimeSchema))
    seconds = ma.fields.Integer()
    minutes = ma.fields.Float()
    filed = ma.fields.Nested(FiledCountSchema)
    reports = ma.fields.List(ma.fields.Nested(FiledSchema))
    contacts = ma.fields.List(
        ma.fields.Nested(FiledSchema),
        metadata={"description": "Only in a field worker's own log; others get the count"},
    )


class ZoneCountSchema(ma.Schema):
    zone = ma.fields.String(allow_none=True)
    workers = ma.fields.Integer()


class CoverageSchema(ma.Schema):
    start = ma.fields.String(metadata=LOCAL_TIME)
    end = ma.fields.String(metadata=LOCAL_TIME)
    workers = ma.fields.Integer(metadata={"description": "Distinct workers present that hour"})
    zones = ma.fields.List(ma.fields.Nested(ZoneCountSchema))


class PolicySchema(ma.Schema):
    shift_grace_minutes = ma.fields.Integer(
        metadata={"description": "A shift without an end closes this long after its last sign"}
    )
    max_shift_hours = ma.fields.Integer(
        metadata={"description": "... or this long after its start, whichever is first"}
    )


class DailyLogSchema(ma.Schema):
    date = ma.fields.String()
    timezone = ma.fields.String()
    start = ma.fields.String(metadata=LOCAL_TIME)
    end = ma.fields.String(metadata=LOCAL_TIME)
    zone = ma.fields.String(allow_none=True)
    policy = ma.fields.Nested(PolicySchema)
    workers = ma.fields.List(ma.fields.Nested(WorkerDaySchema))
    coverage = ma.fields.List(
        ma.fields.Nested(CoverageSchema), metadata={"description": "One row per local hour"}
    )


class DaySummarySchema(ma.Schema):
    date = ma.fields.String()
    zones = ma.fields.List(ma.fields.Nested(ZoneTimeSchema))
    workers = ma.fields.Integer()
    filed = ma.fields.Nested(FiledCountSchema)


class WorkerSummarySchema(ma.Schema):
    worker_id = ma.fields.String()
    name = ma.fields.String(metadata={"description": "The worker's display name"})
    days = ma.fields.Integer(metadata={"description": "Days in the range with presence"})
    zones = ma.fields.List(ma.fields.Nested(ZoneTimeSchema))
    seconds = ma.fields.Integer()
    minutes = ma.fields.Float()
    filed = ma.fields.Nested(FiledCountSchema)


class SummarySchema(ma.Schema):
    from_ = ma.fields.String(data_key="from", attribute="from")
    to = ma.fields.String()
    timezone = ma.fields.String()
    zone = ma.fields.String(allow_none=True)
    days = ma.fields.List(ma.fields.Nested(DaySummarySchema))
    zones = ma.fields.List(ma.fields.Nested(ZoneTimeSchema))
    workers = ma.fields.Integer()
    filed = ma.fields.Nested(FiledCountSchema)
    by_worker = ma.fields.List(
        ma.fields.Nested(WorkerSummarySchema),
        metadata={
            "description": "Each worker's totals over the range, sorted by worker id: everyone "
            "for supervisors and admins, only themself for a field worker. A worker who only "
            "filed items (no presence) is listed with days 0"
        },
    )
