"""GET /api/v1/stats/weekly: the partnership's weekly figures, JSON or CSV."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from flask.views import MethodView

from backend import roles, spreadsheet
from backend.api import Blueprint
from backend.auth import auth, current_user
from backend.errors import documented_error
from backend.extensions import db
from backend.stats import export, services
from backend.stats.schemas import WeeklyArgsSchema, WeeklySchema

blp = Blueprint(
    "stats",
    __name__,
    url_prefix="/api/v1/stats",
    description=(
        "Weekly statistics per ISO week in Europe/Stockholm time, from daily aggregates: "
        "reports, cases, each organisation's response, presence hours, contact aggregates."
    ),
)

CSV_DOC = {
    "responses": {
        "200": {
            "description": "The weekly table; with Accept: text/csv one row per week and figure",
            "content": {
                "application/json": {"schema": WeeklySchema},
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": ",".join(export.CSV_COLUMNS),
                },
            },
        }
    }
}


def _wants_csv() -> bool:
    return request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"


@blp.route("/weekly")
class Weekly(MethodView):
    @auth(blp, *roles.STAFF)
    @blp.arguments(WeeklyArgsSchema, location="query")
    @blp.response(200, WeeklySchema)
    @blp.doc(**CSV_DOC)
    @blp.alt_response(403, **documented_error("forbidden, not_your_organisation"))
    @blp.alt_response(
        422,
        **documented_error(
            "validation_error, unknown_zone, unknown_organisation, range_reversed, range_too_long"
        ),
    )
    def get(self, args: dict[str, Any]) -> Any:
        """Reports, cases, response times, deadlines, forwarding, presence and contacts per week"""
        config = current_app.config
        answer = services.weekly_table(
            db.session(),
            current_user(),
            args["from_"],
            args["to"],
            zone=args.get("zone"),
            organisation=args.get("organisation"),
            max_days=config["STATS_WEEKLY_MAX_DAYS"],
            contact_settings=services.ContactSettings(config["CONTACT_AGGREGATE_ROUNDING_BASE"]),
        )
        if _wants_csv():
            return spreadsheet.download(
                export.weekly_csv(answer), export.weekly_filename(answer), negotiated=True
            )
        # Serialised as it is: the service builds exactly the documented shape, and dumping a
        # year's table through the schema again took longer than computing it.
        return jsonify(answer)
