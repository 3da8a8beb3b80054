"""When a department's task is due: the time shown in its inbox, checked against a calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backend.routing.deadlines import (
    IMMEDIATE,
    STOCKHOLM,
    PolicyError,
    WallClock,
    WorkingHours,
    is_working_day,
    next_working_day,
    parse_policy,
)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM)


@pytest.mark.parametrize(
    "start,due",
    [
        # A plain Tuesday: the next day, same clock time.
        ("2026-03-10 09:00", "2026-03-11 09:00"),
        # Friday 10:00: 14 h left on Friday, the weekend does not count, 10 h on Monday.
        ("2026-03-06 10:00", "2026-03-09 10:00"),
        ("2026-03-06 23:00", "2026-03-09 23:00"),
        # Reported on Saturday or late Sunday: counting starts Monday 00:00, due end of Monday.
        ("2026-03-07 10:00", "2026-03-10 00:00"),
        ("2026-03-08 23:59", "2026-03-10 00:00"),
        # Exactly one whole working day.
        ("2026-03-06 00:00", "2026-03-07 00:00"),
        # Kristi himmelsfärdsdag, Thursday 14 May 2026: Wednesday 15:00 -> Friday 15:00.
        ("2026-05-13 15:00", "2026-05-15 15:00"),
        # Nationaldagen on Friday 6 June 2025: Thursday 12:00 -> Monday 12:00.
        ("2025-06-05 12:00", "2025-06-09 12:00"),
        # Easter 2026: skärtorsdag (2 April) is a working day; långfredagen, the weekend and
        # annandag påsk are not: Thursday 14:00 -> Tuesday 7 April 14:00.
        ("2026-04-02 14:00", "2026-04-07 14:00"),
        # Trettondagsafton (Monday 5 January) is worked; trettondedag jul is not.
        ("2026-01-05 10:00", "2026-01-07 10:00"),
    ],
)
def test_working_hours_24_skips_weekends_and_holidays(start, due):
    assert WorkingHours(24).due(local(start)) == local(due).astimezone(UTC)


@pytest.mark.parametrize(
    "start,due",
    [
        # Midsommarafton (Friday 19 June 2026) is a day off like midsommardagen.
        ("2026-06-18 09:00", "2026-06-22 09:00"),
        # Julafton (Thursday 24 Dec 2026), juldagen, annandag jul (Saturday), Sunday.
        ("2026-12-23 12:00", "2026-12-28 12:00"),
        # Reported on julafton itself: counting starts Monday 28 December 00:00.
        ("2026-12-24 08:00", "2026-12-29 00:00"),
        # Nyårsafton (Thursday 31 Dec 2026) and nyårsdagen, then the weekend.
        ("2026-12-30 08:00", "2027-01-04 08:00"),
    ],
)
def test_working_hours_skip_the_three_holiday_eves(start, due):
    assert WorkingHours(24).due(local(start)) == local(due).astimezone(UTC)


@pytest.mark.parametrize(
    "start_utc,due_utc",
    [
        # Summer time starts Sunday 29 March 2026. Friday 10:00 CET is 09:00 UTC; due Monday
        # 10:00 CEST, which is 08:00 UTC: 71 real hours, the local clock time is kept.
        ("2026-03-27T09:00Z", "2026-03-30T08:00Z"),
        # Summer time ends Sunday 25 October 2026. Friday 10:00 CEST is 08:00 UTC; due Monday
        # 10:00 CET, 09:00 UTC: 73 real hours.
        ("2026-10-23T08:00Z", "2026-10-26T09:00Z"),
        # Reported in the repeated hour itself (02:30 CEST, the first one): counting starts
        # Monday 00:00 CET, due Tuesday 27 October 00:00 CET = Monday 23:00 UTC.
        ("2026-10-25T00:30Z", "2026-10-26T23:00Z"),
    ],
)
def test_working_hours_keep_the_local_clock_across_daylight_saving(start_utc, due_utc):
    start = datetime.fromisoformat(start_utc)
    assert WorkingHours(24).due(start) == datetime.fromisoformat(due_utc)


def test_five_working_days_step_over_a_holiday():
    # Monday 11 May 09:00 + 120 h: Mon 15 h, Tue 24, Wed 24, (Kristi himmelsfärd), Fri 24,
    # Mon 24 = 111 h, then 9 h on Tuesday 19 May.
    assert WorkingHours(120).due(local("2026-05-11 09:00")) == local("2026-05-19 09:00")


@pytest.mark.parametrize(
    "policy,start,due",
    [
        # Immediate is four hours on any day: Saturday night -> Sunday 03:00.
        (IMMEDIATE, "2026-03-07T23:00+01:00", "2026-03-08T03:00+01:00"),
        # On julafton too.
        (IMMEDIATE, "2026-12-24T18:00+01:00", "2026-12-24T22:00+01:00"),
        # Four real hours across the spring change: 00:30 CET + 4 h shows 05:30 CEST.
        (IMMEDIATE, "2026-03-29T00:30+01:00", "2026-03-29T05:30+02:00"),
        # And across the autumn change: 00:30 CEST + 4 h shows 03:30 CET.
        (IMMEDIATE, "2026-10-25T00:30+02:00", "2026-10-25T03:30+01:00"),
        (WallClock(8), "2026-12-24T20:00+01:00", "2026-12-25T04:00+01:00"),
    ],
)
def test_wall_clock_policies_count_real_hours_any_day(policy, start, due):
    result = policy.due(datetime.fromisoformat(start))
    assert result == datetime.fromisoformat(due)
    assert result.utcoffset() == timedelta(0)


def test_results_are_utc_whatever_zone_the_start_is_in():
    start_utc = datetime(2026, 3, 6, 9, 0, tzinfo=UTC)  # Friday 10:00 in Stockholm
    due = WorkingHours(24).due(start_utc)
    assert due.tzinfo is UTC
    assert due == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


def test_a_naive_start_is_refused_rather_than_guessed():
    with pytest.raises(ValueError, match="tz-aware"):
        WorkingHours(24).due(datetime(2026, 3, 6, 10, 0))
    with pytest.raises(ValueError, match="tz-aware"):
        IMMEDIATE.due(datetime(2026, 3, 6, 10, 0))


@pytest.mark.parametrize(
    "day,working",
    [
        (date(2026, 3, 10), True),  # a Tuesday
        (date(2026, 3, 29), False),  # a Sunday
        (date(2026, 4, 30), True),  # valborgsmässoafton: a half day, still worked
        (date(2026, 10, 30), True),  # allhelgonaafton: a half day, still worked
        (date(2026, 6, 19), False),  # midsommarafton
        (date(2026, 12, 24), False),  # julafton
        (date(2026, 12, 31), False),  # nyårsafton
        (date(2026, 5, 14), False),  # Kristi himmelsfärdsdag
        (date(2026, 5, 1), False),  # första maj
    ],
)
def test_working_days(day, working):
    assert is_working_day(day) is working


def test_next_working_day_after_midsommar():
    assert next_working_day(date(2026, 6, 18)) == date(2026, 6, 22)


@pytest.mark.parametrize(
    "name,policy",
    [
        ("immediate", IMMEDIATE),
        ("working_hours(24)", WorkingHours(24)),
        ("working_hours(120)", WorkingHours(120)),
        ("hours(8)", WallClock(8)),
    ],
)
def test_policy_names_parse_and_print_back(name, policy):
    assert parse_policy(name) == policy
    assert parse_policy(name).name == name


@pytest.mark.parametrize(
    "name,message",
    [
        ("soon", "unknown deadline policy 'soon'"),
        ("Immediate", "unknown deadline policy"),
        ("working_hours( 24)", "unknown deadline policy"),
        ("working_hours(24h)", "unknown deadline policy"),
        ("hours(-1)", "unknown deadline policy"),
        ("working_hours(0)", "between 1 and 1000"),
        ("working_hours(2400)", "between 1 and 1000"),
        (24, "must be a string"),
    ],
)
def test_bad_policy_names_are_refused_with_a_reason(name, message):
    with pytest.raises(PolicyError, match=message.replace("(", r"\(")):
        parse_policy(name)
