"""Rate limits: per API token on the write-heavy phone routes (push and photo upload), and
failed console sign-ins per account and per address.

Counters live in Redis (the ``limits`` library's fixed-window strategy), keyed by the id of the
API token, never the token itself, so a key in Redis reveals nothing that authenticates. A
limit of 0 turns that limit off.

The limiter fails open: when Redis cannot be reached the request goes through and the outage is
logged. Pushes must keep being stored while Redis is down (the database is the record; Redis
only carries background work), and a phone that cannot push loses nothing but waits for
nothing either.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from flask import current_app
from flask_smorest import Blueprint
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import FixedWindowRateLimiter
from redis.exceptions import RedisError

from backend.auth import current_token_id
from backend.errors import ErrorSchema, TooManyRequests
from backend.extensions import redis

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

KEY_PREFIX = "samverkan:ratelimit"
# After Redis failed, requests skip the limiter this long instead of each trying to connect
# again: an unreachable (not refusing) Redis would otherwise add the 2 s connect timeout of
# backend.extensions to every push, and log once per push. 5 s keeps an outage's log readable
# and lets the limit apply again within seconds of Redis coming back.
REDIS_RETRY_AFTER_S = 5.0


@dataclass(frozen=True)
class Limit:
    """One named limit: the config key holding its requests per minute."""

    name: str
    config_key: str

    def per_minute(self, config: Mapping[str, Any] | None = None) -> int:
        return int((current_app.config if config is None else config)[self.config_key])


PUSH = Limit("push", "RATE_LIMIT_PUSH_PER_MINUTE")
# PUT of a whole photo and tus POST/PATCH share one budget: a phone uses one or the other.
UPLOAD = Limit("upload", "RATE_LIMIT_UPLOAD_PER_MINUTE")
LIMITS = (PUSH, UPLOAD)
"""The limits advertised to phones. Open311 keys have a budget of their own, told in the
README (a department's system never reads the phones' config)."""
OPEN311 = Limit("open311", "RATE_LIMIT_OPEN311_PER_MINUTE")


def _limiter() -> FixedWindowRateLimiter:
    limiter = current_app.extensions.get("rate_limiter")
    if limiter is None:
        # Share the app's Redis connection pool, with its short connect and read timeouts: a
        # Redis that hangs delays a push by at most those, then the limiter fails open.
        storage = RedisStorage(
            current_app.config["REDIS_URL"],
            connection_pool=redis.client.connection_pool,
            key_prefix=KEY_PREFIX,
        )
        limiter = FixedWindowRateLimiter(storage)
        current_app.extensions["rate_limiter"] = limiter
    return cast(FixedWindowRateLimiter, limiter)


def check(limit: Limit, token_key: str) -> None:
    """Count one request of ``token_key`` against ``limit``; 429 ``rate_limited`` past it."""
    per_minute = limit.per_minute()
    if per_minute <= 0:
        return
    item: RateLimitItem = RateLimitItemPerMinute(per_minute)
    if time.monotonic() < current_app.extensions.get("rate_limiter_down_until", 0.0):
        return
    limiter = _limiter()
    try:
        if limiter.hit(item, limit.name, token_key):
            return
        stats = limiter.get_window_stats(item, limit.name, token_key)
    except (RedisError, StorageError) as exc:
        current_app.extensions["rate_limiter_down_until"] = time.monotonic() + REDIS_RETRY_AFTER_S
        log.warning(
            "rate limiter unavailable, not enforcing limits for %.0f s: %s",
            REDIS_RETRY_AFTER_S,
            exc,
        )
        return
    retry_after = max(1, math.ceil(stats.reset_time - time.time()))
    raise TooManyRequests(
        f"More than {per_minute} {limit.name} requests a minute with this token; "
        f"retry after {retry_after} s.",
        errors={"rate_limit": [f"{per_minute} {limit.name} requests per minute per token"]},
        headers={"Retry-After": str(retry_after)},
    )


def advertised(config: Mapping[str, Any]) -> dict[str, int]:
    """The limits as ``GET /api/v1/sync/config`` tells them to phones (0: no limit)."""
    return {f"{limit.name}_per_minute": limit.per_minute(config) for limit in LIMITS}


def rate_limited(blp: Blueprint, limit: Limit) -> Callable[[F], F]:
    """Apply ``limit`` per API token; put it just inside ``@auth`` (it needs the token)."""

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            check(limit, str(current_token_id()))
            return func(*args, **kwargs)

        return cast(
            F,
            blp.alt_response(
                429,
                schema=ErrorSchema,
                description="rate_limited: too many requests with this token",
                headers={
                    "Retry-After": {
                        "description": "Seconds until the limit's window resets",
                        "schema": {"type": "integer"},
                    }
                },
            )(wrapper),
        )

    return decorator


# Failed console sign-ins -------------------------------------------------------------------
#
# Counted per account (a hash of the e-mail typed, whether or not such a user exists, so the
# answer never tells) and per client address. Unlike the phone limits these do not fail open:
# while Redis is down each process counts in its own memory, which still bounds guessing (by
# the number of gunicorn workers) where failing open would not bound it at all.


@dataclass(frozen=True)
class FailureLimit:
    """At most the configured number of failures per key in a window of minutes."""

    name: str
    config_key: str
    window_key: str = "CONSOLE_SIGNIN_WINDOW_MINUTES"

    def item(self) -> RateLimitItem | None:
        count = int(current_app.config[self.config_key])
        if count <= 0:
            return None
        return RateLimitItemPerMinute(count, multiples=int(current_app.config[self.window_key]))


SIGNIN_ACCOUNT = FailureLimit("signin_account", "CONSOLE_SIGNIN_FAILURES_PER_ACCOUNT")
SIGNIN_ADDRESS = FailureLimit("signin_address", "CONSOLE_SIGNIN_FAILURES_PER_ADDRESS")


def _memory_limiter() -> FixedWindowRateLimiter:
    limiter = current_app.extensions.get("rate_limiter_memory")
    if limiter is None:
        limiter = FixedWindowRateLimiter(MemoryStorage())
        current_app.extensions["rate_limiter_memory"] = limiter
    return cast(FixedWindowRateLimiter, limiter)


def _counted(call: Callable[[FixedWindowRateLimiter], Any]) -> Any:
    """Run ``call`` on the Redis limiter, or on this process's memory while Redis is down."""
    if time.monotonic() >= current_app.extensions.get("rate_limiter_down_until", 0.0):
        try:
            return call(_limiter())
        except (RedisError, StorageError) as exc:
            current_app.extensions["rate_limiter_down_until"] = (
                time.monotonic() + REDIS_RETRY_AFTER_S
            )
            log.warning("rate limiter unavailable, counting sign-ins in memory: %s", exc)
    return call(_memory_limiter())


def blocked_for(limit: FailureLimit, key: str) -> int | None:
    """Seconds until ``key`` may try again, or None when it may try now."""
    item = limit.item()
    if item is None:
        return None
    if _counted(lambda limiter: limiter.test(item, limit.name, key)):
        return None
    stats = _counted(lambda limiter: limiter.get_window_stats(item, limit.name, key))
    return max(1, math.ceil(stats.reset_time - time.time()))


def count_failure(limit: FailureLimit, key: str) -> None:
    item = limit.item()
    if item is not None:
        _counted(lambda limiter: limiter.hit(item, limit.name, key))


def forgive(limit: FailureLimit, key: str) -> None:
    """Forget ``key``'s failures (a successful sign-in of the account)."""
    item = limit.item()
    if item is not None:
        _counted(lambda limiter: limiter.clear(item, limit.name, key))
