"""Statistik: the weekly statistics of ``GET /api/v1/stats/weekly`` as tables, for the
partnership's supervisors and admins, with the same figures as CSV. It calls the API's service
(``backend.stats.services.weekly_table``), so both read the same aggregates and the contact
counts come from issue 14's rounded aggregates, never finer."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Response, current_app, render_template
from sqlalchemy import select

from backend import roles, spreadsheet
from backend.console import access
from backend.console.blueprint import bp
from backend.console.schemas import StatsQuerySchema
from backend.console.views.common import parse, zone_names
from backend.database import utcnow
from backend.extensions import db
from backend.localtime import LOCAL_TZ
from backend.organisations.models import Organisation
from backend.stats import export
from backend.stats import services as stats

"""A department reads only its own organisation's task figures (the API's rule); its own
board shows those. The page is for those who read the partnership's figures."""
DEFAULT_WEEKS = 8
"""Without a range: the last eight ISO weeks, this one included, about two months, enough to
see a trend in the response times without a table too wide to read."""


def _answer() -> tuple[dict[str, Any], dict[str, Any]]:
    query = parse(StatsQuerySchema())
    today = utcnow().astimezone(LOCAL_TZ).date()
    last = query.get("to") or today
    first = query.get("from_") or last - timedelta(weeks=DEFAULT_WEEKS - 1)
    config = current_app.config
    answer = stats.weekly_table(
        db.session(),
        access.current_staff(),
        first,
        last,
        zone=query.get("zone"),
        organisation=None,
        max_days=config["STATS_WEEKLY_MAX_DAYS"],
        contact_settings=stats.ContactSettings(config["CONTACT_AGGREGATE_ROUNDING_BASE"]),
    )
    return query, answer


@bp.get("/stats", endpoint="stats")
@access.page(*roles.SEES_ALL)
def stats_page() -> str:
    """Per week: reports, cases, presence; per organisation: the response figures."""
    query, answer = _answer()
    return render_template(
        "console/stats.html",
        answer=answer,
        query=query,
        zones=zone_names(),
        days={
            key: date.fromisoformat(value)
            for key, value in (
                ("from", answer["from"]),
                ("to", answer["to"]),
                *(
                    (f"contacts_{k}", answer["contacts"][k])
                    for k in ("from", "to")
                    if answer["contacts"]
                ),
            )
        },
        organisation_names={
            slug: name
            for slug, name in db.session().execute(select(Organisation.slug, Organisation.name))
        },
    )


@bp.get("/stats.csv")
@access.page(*roles.SEES_ALL)
def stats_csv() -> Response:
    """The same figures as the API's CSV (``backend.stats.export``)."""
    _, answer = _answer()
    return spreadsheet.download(export.weekly_csv(answer), export.weekly_filename(answer))
