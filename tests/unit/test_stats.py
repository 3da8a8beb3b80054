"""The pure parts of the statistics: weeks, percentiles, a day's task and presence figures,
the days a change touches, CSV cells."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy
import pytest

from backend.localtime import LOCAL_TZ
from backend.presence.log import daily_log
from backend.presence.values import PresenceEvent
from backend.spreadsheet import neutralise
from backend.stats.daily import TaskFacts, presence_seconds, task_figures
from backend.stats.dirty import touched_days
from backend.stats.weekly import iso_weeks, percentile


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=LOCAL_TZ)


def test_iso_weeks_cover_whole_weeks_across_the_year_end():
    weeks = iso_weeks(date(2026, 12, 30), date(2027, 1, 5))
    assert [(w.label, w.start, w.end) for w in weeks] == [
        ("2026-W53", date(2026, 12, 28), date(2027, 1, 3)),
        ("2027-W01", date(2027, 1, 4), date(2027, 1, 10)),
    ]
    assert [w.label for w in iso_weeks(date(2026, 3, 23), date(2026, 3, 23))] == ["2026-W13"]


@pytest.mark.parametrize(
    "values,median,p90",
    [
        ([1, 2, 24], 2, 2 + (24 - 2) * 0.8),  # rank (3 - 1) x 0.9 = 1.8
        ([5, 1, 3, 2], 2.5, 3 + (5 - 3) * 0.7),  # rank 2.7 of [1, 2, 3, 5]
        ([7], 7, 7),
    ],
)
def test_percentiles_interpolate_between_the_closest_ranks(values, median, p90):
    array = numpy.array(values)
    assert percentile(array, 0.5) == pytest.approx(median)
    assert percentile(array, 0.9) == pytest.approx(p90)
    assert percentile(numpy.array([], dtype=int), 0.5) is None


def test_presence_on_the_23_hour_day_has_no_hour_two():
    events = [
        PresenceEvent("w", "a", "shift_start", local(2026, 3, 29, 1, 30), "sergels-torg"),
        PresenceEvent("w", "b", "shift_end", local(2026, 3, 29, 3, 30), "sergels-torg"),
    ]
    seconds = presence_seconds(daily_log(events, [], date(2026, 3, 29)))
    # 01:30 CET to 03:30 CEST is one real hour: half in hour 1, half in hour 3.
    assert seconds == {("sergels-torg", 1): 1800, ("sergels-torg", 3): 1800}


def test_presence_on_the_25_hour_day_counts_hour_two_twice():
    events = [
        PresenceEvent("w", "a", "shift_start", local(2026, 10, 25, 1, 0), None),
        PresenceEvent("w", "b", "shift_end", local(2026, 10, 25, 4, 0), None),
    ]
    seconds = presence_seconds(daily_log(events, [], date(2026, 10, 25)))
    assert seconds == {("", 1): 3600, ("", 2): 7200, ("", 3): 3600}


def _task(**overrides):
    routed = local(2026, 5, 12, 9)
    values = {
        "organisation": "trafikkontoret",
        "zone": "sergels-torg",
        "routed_at": routed,
        "due_at": routed + timedelta(hours=24),
        "rerouted": False,
    }
    return TaskFacts(**(values | overrides))


def test_a_deadline_counts_as_missed_only_once_it_has_passed_open():
    day = (local(2026, 5, 13), local(2026, 5, 14))
    due = local(2026, 5, 13, 9)
    open_task = _task()
    before = task_figures([open_task], *day, as_of=due - timedelta(minutes=1))
    assert before == {}
    after = task_figures([open_task], *day, as_of=due)
    assert after[("trafikkontoret", "sergels-torg")].became_overdue == 1
    # Closed before the deadline (resolved or forwarded), it never becomes overdue.
    closed = _task(closed_at=due - timedelta(hours=1))
    assert task_figures([closed], *day, as_of=local(2026, 5, 20)) == {}
    # Resolved late: it did become overdue that day, and the resolution counts elsewhere.
    late = _task(resolved_at=local(2026, 5, 15, 9), closed_at=local(2026, 5, 15, 9))
    assert (
        task_figures([late], *day, as_of=local(2026, 5, 20))[
            ("trafikkontoret", "sergels-torg")
        ].became_overdue
        == 1
    )


def test_durations_count_from_routing_and_are_kept_sorted():
    day = (local(2026, 5, 12), local(2026, 5, 13))
    tasks = [
        _task(acknowledged_at=local(2026, 5, 12, 12)),
        _task(acknowledged_at=local(2026, 5, 12, 10), resolved_at=local(2026, 5, 12, 21)),
    ]
    (row,) = task_figures(tasks, *day, as_of=local(2026, 5, 20)).values()
    assert row.received == 2 and row.acknowledged == 2
    assert row.ack_seconds == [3600, 3 * 3600]
    assert row.resolve_seconds == [12 * 3600]
    assert row.resolved_within_deadline == 1


def test_a_change_touches_its_day_the_neighbour_within_a_shift_and_today():
    now = local(2026, 5, 20, 12).astimezone(UTC)
    # An item at 10:00 on the 12th: a shift open at it may have started the evening before.
    assert touched_days([local(2026, 5, 12, 10)], now) == {
        date(2026, 5, 11),
        date(2026, 5, 12),
        date(2026, 5, 20),
    }
    # Never a day after today.
    late_evening = local(2026, 5, 20, 23)
    assert touched_days([late_evening], late_evening) == {date(2026, 5, 20)}


@pytest.mark.parametrize(
    "cell,expected",
    [
        ('=HYPERLINK("http://x/","y")', '\'=HYPERLINK("http://x/","y")'),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("sergels-torg", "sergels-torg"),
        ("", ""),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(cell, expected):
    assert neutralise(cell) == expected
