"""Waking the relay when deliveries commit, instead of leaving them to its next poll.

Whoever writes delivery rows marks the session (:func:`deliveries_written`); when that
session's transaction commits, a SQLAlchemy ``after_commit`` listener pushes one element onto
the Redis list :data:`KEY`, and the relay, blocked on that list (:func:`wait`) with
``RELAY_INTERVAL_SECONDS`` as its timeout, makes a pass at once. The signal is sent only after
the commit, so a woken relay always finds the rows. It is a hint, never the truth: a lost signal
(Redis down, the relay restarting) costs at most one interval, because the poll stays.

A Redis list rather than pub/sub: a signal sent while the relay is in the middle of a pass
waits in the list and wakes the next ``BLPOP``, where a published message would be lost. The
list is trimmed to one element, so a burst of commits costs one pass, not one each. Redis
rather than PostgreSQL ``LISTEN/NOTIFY``: it works the same on SQLite and PostgreSQL.
``RELAY_WAKE_ON_COMMIT=0`` turns it off (the relay only polls), for comparison.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from flask import current_app, has_app_context
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

KEY = "samverkan:relay:wake"
_FLAG = "relay_wake"

SIGNAL_TIMEOUT_SECONDS = 0.25
"""Connect and socket timeout of the signal: the commit has already happened and the push
answers after this, so an unreachable Redis may cost a request at most this much."""

QUIET_AFTER_FAILURE_SECONDS = 5.0
"""After a failed signal, commits skip signalling this long (the poll covers them), so an
outage costs one timeout per 5 s per process, not one per push."""

_quiet_until = 0.0


def deliveries_written(session: Session) -> None:
    """Note that this transaction wrote deliveries the relay should move soon."""
    session.info[_FLAG] = True


def _client(app_extensions: dict[str, Any], url: str) -> Redis:
    client: Redis | None = app_extensions.get("relay_wake")
    if client is None:
        client = Redis.from_url(
            url,
            socket_connect_timeout=SIGNAL_TIMEOUT_SECONDS,
            socket_timeout=SIGNAL_TIMEOUT_SECONDS,
        )
        app_extensions["relay_wake"] = client
    return client


def signal(connection: Redis) -> bool:
    """Wake the relay; False (logged) when Redis did not take the signal."""
    global _quiet_until
    if time.monotonic() < _quiet_until:
        return False
    try:
        pipe = connection.pipeline(transaction=False)
        pipe.lpush(KEY, 1)
        pipe.ltrim(KEY, 0, 0)
        pipe.execute()
        return True
    except (RedisError, OSError) as exc:
        _quiet_until = time.monotonic() + QUIET_AFTER_FAILURE_SECONDS
        log.warning("relay wake-up not sent (the relay's poll will find the rows): %s", exc)
        return False


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    # A savepoint's release does not come here in SQLAlchemy 2; the check is for clarity.
    if not session.info.pop(_FLAG, False) or session.in_nested_transaction():
        return
    if not has_app_context() or not current_app.config["RELAY_WAKE_ON_COMMIT"]:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    signal(_client(app.extensions, app.config["REDIS_URL"]))


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    # Only the outermost transaction's rollback: a rolled-back savepoint keeps the flag, which
    # may have been set for rows written outside it (a spare signal costs one relay pass).
    if session.in_nested_transaction():
        return
    session.info.pop(_FLAG, None)


def waiter(config: Any) -> Redis:
    """The relay's own connection: its socket timeout must outlast the blocking wait."""
    interval = float(config["RELAY_INTERVAL_SECONDS"])
    return Redis.from_url(
        config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=interval + 5
    )


def wait(connection: Redis | None, timeout: float, stop: threading.Event) -> bool:
    """Block until a commit signals or ``timeout`` passes; True when signalled. Without a
    connection (wake-up off) or with Redis unreachable, sleep the timeout instead (the poll)."""
    if connection is None:
        stop.wait(timeout)
        return False
    try:
        return connection.blpop([KEY], timeout=timeout) is not None
    except (RedisError, OSError):
        stop.wait(timeout)
        return False
