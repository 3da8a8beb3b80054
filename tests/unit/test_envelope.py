"""The protocol logic alone: hashing, clock estimation and correction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sync.clock import ClockPolicy, estimate_clock
from sync.envelope import (
    Area,
    Limits,
    Reference,
    Rejection,
    ValidItem,
    canonical_hash,
    validate_item,
)
from sync.timestamps import parse_timestamp

POLICY = ClockPolicy(correction_threshold_s=120, max_future_s=300, max_age_days=120)
LIMITS = Limits(max_note_chars=50, max_photos_per_report=2, max_photo_bytes=1000)
REFERENCE = Reference(
    {"litter.overflowing_bin": "litter"},
    frozenset({"sergels-torg"}),
    frozenset({"socialtjanst-uppsok"}),
)
SERVER = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def _report(**overrides):
    item = {
        "type": "report",
        "id": "3f1c6a7e-0f7a-4a59-9d7e-5d2f0c1b2a33",
        "captured_at": "2026-05-04T13:50:00+02:00",
        "kind": "litter",
        "category": "litter.overflowing_bin",
        "location": {"lat": 59.3325, "lon": 18.0642},
    }
    return item | overrides


def test_timestamps_need_an_offset():
    assert parse_timestamp("2026-05-04T13:50:00+02:00") == datetime(2026, 5, 4, 11, 50, tzinfo=UTC)
    assert parse_timestamp("2026-05-04T11:50:00Z") == datetime(2026, 5, 4, 11, 50, tzinfo=UTC)
    with pytest.raises(ValueError, match="offset"):
        parse_timestamp("2026-05-04T11:50:00")


def test_hash_ignores_key_order_but_not_content():
    assert canonical_hash({"a": 1, "b": [1, 2]}) == canonical_hash({"b": [1, 2], "a": 1})
    assert canonical_hash({"a": 1}) != canonical_hash({"a": 2})


@pytest.mark.parametrize(
    "sent_offset_s,corrected", [(0, False), (-60, False), (-121, True), (3600, True)]
)
def test_clock_is_corrected_only_past_the_threshold(sent_offset_s, corrected):
    clock = estimate_clock(SERVER, SERVER + timedelta(seconds=sent_offset_s), POLICY)
    assert clock.skew_s == -sent_offset_s
    assert clock.corrected is corrected
    device = SERVER - timedelta(minutes=5)
    expected = device - timedelta(seconds=sent_offset_s) if corrected else device
    assert clock.correct(device) == expected


def test_valid_report_keeps_the_raw_time_and_corrects_occurred_at():
    # The phone's clock is an hour fast.
    clock = estimate_clock(SERVER, SERVER + timedelta(hours=1), POLICY)
    item = validate_item(_report(), REFERENCE, LIMITS, clock, POLICY)
    assert isinstance(item, ValidItem)
    assert item.captured_at_raw == "2026-05-04T13:50:00+02:00"
    assert item.occurred_at == datetime(2026, 5, 4, 10, 50, tzinfo=UTC)


def test_the_first_problem_names_the_code():
    clock = estimate_clock(SERVER, SERVER, POLICY)
    result = validate_item(_report(note="x" * 51), REFERENCE, LIMITS, clock, POLICY)
    assert isinstance(result, Rejection)
    assert (result.code, list(result.errors)) == ("note_too_long", ["note"])


@pytest.mark.parametrize(
    "raw",
    [
        "0001-01-01T00:00:00+01:00",  # once an OverflowError
        "9999-12-31T23:59:59-01:00",
        "1969-12-31T23:59:59+00:00",
        "2100-01-01T00:00:00Z",
        "2026-05-04 11:50:00Z",  # ISO 8601 but not RFC 3339
        "2026-05-04T11:50:00Z\n",
        "2026-13-01T00:00:00Z",
    ],
)
def test_times_outside_1970_to_2099_or_not_rfc3339_are_refused(raw):
    with pytest.raises(ValueError):
        parse_timestamp(raw)


def test_a_clock_from_the_edges_of_the_range_still_corrects_every_capture_time():
    # The largest skew two accepted times can make, applied to the extreme capture times.
    for sent, captured in (("1970-01-01T00:00:00+14:00", "2099-12-31T23:59:59-12:00"),
                           ("2099-12-31T23:59:59-12:00", "1970-01-01T00:00:00+14:00")):  # fmt: skip
        clock = estimate_clock(SERVER, parse_timestamp(sent), POLICY)
        result = validate_item(_report(captured_at=captured), REFERENCE, LIMITS, clock, POLICY)
        assert isinstance(result, Rejection) and result.code.startswith("captured_at_")


def test_outside_the_service_area_is_its_own_code():
    area = Limits(50, 2, 1000, area=Area(59.22, 17.75, 59.45, 18.20))
    clock = estimate_clock(SERVER, SERVER, POLICY)
    inside = validate_item(_report(), REFERENCE, area, clock, POLICY)
    assert isinstance(inside, ValidItem)
    for lat, lon in ((90, 0), (-90, 0), (59.8586, 17.6389)):
        result = validate_item(
            _report(location={"lat": lat, "lon": lon}), REFERENCE, area, clock, POLICY
        )
        assert isinstance(result, Rejection) and result.code == "outside_service_area"
