"""Marking days whose statistics are out of date: the one call the push and task paths make.

Low in the dependency order (models and the time zone only), so the push and the task
workflow can call it without depending on how statistics are computed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from backend.localtime import LOCAL_TZ
from backend.presence.values import MAX_SHIFT
from backend.stats.models import StatsDirtyDay


def local_day(at: datetime) -> date:
    return at.astimezone(LOCAL_TZ).date()


def touched_days(instants: Iterable[datetime], now: datetime) -> set[date]:
    """The local days whose figures items at ``instants`` can change, and today's (what the
    change routed, acknowledged or resolved happened now).

    An item changes its own day, and the neighbouring day when it lies within MAX_SHIFT of it:
    a presence event belongs to the log of every day whose event window holds it. Never a day
    after today (that day's first push marks it)."""
    today = local_day(now)
    days = {today}
    for at in instants:
        days.add(local_day(at))
        for near in (local_day(at - MAX_SHIFT), local_day(at + MAX_SHIFT)):
            if near <= today:
                days.add(near)
    return days


def mark_dirty(session: Session, instants: Iterable[datetime], now: datetime) -> None:
    """Mark the days ``touched_days`` names for recomputation, in the caller's transaction, so
    the marks commit with the change or not at all. One row per day, append-only: concurrent
    pushes never wait on each other here. The caller commits."""
    rows = [{"day": day, "marked_at": now} for day in sorted(touched_days(instants, now))]
    session.execute(insert(StatsDirtyDay), rows)


def dirty_days(session: Session) -> list[tuple[date, datetime]]:
    """Each marked day with its oldest mark, oldest day first."""
    return [
        (day, first)
        for day, first in session.execute(
            select(StatsDirtyDay.day, func.min(StatsDirtyDay.marked_at))
            .group_by(StatsDirtyDay.day)
            .order_by(StatsDirtyDay.day)
        )
    ]
