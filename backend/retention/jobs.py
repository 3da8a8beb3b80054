"""The nightly retention job (RQ): run ``backend.retention.services.run`` with this
deployment's periods and store, then queue tomorrow's run. Jobs take no arguments: nothing
personal in the payload. The periods and what each deletes are in ``retention.services``.
"""

from __future__ import annotations

import logging
from datetime import datetime, time

from flask import current_app
from redis.exceptions import RedisError

from backend.database import utcnow
from backend.extensions import db, redis
from backend.localtime import LOCAL_TZ
from backend.photos.store import storage_from
from backend.queues import DEFAULT, enqueue_once, next_daily_run
from backend.retention.models import RetentionRun
from backend.retention.services import Periods, Progress, run

log = logging.getLogger(__name__)

# Runs at night, when few phones push, so the batches never compete with a busy shift.
RUN_AT = time(3, 0)


def run_from_config(now: datetime | None = None, progress: Progress | None = None) -> RetentionRun:
    """One run with the app's periods, store and batch size (the job's and the CLI's)."""
    config = current_app.config
    return run(
        db.session(),
        storage_from(config),
        Periods.from_config(config),
        now=now,
        batch=config["RETENTION_BATCH_SIZE"],
        progress=progress,
    )


def retention_job() -> str:
    """RQ entry point (no arguments): run retention now, then schedule tomorrow's run. Runs in
    the worker's app context (``flask --app wsgi worker``)."""
    result = run_from_config()
    schedule(next_run(utcnow()))
    return str(result.id)


def next_run(now: datetime) -> datetime:
    """The next RUN_AT in Stockholm after ``now``."""
    return next_daily_run(now, RUN_AT)


def schedule(at: datetime) -> bool:
    """Queue the retention job for ``at`` once per day (the job id is the local date), so
    several workers starting, or a retry, never make two chains. False when Redis is down."""
    job_id = f"retention-{at.astimezone(LOCAL_TZ):%Y-%m-%d}"
    try:
        return enqueue_once(redis.client, DEFAULT, retention_job, job_id=job_id, at=at)
    except RedisError as exc:
        log.warning("retention not scheduled (Redis: %s)", exc)
        return False
