"""Case routes under /api/v1/cases: the list, one case, split and merge (supervisor corrections)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app
from flask.views import MethodView

from backend import pagination, roles
from backend.api import Blueprint
from backend.auth import auth, current_user
from backend.cases import nearby, reads, services
from backend.cases.reporter import ReporterCaseView
from backend.cases.schemas import (
    CaseDetailSchema,
    CasePageSchema,
    CaseQuerySchema,
    CaseRead,
    MergeSchema,
    NearbyQuerySchema,
    NearbySchema,
    ReporterCaseSchema,
    SplitSchema,
)
from backend.cases.visibility import CaseView
from backend.errors import ErrorSchema
from backend.extensions import db
from sync.envelope import Area

blp = Blueprint(
    "cases",
    __name__,
    url_prefix="/api/v1/cases",
    description="Cases: reports of the same thing merged into one, and corrections of merges.",
)


ZONE_ERROR = {"schema": ErrorSchema, "description": "validation_error, unknown_zone"}


@blp.route("")
class Cases(MethodView):
    @auth(blp, *roles.STAFF)
    @blp.arguments(CaseQuerySchema, location="query")
    @blp.response(200, CasePageSchema)
    @blp.alt_response(400, **pagination.CURSOR_ERROR)
    @blp.alt_response(422, **ZONE_ERROR)
    def get(self, args: dict[str, Any]) -> pagination.Page[CaseView]:
        """List cases, newest first (departments: those they hold or held a task for)"""
        limit = args.pop("limit", None) or current_app.config["CASES_PAGE_DEFAULT_LIMIT"]
        return reads.list_cases(db.session(), current_user(), limit=limit, **args)


# flask-smorest documents one schema per response: the 200 is written out whole so that both
# views appear (CaseRead dumps each with its own schema).
CASE_DOC = {
    "description": "Supervisors, admins and departments get the case detail (view full or "
    "history, see backend/cases/visibility.py). A field worker may open only a case one of "
    "their own reports is in now, and gets the reporter view: status, category, place, times, "
    "the responsible organisation and their own reports, nothing of other reporters; any "
    "other case (another worker's, one their report left by a split or merge) is 404 "
    "case_not_found, as if it did not exist.",
    "responses": {
        "200": {
            "description": "The case as you may see it",
            "content": {
                "application/json": {"schema": {"oneOf": [CaseDetailSchema, ReporterCaseSchema]}}
            },
        }
    },
}


@blp.route("/<uuid:case_id>")
class CaseById(MethodView):
    @auth(blp, *roles.STAFF, *roles.REPORTERS)
    @blp.response(200, CaseRead())
    @blp.doc(**CASE_DOC)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, case_id: uuid.UUID) -> CaseView | ReporterCaseView:
        """One case with its reports and why each one is in it (field workers: their own)"""
        return reads.read_case(db.session(), current_user(), case_id)


@blp.route("/<uuid:case_id>/split")
class Split(MethodView):
    @auth(blp, *roles.STAFF)
    @blp.arguments(SplitSchema)
    @blp.response(201, CaseDetailSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="validation_error, unknown_case (the body's case_id "
        "names no case you may see; the path's case is 404 case_not_found)",
    )
    def post(self, body: dict[str, Any], case_id: uuid.UUID) -> CaseView:
        """Move reports out of a case into a new case; their reporters see it in pull"""
        return services.split(db.session(), current_user(), case_id, body["report_ids"])


@blp.route("/<uuid:case_id>/merge")
class Merge(MethodView):
    @auth(blp, *roles.STAFF)
    @blp.arguments(MergeSchema)
    @blp.response(200, CaseDetailSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self, body: dict[str, Any], case_id: uuid.UUID) -> CaseView:
        """Merge another case into this one; its reporters see it in pull"""
        return services.merge(db.session(), current_user(), case_id, body["case_id"])


@blp.route("/nearby")
class NearbyCases(MethodView):
    @auth(blp, "field")
    @blp.arguments(NearbyQuerySchema, location="query")
    @blp.response(200, NearbySchema)
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, args: dict[str, Any]) -> nearby.Nearby:
        """Open cases near you of the category's dedup group, to ask 'is it one of these?'"""
        area = Area(*current_app.config["SERVICE_AREA"])
        return nearby.near_point(db.session(), area=area, **args)
