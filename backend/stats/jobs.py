"""RQ jobs that keep the daily aggregates current, and the pass that enqueues them.

- ``enqueue_dirty_days`` runs in the relay's loop (and ``worker --burst``): each day with marks
  at least ``STATS_REFRESH_DELAY_SECONDS`` old gets one ``refresh_day_job`` with the job id
  ``stats-day-YYYY-MM-DD``; while that job waits or runs, further marks enqueue nothing, so a
  busy day is recomputed at most about once per delay, however many pushes mark it.
- ``refresh_day_job(day)`` recomputes the day (``refresh.refresh_day``): idempotent, so a
  second delivery of the job, or two relays racing to enqueue it, only computes again.
- ``nightly_job`` recomputes the recent days whose figures depend on the clock, then schedules
  itself for the next night (one job id per date, so several workers make one chain).

Jobs take a date or nothing: no personal data in a payload.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy.orm import Session

from backend.database import deferred_reads, immediate_writes, utcnow
from backend.extensions import db, redis
from backend.localtime import LOCAL_TZ
from backend.queues import DEFAULT, WAITING, enqueue_once, job_status, next_daily_run
from backend.stats.dirty import dirty_days
from backend.stats.refresh import days_to_refresh, refresh_day

log = logging.getLogger(__name__)

RUN_AT = time(3, 30)
"""The nightly run: after the retention job (03:00), when few phones push."""

FAILURE_TTL = 600
"""Seconds a failed refresh job is kept (for whoever reads the traceback) before its day is
enqueued again."""


def _presence_retained_since(config: Any, now: datetime) -> datetime:
    return now - timedelta(days=config["RETENTION_PRESENCE_PING_DAYS"])


def refresh(session: Session, day: date, config: Any, now: datetime | None = None) -> int:
    """Recompute ``day`` now, in a writing transaction of its own."""
    now = now or utcnow()
    with immediate_writes():
        return refresh_day(
            session, day, now=now, presence_retained_since=_presence_retained_since(config, now)
        )


def refresh_day_job(day: str) -> int:
    """RQ entry point: recompute one local day (``YYYY-MM-DD``)."""
    return refresh(db.session(), date.fromisoformat(day), current_app.config)


def enqueue_dirty_days(session: Session, connection: Redis, delay_s: float) -> int:
    """Enqueue one refresh job per marked day whose oldest mark is ``delay_s`` old; returns
    how many were enqueued. Reads only (no lock); a Redis error leaves the marks for the next
    pass."""
    with deferred_reads():
        marked = dirty_days(session)
        session.commit()
    if not marked:
        return 0
    now = utcnow()
    enqueued = 0
    for day, first in marked:
        if first > now - timedelta(seconds=delay_s):
            continue
        job_id = f"stats-day-{day.isoformat()}"
        status = job_status(connection, job_id)
        if status in WAITING or status == JobStatus.FAILED:
            # A failed day is tried again once RQ drops the failed job (FAILURE_TTL), so a
            # bug in one day's data neither loops a burst worker nor stops the other days.
            continue
        if status is not None:
            with contextlib.suppress(NoSuchJobError):
                Job.fetch(job_id, connection=connection).delete()
        Queue(DEFAULT, connection=connection).enqueue(
            refresh_day_job,
            day.isoformat(),
            job_id=job_id,
            result_ttl=0,
            failure_ttl=FAILURE_TTL,
            description=f"statistics of {day.isoformat()}",
        )
        enqueued += 1
    return enqueued


def enqueue_dirty_days_from_config() -> int:
    """The relay's pass: as ``enqueue_dirty_days`` with the app's Redis and delay; 0 and a
    log line when Redis is down."""
    try:
        return enqueue_dirty_days(
            db.session(), redis.client, current_app.config["STATS_REFRESH_DELAY_SECONDS"]
        )
    except (RedisError, OSError) as exc:
        log.warning("statistics refresh not enqueued (Redis: %s)", exc)
        return 0


def run_nightly(session: Session, config: Any, now: datetime | None = None) -> list[date]:
    """Recompute every day ``refresh.days_to_refresh`` names; returns them."""
    now = now or utcnow()
    with deferred_reads():
        days = days_to_refresh(session, now)
        session.commit()
    for day in days:
        refresh(session, day, config, now)
    return days


def nightly_job() -> int:
    """RQ entry point (no arguments): the nightly recomputation, then tomorrow's."""

    days = run_nightly(db.session(), current_app.config)
    schedule(next_run(utcnow()))
    return len(days)


def next_run(now: datetime) -> datetime:
    """The next RUN_AT in Stockholm after ``now``."""
    return next_daily_run(now, RUN_AT)


def schedule(at: datetime) -> bool:
    """Queue the nightly job for ``at`` once per date; False when Redis is down."""
    job_id = f"stats-nightly-{at.astimezone(LOCAL_TZ):%Y-%m-%d}"
    try:
        return enqueue_once(redis.client, DEFAULT, nightly_job, job_id=job_id, at=at)
    except RedisError as exc:
        log.warning("statistics nightly run not scheduled (Redis: %s)", exc)
        return False
