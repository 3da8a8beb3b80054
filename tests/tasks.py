"""Routing a case as the push will once it is wired to routing: reports pushed through the API
(which places them in a case), then ``route_case`` called for that case in one transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from backend.delivery.jobs import deliver
from backend.delivery.models import PENDING, Delivery
from backend.extensions import db
from backend.reports.models import Report
from backend.routing.rules import CaseFacts
from backend.tasks.models import Task
from backend.tasks.services import route_case
from tests.sync_items import SERGELS_TORG, batch, report


def bin_number(n: int) -> dict[str, Any]:
    """The location of the n-th of a row of bins 55 m apart at Sergels Torg: reports at
    different bins start cases of their own instead of joining one (dedup radius 15 m, GPS
    widening at most 25 m)."""
    return {**SERGELS_TORG, "lat": SERGELS_TORG["lat"] + 0.0005 * n}


def push(client: Any, account: Any, items: list[dict[str, Any]]) -> None:
    response = client.post("/api/v1/sync/push", json=batch(items), headers=account.headers)
    assert response.status_code == 200, response.get_json()
    assert all(r["status"] == "created" for r in response.get_json()["results"])


def route_reports(
    report_ids: list[str],
    *,
    kind: str = "litter",
    category: str | None = "litter.overflowing_bin",
    zone: str | None = "sergels-torg",
    referral: str | None = None,
    received_at: datetime | None = None,
) -> Task:
    """Route the case of the first report, with the other reports put in it; commits."""
    ids = [uuid.UUID(i) for i in report_ids]
    case_id = db.session.execute(select(Report.case_id).where(Report.id == ids[0])).scalar_one()
    db.session.execute(update(Report).where(Report.id.in_(ids)).values(case_id=case_id))
    task = route_case(
        db.session(),
        case_id,
        CaseFacts(kind=kind, category=category, zone=zone, referral=referral),
        received_at=received_at or datetime.now(UTC),
    )
    db.session.commit()
    return task


def new_task(client: Any, reporter: Any, **item: Any) -> tuple[Task, dict[str, Any]]:
    """A report pushed at Sergels Torg (by default) and its case routed; returns both."""
    pushed = report(**item)
    push(client, reporter, [pushed])
    kwargs = {"category": pushed["category"], "kind": pushed["kind"]}
    return route_reports([pushed["id"]], **kwargs), pushed


def deliver_pending() -> list[str]:
    """Run the delivery job on every pending delivery in this process (no Redis needed)."""
    ids = db.session.execute(select(Delivery.id).where(Delivery.status == PENDING)).scalars()
    return [deliver(str(i)) for i in list(ids)]
