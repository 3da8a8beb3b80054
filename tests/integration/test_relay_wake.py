"""The relay woken on commit (backend/delivery/wake.py), with real worker processes and a real
Redis: a committed delivery is handed out long before the relay's poll would have found it; a
lost signal (the committer sends none) or a Redis outage leaves the delivery to the poll, once.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from backend.delivery import wake
from backend.delivery.services import enqueue_delivery
from backend.extensions import db
from backend.organisations.services import get_by_slug
from tests.helpers.servers import RedisServer, free_port
from tests.integration.test_delivery_workers import Workers, push, rows, wait_until

POLL = "30"
"""A poll this slow cannot be what delivered a row within the tests' bounds below."""


@pytest.fixture
def workers(app: Any, tmp_path: Path) -> Iterator[Workers]:
    made = Workers(app, tmp_path)
    yield made
    made.stop_all()


def _delivered_within(ids: list[uuid.UUID], workers: Workers, seconds: float) -> float:
    started = time.monotonic()
    wait_until(lambda: {r.status for r in rows(ids)} == {"delivered"}, workers, seconds)
    return time.monotonic() - started


def test_a_commit_wakes_the_relay_long_before_its_poll(app, workers):
    workers.start(app.config["REDIS_URL"], RELAY_INTERVAL_SECONDS=POLL)
    # The relay's first pass runs at start; wait until this one is through to know the relay
    # sleeps on its poll (or on the signal) from now on.
    _delivered_within(push("trafikkontoret"), workers, 60)
    for _ in range(3):
        ids = push("trafikkontoret", 5)
        assert _delivered_within(ids, workers, 15) < float(POLL) / 2
        # One job carried the five (named after one of them), delivered once.
        ((attempts, job_id),) = {(r.attempts, r.job_id) for r in rows(ids)}
        assert attempts == 1 and job_id in {str(i) for i in ids}


def test_a_lost_signal_is_left_to_the_poll(app, workers, monkeypatch):
    workers.start(app.config["REDIS_URL"], RELAY_INTERVAL_SECONDS="1")
    _delivered_within(push("trafikkontoret"), workers, 60)
    # This process commits without signalling (as if the signal were lost on its way).
    monkeypatch.setitem(app.config, "RELAY_WAKE_ON_COMMIT", False)
    connection = Redis.from_url(app.config["REDIS_URL"])
    connection.delete(wake.KEY)
    ids = push("fastighetskontoret", 3)
    assert connection.llen(wake.KEY) == 0
    _delivered_within(ids, workers, 30)
    assert {(r.status, r.attempts) for r in rows(ids)} == {("delivered", 1)}


def test_commits_signal_once_after_commit_never_on_rollback(app):
    connection = Redis.from_url(app.config["REDIS_URL"])
    org = get_by_slug(db.session(), "trafikkontoret")

    def write() -> None:
        enqueue_delivery(
            db.session(),
            organisation_id=org.id,
            event_type="task.created",
            subject_type="task",
            subject_id=uuid.uuid4(),
        )

    connection.delete(wake.KEY)
    write()
    assert connection.llen(wake.KEY) == 0  # written, not committed: nothing to find yet
    db.session.rollback()
    db.session.commit()
    assert connection.llen(wake.KEY) == 0  # rolled back: nothing to find
    for _ in range(3):
        write()
        db.session.commit()
    assert connection.llen(wake.KEY) == 1  # three commits, one pass
    connection.delete(wake.KEY)
    get_by_slug(db.session(), "trafikkontoret")
    db.session.commit()
    assert connection.llen(wake.KEY) == 0  # a commit that wrote no delivery


def test_redis_down_costs_the_commit_nothing_and_the_poll_delivers(app, workers, monkeypatch):
    own = RedisServer()
    own.start()
    try:
        url = own.url(0)
        monkeypatch.setitem(app.config, "REDIS_URL", url)
        app.extensions.pop("relay_wake", None)
        monkeypatch.setattr(wake, "_quiet_until", 0.0)
        workers.start(url, RELAY_INTERVAL_SECONDS="1")
        _delivered_within(push("trafikkontoret"), workers, 60)
        own.stop()
        started = time.monotonic()
        ids = push("trafikkontoret", 3)  # commits; the signal fails and is logged
        assert time.monotonic() - started < 5
        assert {r.status for r in rows(ids)} == {"pending"}
        own.start()
        _delivered_within(ids, workers, 60)
        assert {(r.status, r.attempts) for r in rows(ids)} == {("delivered", 1)}
    finally:
        app.extensions.pop("relay_wake", None)
        own.cleanup()


def test_without_redis_the_relay_waits_its_interval(monkeypatch):
    monkeypatch.setattr(wake, "_quiet_until", 0.0)
    dead = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    assert wake.signal(dead) is False
    started = time.monotonic()
    assert wake.wait(dead, 0.3, threading.Event()) is False
    assert time.monotonic() - started >= 0.3
