"""The relay: moves committed outbox rows onto the RQ queue of their organisation.

A row becomes ``enqueued`` only after Redis accepted its job, in the same database transaction
that claimed it; when Redis is down the rows stay ``pending`` and the next pass tries again.
Several relays may run at once: on PostgreSQL each claims rows with ``FOR UPDATE SKIP LOCKED``,
on SQLite ``BEGIN IMMEDIATE`` lets one relay at a time in.

One job carries up to :data:`JOB_BATCH` inbox deliveries of one organisation (their delivery is
a database change, done in one transaction), a webhook or e-mail delivery travels alone (one
call to the outside per job, so the job timeout is one attempt's lease). A job's id is its
first delivery's id, recorded in each row's ``job_id``; a job already waiting in Redis is not
pushed again, so a relay that died between pushing and committing causes no second job for the
same first row, and any other duplicate finds its rows delivered or leased (``jobs``).

The sweep hands rows back to ``pending`` when their job can no longer run: Redis lost it
(flushed, restarted without persistence) or the worker running it died (its lease ran out).
The job is idempotent, so handing a row out again is always safe.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from backend import queues
from backend.database import among, utcnow
from backend.delivery import wake
from backend.delivery.channels import IN_TRANSACTION
from backend.delivery.jobs import deliver
from backend.delivery.models import ENQUEUED, FAILED, PENDING, Delivery
from backend.organisations.models import Organisation

log = logging.getLogger(__name__)

BATCH = 1200
"""Rows per relay transaction. A pass's cost is mostly per job (a Redis push, an UPDATE) and per
pass, so in a backlog spread over several organisations a larger pass fills their jobs: with
500 a pass over 6 organisations a job carried ~83 rows, with 1,200 up to :data:`JOB_BATCH`,
less than half the jobs for the same rows (``benchmarks/bench_delivery.py``, PostgreSQL: one
worker ~4,300 -> ~5,500 deliveries/s). The price is the SQLite write lock held longer by a
backlog's pass: 37-38 ms a pass of 500, 54-62 ms a pass of 1,200 (12,000 pending rows, 2
shared cores); a pass of the few rows a push writes is as short as ever."""

JOB_BATCH = 200
"""Inbox deliveries per job: RQ's bookkeeping costs a job several milliseconds and ~50 Redis
round trips, an inbox row in the job's one UPDATE a few microseconds. With 50 a job (and 200
rows a pass) one worker delivered 541/s on PostgreSQL; with 200 (and 500 a pass) the same
worker alone 1,910/s in process (both at load average 6-10 on 2 shared cores)."""

# Failed jobs are kept a week for whoever debugs a crash in the job code.
FAILURE_TTL = 7 * 24 * 3600


@dataclass
class RelayResult:
    enqueued: int = 0
    requeued: int = 0
    redis_error: str | None = None

    def __add__(self, other: RelayResult) -> RelayResult:
        return RelayResult(
            self.enqueued + other.enqueued,
            self.requeued + other.requeued,
            self.redis_error or other.redis_error,
        )


def _forget_job(connection: Redis, job_id: str) -> None:
    with contextlib.suppress(NoSuchJobError):
        Job.fetch(job_id, connection=connection).delete()


def job_batches(rows: Sequence[tuple[uuid.UUID, str, str]]) -> list[tuple[str, list[str]]]:
    """Claimed rows ``(id, organisation slug, channel)``, oldest first, as jobs ``(slug,
    delivery ids)``: an organisation's in-transaction (inbox) rows up to :data:`JOB_BATCH` a job,
    any other row alone."""
    jobs: list[tuple[str, list[str]]] = []
    open_batch: dict[str, list[str]] = {}
    for delivery_id, slug, channel in rows:
        if channel not in IN_TRANSACTION:
            jobs.append((slug, [str(delivery_id)]))
            continue
        ids = open_batch.get(slug)
        if ids is None or len(ids) >= JOB_BATCH:
            ids = open_batch[slug] = []
            jobs.append((slug, ids))
        ids.append(str(delivery_id))
    return jobs


def push(connection: Redis, ids: list[str], slug: str, config: Any) -> str:
    """Put the job of deliveries ``ids`` on their organisation's queue unless it waits there
    already; returns its id (the first delivery's)."""
    job_id = ids[0]
    status = queues.job_status(connection, job_id)
    if status in queues.WAITING:
        return job_id
    if status is not None:
        _forget_job(connection, job_id)
    Queue(queues.delivery(slug), connection=connection).enqueue(
        deliver,
        *ids,
        job_id=job_id,
        job_timeout=config["DELIVERY_LEASE_SECONDS"],
        # The database row keeps the outcome; a finished job has nothing more to say.
        result_ttl=0,
        failure_ttl=FAILURE_TTL,
        description=f"deliver {len(ids)} to {slug}",
    )
    return job_id


def sweep(session: Session, connection: Redis, config: Any) -> int:
    """Hand rows whose job can no longer run back to the relay; returns how many."""
    now = utcnow()
    stuck_before = now - timedelta(seconds=config["DELIVERY_STUCK_AFTER_SECONDS"])
    rows = session.execute(
        select(Delivery)
        .where(
            Delivery.status == ENQUEUED,
            or_(
                Delivery.lease_expires_at <= now,
                and_(Delivery.lease_expires_at.is_(None), Delivery.enqueued_at <= stuck_before),
            ),
        )
        .order_by(Delivery.enqueued_at)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    ).scalars()
    count = 0
    for row in rows:
        job_id = row.job_id or str(row.id)
        if row.lease_expires_at is None:
            if queues.job_status(connection, job_id) in queues.WAITING:
                continue  # a long queue, not a lost job
            row.last_error = "the queued job was lost (Redis restarted or flushed)"
        else:
            row.last_error = f"attempt {row.attempts} interrupted: its worker stopped answering"
        _forget_job(connection, job_id)
        row.job_id = None
        row.lease_expires_at = None
        row.next_attempt_at = None
        row.status = FAILED if row.attempts >= config["DELIVERY_MAX_ATTEMPTS"] else PENDING
        count += 1
    return count


def sweep_once(session: Session, connection: Redis, config: Any) -> int:
    """The sweep in a transaction of its own (the relay's poll-cadence pass); returns how many
    rows it handed back, whose commit wakes the relay. 0 while Redis is unreachable."""
    try:
        connection.ping()
        count = sweep(session, connection, config)
    except (RedisError, OSError):
        session.rollback()
        return 0
    except BaseException:
        session.rollback()
        raise
    if count:
        wake.deliveries_written(session)
    session.commit()
    return count


def relay_once(
    session: Session, connection: Redis, config: Any, sweeping: bool = True
) -> RelayResult:
    """One pass: sweep lost jobs (unless not ``sweeping``: a pass woken by a commit leaves that
    to the poll's passes), then push due pending rows. Commits its own transaction."""
    result = RelayResult()
    try:
        # Ask before taking any database lock, so an outage costs the writers nothing.
        connection.ping()
    except (RedisError, OSError) as exc:
        result.redis_error = f"{type(exc).__name__}: {exc}"
        return result
    try:
        if sweeping:
            result.requeued = sweep(session, connection, config)
        now = utcnow()
        rows = session.execute(
            select(Delivery.id, Organisation.slug, Delivery.channel)
            .join(Organisation, Organisation.id == Delivery.organisation_id)
            .where(
                Delivery.status == PENDING,
                or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
            )
            .order_by(Delivery.created_at)
            .limit(BATCH)
            .with_for_update(of=Delivery, skip_locked=True)
        ).all()
        for slug, ids in job_batches([(row[0], row[1], row[2]) for row in rows]):
            try:
                job_id = push(connection, ids, slug, config)
            except (RedisError, OSError) as exc:
                # Rows pushed so far are enqueued; these and the rest stay pending.
                result.redis_error = f"{type(exc).__name__}: {exc}"
                break
            session.execute(
                update(Delivery)
                .where(among(session, Delivery.id, [uuid.UUID(i) for i in ids]))
                .values(status=ENQUEUED, enqueued_at=now, job_id=job_id)
                .execution_options(synchronize_session=False)
            )
            result.enqueued += len(ids)
        session.commit()
    except (RedisError, OSError) as exc:
        session.rollback()
        result.redis_error = f"{type(exc).__name__}: {exc}"
    except BaseException:
        session.rollback()
        raise
    return result
