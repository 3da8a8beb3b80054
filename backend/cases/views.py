"""Case routes under /api/v1/cases: the list, one case, split and merge (supervisor corrections)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app
from flask.views import MethodView

from backend.api import Blueprint
from backend.auth import auth, current_user
from backend.cases import services
from backend.cases.schemas import (
    CaseDetailSchema,
    CasePageSchema,
    CaseQuerySchema,
    MergeSchema,
    SplitSchema,
)
from backend.cases.visibility import CaseView
from backend.extensions import db

blp = Blueprint(
    "cases",
    __name__,
    url_prefix="/api/v1/cases",
    description="Cases: reports of the same thing merged into one, and corrections of merges.",
)

READERS = services.READER_ROLES
CORRECTORS = ("supervisor", "admin", "department")


@blp.route("")
class Cases(MethodView):
    @auth(blp, *READERS)
    @blp.arguments(CaseQuerySchema, location="query")
    @blp.response(200, CasePageSchema)
    @blp.alt_response(400, response="BAD_REQUEST")
    def get(self, args: dict[str, Any]) -> services.Page:
        """List cases, newest first (departments: those they hold or held a task for)"""
        config = current_app.config
        limit = min(
            args.pop("limit") or config["CASES_PAGE_DEFAULT_LIMIT"],
            config["CASES_PAGE_MAX_LIMIT"],
        )
        return services.list_cases(db.session(), current_user(), limit=limit, **args)


@blp.route("/<uuid:case_id>")
class CaseById(MethodView):
    @auth(blp, *READERS)
    @blp.response(200, CaseDetailSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, case_id: uuid.UUID) -> CaseView:
        """One case with its reports and why each one is in it"""
        return services.case_detail(db.session(), current_user(), case_id)


@blp.route("/<uuid:case_id>/split")
class Split(MethodView):
    @auth(blp, *CORRECTORS)
    @blp.arguments(SplitSchema)
    @blp.response(201, CaseDetailSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self, body: dict[str, Any], case_id: uuid.UUID) -> CaseView:
        """Move reports out of a case into a new case; their reporters see it in pull"""
        return services.split(db.session(), current_user(), case_id, body["report_ids"])


@blp.route("/<uuid:case_id>/merge")
class Merge(MethodView):
    @auth(blp, *CORRECTORS)
    @blp.arguments(MergeSchema)
    @blp.response(200, CaseDetailSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self, body: dict[str, Any], case_id: uuid.UUID) -> CaseView:
        """Merge another case into this one; its reporters see it in pull"""
        return services.merge(db.session(), current_user(), case_id, body["case_id"])
