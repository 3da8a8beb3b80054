"""Idag: the supervisor's overview of the day."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import redirect, render_template, url_for

from backend.cases import reads as case_reads
from backend.console import access, nav, present
from backend.console.blueprint import bp
from backend.console.nav import TODAY_ROLES
from backend.console.views.common import category_names, zone_names, zones_geojson
from backend.database import utcnow
from backend.extensions import db
from backend.localtime import LOCAL_TZ
from backend.presence import log as presence_log
from backend.presence import services as presence
from backend.tasks import reads as task_reads
from backend.users.models import User

MAP_CASES = 500
"""Open cases on the map, newest first: a busy week on the square has a few hundred; more
would hide the map under markers (the case list pages through the rest)."""
OVERDUE_SHOWN = 10
POLL_SECONDS = 60
"""How often the open page refreshes its live parts: presence pings arrive every 5 minutes."""


def _live(user: User, now: datetime) -> dict[str, Any]:
    """Counts against yesterday, who is on shift, coverage and overdue tasks, as of ``now``."""
    session = db.session()
    local = now.astimezone(LOCAL_TZ)
    today = local.date()
    start, _ = presence_log.day_bounds(today)
    yesterday = today - timedelta(days=1)
    y_start, _ = presence_log.day_bounds(yesterday)
    y_same_time = datetime.combine(yesterday, local.time(), LOCAL_TZ)
    now_counts = case_reads.activity(session, user, start, now)
    then_counts = case_reads.activity(session, user, y_start, y_same_time)
    overdue_now = task_reads.count_tasks(session, user, now=now, overdue=True)
    answer = presence.daily(session, user, today, now=now)
    shift = presence_log.on_shift(answer.log, now)
    names, _zone_names = presence.names(session, (w.worker_id for w, _i in shift))
    zones = zone_names()
    labels, grid = present.coverage_grid(answer.log.coverage, list(zones), now)
    overdue = task_reads.most_overdue(session, user, now=now, limit=OVERDUE_SHOWN)
    return {
        "now": now,
        "counts": [
            ("reports", now_counts.reports, then_counts.reports),
            ("new_cases", now_counts.new_cases, then_counts.new_cases),
            ("resolved", now_counts.resolved, then_counts.resolved),
        ],
        "overdue_now": overdue_now,
        "on_shift": [
            {
                "name": names.get(worker.worker_id, worker.worker_id),
                "zone": interval.zone,
                "since": worker.intervals[0].start,
                "reports": worker.filed_count("report"),
                "contacts": worker.filed_count("contact"),
            }
            for worker, interval in shift
        ],
        "zones": zones,
        "hour_labels": labels,
        "grid": grid,
        "overdue": overdue,
        "categories": category_names(),
        "poll_seconds": POLL_SECONDS,
    }


@bp.get("/")
@access.page()
def today() -> Any:
    """Idag: the map of open cases, who is on shift, today's coverage and overdue tasks.
    The console's root: staff without this page (departments) go to their own first page."""
    user = access.current_staff()
    if user.role not in TODAY_ROLES:
        return redirect(url_for(nav.home_for(user)))
    session = db.session()
    now = utcnow()
    page = case_reads.list_cases(session, user, limit=MAP_CASES, status="open")
    open_tasks = task_reads.open_tasks_by_case(session, user, [c.id for c in page.items])
    late = {case_id for case_id, task in open_tasks.items() if task.is_overdue(now)}
    names = category_names()
    palette = present.colours(names)
    features = present.case_features(
        page.items, late, names, palette, lambda case_id: url_for("console.case", case_id=case_id)
    )
    return render_template(
        "console/today.html",
        map_data={"zones": zones_geojson(), "cases": features},
        map_truncated=page.next_cursor is not None,
        category_colours=palette,
        **_live(user, now),
    )


@bp.get("/today/live")
@access.page(*TODAY_ROLES)
def today_live() -> str:
    """The overview's live parts, which the open page polls for."""
    return render_template("console/_today_live.html", **_live(access.current_staff(), utcnow()))
