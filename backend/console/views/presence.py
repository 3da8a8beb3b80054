"""Närvaro: a day's presence log, its coverage grid and its CSV."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, render_template

from backend import roles, spreadsheet
from backend.console import access, present
from backend.console.blueprint import bp
from backend.console.schemas import DayQuerySchema
from backend.console.views.common import parse, zone_names
from backend.database import utcnow
from backend.extensions import db
from backend.localtime import LOCAL_TZ
from backend.presence import export
from backend.presence import services as presence


def _answer() -> tuple[dict[str, Any], presence.DailyAnswer]:
    query = parse(DayQuerySchema())
    now = utcnow()
    day = query.get("date") or now.astimezone(LOCAL_TZ).date()
    answer = presence.daily(
        db.session(), access.current_staff(), day, zone=query.get("zone"), now=now
    )
    return query, answer


@bp.get("/presence", endpoint="presence")
@access.page(*roles.SEES_ALL)
def presence_page() -> str:
    """The daily log: per worker a timeline, minutes per zone, what they filed."""
    query, answer = _answer()
    log = answer.log
    now = utcnow()
    session = db.session()
    workers, _zones = presence.names(session, (w.worker_id for w in log.workers))
    zones = zone_names()
    palette = present.colours(zones)
    labels, grid = present.coverage_grid(
        log.coverage, [query["zone"]] if query.get("zone") else list(zones), now
    )
    today = now.astimezone(LOCAL_TZ).date()
    return render_template(
        "console/presence.html",
        log=log,
        # By name, as a supervisor looks for a person (the log itself is ordered by id).
        rows=sorted(log.workers, key=lambda w: workers.get(w.worker_id, w.worker_id).lower()),
        query=query,
        workers=workers,
        zones=zones,
        palette=palette,
        timelines={
            w.worker_id: present.timeline(w.intervals, log.start, log.end) for w in log.workers
        },
        ticks=present.hour_ticks(log.coverage),
        hour_labels=labels,
        grid=grid,
        previous_day=log.day - timedelta(days=1),
        next_day=log.day + timedelta(days=1) if log.day < today else None,
        today=today,
    )


@bp.get("/presence.csv")
@access.page(*roles.SEES_ALL)
def presence_csv() -> Response:
    """The same day as CSV, one row per interval (the API's export)."""
    _query, answer = _answer()
    workers, zones = presence.names(db.session(), (w.worker_id for w in answer.log.workers))
    text = export.daily_log_csv(answer.log, worker_names=workers, zone_names=zones)
    return spreadsheet.download(text, export.daily_filename(answer.log))
