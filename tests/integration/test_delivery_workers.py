"""Delivery with real worker processes (`flask --app wsgi worker`), real Redis, a real HTTP
receiver on 127.0.0.1 and faults: Redis stopped and restarted empty, a worker SIGKILLed in the
middle of a webhook POST, a receiver that fails five times, one that redirects.

"Once" for a webhook means what the Standard Webhooks spec means: the receiver accepts each
`webhook-id` once (it answers a repeat 200 without acting on it again). The tests assert the
receiver accepted every id exactly once and the row records one delivery.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from redis import Redis
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from backend.delivery.models import Delivery
from backend.delivery.relay import relay_once
from backend.delivery.services import enqueue_delivery
from backend.extensions import db
from backend.organisations.services import get_by_slug, update_organisation
from tests.helpers.servers import REPO, RedisServer

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
FLASK = str(Path(sys.executable).with_name("flask"))


class Receiver:
    """A webhook endpoint as the spec asks receivers to be: verifies, dedupes on webhook-id."""

    def __init__(self, fail_first: int = 0, slow_first: float = 0.0) -> None:
        self.fail_first = fail_first
        self.slow_first = slow_first
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()
        self.bodies: dict[str, Any] = {}
        self.bad_signatures = 0
        self.paths: Counter[str] = Counter()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.paths[self.path] += 1
                if self.path == "/redirect":
                    self.send_response(307)
                    self.send_header("Location", f"http://127.0.0.1:{receiver.port}/target")
                    self.end_headers()
                    return
                try:
                    payload = Webhook(SECRET).verify(body, dict(self.headers))
                except WebhookVerificationError:
                    with receiver.lock:
                        receiver.bad_signatures += 1
                    self.send_response(400)
                    self.end_headers()
                    return
                msg_id = self.headers["webhook-id"]
                with receiver.lock:
                    receiver.received[msg_id] += 1
                    seen = receiver.received[msg_id]
                    if seen > receiver.fail_first and not receiver.accepted[msg_id]:
                        receiver.accepted[msg_id] += 1
                        receiver.bodies[msg_id] = payload
                if seen <= receiver.fail_first:
                    self.send_response(503)
                    self.end_headers()
                    return
                if seen == 1 and receiver.slow_first:
                    time.sleep(receiver.slow_first)
                self.send_response(200)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_factory() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(**kwargs: Any) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Workers:
    """`flask --app wsgi worker` processes, each in its own process group."""

    def __init__(self, app: Any, tmp_path: Path) -> None:
        self.app = app
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen[bytes]] = []

    def env(self, redis_url: str, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": redis_url,
            "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            "RELAY_INTERVAL_SECONDS": "0.1",
            "DELIVERY_BACKOFF_BASE_SECONDS": "0.1",
            "DELIVERY_BACKOFF_MAX_SECONDS": "1",
            "DELIVERY_LEASE_SECONDS": "4",
            "DELIVERY_STUCK_AFTER_SECONDS": "1",
            "WEBHOOK_TIMEOUT_SECONDS": "2",
            **extra,
        }

    def start(self, redis_url: str, *args: str, **extra: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp_path / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [FLASK, "--app", "wsgi", "worker", *args],
            cwd=REPO,
            env=self.env(redis_url, **extra),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def burst(self, redis_url: str) -> str:
        done = subprocess.run(
            [FLASK, "--app", "wsgi", "worker", "--burst"],
            cwd=REPO,
            env=self.env(redis_url),
            capture_output=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr.decode()
        return done.stderr.decode()

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL the worker and every process it started: the relay, the scheduler and the
        work horse (RQ puts the horse in a session of its own, out of the worker's group)."""
        for pid in [*_descendants(proc.pid), proc.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait(20)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.tmp_path.glob("*.log"))

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.kill(proc)
                except ProcessLookupError:
                    pass


@pytest.fixture
def workers(app: Any, tmp_path: Path) -> Iterator[Workers]:
    made = Workers(app, tmp_path)
    yield made
    made.stop_all()


def push(slug: str, n: int = 1) -> list[uuid.UUID]:
    org = get_by_slug(db.session(), slug)
    ids = [
        enqueue_delivery(
            db.session(),
            organisation_id=org.id,
            event_type="task.created",
            subject_type="task",
            subject_id=uuid.uuid4(),
        ).id
        for _ in range(n)
    ]
    db.session.commit()
    return ids


def rows(ids: list[uuid.UUID]) -> list[SimpleNamespace]:
    """Snapshots of the rows, read in a transaction that ends at once: a transaction left open
    here would hold SQLite's lock against the workers."""
    db.session.expire_all()
    found = [db.session.get(Delivery, i) for i in ids]
    snapshots = [
        SimpleNamespace(
            **{c.name: getattr(r, c.name) for c in Delivery.__table__.columns},
            slug=r.organisation.slug,
        )
        for r in found
        if r is not None
    ]
    db.session.rollback()
    return snapshots


def wait_until(check: Callable[[], bool], workers: Workers, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out; worker logs:\n{workers.logs()}")


def use_webhook(slug: str, url: str) -> None:
    update_organisation(
        db.session(),
        slug,
        webhook_allowed_hosts=("127.0.0.1",),
        channel="webhook",
        webhook_url=url,
        webhook_secret=SECRET,
    )


def test_burst_worker_delivers_to_the_inbox_of_that_organisation_only(app, workers):
    ids = push("trafikkontoret", 4)
    out = workers.burst(app.config["REDIS_URL"])
    assert "relayed 4 deliveries" in out
    delivered = rows(ids)
    assert {(r.status, r.attempts, r.channel) for r in delivered} == {("delivered", 1, "inbox")}
    assert {r.slug for r in delivered} == {"trafikkontoret"}
    # A second burst finds nothing and changes nothing.
    workers.burst(app.config["REDIS_URL"])
    assert {(r.status, r.attempts) for r in rows(ids)} == {("delivered", 1)}


def test_webhook_event_is_thin_and_correctly_signed(app, workers, receiver_factory):
    receiver = receiver_factory()
    use_webhook("trafikkontoret", receiver.url())
    workers.start(app.config["REDIS_URL"])
    (delivery_id,) = push("trafikkontoret")
    wait_until(lambda: rows([delivery_id])[0].status == "delivered", workers)
    assert receiver.bad_signatures == 0
    assert receiver.accepted == Counter({str(delivery_id): 1})
    body = receiver.bodies[str(delivery_id)]
    assert body["type"] == "task.created"
    assert set(body["data"]) == {
        "delivery_id",
        "organisation",
        "subject_type",
        "subject_id",
        "link",
    }
    (row,) = rows([delivery_id])
    assert body["data"]["link"].endswith(f"/api/v1/tasks/{row.subject_id}")


@pytest.mark.slow
def test_receiver_failing_five_times_gets_it_once_with_attempts_recorded(
    app, workers, receiver_factory
):
    receiver = receiver_factory(fail_first=5)
    use_webhook("trafikkontoret", receiver.url())
    workers.start(app.config["REDIS_URL"])
    (delivery_id,) = push("trafikkontoret")
    wait_until(lambda: rows([delivery_id])[0].status == "delivered", workers)
    (row,) = rows([delivery_id])
    assert row.attempts == 6
    assert row.last_error == "HTTP 503"
    assert receiver.received[str(delivery_id)] == 6
    assert receiver.accepted == Counter({str(delivery_id): 1})


@pytest.mark.slow
def test_redirects_are_not_followed(app, workers, receiver_factory):
    receiver = receiver_factory()
    use_webhook("trafikkontoret", receiver.url("/redirect"))
    workers.start(app.config["REDIS_URL"], DELIVERY_MAX_ATTEMPTS="2")
    (delivery_id,) = push("trafikkontoret")
    wait_until(lambda: rows([delivery_id])[0].status == "failed", workers)
    (row,) = rows([delivery_id])
    assert row.attempts == 2
    assert "redirect" in (row.last_error or "")
    assert receiver.paths["/redirect"] == 2
    assert receiver.paths["/target"] == 0


@pytest.mark.slow
def test_redis_outage_loses_nothing_and_duplicates_nothing(
    app, workers, receiver_factory, tmp_path
):
    receiver = receiver_factory()
    use_webhook("trafikkontoret", receiver.url())
    redis = RedisServer()
    redis.start()
    try:
        url = redis.url(0)
        # Ten deliveries reach Redis, then Redis stops before any worker ran them: their jobs
        # are gone (no persistence), the rows say `enqueued`.
        lost = push("trafikkontoret", 10)
        assert relay_once(db.session(), Redis.from_url(url), app.config).enqueued == 10
        db.session.remove()
        redis.stop()
        # A worker runs through the outage; pushes keep succeeding meanwhile.
        worker = workers.start(url)
        during = push("trafikkontoret", 10)
        time.sleep(1.5)
        assert {r.status for r in rows(during)} == {"pending"}
        redis.start()
        everything = lost + during
        wait_until(lambda: {r.status for r in rows(everything)} == {"delivered"}, workers)
        assert worker.poll() is None, workers.logs()
    finally:
        redis.cleanup()
    assert receiver.accepted == Counter({str(i): 1 for i in everything})
    # Nothing was even sent twice: each lost job was handed out again exactly once.
    assert receiver.received == receiver.accepted
    assert {r.attempts for r in rows(everything)} == {1}


@pytest.mark.slow
def test_worker_killed_mid_delivery_delivers_once_after_recovery(app, workers, receiver_factory):
    receiver = receiver_factory(slow_first=30)
    use_webhook("trafikkontoret", receiver.url())
    first = workers.start(app.config["REDIS_URL"])
    (delivery_id,) = push("trafikkontoret")
    wait_until(lambda: receiver.received[str(delivery_id)] == 1, workers)
    workers.kill(first)  # SIGKILL to the worker, its work horse and scheduler
    (row,) = rows([delivery_id])
    assert (row.status, row.attempts) == ("enqueued", 1)

    workers.start(app.config["REDIS_URL"])
    wait_until(lambda: rows([delivery_id])[0].status == "delivered", workers)
    (row,) = rows([delivery_id])
    assert row.attempts == 2
    assert "interrupted" in (row.last_error or "")
    assert receiver.received[str(delivery_id)] == 2
    assert receiver.accepted == Counter({str(delivery_id): 1})


def test_admin_sees_the_delivery_state(app, client, admin, workers, receiver_factory):
    receiver = receiver_factory(fail_first=100)
    use_webhook("trafikkontoret", receiver.url())
    (delivery_id,) = push("trafikkontoret")
    workers.start(app.config["REDIS_URL"], DELIVERY_MAX_ATTEMPTS="3")
    wait_until(lambda: rows([delivery_id])[0].status == "failed", workers)
    listed = client.get("/api/v1/admin/deliveries?status=failed", headers=admin.headers)
    (item,) = listed.get_json()["items"]
    assert (item["id"], item["attempts"], item["last_error"]) == (str(delivery_id), 3, "HTTP 503")
    assert json.dumps(item).count(SECRET) == 0
    receiver.fail_first = 0
    assert (
        client.post(
            f"/api/v1/admin/deliveries/{delivery_id}/retry", headers=admin.headers
        ).status_code
        == 200
    )
    wait_until(lambda: rows([delivery_id])[0].status == "delivered", workers)
    assert receiver.accepted == Counter({str(delivery_id): 1})
