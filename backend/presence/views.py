"""Presence routes: a day's log (JSON or CSV) and summaries over a range of days."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from flask.views import MethodView

from backend import roles, spreadsheet
from backend.api import Blueprint
from backend.auth import auth, current_user
from backend.database import utcnow
from backend.errors import documented_error
from backend.extensions import db
from backend.presence import export, services
from backend.presence.schemas import (
    DailyArgsSchema,
    DailyLogSchema,
    SummaryArgsSchema,
    SummarySchema,
)

blp = Blueprint(
    "presence",
    __name__,
    url_prefix="/api/v1/presence",
    description=(
        "Staff presence per day in Europe/Stockholm time, computed from the stored presence "
        "events. Supervisors and admins see everyone, a field worker only themselves."
    ),
)

# flask-smorest documents one media type per response; the 200 is written out whole so that
# both appear (the CSV columns are in backend/presence/export.py).
CSV_DOC = {
    "responses": {
        "200": {
            "description": "The log; with Accept: text/csv one row per interval instead",
            "content": {
                "application/json": {"schema": DailyLogSchema},
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "date,worker_id,worker,zone,zone_name,start,end,minutes,inferred",
                },
            },
        }
    }
}


def _wants_csv() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"])
    return best == "text/csv"


@blp.route("/daily")
class Daily(MethodView):
    @auth(blp, *roles.PRESENCE_READERS)
    @blp.arguments(DailyArgsSchema, location="query")
    @blp.response(200, DailyLogSchema)
    @blp.doc(**CSV_DOC)
    @blp.alt_response(422, **documented_error("validation_error, unknown_zone"))
    def get(self, args: dict[str, Any]) -> Any:
        """A day's presence: intervals and minutes per zone per worker, hourly coverage"""
        session = db.session()
        answer = services.daily(
            session,
            current_user(),
            args["date"],
            zone=args.get("zone"),
            worker=args.get("worker"),
            now=utcnow(),
        )
        worker_names, zone_names = services.names(
            session, (w.worker_id for w in answer.log.workers)
        )
        if _wants_csv():
            text = export.daily_log_csv(
                answer.log, worker_names=worker_names, zone_names=zone_names
            )
            return spreadsheet.download(text, export.daily_filename(answer.log), negotiated=True)
        body = export.daily_log_json(answer.log, include_contacts=answer.include_contacts)
        # The readers of a day's log are the supervisors (and admins) who lead these workers,
        # and a field worker reading their own: each may see the names, as the CSV shows them.
        for worker in body["workers"]:
            worker["name"] = worker_names.get(worker["worker_id"], "")
        # Served as built: ``export.daily_log_json`` gives exactly DailyLogSchema's shape (the
        # schema documents it), and dumping its ~6,000 intervals through marshmallow a second
        # time was a third of a busy day's request on SQLite (issue 20). flask-smorest passes
        # a Response through untouched.
        return jsonify(body)


@blp.route("/summary")
class PresenceSummary(MethodView):
    @auth(blp, *roles.PRESENCE_READERS)
    @blp.arguments(SummaryArgsSchema, location="query")
    @blp.response(200, SummarySchema)
    @blp.alt_response(
        422, **documented_error("validation_error, unknown_zone, range_reversed, range_too_long")
    )
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Presence per day and in total over a range of days (field workers: their own)"""
        session = db.session()
        result = services.summary(
            session,
            current_user(),
            args["from_"],
            args["to"],
            zone=args.get("zone"),
            max_days=current_app.config["PRESENCE_SUMMARY_MAX_DAYS"],
            now=utcnow(),
        )
        # The same readers as the daily log (supervisors, admins, a field worker for their
        # own), who may see the names.
        worker_names, _ = services.names(session, (w.worker_id for w in result.by_worker))
        return export.summary_json(result, worker_names=worker_names)
