from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.presence.log import daily_log, day_bounds, event_window, summary
from backend.presence.values import LOCAL_TZ, MAX_SHIFT, FiledItem, PresenceEvent

DAY = date(2026, 5, 12)
_ids = itertools.count()


def at(clock: str, day: date = DAY) -> datetime:
    """A local Stockholm wall-clock time; ``+`` picks the later of two ambiguous ones."""
    hh, mm = (int(part) for part in clock.rstrip("+").split(":"))
    local = datetime(day.year, day.month, day.day, hh, mm, tzinfo=LOCAL_TZ)
    return local.replace(fold=1 if clock.endswith("+") else 0)


def ev(
    kind: str, clock: str, zone: str | None = None, worker: str = "w1", day: date = DAY
) -> PresenceEvent:
    return PresenceEvent(worker, f"item-{next(_ids):06d}", kind, at(clock, day), zone)  # type: ignore[arg-type]


def pings(start: str, end: str, zone: str | None, every: int = 5, **kw: object) -> list:
    t, stop = at(start), at(end)
    out = []
    while t <= stop:
        local = t.astimezone(LOCAL_TZ)
        out.append(ev("ping", f"{local:%H:%M}", zone, **kw))  # type: ignore[arg-type]
        t += timedelta(minutes=every)
    return out


def rows(log, worker: str = "w1") -> list[tuple[str | None, str, str, bool]]:
    (day,) = [w for w in log.workers if w.worker_id == worker]
    return [
        (i.zone, f"{i.start.astimezone(LOCAL_TZ):%H:%M}", f"{i.end.astimezone(LOCAL_TZ):%H:%M}",
         i.inferred)
        for i in day.intervals
    ]  # fmt: skip


def minutes_by_zone(log, worker: str = "w1") -> dict[str | None, float]:
    (day,) = [w for w in log.workers if w.worker_id == worker]
    return {z.zone: z.seconds / 60 for z in day.zone_times}


CASES = {
    "pings and zone changes": (
        [
            ev("shift_start", "08:00", "sergels-torg"),
            *pings("08:05", "09:55", "sergels-torg"),
            ev("zone_enter", "10:00", "hotorget"),
            *pings("10:05", "10:55", "hotorget"),
            ev("ping", "11:00", None),  # outside every zone
            ev("ping", "11:30", "sergels-torg"),
            ev("shift_end", "16:00", "sergels-torg"),
        ],
        [
            ("sergels-torg", "08:00", "10:00", False),
            ("hotorget", "10:00", "11:00", False),
            (None, "11:00", "11:30", False),
            ("sergels-torg", "11:30", "16:00", False),
        ],
    ),
    "missing shift end closes at last sign plus grace": (
        [ev("shift_start", "08:00", "hotorget"), *pings("08:05", "12:00", "hotorget")],
        [("hotorget", "08:00", "12:15", True)],
    ),
    "zone exit leaves for no zone; exit of a zone already left is ignored": (
        [
            ev("shift_start", "09:00", "drottninggatan"),
            ev("zone_enter", "09:30", "hotorget"),
            ev("zone_exit", "09:31", "drottninggatan"),  # overlap at the boundary
            ev("zone_exit", "10:00", "hotorget"),
            ev("shift_end", "10:10"),
        ],
        [
            ("drottninggatan", "09:00", "09:30", False),
            ("hotorget", "09:30", "10:00", False),
            (None, "10:00", "10:10", False),
        ],
    ),
    "shift end past the maximum is a forgotten end": (
        [ev("shift_start", "06:00", "sergels-torg"), *pings("06:10", "23:50", "sergels-torg", 10)],
        # capped at 13 hours; the pings after the cap are presence again, in a shift of their own
        [("sergels-torg", "06:00", "19:00", True), ("sergels-torg", "19:10", "00:00", True)],
    ),
    "silence inside a shift that has its end is presence": (
        [
            ev("shift_start", "08:00", "hotorget"),
            ev("ping", "09:14", "hotorget"),
            ev("shift_end", "12:00"),
        ],
        [("hotorget", "08:00", "12:00", False)],
    ),
    "a start long after the last sign closes the endless shift before it": (
        [
            ev("shift_start", "07:00", "hotorget"),
            ev("ping", "09:00", "hotorget"),
            ev("shift_start", "13:00", "sergels-torg"),
            ev("shift_end", "15:00"),
        ],
        [("hotorget", "07:00", "09:15", True), ("sergels-torg", "13:00", "15:00", False)],
    ),
    "a stray shift end is ignored; a repeated start continues the shift": (
        [
            ev("shift_end", "07:00"),
            ev("shift_start", "08:00", "hotorget"),
            ev("shift_start", "08:10", None),
            ev("shift_end", "09:00"),
        ],
        [("hotorget", "08:00", "09:00", False)],
    ),
}


@pytest.mark.parametrize("events,expected", CASES.values(), ids=CASES.keys())
def test_intervals(events, expected):
    assert rows(daily_log(events, [], DAY)) == expected


def test_minutes_per_zone_add_up_the_day():
    log = daily_log(CASES["pings and zone changes"][0], [], DAY)
    assert minutes_by_zone(log) == {"sergels-torg": 120 + 270, "hotorget": 60, None: 30}
    (worker,) = log.workers
    assert worker.seconds == 8 * 3600
    assert worker.first_seen == at("08:00")
    assert worker.last_seen == at("16:00")


def test_late_item_changes_the_log_it_belongs_to():
    on_time = [ev("shift_start", "08:00", "hotorget"), ev("shift_end", "12:00")]
    late = ev("zone_enter", "10:00", "kungstradgarden")
    before = daily_log(on_time, [], DAY)
    after = daily_log([*on_time, late], [], DAY)
    assert minutes_by_zone(before) == {"hotorget": 240}
    assert minutes_by_zone(after) == {"hotorget": 120, "kungstradgarden": 120}


def test_out_of_order_gives_the_in_order_log():
    events = [e for case in CASES.values() for e in case[0]][:40]
    shuffled = events[:]
    random.Random(7).shuffle(shuffled)
    assert daily_log(shuffled, [], DAY) == daily_log(events, [], DAY)


def test_open_shift_stops_at_now():
    events = [ev("shift_start", "08:00", "hotorget"), ev("ping", "09:55", "hotorget")]
    log = daily_log(events, [], DAY, now=at("10:03"))
    assert rows(log) == [("hotorget", "08:00", "10:03", True)]


def test_sub_second_times_are_kept_to_the_second():
    start = PresenceEvent("w1", "a", "shift_start", at("08:00") + timedelta(microseconds=999), "x")
    end = PresenceEvent("w1", "b", "shift_end", at("09:00") + timedelta(microseconds=1))
    (worker,) = daily_log([start, end], [], DAY).workers
    assert worker.seconds == 3600


def test_naive_time_is_refused():
    with pytest.raises(ValueError, match="tz-aware"):
        daily_log([PresenceEvent("w1", "a", "ping", datetime(2026, 5, 12, 8), "x")], [], DAY)


DST = {
    # 29 March 2026: clocks go from 02:00 to 03:00, the day has 23 hours.
    "spring": (date(2026, 3, 29), "01:00", "04:00", 120, 23),
    # 25 October 2026: clocks go from 03:00 back to 02:00, the day has 25 hours.
    "autumn": (date(2026, 10, 25), "01:00", "04:00", 240, 25),
}


@pytest.mark.parametrize("day,start,end,expected_minutes,hours", DST.values(), ids=DST.keys())
def test_daylight_saving_days(day, start, end, expected_minutes, hours):
    events = [
        ev("shift_start", start, "sergels-torg", day=day),
        ev("shift_end", end, day=day),
    ]
    log = daily_log(events, [], day)
    assert minutes_by_zone(log) == {"sergels-torg": expected_minutes}
    assert len(log.coverage) == hours
    assert log.end - log.start == timedelta(hours=hours)
    covered = [h for h in log.coverage if h.workers]
    assert len(covered) == expected_minutes // 60


def test_autumn_day_tells_the_two_half_past_twos_apart():
    day = date(2026, 10, 25)
    events = [
        ev("shift_start", "02:30", "hotorget", day=day),  # first 02:30, +02:00
        ev("shift_end", "02:30+", day=day),  # second 02:30, +01:00
    ]
    (worker,) = daily_log(events, [], day).workers
    assert worker.seconds == 3600
    hours = [h.start.astimezone(LOCAL_TZ).isoformat() for h in daily_log(events, [], day).coverage]
    assert hours[2:4] == ["2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00"]


def test_shift_crossing_midnight_is_split_between_the_days():
    nxt = DAY + timedelta(days=1)
    events = [
        ev("shift_start", "22:00", "sergels-torg"),
        *pings("22:05", "23:55", "sergels-torg"),
        ev("ping", "00:05", "sergels-torg", day=nxt),
        ev("shift_end", "02:00", day=nxt),
    ]
    first = daily_log(events, [], DAY)
    second = daily_log(events, [], nxt)
    assert rows(first) == [("sergels-torg", "22:00", "00:00", False)]
    assert rows(second) == [("sergels-torg", "00:00", "02:00", False)]
    assert second.workers[0].first_seen == at("00:05", nxt)
    assert first.workers[0].last_seen == at("23:55")


def test_inferred_close_after_midnight_marks_the_evening_part():
    nxt = DAY + timedelta(days=1)
    events = [ev("shift_start", "22:00", "hotorget"), ev("ping", "23:55", "hotorget")]
    assert rows(daily_log(events, [], DAY)) == [("hotorget", "22:00", "00:00", True)]
    assert rows(daily_log(events, [], nxt)) == [("hotorget", "00:00", "00:10", True)]


def test_events_outside_the_window_do_not_change_the_day():
    events = [ev("shift_start", "08:00", "hotorget"), ev("shift_end", "12:00")]
    lo, hi = event_window(DAY)
    far = [
        PresenceEvent("w1", "old", "shift_start", lo - timedelta(seconds=1), "hotorget"),
        PresenceEvent("w1", "new", "shift_start", hi + timedelta(seconds=1), "hotorget"),
    ]
    assert daily_log(events + far, [], DAY) == daily_log(events, [], DAY)
    assert hi - lo == day_bounds(DAY)[1] - day_bounds(DAY)[0] + 2 * MAX_SHIFT


def test_coverage_counts_distinct_workers_per_hour_and_zone():
    events = [
        ev("shift_start", "08:00", "x", worker="a"),
        ev("shift_end", "09:00", worker="a"),  # ends on the hour: not present 09-10
        ev("shift_start", "08:30", "x", worker="b"),
        ev("shift_end", "09:30", worker="b"),
        ev("shift_start", "08:59", "y", worker="c"),
        ev("shift_end", "09:01", worker="c"),
        ev("shift_start", "08:10", "x", worker="d"),  # twice in x within the hour: counted once
        ev("zone_enter", "08:20", "y", worker="d"),
        ev("zone_enter", "08:40", "x", worker="d"),
        ev("shift_end", "08:50", worker="d"),
    ]
    log = daily_log(events, [], DAY)
    by_hour = {h.start.astimezone(LOCAL_TZ).hour: h for h in log.coverage}
    assert len(by_hour) == 24
    assert by_hour[8].workers == 4
    assert [(z.zone, z.workers) for z in by_hour[8].zones] == [("x", 3), ("y", 2)]
    assert by_hour[9].workers == 2
    assert [(z.zone, z.workers) for z in by_hour[9].zones] == [("x", 1), ("y", 1)]
    assert by_hour[7].workers == 0 and by_hour[10].workers == 0


def test_filed_items_are_listed_and_counted_for_the_day():
    filed = [
        FiledItem("w1", "r1", "report", at("09:00"), "hotorget"),
        FiledItem("w1", "c1", "contact", at("10:00"), "sergels-torg"),
        FiledItem("w1", "r0", "report", at("23:59") + timedelta(minutes=1), "hotorget"),  # next day
    ]
    events = [ev("shift_start", "08:00", "hotorget"), ev("shift_end", "12:00")]
    (worker,) = daily_log(events, filed, DAY).workers
    assert [(f.item_id, f.at) for f in worker.filed] == [
        ("r1", at("09:00").astimezone(UTC)),
        ("c1", at("10:00").astimezone(UTC)),
    ]
    assert all(f.at.tzinfo is UTC for f in worker.filed)
    assert (worker.filed_count("report"), worker.filed_count("contact")) == (1, 1)


def test_zone_filter_keeps_that_zone_only():
    events = [
        *CASES["pings and zone changes"][0],
        ev("shift_start", "08:00", "kungstradgarden", worker="w2"),
        ev("shift_end", "09:00", worker="w2"),
    ]
    filed = [FiledItem("w2", "r", "report", at("08:30"), "kungstradgarden")]
    log = daily_log(events, filed, DAY, zone="hotorget")
    assert [w.worker_id for w in log.workers] == ["w1"]
    assert rows(log) == [("hotorget", "10:00", "11:00", False)]
    assert {h.workers for h in log.coverage} == {0, 1}


def test_summary_adds_up_its_daily_logs():
    nxt = DAY + timedelta(days=1)
    events = [
        ev("shift_start", "22:00", "hotorget"),
        ev("shift_end", "01:00", day=nxt),
        ev("shift_start", "10:00", "sergels-torg", worker="w2", day=nxt),
        ev("ping", "11:00", None, worker="w2", day=nxt),
        ev("shift_end", "11:30", worker="w2", day=nxt),
    ]
    filed = [
        FiledItem("w2", "r", "report", at("10:30", nxt), "sergels-torg"),
        FiledItem("w2", "c", "contact", at("11:10", nxt), None),
    ]
    result = summary(events, filed, DAY, nxt)
    first, second = result.days
    assert [(z.zone, z.seconds) for z in first.zone_times] == [("hotorget", 7200)]
    assert first.workers == 1
    assert [(z.zone, z.seconds) for z in second.zone_times] == [
        ("hotorget", 3600),
        ("sergels-torg", 3600),
        (None, 1800),
    ]
    assert (second.workers, second.reports, second.contacts) == (2, 1, 1)
    assert result.workers == 2
    assert [(z.zone, z.seconds) for z in result.zone_times] == [
        ("hotorget", 10800),
        ("sergels-torg", 3600),
        (None, 1800),
    ]
    only = summary(events, filed, DAY, nxt, zone="sergels-torg")
    assert (only.workers, only.reports, only.contacts) == (1, 1, 0)
    with pytest.raises(ValueError):
        summary(events, filed, nxt, DAY)


_KINDS = ("shift_start", "shift_end", "zone_enter", "zone_exit", "ping")
_event = st.builds(
    lambda worker, kind, minute, zone: PresenceEvent(
        worker,
        f"{worker}-{kind}-{minute}-{zone}",
        kind,
        datetime(2026, 3, 28, 20, tzinfo=UTC) + timedelta(minutes=minute),
        zone,
    ),
    st.sampled_from(["a", "b"]),
    st.sampled_from(_KINDS),
    st.integers(0, 26 * 60),
    st.sampled_from(["x", "y", None]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_event, max_size=40), st.randoms(use_true_random=False))
def test_shuffling_the_input_never_changes_the_output(events, rnd):
    shuffled = events[:]
    rnd.shuffle(shuffled)
    for day in (date(2026, 3, 28), date(2026, 3, 29)):
        log = daily_log(events, [], day)
        assert daily_log(shuffled, [], day) == log
        for worker in log.workers:
            assert all(i.start < i.end for i in worker.intervals)
            assert all(a.end <= b.start for a, b in itertools.pairwise(worker.intervals))
            assert worker.seconds <= (log.end - log.start).total_seconds()


def test_summary_by_worker_sums_each_workers_days():
    nxt = DAY + timedelta(days=1)
    events = [
        ev("shift_start", "22:00", "hotorget"),  # w1: 2 h on DAY, 1 h after midnight
        ev("shift_end", "01:00", day=nxt),
        ev("shift_start", "10:00", "sergels-torg", worker="w2", day=nxt),
        ev("shift_end", "11:30", worker="w2", day=nxt),
    ]
    filed = [
        FiledItem("w2", "r", "report", at("10:30", nxt), "sergels-torg"),
        FiledItem("w3", "c", "contact", at("12:00", nxt), None),  # filed, never present
    ]
    result = summary(events, filed, DAY, nxt)
    lines = {w.worker_id: w for w in result.by_worker}
    assert [w.worker_id for w in result.by_worker] == ["w1", "w2", "w3"]
    assert (lines["w1"].days, lines["w1"].seconds) == (2, 3 * 3600)
    assert [(z.zone, z.seconds) for z in lines["w1"].zone_times] == [("hotorget", 3 * 3600)]
    assert (lines["w2"].days, lines["w2"].seconds, lines["w2"].reports) == (1, 5400, 1)
    assert (lines["w3"].days, lines["w3"].seconds, lines["w3"].contacts) == (0, 0, 1)
    assert sum(w.seconds for w in result.by_worker) == sum(z.seconds for z in result.zone_times)
    assert result.workers == 2  # unchanged: workers with presence
    only = summary(events, filed, DAY, nxt, zone="hotorget")
    assert [(w.worker_id, w.seconds) for w in only.by_worker] == [("w1", 3 * 3600)]
