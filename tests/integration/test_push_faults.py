"""Fault injection on the push path, with real processes on loopback.

gunicorn with 2 workers serves pushes of distinct items while a fault strikes: a worker is
SIGKILLed mid-push, PostgreSQL stops with ``pg_ctl -m immediate`` and restarts, Redis stops.
A pusher thread records which items the server acknowledged (``created`` or ``duplicate``) and
resends every batch that got no answer, like a phone. Afterwards everything is read back, a set
check in the style of Jepsen: every acknowledged item is stored, with its report or presence
row (nothing half-written), nothing is stored that was not sent, and resending everything
creates nothing (no item stored twice).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.helpers.servers import REPO, Gunicorn, PostgresServer, RedisServer
from tests.helpers.sync_items import batch, presence, report
from tests.helpers.tasks import bin_number

BATCH_ITEMS = 40
ACKNOWLEDGED = {"created", "duplicate"}


@dataclass
class Pusher:
    """A phone-like client: pushes batches, resends unanswered ones, records acknowledgements."""

    url: str
    token: str
    batches: list[list[dict[str, Any]]]
    acknowledged: set[str] = field(default_factory=set)
    statuses: Counter[int | str] = field(default_factory=Counter)
    server_errors: list[tuple[int, str]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def push(self, items: list[dict[str, Any]], session: requests.Session) -> bool:
        try:
            response = session.post(
                f"{self.url}/api/v1/sync/push",
                json=batch(items),
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=30,
            )
        except requests.RequestException as exc:
            self.statuses[type(exc).__name__] += 1
            return False
        self.statuses[response.status_code] += 1
        if response.status_code >= 500:
            body = response.json()
            self.server_errors.append((response.status_code, body.get("code", "")))
            return False
        assert response.status_code == 200, response.text
        for result in response.json()["results"]:
            assert result["status"] in ACKNOWLEDGED, result
            self.acknowledged.add(result["id"])
        return True

    def run(self, deadline_s: float = 120) -> None:
        """Push every batch until each has an answer (a phone's outbox draining)."""
        pending = list(self.batches)
        give_up = time.monotonic() + deadline_s
        with requests.Session() as session:
            while pending and time.monotonic() < give_up:
                items = pending.pop(0)
                if not self.push(items, session):
                    pending.append(items)
                    session.close()  # a killed worker's connection is gone
                    time.sleep(0.05)
        self.done.set()

    def wait_for(self, acknowledged: int, timeout: float = 60) -> None:
        """Block until this many items are acknowledged, so a fault strikes mid-ingest."""
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < acknowledged:
            assert time.monotonic() < deadline and not self.done.is_set()
            time.sleep(0.01)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        return thread


def distinct_batches(count: int) -> list[list[dict[str, Any]]]:
    # Reports at ten bins 55 m apart: the first report at a bin starts a case the push routes,
    # the rest join it.
    return [
        [
            report(location=bin_number((n * BATCH_ITEMS + i) // 2 % 10)) if i % 2 else presence()
            for i in range(BATCH_ITEMS)
        ]
        for n in range(count)
    ]


def read_back(database_url: str) -> dict[str, Counter[str]]:
    """Every stored item id, counted per table."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {
                table: Counter(
                    str(uuid.UUID(str(row[0])))
                    for row in conn.execute(text(f"SELECT id FROM {table}"))
                )
                for table in ("sync_items", "reports", "presence_events")
            }
    finally:
        engine.dispose()


def check_sets(pusher: Pusher, database_url: str) -> None:
    sent = {item["id"] for items in pusher.batches for item in items}
    reports = {item["id"] for items in pusher.batches for item in items if item["type"] == "report"}
    stored = read_back(database_url)
    ledger = stored["sync_items"]
    assert pusher.acknowledged == sent, "every batch was answered in the end"
    assert set(ledger) == sent, "acknowledged items are stored, nothing else is"
    assert max(ledger.values()) == 1
    assert set(stored["reports"]) == reports, "every stored report has its report row"
    assert set(stored["presence_events"]) == sent - reports
    # A phone that never heard back resends: nothing is created a second time.
    with requests.Session() as session:
        for items in pusher.batches:
            response = session.post(
                f"{pusher.url}/api/v1/sync/push",
                json=batch(items),
                headers={"Authorization": f"Bearer {pusher.token}"},
                timeout=30,
            )
            assert response.status_code == 200
            assert {r["status"] for r in response.json()["results"]} == {"duplicate"}
    assert read_back(database_url)["sync_items"] == ledger
    # Routing commits with the push or not at all: every case has exactly one task, handed to
    # its organisation exactly once.
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            cases = conn.execute(text("SELECT count(*) FROM cases")).scalar()
            unrouted = conn.execute(
                text(
                    "SELECT count(*) FROM cases c WHERE"
                    " (SELECT count(*) FROM tasks t WHERE t.case_id = c.id) != 1"
                )
            ).scalar()
            handed = conn.execute(
                text(
                    "SELECT count(*) FROM tasks t WHERE (SELECT count(*) FROM deliveries d"
                    " WHERE d.subject_id = t.id AND d.event_type = 'task.created') != 1"
                )
            ).scalar()
    finally:
        engine.dispose()
    bins = {i["location"]["lat"] for b in pusher.batches for i in b if i["type"] == "report"}
    assert cases == len(bins) and unrouted == 0 and handed == 0, (cases, unrouted, handed)


def server_env(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        # The limiter stays in the path (Redis is touched on every push) but never refuses.
        "RATE_LIMIT_PUSH_PER_MINUTE": "1000000",
    }


@pytest.mark.slow
def test_sigkill_of_a_gunicorn_worker_mid_push_loses_and_doubles_nothing(
    app, field_user, redis_server, tmp_path
):
    from backend.extensions import db

    db.session.remove()  # release the fixture's SQLite transaction before gunicorn writes
    database_url = app.config["SQLALCHEMY_DATABASE_URI"]
    server = Gunicorn(server_env(database_url, redis_server.url(2)), tmp_path / "gunicorn.log")
    try:
        pusher = Pusher(server.url, field_user.token, distinct_batches(150))
        thread = pusher.start()
        kills = 0
        while not pusher.done.is_set() and kills < 4:
            # Kill only while pushes are being served (not while new workers boot): every
            # worker at once, so the one handling the current push dies mid-request.
            pusher.wait_for(len(pusher.acknowledged) + BATCH_ITEMS * 3)
            for pid in server.workers():
                os.kill(pid, signal.SIGKILL)
            kills += 1
        thread.join(150)
        assert kills == 4, "the faults struck while pushing"
        assert not pusher.server_errors
        assert sum(v for k, v in pusher.statuses.items() if isinstance(k, str)) >= 1, (
            "at least one push lost its connection to a killed worker"
        )
        check_sets(pusher, database_url)
    finally:
        server.stop()


@pytest.mark.slow
def test_redis_stopping_during_pushes_changes_nothing(app, field_user, tmp_path):
    from backend.extensions import db

    db.session.remove()
    database_url = app.config["SQLALCHEMY_DATABASE_URI"]
    redis = RedisServer()
    redis.start()
    server = Gunicorn(server_env(database_url, redis.url(0)), tmp_path / "gunicorn.log")
    try:
        pusher = Pusher(server.url, field_user.token, distinct_batches(100))
        thread = pusher.start()
        pusher.wait_for(BATCH_ITEMS * 10)
        redis.stop()
        thread.join(150)
        assert pusher.statuses.keys() == {200}, pusher.statuses
        check_sets(pusher, database_url)
    finally:
        server.stop()
        redis.cleanup()


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL of this test's own: stopping it leaves the session's server alone."""
    server = PostgresServer(durable=True)
    server.start()
    yield server
    server.cleanup()


@pytest.mark.slow
def test_postgresql_stopped_immediately_during_ingest_loses_nothing(
    own_postgres, redis_server, tmp_path
):
    database_url = own_postgres.create_database("samverkan_faults")
    env = {**os.environ, **server_env(database_url, redis_server.url(3))}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=REPO, env=env, check=True, capture_output=True)
    seeded = subprocess.run(
        [*flask, "seed-demo"], cwd=REPO, env=env, check=True, capture_output=True
    )
    token = next(u["token"] for u in json.loads(seeded.stdout) if u["role"] == "field")
    server = Gunicorn(server_env(database_url, redis_server.url(3)), tmp_path / "gunicorn.log")
    try:
        pusher = Pusher(server.url, token, distinct_batches(150))
        thread = pusher.start()
        pusher.wait_for(BATCH_ITEMS * 10)
        own_postgres.stop("immediate")
        time.sleep(1.5)
        own_postgres.start()
        thread.join(150)
        assert pusher.server_errors, "pushes met the outage"
        assert {error for error in pusher.server_errors} == {(503, "database_unavailable")}
        check_sets(pusher, database_url)
    finally:
        server.stop()
