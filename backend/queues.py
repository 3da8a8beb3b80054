"""RQ queue names and enqueue-once: the one place jobs are put on queues.

Jobs are plain module-level functions that take ids (``photos.jobs.process_photo``,
``delivery.jobs.deliver``, the nightly runs); whoever enqueues them imports this module, and
``backend.worker`` (the loop that works the queues) sits above them all. redash keeps queue
names in its ``worker.py`` because its jobs register through decorators there; ours need no
registry, so the names live below the jobs and the loop above, and no import runs in a circle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, time, timedelta
from typing import Any

from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from backend.localtime import LOCAL_TZ

DEFAULT = "default"
MEDIA = "media"
"""Photo processing: decode, strip metadata, thumbnails, perceptual hash."""

ALL = (DEFAULT, MEDIA)
"""Fixed queues a plain ``flask --app wsgi worker`` listens on, most urgent first."""

DELIVERY_PREFIX = "deliver."

WAITING = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)
"""A job in one of these states will still run: enqueuing it again would run it twice."""


def delivery(slug: str) -> str:
    """The queue of one organisation's deliveries: one per organisation, so a slow receiver
    (a webhook timing out) delays only its own organisation's tasks."""
    return DELIVERY_PREFIX + slug


def everything(organisation_slugs: Iterable[str]) -> list[str]:
    """The fixed queues, then every organisation's delivery queue."""
    return [*ALL, *(delivery(slug) for slug in sorted(organisation_slugs))]


def job_status(connection: Redis, job_id: str) -> JobStatus | None:
    """The job's RQ status; None when RQ has no such job (never queued, or expired)."""
    try:
        return Job.fetch(job_id, connection=connection).get_status()
    except NoSuchJobError:
        return None


def enqueue_once(
    connection: Redis,
    queue: str,
    func: Callable[..., Any],
    *args: Any,
    job_id: str,
    at: datetime | None = None,
    **options: Any,
) -> bool:
    """Queue ``func(*args)`` as job ``job_id`` unless a job of that id is still waiting or
    running; returns True when one is (now or already). The id names the work (a photo's
    hash, a day), so several workers, a sweep or a retry never run it twice. ``at`` schedules
    it instead (RQ's scheduler, which ``flask --app wsgi worker`` runs). Raises Redis errors:
    the caller decides what an outage means for its work."""
    if job_status(connection, job_id) in WAITING:
        return True
    target = Queue(queue, connection=connection)
    if at is not None:
        target.enqueue_at(at, func, *args, job_id=job_id, **options)
    else:
        target.enqueue_call(func, args=args, job_id=job_id, **options)
    return True


def next_daily_run(now: datetime, run_at: time) -> datetime:
    """The next ``run_at`` in Stockholm after ``now`` (a nightly job's next slot)."""
    local = now.astimezone(LOCAL_TZ)
    candidate = datetime.combine(local.date(), run_at, LOCAL_TZ)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), run_at, LOCAL_TZ)
    return candidate
