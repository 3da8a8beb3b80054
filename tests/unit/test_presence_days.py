"""Which days an event can change (``stored.days_of``): exactly the days whose event window
holds it, DST days included; and migration 0015's frozen copy agrees with it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from backend.presence import log as presence_log
from backend.presence import record, stored
from backend.presence.values import Interval
from tests.helpers.migrations import load_migration

HOUR = timedelta(hours=1)
INSTANTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@given(INSTANTS)
@example(datetime(2026, 3, 29, 1, 0, tzinfo=UTC))  # 03:00 CEST, the spring switch
@example(datetime(2026, 10, 26, 12, 0, tzinfo=UTC))  # 13 h after the 25-hour day's end
@example(datetime(2026, 10, 24, 9, 0, tzinfo=UTC))  # exactly 13 h before 10-25 00:00 CEST
@settings(deadline=None)
def test_days_of_are_the_days_whose_window_holds_the_instant(at: datetime) -> None:
    candidates = [at.date() + timedelta(days=n) for n in range(-3, 4)]
    expected = [d for d in candidates if _holds(d, at)]
    assert list(stored.days_of(at)) == expected
    assert list(load_migration("0015")._days(at)) == expected


def _holds(day: date, at: datetime) -> bool:
    lo, hi = presence_log.event_window(day)
    return lo <= at <= hi


def test_an_instant_on_a_window_edge_belongs_to_that_day() -> None:
    lo, hi = presence_log.event_window(date(2026, 10, 25))
    assert date(2026, 10, 25) in set(stored.days_of(lo))
    assert date(2026, 10, 25) in set(stored.days_of(hi))
    assert date(2026, 10, 25) not in set(stored.days_of(hi + timedelta(microseconds=1)))


def test_a_record_survives_encoding() -> None:
    start = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    segment = record.Segment("hotorget", start, start + 2 * HOUR, True, False, start)
    # Two shifts' closing segments whose close was inferred, cut at now (one hour in): before
    # the last sign the cut is not inferred, past it it is.
    signed = record.Segment(None, start, start + timedelta(hours=3), False, True, start + 2 * HOUR)
    silent = record.Segment("sergels-torg", start, start + 3 * HOUR, False, True, start)
    day = record.DayRecord("w", (segment, signed, silent), start, start + HOUR)
    again = record.decode("w", record.encode(day), day.first_seen, day.last_seen, {})
    assert again == day
    bounds = presence_log.day_bounds(date(2026, 10, 25))
    until = start + HOUR
    assert record.worker_day(again, [], bounds, until).intervals == (
        Interval("hotorget", start, until, True),
        Interval(None, start, until, False),
        Interval("sergels-torg", start, until, True),
    )
    assert record.worker_day(again, [], bounds, start).intervals == ()  # now at its start


@given(st.lists(INSTANTS, max_size=30), st.sampled_from([0, 1]))
@settings(deadline=None)
def test_touched_keys_are_each_events_days(instants: list[datetime], whole: int) -> None:
    """The one-lookup-per-hour shortcut gives every event's own days (whole hours included:
    window edges lie on them)."""
    if whole:
        instants = [at.replace(minute=0, second=0, microsecond=0) for at in instants]
    worker = uuid.uuid4()
    events = [(worker, at) for at in instants]
    expected = {(day, worker) for at in instants for day in stored.days_of(at)}
    assert stored.touched(events) == sorted(expected)
