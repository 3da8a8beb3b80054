"""Tasks as the push makes them: every new case is routed in the push's transaction (or waits
for its photos). ``awaiting`` makes a report whose case waits, so a test can route it itself
with ``route_reports`` at a chosen time (deadline tests)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from backend.cases.models import Case
from backend.delivery.jobs import deliver
from backend.delivery.models import PENDING, Delivery
from backend.extensions import db
from backend.reports.models import Report
from backend.routing.rules import CaseFacts
from backend.routing.services import route_case
from backend.tasks.models import OPEN, Task
from tests.helpers.sync_items import SERGELS_TORG, batch, report


def bin_number(n: int) -> dict[str, Any]:
    """The location of the n-th of a row of bins 55 m apart at Sergels Torg: reports at
    different bins start cases of their own instead of joining one (dedup radius 15 m, GPS
    widening at most 25 m)."""
    return {**SERGELS_TORG, "lat": SERGELS_TORG["lat"] + 0.0005 * n}


def push(client: Any, account: Any, items: list[dict[str, Any]]) -> None:
    response = client.post("/api/v1/sync/push", json=batch(items), headers=account.headers)
    assert response.status_code == 200, response.get_json()
    assert all(r["status"] == "created" for r in response.get_json()["results"])


def awaiting(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` listing a photo the server never gets: its case waits unrouted (awaiting_photos)
    until ``route_reports`` or the grace period routes it."""
    never = hashlib.sha256(item["id"].encode()).hexdigest()
    return {**item, "photos": [{"sha256": never, "size": 1000, "content_type": "image/jpeg"}]}


def task_of(report_id: str) -> Task | None:
    """The open task of the report's case (the latest task if none is open)."""
    case_id = db.session.execute(
        select(Report.case_id).where(Report.id == uuid.UUID(report_id))
    ).scalar_one()
    return (
        db.session.execute(
            select(Task)
            .where(Task.case_id == case_id)
            .order_by(Task.status.in_(OPEN).desc(), Task.routed_at.desc())
        )
        .scalars()
        .first()
    )


def route_reports(
    report_ids: list[str],
    *,
    received_at: datetime | None = None,
) -> Task:
    """Route the (waiting) case of the first report as if received at ``received_at``, with
    the other reports put in it; commits."""
    ids = [uuid.UUID(i) for i in report_ids]
    case = db.session.execute(
        select(Case).join(Report, Report.case_id == Case.id).where(Report.id == ids[0])
    ).scalar_one()
    assert case.route_after is not None, "push the report with awaiting() to route it here"
    db.session.execute(update(Report).where(Report.id.in_(ids)).values(case_id=case.id))
    case.route_after = None
    task = route_case(
        db.session(),
        case.id,
        CaseFacts(kind=case.kind, category=case.category, zone=case.zone),
        received_at=received_at or datetime.now(UTC),
    )
    db.session.commit()
    return task


def new_task(client: Any, reporter: Any, **item: Any) -> tuple[Task, dict[str, Any]]:
    """A report pushed at Sergels Torg (by default) and the task its push routed; returns both."""
    pushed = report(**item)
    push(client, reporter, [pushed])
    task = task_of(pushed["id"])
    assert task is not None
    return task, pushed


def deliver_pending() -> list[str]:
    """Run the delivery job on every pending delivery in this process (no Redis needed)."""
    ids = db.session.execute(select(Delivery.id).where(Delivery.status == PENDING)).scalars()
    return [deliver(str(i)) for i in list(ids)]
