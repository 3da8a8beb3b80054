"""The delivery outbox in one process: real database, real Redis, RQ's SimpleWorker.

Worker processes, outages and kills are in tests/integration/test_delivery_workers.py.
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import select

from backend import queues
from backend.database import utcnow
from backend.delivery import relay
from backend.delivery.jobs import deliver
from backend.delivery.models import Delivery
from backend.delivery.relay import relay_once
from backend.delivery.services import enqueue_delivery, inbox_subject_ids
from backend.extensions import db
from backend.organisations.services import get_by_slug
from tests.helpers.servers import free_port

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _push(slug: str, n: int = 1, event_type: str = "task.created") -> list[uuid.UUID]:
    """What the integrator's use case does: write the subject and its delivery, commit."""
    org = get_by_slug(db.session(), slug)
    ids = [
        enqueue_delivery(
            db.session(),
            organisation_id=org.id,
            event_type=event_type,
            subject_type="task",
            subject_id=uuid.uuid4(),
        ).id
        for _ in range(n)
    ]
    db.session.commit()
    return ids


def _row(delivery_id: uuid.UUID) -> Delivery:
    db.session.expire_all()
    row = db.session.get(Delivery, delivery_id)
    assert row is not None
    return row


def _redis(app) -> Redis:
    return Redis.from_url(app.config["REDIS_URL"])


def _work(app, *slugs: str) -> None:
    connection = _redis(app)
    SimpleWorker(
        [Queue(queues.delivery(slug), connection=connection) for slug in slugs],
        connection=connection,
    ).work(burst=True)


def _relay(app):
    result = relay_once(db.session(), _redis(app), app.config)
    db.session.remove()
    return result


def test_a_delivery_commits_and_rolls_back_with_the_callers_transaction(app):
    org = get_by_slug(db.session(), "trafikkontoret")
    enqueue_delivery(
        db.session(),
        organisation_id=org.id,
        event_type="task.created",
        subject_type="task",
        subject_id=uuid.uuid4(),
    )
    db.session.rollback()
    assert db.session.execute(select(Delivery)).scalars().all() == []
    (kept,) = _push("trafikkontoret")
    assert _row(kept).status == "pending"
    with pytest.raises(ValueError, match="unknown event type"):
        enqueue_delivery(
            db.session(),
            organisation_id=org.id,
            event_type="task.deleted_with_names",
            subject_type="task",
            subject_id=uuid.uuid4(),
        )


def test_inbox_delivery_lands_in_that_inbox_once(app):
    ids = _push("trafikkontoret", 3)
    assert _relay(app).enqueued == 3
    # A second pass finds nothing to do, and Redis holds one job for the organisation's three
    # inbox deliveries, named after the oldest; each row knows its job.
    assert _relay(app).enqueued == 0
    queue = Queue(queues.delivery("trafikkontoret"), connection=_redis(app))
    (job_id,) = queue.job_ids
    assert job_id in {str(i) for i in ids}
    assert {_row(i).job_id for i in ids} == {job_id}

    _work(app, "trafikkontoret")
    rows = [_row(i) for i in ids]
    assert {(r.status, r.attempts) for r in rows} == {("delivered", 1)}
    inbox = set(
        db.session.execute(
            inbox_subject_ids(get_by_slug(db.session(), "trafikkontoret").id)
        ).scalars()
    )
    assert inbox == {r.subject_id for r in rows}
    other = get_by_slug(db.session(), "fastighetskontoret").id
    assert list(db.session.execute(inbox_subject_ids(other)).scalars()) == []

    # The job run again (a duplicate in the queue, a retried job) changes nothing.
    assert deliver(str(ids[0])) == "delivered"
    assert _row(ids[0]).attempts == 1


def test_relay_keeps_rows_pending_while_redis_is_unreachable(app):
    (delivery_id,) = _push("trafikkontoret")
    dead = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    result = relay_once(db.session(), dead, app.config)
    db.session.remove()
    assert result.enqueued == 0 and result.redis_error
    assert _row(delivery_id).status == "pending"
    assert _relay(app).enqueued == 1
    assert _row(delivery_id).status == "enqueued"


def test_lost_jobs_and_lost_workers_are_handed_out_again(app, monkeypatch):
    monkeypatch.setitem(app.config, "DELIVERY_STUCK_AFTER_SECONDS", 0)
    lost_job, lost_worker = _push("trafikkontoret", 2)
    assert _relay(app).enqueued == 2
    _redis(app).flushdb()  # Redis restarted without persistence

    row = _row(lost_worker)
    row.attempts = 1
    row.lease_expires_at = utcnow() - timedelta(seconds=1)  # its worker died mid-attempt
    db.session.commit()

    result = _relay(app)
    assert (result.requeued, result.enqueued) == (2, 2)
    assert "lost" in (_row(lost_job).last_error or "")
    assert "interrupted" in (_row(lost_worker).last_error or "")
    _work(app, "trafikkontoret")
    assert (_row(lost_job).status, _row(lost_job).attempts) == ("delivered", 1)
    assert (_row(lost_worker).status, _row(lost_worker).attempts) == ("delivered", 2)


def test_private_destination_is_refused_and_recorded(app, client, admin):
    patched = client.patch(
        "/api/v1/admin/organisations/fastighetskontoret",
        headers=admin.headers,
        json={
            "channel": "webhook",
            "webhook_url": "https://10.20.30.40/hook",
            "webhook_secret": SECRET,
        },
    )
    assert patched.status_code == 200, patched.get_json()
    (delivery_id,) = _push("fastighetskontoret")
    _relay(app)
    _work(app, "fastighetskontoret")
    row = _row(delivery_id)
    assert row.status == "failed"
    assert row.attempts == 1
    assert "non-public address" in (row.last_error or "")

    failed = client.get("/api/v1/admin/deliveries?status=failed", headers=admin.headers)
    assert [d["id"] for d in failed.get_json()["items"]] == [str(delivery_id)]

    # The admin fixes the organisation (back to its inbox) and retries: delivered there.
    client.patch(
        "/api/v1/admin/organisations/fastighetskontoret",
        headers=admin.headers,
        json={"channel": "inbox"},
    )
    retried = client.post(f"/api/v1/admin/deliveries/{delivery_id}/retry", headers=admin.headers)
    assert retried.status_code == 200
    assert (retried.get_json()["status"], retried.get_json()["channel"]) == ("pending", "inbox")
    _relay(app)
    _work(app, "fastighetskontoret")
    assert _row(delivery_id).status == "delivered"
    again = client.post(f"/api/v1/admin/deliveries/{delivery_id}/retry", headers=admin.headers)
    assert again.status_code == 409
    assert again.get_json()["code"] == "delivery_not_failed"


def test_admin_pages_through_deliveries(client, admin):
    ids = _push("trafikkontoret", 5) + _push("norrmalm-sdf", 2)
    seen: list[str] = []
    cursor = None
    while True:
        url = "/api/v1/admin/deliveries?limit=2&organisation=trafikkontoret"
        response = client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=admin.headers)
        assert response.status_code == 200
        page = response.get_json()
        seen += [d["id"] for d in page["items"]]
        assert all(d["organisation"] == "trafikkontoret" for d in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(str(i) for i in ids[:5])
    assert len(seen) == len(set(seen))
    unknown = client.get(f"/api/v1/admin/deliveries?cursor={uuid.uuid4()}", headers=admin.headers)
    assert (unknown.status_code, unknown.get_json()["code"]) == (400, "invalid_cursor")
    missing = client.post(f"/api/v1/admin/deliveries/{uuid.uuid4()}/retry", headers=admin.headers)
    assert (missing.status_code, missing.get_json()["code"]) == (404, "delivery_not_found")


def test_channel_settings_are_checked_and_the_secret_never_returned(client, admin):
    url = "/api/v1/admin/organisations/polisen-city"
    incomplete = client.patch(url, headers=admin.headers, json={"channel": "webhook"})
    assert incomplete.status_code == 409
    assert incomplete.get_json()["code"] == "channel_incomplete"
    assert set(incomplete.get_json()["errors"]) == {"webhook_url", "webhook_secret"}
    assert client.get(url, headers=admin.headers).get_json()["channel"] == "inbox"

    plain_http = client.patch(
        url,
        headers=admin.headers,
        json={
            "channel": "webhook",
            "webhook_url": "http://intranet.polisen/x",
            "webhook_secret": SECRET,
        },
    )
    assert plain_http.status_code == 409
    assert plain_http.get_json()["code"] == "webhook_url_not_allowed"

    bad_secret = client.patch(url, headers=admin.headers, json={"webhook_secret": "hunter2"})
    assert bad_secret.status_code == 422
    assert "webhook_secret" in bad_secret.get_json()["errors"]

    ok = client.patch(
        url,
        headers=admin.headers,
        json={
            "channel": "webhook",
            "webhook_url": "https://hooks.polisen.example/in",
            "webhook_secret": SECRET,
        },
    )
    assert ok.status_code == 200
    for body in (
        ok.get_data(as_text=True),
        client.get(url, headers=admin.headers).get_data(as_text=True),
    ):
        assert SECRET not in body
        assert SECRET[len("whsec_") :] not in body
    assert ok.get_json()["webhook_secret_set"] is True

    email = client.patch(url, headers=admin.headers, json={"channel": "email", "email": None})
    assert (email.status_code, email.get_json()["code"]) == (409, "channel_incomplete")


def test_email_channel_sends_a_thin_message_with_the_link(app, client, admin, monkeypatch):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received = []

    class Collect(Message):
        def handle_message(self, message):
            received.append(message)

    port = free_port()
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        patched = client.patch(
            "/api/v1/admin/organisations/norrmalm-sdf",
            headers=admin.headers,
            json={"channel": "email", "email": "felanmalan@norrmalm.example"},
        )
        assert patched.status_code == 200
        (delivery_id,) = _push("norrmalm-sdf")
        _relay(app)
        _work(app, "norrmalm-sdf")
    finally:
        controller.stop()
    row = _row(delivery_id)
    assert (row.status, row.attempts, row.channel) == ("delivered", 1, "email")
    (message,) = received
    assert message["To"] == "felanmalan@norrmalm.example"
    body = message.get_payload(decode=True).decode()
    assert f"/api/v1/tasks/{row.subject_id}" in body
    assert str(delivery_id) in body


def test_relay_batches_inbox_rows_per_organisation_and_sends_others_alone(monkeypatch):
    monkeypatch.setattr(relay, "JOB_BATCH", 2)
    a, b, c, d, e = (uuid.uuid4() for _ in range(5))
    claimed = [(a, "x", "inbox"), (b, "y", "inbox"), (c, "x", "webhook"), (d, "x", "inbox")]
    claimed.append((e, "x", "inbox"))
    assert relay.job_batches(claimed) == [
        ("x", [str(a), str(d)]),
        ("y", [str(b)]),
        ("x", [str(c)]),
        ("x", [str(e)]),
    ]


def test_a_waiting_batch_job_is_left_alone_and_a_lost_one_handed_out_once(app, monkeypatch):
    monkeypatch.setitem(app.config, "DELIVERY_STUCK_AFTER_SECONDS", 0)
    ids = _push("trafikkontoret", 3)
    assert _relay(app).enqueued == 3
    assert _relay(app).requeued == 0  # its job waits in the queue: a long queue, not lost
    _redis(app).flushdb()  # Redis restarted without persistence: the job is gone
    result = _relay(app)
    assert (result.requeued, result.enqueued) == (3, 3)
    assert "lost" in (_row(ids[0]).last_error or "")
    _work(app, "trafikkontoret")
    assert {(_row(i).status, _row(i).attempts) for i in ids} == {("delivered", 1)}


def test_a_batch_job_delivers_each_row_once_and_the_odd_one_alone(app):
    fresh, done, mailed = _push("trafikkontoret", 3)
    assert deliver(str(done)) == "delivered"
    row = _row(mailed)
    row.channel = "email"  # an admin's retry switched the organisation to e-mail (no address)
    db.session.commit()
    assert deliver(str(fresh), str(done), str(mailed)) == "1 delivered together, 1 alone"
    assert (_row(fresh).status, _row(fresh).attempts) == ("delivered", 1)
    assert (_row(done).status, _row(done).attempts) == ("delivered", 1)
    assert (_row(mailed).status, _row(mailed).attempts) == ("failed", 1)
    assert "refused" in (_row(mailed).last_error or "")


def _deliver_at_once(app, *orders: list[str]) -> list[str]:
    """Run one delivery job per id list, all at once, each in a thread and app context of its
    own (as two worker processes would); their outcomes, or the error each raised."""
    start = threading.Barrier(len(orders))
    outcomes: list[str] = []

    def run(order: list[str]) -> None:
        with app.app_context():
            start.wait()
            try:
                outcomes.append(deliver(*order))
            except Exception as exc:  # a deadlock's error would end up here
                outcomes.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def test_duplicate_batch_jobs_at_the_same_time_deliver_each_row_once(app):
    """A relay that died between pushing and committing, or a sweep, can leave two jobs for the
    same rows; run at once (the ids in opposite orders), neither deadlocks and each row is
    delivered once."""
    for _ in range(3):
        ids = [str(i) for i in _push("trafikkontoret", 150)]
        outcomes = _deliver_at_once(app, ids, ids[::-1])
        together = sorted(int(o.split()[0]) for o in outcomes if o.endswith("0 alone"))
        assert len(together) == 2, outcomes
        assert together[0] + together[1] == 150, outcomes
        rows = [_row(uuid.UUID(i)) for i in ids]
        assert {(r.status, r.attempts) for r in rows} == {("delivered", 1)}


def test_a_duplicate_job_leaves_a_row_whose_attempt_holds_a_lease(app):
    (delivery_id,) = _push("trafikkontoret")
    row = _row(delivery_id)
    row.channel, row.status, row.attempts = "webhook", "enqueued", 1
    row.lease_expires_at = utcnow() + timedelta(seconds=60)  # an attempt is under way
    db.session.commit()
    assert deliver(str(delivery_id)) == "enqueued"
    assert _row(delivery_id).attempts == 1
