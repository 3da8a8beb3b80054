"""The same waiting case routed at once by several connections (relays on several hosts, or a
split racing a relay): exactly one task and one delivery, and every caller gets that task."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select

from backend.delivery.models import Delivery
from backend.extensions import db
from backend.reports.models import Report
from backend.routing.rules import CaseFacts
from backend.routing.services import route_case
from backend.tasks.models import Task
from tests.helpers.sync_items import report
from tests.helpers.tasks import awaiting, push


def test_concurrent_routing_of_one_case_makes_one_task(app, client, field_user):
    push(client, field_user, [item := awaiting(report())])
    case_id = db.session.execute(
        select(Report.case_id).where(Report.id == uuid.UUID(item["id"]))
    ).scalar_one()
    db.session.remove()
    facts = CaseFacts(kind="litter", category="litter.overflowing_bin", zone="sergels-torg")
    barrier = threading.Barrier(4)
    results: list[uuid.UUID] = []
    errors: list[BaseException] = []

    def route_once() -> None:
        with app.app_context():
            try:
                barrier.wait(10)
                task = route_case(db.session(), case_id, facts, received_at=datetime.now(UTC))
                db.session.commit()
                results.append(task.id)
            except BaseException as exc:  # reported below, not lost in the thread
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=route_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(results) == 4 and len(set(results)) == 1
    assert db.session.execute(select(func.count()).select_from(Task)).scalar() == 1
    assert db.session.execute(select(func.count()).select_from(Delivery)).scalar() == 1
