"""Routing end to end: reports pushed through the API, the case routed, real Redis and real
`flask --app wsgi worker` processes delivering it, the department working it through the API,
and the phone pulling the outcome."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from sqlalchemy import select

from backend.delivery.models import Delivery
from backend.extensions import db
from backend.tasks.models import Task
from tests.helpers.servers import RedisServer
from tests.helpers.sync_items import report
from tests.helpers.tasks import bin_number, push, task_of
from tests.integration import test_delivery_workers as delivery_tests
from tests.integration.test_delivery_workers import Workers, rows, use_webhook, wait_until

TASKS = "/api/v1/tasks"
# The worker processes and the webhook receiver of the delivery tests, as fixtures here too.
workers = delivery_tests.workers
receiver_factory = delivery_tests.receiver_factory


def _deliveries() -> list[tuple[str, str, str]]:
    found = db.session.execute(select(Delivery)).scalars().all()
    result = [(d.organisation.slug, d.event_type, d.status) for d in found]
    db.session.rollback()
    return result


def _statuses(client, account, item_id: str) -> list[str]:
    response = client.get("/api/v1/sync/pull", query_string={"limit": 200}, headers=account.headers)
    return [c["status"] for c in response.get_json()["changes"] if c["id"] == item_id]


def test_a_push_at_sergels_torg_reaches_trafikkontoret_and_resolved_reaches_the_phone(
    app, client, field_user, create_user, workers: Workers
):
    item = report()
    push(client, field_user, [item])  # the push routes the case: no other step
    task = task_of(item["id"])
    db.session.remove()
    trafik = create_user(role="department", org="trafikkontoret")
    others = [
        create_user(role="department", org=slug)
        for slug in ("fastighetskontoret", "socialtjanst-uppsok", "city-i-samverkan")
    ]

    out = workers.burst(app.config["REDIS_URL"])
    assert "relayed 1 deliveries" in out
    listed = client.get(TASKS, headers=trafik.headers).get_json()["items"]
    assert [(i["id"], i["organisation"], i["status"]) for i in listed] == [
        (str(task.id), "trafikkontoret", "new")
    ]
    for other in others:
        assert client.get(TASKS, headers=other.headers).get_json()["items"] == []
    assert _deliveries() == [("trafikkontoret", "task.created", "delivered")]

    for action in ("acknowledge", "start", "resolve"):
        response = client.post(
            f"{TASKS}/{task.id}/events", json={"action": action}, headers=trafik.headers
        )
        assert response.status_code == 200, response.get_json()
    workers.burst(app.config["REDIS_URL"])
    assert Counter(_deliveries()) == Counter(
        {
            ("trafikkontoret", "task.created", "delivered"): 1,
            ("trafikkontoret", "task.changed", "delivered"): 3,
        }
    )
    assert _statuses(client, field_user, item["id"])[-1] == "resolved"
    assert "resolved" in _statuses(client, field_user, item["id"])


def test_a_webhook_organisation_gets_a_signed_event_whose_link_serves_the_task(
    app,
    client,
    field_user,
    create_user,
    workers: Workers,
    receiver_factory,
):
    receiver = receiver_factory()
    use_webhook("fastighetskontoret", receiver.url())
    db.session.commit()
    item = report(kind="damage", category="damage.building", photos=[])
    push(client, field_user, [item])
    task = task_of(item["id"])
    db.session.remove()
    workers.start(app.config["REDIS_URL"])
    wait_until(lambda: sum(receiver.accepted.values()) == 1, workers)
    assert receiver.bad_signatures == 0
    (body,) = receiver.bodies.values()
    assert body["type"] == "task.created"
    assert body["data"]["subject_id"] == str(task.id)
    assert body["data"]["organisation"] == "fastighetskontoret"
    # Thin: ids and a link, nothing the reporter wrote.
    assert item["note"] not in str(body)
    path = body["data"]["link"].split("://", 1)[1].split("/", 1)[1]
    fastighet = create_user(role="department", org="fastighetskontoret")
    detail = client.get(f"/{path}", headers=fastighet.headers)
    assert detail.status_code == 200
    assert detail.get_json()["reports"][0]["id"] == item["id"]


@pytest.mark.slow
def test_cases_routed_while_redis_is_down_are_each_delivered_once(
    app, client, field_user, create_user, workers: Workers
):
    redis = RedisServer()
    redis.start()
    try:
        url = redis.url(0)
        redis.stop()
        worker = workers.start(url)
        items = [report(location=bin_number(n)) for n in range(5)]
        push(client, field_user, items)
        tasks = [task_of(i["id"]).id for i in items]
        db.session.remove()
        time.sleep(1.0)
        assert {s for _, _, s in _deliveries()} == {"pending"}
        redis.start()
        wait_until(lambda: {s for _, _, s in _deliveries()} == {"delivered"}, workers)
        assert worker.poll() is None, workers.logs()
    finally:
        redis.cleanup()
    ids = db.session.execute(select(Delivery.id)).scalars().all()
    db.session.rollback()
    assert {r.attempts for r in rows(list(ids))} == {1}
    trafik = create_user(role="department", org="trafikkontoret")
    listed = client.get(TASKS, headers=trafik.headers).get_json()["items"]
    assert sorted(i["id"] for i in listed) == sorted(str(t) for t in tasks)
    assert db.session.execute(select(Task)).scalars().all().__len__() == 5
    db.session.rollback()


def test_a_case_waiting_for_its_photo_is_routed_by_the_worker_when_the_photo_arrives(
    app, client, field_user, create_user, workers: Workers
):
    from tests.helpers.photos import phone_jpeg, sha256

    photo = phone_jpeg()
    digest = sha256(photo)
    item = report(photos=[{"sha256": digest, "size": len(photo), "content_type": "image/jpeg"}])
    push(client, field_user, [item])
    assert _statuses(client, field_user, item["id"]) == ["received", "awaiting_photos"]
    db.session.remove()
    workers.start(app.config["REDIS_URL"])
    time.sleep(1.5)  # three relay passes: the case keeps waiting while its photo is missing
    assert _deliveries() == []
    uploaded = client.put(f"/api/v1/photos/{digest}", data=photo, headers=field_user.headers)
    assert uploaded.status_code == 201
    wait_until(lambda: _deliveries() == [("trafikkontoret", "task.created", "delivered")], workers)
    assert _statuses(client, field_user, item["id"])[-1] == "routed"
    trafik = create_user(role="department", org="trafikkontoret")
    (listed,) = client.get(TASKS, headers=trafik.headers).get_json()["items"]
    detail = client.get(f"{TASKS}/{listed['id']}", headers=trafik.headers).get_json()
    assert detail["reports"][0]["photos"] == [digest]
