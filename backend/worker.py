"""The worker: the loop that works the RQ queues, and the relay pass beside it.

``flask --app wsgi worker`` (``backend.cli``) calls :func:`run`: at start it sweeps photos left
unqueued and schedules the nightly runs, then works every queue round robin while a relay
process (:func:`relay_forever`, ``flask --app wsgi relay``) makes one pass every
``RELAY_INTERVAL_SECONDS``: route the cases whose photos arrived or whose wait is over
(``routing.services.route_waiting``), move due deliveries to their organisations' queues
(``delivery.relay``), enqueue the statistics of marked days. ``--burst`` does the same until
nothing is left (tests, cron). Jobs run in the app context of the process working them; queue
names and enqueue-once are ``backend.queues``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from flask import Flask
from redis.exceptions import RedisError
from rq import Worker
from rq.worker import DequeueStrategy
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from backend import queues
from backend.delivery.relay import BATCH, RelayResult, relay_once
from backend.extensions import db, redis
from backend.organisations.models import Organisation
from backend.photos import jobs as photo_jobs
from backend.photos import store as photo_store
from backend.presence import services as presence
from backend.retention import jobs as retention
from backend.routing.services import route_waiting
from backend.stats import jobs as stats
from media.errors import StorageUnavailable

log = logging.getLogger(__name__)

Report = Callable[[str], None]


class RedisDown(RuntimeError):
    """A burst cannot finish while Redis is unreachable (a long-running worker waits)."""


def queue_names() -> list[str]:
    """The fixed queues and every organisation's delivery queue, as they are now."""
    slugs = db.session.execute(select(Organisation.slug)).scalars()
    return queues.everything(slugs)


def redis_up() -> bool:
    try:
        return bool(redis.client.ping())
    except (RedisError, OSError):
        return False


def wait_for_redis(report: Report) -> None:
    """Block until Redis answers. Pushes need no Redis; the relay (already running) keeps the
    outbox until Redis is back, so a worker started during an outage just waits."""
    delay = 0.5
    while not redis_up():
        report(f"worker: waiting for Redis, next try in {delay:.1f} s")
        time.sleep(delay)
        delay = min(delay * 2, 10.0)


def start(app: Flask, names: list[str], burst: bool, report: Report) -> None:
    """What a starting worker does once: sweep the photos a Redis outage or a crash left
    unqueued (media queue) and schedule the nightly runs (default queue, not in a burst)."""
    if queues.MEDIA in names:
        try:
            swept = photo_jobs.sweep(db.session(), photo_store.storage_from(app.config))
            report(f"worker: photo sweep {json.dumps(swept)}")
        except StorageUnavailable as exc:
            # Photo jobs fail and are retried meanwhile (photos.jobs.RETRY); deliveries and
            # routing do not need the store, so the worker works on.
            db.session.rollback()
            report(
                f"worker: photo storage unavailable ({exc.reason}): {exc.message}; "
                "photo sweep skipped until the next start"
            )
    if not burst and queues.DEFAULT in names:
        # One per day however many workers start (see queues.enqueue_once).
        now = retention.utcnow()
        report(f"worker: retention scheduled: {retention.schedule(retention.next_run(now))}")
        scheduled = stats.schedule(stats.next_run(now))
        report(f"worker: statistics nightly run scheduled: {scheduled}")


def relay_pass(app: Flask) -> tuple[int, RelayResult]:
    """One pass of the relay: cases whose photos arrived (or whose wait is over) are routed
    first, so their deliveries go out in this same pass; then the statistics' marked days and
    the workers' dirty presence days (``presence.refresh_dirty``).
    Returns how many cases were routed and what the relay did."""
    try:
        waited = route_waiting(db.session())
        result = relay_once(db.session(), redis.client, app.config)
        stats.enqueue_dirty_days_from_config()
        presence.refresh_dirty(db.session())
        return waited, result
    finally:
        db.session.remove()


def burst(app: Flask, names: list[str], report: Report) -> None:
    """Relay what is due, work every queue empty; again while that made progress."""
    while True:
        relayed = 0
        while True:
            waited, result = relay_pass(app)
            if waited:
                report(f"worker: routed {waited} cases whose photos arrived")
            if result.redis_error:
                raise RedisDown(f"Redis unavailable: {result.redis_error}")
            relayed += result.enqueued + result.requeued
            if result.enqueued + result.requeued == 0:
                break
        report(f"worker: relayed {relayed} deliveries")
        db.engine.dispose()  # no connection of ours may be shared with RQ's forked horses
        worked = Worker(names, connection=redis.client).work(
            burst=True, dequeue_strategy=DequeueStrategy.ROUND_ROBIN
        )
        if not worked and relayed == 0:
            return


def run(app: Flask, names: list[str], relay_command: list[str] | None, report: Report) -> None:
    """Work the queues until asked to stop, with the relay in a process of its own
    (``relay_command``; None: no relay). RQ forks a work horse per job; a database connection
    open in this process at that moment would be shared with the child (SQLite's docs forbid
    carrying one across fork), so this process holds none."""
    db.session.remove()
    db.engine.dispose()
    relay_process = subprocess.Popen(relay_command) if relay_command else None
    try:
        while True:
            wait_for_redis(report)
            # Round robin over the queues: one organisation's backlog (or a burst of photos)
            # never starves another's deliveries.
            Worker(names, connection=redis.client).work(
                with_scheduler=True, dequeue_strategy=DequeueStrategy.ROUND_ROBIN
            )
            # RQ returns after a requested shutdown, and also when it lost Redis for good;
            # in the second case wait for Redis and work on (the relay never stopped).
            if redis_up():
                break
            report("worker: lost Redis; RQ worker restarts when it is back")
    finally:
        if relay_process is not None:
            relay_process.terminate()
            relay_process.wait(15)


def relay_command(app_path: str | None) -> list[str]:
    """How the worker starts its relay: this Python, the same app, stopping with its parent."""
    app_args = ["--app", app_path or "wsgi"]
    return [sys.executable, "-m", "flask", *app_args, "relay", "--exit-with-parent"]


def relay_forever(
    app: Flask,
    stop: threading.Event,
    report: Report = log.info,
    parent_pid: int | None = None,
) -> None:
    """The relay loop (``flask --app wsgi relay``, started by ``worker``): a pass every
    ``RELAY_INTERVAL_SECONDS``, at once again while there is a backlog, until ``stop`` is set
    or, with ``parent_pid``, that process is gone (a SIGKILLed worker leaves no relay behind)."""
    interval = app.config["RELAY_INTERVAL_SECONDS"]
    redis_was_down = False
    with app.app_context():
        while not stop.is_set():
            if parent_pid is not None and os.getppid() != parent_pid:
                report("relay: the worker that started me is gone; stopping")
                return
            try:
                waited, result = relay_pass(app)
                if waited:
                    report(f"relay: routed {waited} cases that were waiting for photos")
            except SQLAlchemyError as exc:
                report(f"relay: database error, retrying: {type(exc).__name__}")
                result = RelayResult()
            if result.redis_error and not redis_was_down:
                report(f"relay: Redis unavailable, deliveries wait: {result.redis_error}")
            elif not result.redis_error and redis_was_down:
                report("relay: Redis is back")
            redis_was_down = result.redis_error is not None
            if result.enqueued or result.requeued:
                report(f"relay: enqueued {result.enqueued}, handed out again {result.requeued}")
            if result.enqueued < BATCH or result.redis_error:
                stop.wait(interval)
