"""A report whose photos have not all arrived: its case waits (``awaiting_photos``) and is routed
when the photos are in or the grace period is over, whichever comes first; late photos join the
case. ``route_waiting`` is the pass the relay makes (``flask --app wsgi relay`` / ``worker``);
tests/integration/test_routing_e2e.py shows a real worker doing it."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from backend.cases.models import Case
from backend.database import utcnow
from backend.delivery.models import Delivery
from backend.extensions import db
from backend.photos.jobs import process_photo
from backend.routing.services import route_waiting
from backend.tasks.models import Task
from tests.helpers.photos import phone_jpeg, sha256
from tests.helpers.sync_items import batch, report
from tests.helpers.tasks import bin_number, task_of

PUSH = "/api/v1/sync/push"


def _with_photo(data: bytes, **item) -> dict:
    return report(
        photos=[{"sha256": sha256(data), "size": len(data), "content_type": "image/jpeg"}],
        **item,
    )


def _push(client, account, *items) -> list[dict]:
    response = client.post(PUSH, json=batch(list(items)), headers=account.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


def _feed(client, account, item_id: str) -> list[tuple[str, dict]]:
    response = client.get("/api/v1/sync/pull", query_string={"limit": 500}, headers=account.headers)
    return [(c["status"], c["data"]) for c in response.get_json()["changes"] if c["id"] == item_id]


def _tasks() -> int:
    return db.session.execute(select(func.count()).select_from(Task)).scalar_one()


def _upload(client, account, data: bytes) -> None:
    response = client.put(f"/api/v1/photos/{sha256(data)}", data=data, headers=account.headers)
    assert response.status_code == 201, response.get_json()


def test_a_case_waits_for_its_photos_and_is_routed_when_they_arrive(client, field_user, app):
    photo = phone_jpeg()
    item = _with_photo(photo)
    (result,) = _push(client, field_user, item)
    assert result["missing_photos"] == [sha256(photo)]
    assert _tasks() == 0
    ((status, data),) = _feed(client, field_user, item["id"])[1:]
    assert status == "awaiting_photos"
    assert data["missing_photos"] == [sha256(photo)] and data["case_id"] == result["case_id"]
    grace = app.config["ROUTING_PHOTO_GRACE_SECONDS"]
    until = utcnow() + timedelta(seconds=grace)
    assert abs((until - _route_after(result["case_id"])).total_seconds()) < 60
    # Nothing to route yet: the photo is missing and the grace period runs.
    assert route_waiting(db.session()) == 0 and _tasks() == 0

    _upload(client, field_user, photo)
    assert route_waiting(db.session()) == 1
    task = task_of(item["id"])
    assert task is not None and task.organisation.slug == "trafikkontoret"
    assert [s for s, _ in _feed(client, field_user, item["id"])] == [
        "received",
        "awaiting_photos",
        "routed",
    ]
    assert _route_after(result["case_id"]) is None
    # The next pass has nothing left: one task, one delivery.
    assert route_waiting(db.session()) == 0
    assert _tasks() == 1
    assert db.session.execute(select(func.count()).select_from(Delivery)).scalar_one() == 1


def test_after_the_grace_period_a_case_is_routed_without_its_photos(
    client, field_user, create_user, app
):
    photo = phone_jpeg()
    item = _with_photo(photo)
    _push(client, field_user, item)
    grace = app.config["ROUTING_PHOTO_GRACE_SECONDS"]
    almost = utcnow() + timedelta(seconds=grace - 30)
    assert route_waiting(db.session(), now=almost) == 0
    later = utcnow() + timedelta(seconds=grace + 1)
    assert route_waiting(db.session(), now=later) == 1
    task = task_of(item["id"])
    assert task is not None
    # The deadline counts from the push, not from the end of the wait.
    case = db.session.get(Case, task.case_id)
    assert task.due_at > case.created_at
    # A late photo joins the case: the department's view of the task lists it and, once
    # stored, the department may open it.
    trafik = create_user(role="department", org="trafikkontoret")
    detail = client.get(f"/api/v1/tasks/{task.id}", headers=trafik.headers).get_json()
    assert detail["reports"][0]["photos"] == [sha256(photo)]
    url = f"/api/v1/photos/{sha256(photo)}"
    assert client.get(url, headers=trafik.headers).status_code == 404  # not here yet
    _upload(client, field_user, photo)
    assert process_photo(sha256(photo)) == "ready"
    assert client.get(url, headers=trafik.headers).status_code == 200


def test_a_report_joining_a_routed_case_never_holds_it_back(client, field_user):
    (first,) = _push(client, field_user, report())
    assert task_of_case(first["case_id"]) is not None
    photo = phone_jpeg()
    (second,) = _push(client, field_user, _with_photo(photo))
    assert second["case_id"] == first["case_id"] and second["joined_case"] is True
    assert second["missing_photos"] == [sha256(photo)]
    assert _route_after(first["case_id"]) is None
    assert _tasks() == 1
    statuses = [s for s, _ in _feed(client, field_user, second["id"])]
    assert "awaiting_photos" not in statuses


def test_reports_of_one_new_case_in_one_batch_wait_together(client, field_user):
    photo = phone_jpeg()
    first, second, elsewhere = _push(
        client, field_user, _with_photo(photo), report(), report(location=bin_number(2))
    )
    assert first["case_id"] == second["case_id"] != elsewhere["case_id"]
    # The bin with a missing photo waits, both its reports say so; the other bin is routed.
    assert [s for s, _ in _feed(client, field_user, second["id"])][-1] == "awaiting_photos"
    assert task_of_case(first["case_id"]) is None
    assert task_of_case(elsewhere["case_id"]) is not None


def test_a_case_merged_away_while_waiting_is_not_routed(client, field_user, create_user):
    supervisor = create_user(role="supervisor")
    (kept,) = _push(client, field_user, report())
    (waiting,) = _push(client, field_user, _with_photo(phone_jpeg(), location=bin_number(2)))
    merged = client.post(
        f"/api/v1/cases/{kept['case_id']}/merge",
        json={"case_id": waiting["case_id"]},
        headers=supervisor.headers,
    )
    assert merged.status_code == 200, merged.get_json()
    later = utcnow() + timedelta(days=1)
    assert route_waiting(db.session(), now=later) == 0
    assert task_of_case(waiting["case_id"]) is None
    assert _tasks() == 1


def task_of_case(case_id: str) -> Task | None:
    return db.session.execute(
        select(Task).where(Task.case_id == uuid.UUID(case_id))
    ).scalar_one_or_none()


def _route_after(case_id: str):
    db.session.expire_all()
    return db.session.execute(
        select(Case.route_after).where(Case.id == uuid.UUID(case_id))
    ).scalar_one()


def test_the_grace_period_is_advertised(client, field_user, app):
    body = client.get("/api/v1/sync/config", headers=field_user.headers).get_json()
    assert body["limits"]["photo_grace_s"] == app.config["ROUTING_PHOTO_GRACE_SECONDS"] > 0
