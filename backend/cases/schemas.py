"""The case API's shapes: the list query, a case, its reports and merge reason."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from backend import config as defaults
from backend import pagination
from backend.cases.models import MERGED, OPEN, RESOLVED
from backend.reference import catalogue
from sync import envelope

# One split moves at most this many reports: a case on the square rarely has more than a few
# dozen (ten hosts passing one bin in a shift), and the bound keeps one correction's feed
# appends and row updates small.
MAX_SPLIT_REPORTS = 200

STATUS_DESCRIPTION = (
    "open | resolved | merged (into `merged_into_id`); the routing work adds task statuses "
    "between open and resolved"
)


MAX_PAGE = 200
"""A page of cases is a supervisor's screen or a sync of a department's system; 200 rows is
still a small response."""

ZONE_FILTER = {
    # Enumerated in the document; the service answers another slug with unknown_zone.
    "description": "Only this zone",
    "enum": list(catalogue.zone_slugs()),
}


class CaseQuerySchema(ma.Schema):
    cursor = pagination.cursor_field()
    limit = pagination.limit_field(None, MAX_PAGE, "CASES_PAGE_DEFAULT_LIMIT (50)")
    status = ma.fields.String(
        load_default=None,
        validate=ma.validate.OneOf((OPEN, RESOLVED, MERGED)),
        metadata={"description": STATUS_DESCRIPTION},
    )
    category = ma.fields.String(
        load_default=None, validate=ma.validate.OneOf(catalogue.category_codes())
    )
    zone = ma.fields.String(load_default=None, metadata=ZONE_FILTER)


class MergeReasonSchema(ma.Schema):
    rule = ma.fields.String(
        metadata={
            "description": "Why the report is in this case. Dedup: within_radius | "
            "within_accuracy | near_photo (joined) or no_candidate | too_far | outside_window | "
            "different_photo | other_group | case_resolved (started the case). The reporter's "
            "hint: reporter_same (joined the case the reporter named) | reporter_distinct "
            "(started the case: the rules would have joined a case the reporter said it is "
            "not). A supervisor's correction: split | merge"
        }
    )
    hint = ma.fields.Dict(
        metadata={
            "description": "Only when the report carried a case_hint: {kind: same_as | "
            "distinct_from, followed, reason: closed | other_group | too_far | unknown_case "
            "| null}"
        }
    )
    joined = ma.fields.Boolean()
    case_id = ma.fields.String(
        allow_none=True,
        metadata={"description": "The joined case, or the nearest one refused"},
    )
    distance_m = ma.fields.Float(allow_none=True)
    gap_min = ma.fields.Float(allow_none=True, metadata={"description": "Minutes apart"})
    effective_radius_m = ma.fields.Float(
        allow_none=True, metadata={"description": "Category radius widened by GPS accuracy"}
    )
    photo_distance = ma.fields.Integer(
        allow_none=True, metadata={"description": "Hamming distance of the photos' 64-bit phash"}
    )
    from_case_id = ma.fields.String(metadata={"description": "Corrections: the case it left"})
    by = ma.fields.String(metadata={"description": "Corrections: the user who made it"})
    at = ma.fields.String(metadata={"description": "Corrections: when"})


ROUNDED = (
    "exact while you may see the case in full; rounded to 0.001 degrees (about 110 m) in a "
    "history view"
)
VIEW_DESCRIPTION = (
    "full: everything, now (supervisors, admins, a department holding an open task for the "
    "case). history: a department's past case, as it was when its last task closed (as_of): "
    "only the reports in the case by then, without notes, positions rounded, no photos"
)


class CaseReportSchema(ma.Schema):
    id = ma.fields.UUID()
    category = ma.fields.String()
    kind = ma.fields.String()
    lat = ma.fields.Float(metadata={"description": ROUNDED})
    lon = ma.fields.Float(metadata={"description": ROUNDED})
    accuracy_m = ma.fields.Float(allow_none=True, metadata={"description": "null in history"})
    zone = ma.fields.String(allow_none=True)
    note = ma.fields.String(allow_none=True, metadata={"description": "null in history"})
    occurred_at = ma.fields.AwareDateTime()
    joined = ma.fields.Boolean(
        metadata={"description": "False for the report that started the case"}
    )
    merge_reason = ma.fields.Nested(MergeReasonSchema, allow_none=True)


class CaseSchema(ma.Schema):
    id = ma.fields.UUID()
    category = ma.fields.String(metadata={"description": "The first report's category"})
    kind = ma.fields.String()
    dedup_group = ma.fields.String()
    lat = ma.fields.Float(metadata={"description": f"The first report's; never moves; {ROUNDED}"})
    lon = ma.fields.Float(metadata={"description": ROUNDED})
    accuracy_m = ma.fields.Float(allow_none=True, metadata={"description": "null in history"})
    zone = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"description": STATUS_DESCRIPTION})
    first_at = ma.fields.AwareDateTime(metadata={"description": "Earliest report's capture time"})
    last_at = ma.fields.AwareDateTime(metadata={"description": "Latest report's capture time"})
    resolved_at = ma.fields.AwareDateTime(allow_none=True)
    merged_into_id = ma.fields.UUID(allow_none=True)
    report_count = ma.fields.Integer()
    created_at = ma.fields.AwareDateTime()
    view = ma.fields.String(
        validate=ma.validate.OneOf(("full", "history")), metadata={"description": VIEW_DESCRIPTION}
    )
    as_of = ma.fields.AwareDateTime(
        allow_none=True,
        metadata={"description": "history: when your organisation's last task closed"},
    )


class CaseDetailSchema(CaseSchema):
    reports = ma.fields.List(ma.fields.Nested(CaseReportSchema))


class ResponsibleSchema(ma.Schema):
    slug = ma.fields.String()
    name = ma.fields.String()


class OwnReportSchema(ma.Schema):
    id = ma.fields.UUID()
    category = ma.fields.String()
    kind = ma.fields.String()
    captured_at = ma.fields.AwareDateTime(metadata={"description": "The corrected capture time"})
    lat = ma.fields.Float()
    lon = ma.fields.Float()
    accuracy_m = ma.fields.Float(allow_none=True)
    zone = ma.fields.String(allow_none=True)
    note = ma.fields.String(allow_none=True)
    photos = ma.fields.List(
        ma.fields.String(), metadata={"description": "SHA-256 of the photos the report lists"}
    )


REPORTER_DESCRIPTION = (
    "A field worker's view of a case one of their own reports is in now: no other reporter's "
    "report, note, position, id or name"
)


class ReporterCaseSchema(ma.Schema):
    id = ma.fields.UUID()
    view = ma.fields.String(
        validate=ma.validate.OneOf(("reporter",)), metadata={"description": REPORTER_DESCRIPTION}
    )
    category = ma.fields.String(metadata={"description": "The first report's category"})
    kind = ma.fields.String()
    status = ma.fields.String(metadata={"description": STATUS_DESCRIPTION})
    lat = ma.fields.Float(
        metadata={
            "description": "The case's place (its first report's): exact when that is one of "
            "your reports, otherwise rounded to 0.001 degrees (about 110 m)"
        }
    )
    lon = ma.fields.Float()
    zone = ma.fields.String(allow_none=True)
    first_at = ma.fields.AwareDateTime(metadata={"description": "Earliest report's capture time"})
    last_at = ma.fields.AwareDateTime(metadata={"description": "Latest report's capture time"})
    resolved_at = ma.fields.AwareDateTime(allow_none=True)
    responsible = ma.fields.Nested(
        ResponsibleSchema,
        allow_none=True,
        metadata={
            "description": "The organisation whose task holds the case (its open task, else "
            "the one that resolved it); null while the case waits for photos or no task holds it"
        },
    )
    reports = ma.fields.List(
        ma.fields.Nested(OwnReportSchema), metadata={"description": "Your own reports only"}
    )


class CaseRead:
    """Dumps ``GET /cases/{id}``'s answer: a reporter's view with ``ReporterCaseSchema``, any
    other with ``CaseDetailSchema``. Not a schema of its own: the view documents the two as
    oneOf, and this only picks one."""

    def dump(self, obj: Any) -> Any:
        if getattr(obj, "view", None) == "reporter":
            return ReporterCaseSchema().dump(obj)
        return CaseDetailSchema().dump(obj)


class CasePageSchema(pagination.PageSchema):
    items = ma.fields.List(ma.fields.Nested(CaseSchema))


NEARBY_AREA = envelope.Area(*defaults.DEFAULT_SERVICE_AREA)


class NearbyQuerySchema(ma.Schema):
    lat = ma.fields.Float(
        required=True,
        validate=ma.validate.Range(NEARBY_AREA.south, NEARBY_AREA.north),
        metadata={
            "description": "Where the reporter stands (WGS 84); within the service area "
            "(outside it 422 outside_service_area; NaN and Infinity are 422)"
        },
    )
    lon = ma.fields.Float(
        required=True, validate=ma.validate.Range(NEARBY_AREA.west, NEARBY_AREA.east)
    )
    category = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(catalogue.category_codes()),
        metadata={"description": "The category about to be reported; its dedup group decides"},
    )


class NearbyCaseSchema(ma.Schema):
    id = ma.fields.UUID(metadata={"description": "Pass as case_hint.same_as or distinct_from"})
    category = ma.fields.String()
    distance_m = ma.fields.Float(
        metadata={"description": "From the given point to the case, in 5 m steps"}
    )
    first_at = ma.fields.AwareDateTime(metadata={"description": "Earliest report's capture time"})
    last_at = ma.fields.AwareDateTime(metadata={"description": "Latest report's capture time"})
    report_count = ma.fields.Integer()
    has_photo = ma.fields.Boolean(metadata={"description": "Whether a report has a photo"})


class NearbySchema(ma.Schema):
    cases = ma.fields.List(
        ma.fields.Nested(NearbyCaseSchema),
        metadata={
            "description": "Open cases of the category's dedup group within radius_m, closest "
            "first, at most 10; no reporters, notes or report positions"
        },
    )
    radius_m = ma.fields.Float(metadata={"description": "Twice the category's dedup radius"})
    same_as_max_m = ma.fields.Float(
        metadata={"description": "How far a case_hint.same_as case may be: three radii"}
    )


class SplitSchema(ma.Schema):
    report_ids = ma.fields.List(
        ma.fields.UUID(),
        required=True,
        validate=ma.validate.Length(1, MAX_SPLIT_REPORTS),
        metadata={"description": "Reports of this case to move into one new case"},
    )


class MergeSchema(ma.Schema):
    case_id = ma.fields.UUID(
        required=True,
        metadata={"description": "The case whose reports move into this one; it becomes merged"},
    )
