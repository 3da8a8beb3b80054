"""The worker: the loop that works the RQ queues, and the relay pass beside it.

``flask --app wsgi worker`` (``backend.cli``) calls :func:`run`: at start it sweeps photos left
unqueued and schedules the nightly runs, then works the fixed queues (media, default) with RQ's
forking worker, while a :class:`DeliveryWorker` process (``flask --app wsgi delivery-worker``)
works every organisation's delivery queue without forking and a relay process
(:func:`relay_forever`, ``flask --app wsgi relay``) makes a pass as soon as a commit that wrote
deliveries wakes it (``delivery.wake``), else every ``RELAY_INTERVAL_SECONDS``: route the cases
whose photos arrived or whose wait is over (``routing.services.route_waiting``), move due
deliveries to their organisations' queues (``delivery.relay``), enqueue the statistics of marked
days. ``--burst`` does the same until nothing is left (tests, cron). Jobs run in the app context
of the process working them; queue names and enqueue-once are ``backend.queues``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from flask import Flask
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker, Worker
from rq.job import Job
from rq.worker import BaseWorker, DequeueStrategy
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from backend import queues
from backend.delivery import wake
from backend.delivery.relay import BATCH, RelayResult, relay_once, sweep_once
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


def relay_pass(app: Flask, everything: bool = True) -> tuple[int, RelayResult]:
    """One pass of the relay: due deliveries to their queues; then, unless only the deliveries
    (``everything`` False: the long-running relay, whose :func:`housekeeping` thread does the
    rest), the sweep of lost jobs, the cases whose photos arrived or whose wait is over (their
    deliveries go out in this same pass), the statistics' marked days and the workers' dirty
    presence days (``presence.refresh_dirty``). Returns how many cases were routed and what the
    relay did."""
    try:
        result = relay_once(db.session(), redis.client, app.config, sweeping=everything)
        waited = 0
        if everything:
            waited = route_waiting(db.session())
            if waited:
                result += relay_once(db.session(), redis.client, app.config, sweeping=False)
            stats.enqueue_dirty_days_from_config()
            presence.refresh_dirty(db.session())
        return waited, result
    finally:
        db.session.remove()


def housekeeping(app: Flask, stop: threading.Event, report: Report) -> None:
    """The relay's work at the poll's cadence, in a thread beside its delivery loop so that a
    commit's wake-up never waits behind it: every ``RELAY_INTERVAL_SECONDS`` hand lost jobs
    back (``relay.sweep_once``), route the cases whose photos arrived or whose wait is over,
    enqueue the statistics' marked days, compute the workers' dirty presence days. Deliveries
    these write wake the loop by their commit. An error is reported and the next
    round tries again."""
    interval = app.config["RELAY_INTERVAL_SECONDS"]
    with app.app_context():
        while not stop.wait(interval):
            try:
                requeued = sweep_once(db.session(), redis.client, app.config)
                waited = route_waiting(db.session())
                stats.enqueue_dirty_days_from_config()
                presence.refresh_dirty(db.session())
                if requeued or waited:
                    report(f"relay: handed out again {requeued}, routed {waited} waiting cases")
            except Exception as exc:  # the loop must outlive any one round
                log.exception("relay housekeeping failed")
                report(f"relay: housekeeping error, retrying: {type(exc).__name__}")
            finally:
                db.session.remove()


class DeliveryWorker(SimpleWorker):
    """Works the delivery queues in its own process without forking (RQ's ``SimpleWorker``):
    an inbox delivery is well under a millisecond of work against ~23 ms to fork and set up a
    work horse, so a forking worker delivered ~36 jobs a second. The isolation a fork buys
    matters for photo decoding (Pillow), which stays in the forking worker; a delivery job runs
    our own code, and a webhook attempt is bounded by its timeout and the job's
    (``DELIVERY_LEASE_SECONDS``, enforced by RQ's alarm in this process). If this process dies
    mid-job, the row's lease runs out (or its job is gone) and the relay's sweep hands the
    delivery out again, as for a killed work horse. Each job ends with the session removed, so
    the next starts clean."""

    def execute_job(self, job: Job, queue: Queue) -> None:
        try:
            super().execute_job(job, queue)
        finally:
            db.session.remove()


def split(names: list[str]) -> tuple[list[str], list[str]]:
    """The delivery queues (worked without forking) and the others (forking), in order."""
    deliveries = [n for n in names if n.startswith(queues.DELIVERY_PREFIX)]
    return deliveries, [n for n in names if not n.startswith(queues.DELIVERY_PREFIX)]


def burst(app: Flask, names: list[str], report: Report) -> None:
    """Relay what is due, work every queue empty; again while that made progress."""
    deliveries, others = split(names)
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
        worked = False
        if deliveries:
            worked = DeliveryWorker(deliveries, connection=redis.client).work(
                burst=True, dequeue_strategy=DequeueStrategy.ROUND_ROBIN
            )
        if others:
            db.session.remove()
            db.engine.dispose()  # no connection of ours may be shared with RQ's forked horses
            forked = Worker(others, connection=redis.client).work(
                burst=True, dequeue_strategy=DequeueStrategy.ROUND_ROBIN
            )
            worked = worked or forked
        if not worked and relayed == 0:
            return


def work(names: list[str], worker_class: type[BaseWorker], scheduler: bool, report: Report) -> None:
    """Work ``names`` round robin (one organisation's backlog, or a burst of photos, never
    starves another queue) until asked to stop. RQ returns after a requested shutdown, and
    also when it lost Redis for good; in the second case wait for Redis and work on."""
    while True:
        wait_for_redis(report)
        worker_class(names, connection=redis.client).work(
            with_scheduler=scheduler, dequeue_strategy=DequeueStrategy.ROUND_ROBIN
        )
        if redis_up():
            return
        report(f"worker: lost Redis; {worker_class.__name__} restarts when it is back")


class Child:
    """A process the worker starts beside itself (the relay, the delivery worker), started
    again if it dies while the worker runs, stopped with it."""

    RESTART_DELAY = 1.0

    def __init__(self, name: str, command: list[str], report: Report) -> None:
        self.name = name
        self.command = command
        self.report = report
        self.stopping = threading.Event()
        self.process = subprocess.Popen(command)
        # A thread beside RQ's forks only polls and execs (no lock a forked horse could need).
        self.watcher = threading.Thread(target=self._watch, name=f"watch-{name}", daemon=True)
        self.watcher.start()

    def _watch(self) -> None:
        while not self.stopping.wait(self.RESTART_DELAY):
            code = self.process.poll()
            # 0 or SIGTERM/SIGINT: someone asked it to stop (the group is stopping); anything
            # else (a crash, the OOM killer's SIGKILL) while the worker runs: start it again.
            if code in (None, 0, -signal.SIGTERM, -signal.SIGINT) or self.stopping.is_set():
                continue
            pid = self.process.pid
            self.report(f"worker: {self.name} (pid {pid}) exited {code}; restarting")
            self.process = subprocess.Popen(self.command)

    def stop(self) -> None:
        self.stopping.set()
        self.watcher.join()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def run(
    app: Flask,
    names: list[str],
    relay_command: list[str] | None,
    report: Report,
    app_path: str | None = None,
) -> None:
    """Work the queues until asked to stop, in up to three processes: this one works the fixed
    queues (media, default) with RQ's forking worker and its scheduler; the delivery queues are
    worked by a :class:`DeliveryWorker` in a process of its own (``flask --app wsgi
    delivery-worker``), so a photo that crashes or bloats its work horse never stops
    deliveries; the relay runs in a third (``relay_command``; None: no relay). RQ forks a work
    horse per job here; a database connection open in this process at that moment would be
    shared with the child (SQLite's docs forbid carrying one across fork), so this process
    holds none. With only delivery queues (``--queue deliver.x``) this process works them
    itself, without forking."""
    db.session.remove()
    db.engine.dispose()
    deliveries, others = split(names)
    children: list[Child] = []
    if relay_command:
        children.append(Child("relay", relay_command, report))
    try:
        if deliveries and others:
            command = delivery_worker_command(app_path, deliveries)
            children.append(Child("delivery worker", command, report))
            work(others, Worker, True, report)
        elif deliveries:
            work(deliveries, DeliveryWorker, False, report)
        else:
            work(others, Worker, True, report)
    finally:
        for child in children:
            child.stop()


def _flask(app_path: str | None) -> list[str]:
    """This Python and the same app."""
    return [sys.executable, "-m", "flask", "--app", app_path or "wsgi"]


def relay_command(app_path: str | None) -> list[str]:
    """How the worker starts its relay: this Python, the same app, stopping with its parent."""
    return [*_flask(app_path), "relay", "--exit-with-parent"]


def delivery_worker_command(app_path: str | None, names: list[str]) -> list[str]:
    """How the worker starts its delivery worker, on ``names``, stopping with its parent."""
    queue_args = [arg for name in names for arg in ("--queue", name)]
    return [*_flask(app_path), "delivery-worker", "--exit-with-parent", *queue_args]


def exit_with_parent(parent_pid: int, report: Report) -> None:
    """Ask this process to stop (SIGTERM: RQ finishes the job it is on) once ``parent_pid`` is
    gone, so a SIGKILLed worker leaves no delivery worker behind."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        report("delivery worker: the worker that started me is gone; stopping")
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def relay_forever(
    app: Flask,
    stop: threading.Event,
    report: Report = log.info,
    parent_pid: int | None = None,
) -> None:
    """The relay loop (``flask --app wsgi relay``, started by ``worker``): move due deliveries
    as soon as a commit that wrote some signals (``delivery.wake``), else every
    ``RELAY_INTERVAL_SECONDS`` (the poll, the fallback when a signal is lost), at once again
    while there is a backlog, with :func:`housekeeping` in a thread beside it, until ``stop``
    is set or, with ``parent_pid``, that process is gone (a SIGKILLed worker leaves no relay
    behind)."""
    interval = app.config["RELAY_INTERVAL_SECONDS"]
    redis_was_down = False
    waiter = wake.waiter(app.config) if app.config["RELAY_WAKE_ON_COMMIT"] else None
    threading.Thread(
        target=housekeeping, args=(app, stop, report), name="relay-housekeeping", daemon=True
    ).start()
    with app.app_context():
        while not stop.is_set():
            if parent_pid is not None and os.getppid() != parent_pid:
                report("relay: the worker that started me is gone; stopping")
                return
            try:
                result = relay_pass(app, everything=False)[1]
            except SQLAlchemyError as exc:
                report(f"relay: database error, retrying: {type(exc).__name__}")
                result = RelayResult()
            if result.redis_error and not redis_was_down:
                report(f"relay: Redis unavailable, deliveries wait: {result.redis_error}")
            elif not result.redis_error and redis_was_down:
                report("relay: Redis is back")
            redis_was_down = result.redis_error is not None
            if result.enqueued:
                report(f"relay: enqueued {result.enqueued}")
            if result.redis_error:
                stop.wait(interval)
            elif result.enqueued < BATCH:
                wake.wait(waiter, interval, stop)
