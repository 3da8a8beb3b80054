"""The console's drawing helpers and its CSP, without I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backend.console import present
from backend.console.security import content_security_policy, tile_origin
from backend.presence.log import daily_log, day_bounds
from backend.presence.values import Interval, PresenceEvent

DAY = date(2026, 5, 12)


def _at(hour: int, minute: int = 0) -> datetime:
    return day_bounds(DAY)[0] + timedelta(hours=hour, minutes=minute)


def _coverage(*shifts):
    events = []
    for n, (zone, start, end) in enumerate(shifts):
        events += [
            PresenceEvent(f"w{n}", f"a{n}", "shift_start", _at(start), zone),
            PresenceEvent(f"w{n}", f"b{n}", "shift_end", _at(end), zone),
        ]
    return daily_log(events, [], DAY, now=_at(23, 59)).coverage


def test_gaps_are_the_empty_hours_between_the_first_and_last_staffed_hour():
    coverage = _coverage(("sergels-torg", 8, 11), ("hotorget", 14, 16))
    labels, rows = present.coverage_grid(coverage, ["sergels-torg", "hotorget"], _at(23, 59))
    assert labels[:3] == ["00", "01", "02"] and len(labels) == 24
    anywhere = [cell.level for cell in rows[0].cells]
    assert anywhere[7] == "off" and anywhere[17] == "off"  # before and after the day's work
    assert anywhere[8:11] == ["low"] * 3
    assert anywhere[11:14] == ["gap"] * 3  # nobody anywhere from 11 to 14
    sergels = [cell.level for cell in rows[1].cells]
    assert sergels[14] == "gap" and sergels[8] == "low"


def test_hours_not_begun_are_future_not_gaps():
    coverage = _coverage(("sergels-torg", 8, 12))
    _, rows = present.coverage_grid(coverage, ["sergels-torg"], _at(10, 30))
    levels = [cell.level for cell in rows[0].cells]
    assert levels[10] == "low" and levels[11] == "future" and levels[23] == "future"


def test_levels_by_number_of_workers():
    coverage = _coverage(*[("sergels-torg", 9, 10)] * 3, ("sergels-torg", 10, 11))
    _, rows = present.coverage_grid(coverage, ["sergels-torg"], _at(23))
    assert rows[0].cells[9].level == "high" and rows[0].cells[9].workers == 3
    assert rows[0].cells[10].level == "low"


def test_timeline_places_intervals_on_the_day_even_on_a_25_hour_day():
    autumn = date(2026, 10, 25)  # the clocks go back: 25 local hours
    start, end = day_bounds(autumn)
    assert end - start == timedelta(hours=25)
    interval = Interval(
        "sergels-torg", start + timedelta(hours=5), start + timedelta(hours=10), False
    )
    (bar,) = present.timeline([interval], start, end)
    assert bar.x == pytest.approx(20.0) and bar.width == pytest.approx(20.0)


def test_chart_scales_to_the_largest_shown_count_and_skips_suppressed():
    bars = present.chart(
        [
            {"key": "a", "count": 10, "suppressed": False},
            {"key": "b", "count": None, "suppressed": True},
            {"key": "c", "count": 5, "suppressed": False},
        ]
    )
    assert [(b.key, b.count, b.width) for b in bars] == [
        ("a", 10, 100.0),
        ("b", None, 0.0),
        ("c", 5, 50.0),
    ]


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("colour", [*present.PALETTE, present.NO_ZONE_COLOUR])
def test_palette_colours_have_aa_contrast_on_white(colour):
    assert (1.05) / (_luminance(colour) + 0.05) >= 4.5


@pytest.mark.parametrize(
    "template,origin",
    [
        ("", None),
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
        ("https://{s}.tiles.example.org/{z}/{x}/{y}.png", "https://*.tiles.example.org"),
        ("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png", "http://127.0.0.1:8080"),
    ],
)
def test_tile_origin(template, origin):
    assert tile_origin(template) == origin


@pytest.mark.parametrize("template", ["javascript:alert(1)", "/relative/{z}/{x}/{y}.png"])
def test_a_tile_url_that_is_no_http_url_stops_the_app(template):
    with pytest.raises(RuntimeError):
        tile_origin(template)


def test_csp_allows_only_this_origin_and_the_tiles():
    policy = content_security_policy("https://tile.example")
    assert "script-src 'self';" in policy and "img-src 'self' https://tile.example;" in policy
    assert "unsafe" not in policy


def test_short_id():
    assert present.short_id("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0") == "0f1e2d3c"


def test_now_is_utc():
    assert _at(0).tzinfo is not None and _at(0).astimezone(UTC).hour == 22  # CEST: UTC+2
