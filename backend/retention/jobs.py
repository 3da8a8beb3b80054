"""The nightly retention job (RQ): run ``backend.retention.services.run`` with this
deployment's periods and store, then queue tomorrow's run. Jobs take no arguments: nothing
personal in the payload. The periods and what each deletes are in ``retention.services``.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from flask import current_app, has_app_context
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from backend.database import utcnow
from backend.extensions import db, redis
from backend.photos.store import storage_from
from backend.presence.values import LOCAL_TZ
from backend.retention.models import RetentionRun
from backend.retention.services import Periods, Progress, run
from backend.routing.queues import DEFAULT

log = logging.getLogger(__name__)

# Runs at night, when few phones push, so the batches never compete with a busy shift.
RUN_AT = time(3, 0)
PENDING = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)


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
    """RQ entry point (no arguments): run retention now, then schedule tomorrow's run."""
    if has_app_context():
        return _run_and_reschedule()
    from backend.app import create_app

    with create_app().app_context():
        return _run_and_reschedule()


def _run_and_reschedule() -> str:
    result = run_from_config()
    schedule(next_run(utcnow()))
    return str(result.id)


def next_run(now: datetime) -> datetime:
    """The next RUN_AT in Stockholm after ``now``."""
    local = now.astimezone(LOCAL_TZ)
    candidate = datetime.combine(local.date(), RUN_AT, LOCAL_TZ)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), RUN_AT, LOCAL_TZ)
    return candidate


def schedule(at: datetime) -> bool:
    """Queue the retention job for ``at`` once per day (the job id is the local date), so
    several workers starting, or a retry, never make two chains. False when Redis is down."""
    job_id = f"retention-{at.astimezone(LOCAL_TZ):%Y-%m-%d}"
    try:
        connection = redis.client
        try:
            if Job.fetch(job_id, connection=connection).get_status() in PENDING:
                return True
        except NoSuchJobError:
            pass
        Queue(DEFAULT, connection=connection).enqueue_at(at, retention_job, job_id=job_id)
        return True
    except RedisError as exc:
        log.warning("retention not scheduled (Redis: %s)", exc)
        return False
