"""Turning service results into what a page draws: timeline bars, the coverage grid, chart
bars, map features. Pure functions of their inputs (no Flask, no database), tested alone.

No rule of the service is decided here: which hours had nobody, which shift was inferred and
which cell is suppressed all come from the services' answers; this only places them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import segno
from markupsafe import Markup

from backend.localtime import LOCAL_TZ
from backend.presence.values import HourCoverage, Interval

PALETTE = ("#1f5fa8", "#b4461a", "#2e7d32", "#7b3fa0", "#8a6d00", "#00796b", "#ad1457")
"""Zone and category colours: each has at least 4.5:1 contrast on white (WCAG 2.1 AA for text,
so also for the thin bars and markers drawn in it) and they stay apart for the common forms of
colour blindness; the colour is never the only carrier (labels and tables say the same)."""
NO_ZONE_COLOUR = "#5f6368"


def short_id(value: uuid.UUID | str) -> str:
    """The first 8 hex digits: enough to tell cases apart on a screen and to say on the phone."""
    return str(value).replace("-", "")[:8]


def colours(keys: Iterable[str]) -> dict[str, str]:
    return {key: PALETTE[n % len(PALETTE)] for n, key in enumerate(keys)}


@dataclass(frozen=True)
class Bar:
    x: float  # percent of the day from its start
    width: float  # percent of the day
    zone: str | None
    inferred: bool
    start: datetime
    end: datetime


def timeline(intervals: Sequence[Interval], day_start: datetime, day_end: datetime) -> list[Bar]:
    """Each interval as a bar on a 0-100 scale of the local day (23 or 25 hours included)."""
    span = (day_end - day_start).total_seconds()
    bars = []
    for interval in intervals:
        x = (interval.start - day_start).total_seconds() / span * 100
        width = max((interval.end - interval.start).total_seconds() / span * 100, 0.2)
        bars.append(
            Bar(
                round(x, 3),
                round(width, 3),
                interval.zone,
                interval.inferred,
                interval.start,
                interval.end,
            )
        )
    return bars


def hour_ticks(coverage: Sequence[HourCoverage]) -> list[tuple[float, str]]:
    """Positions (percent) and labels of every third local hour, for a timeline's scale."""
    hours = len(coverage)
    ticks = []
    for n, hour in enumerate(coverage):
        local = hour.start.astimezone(LOCAL_TZ)
        if local.hour % 3 == 0:
            ticks.append((round(n / hours * 100, 3), f"{local.hour:02d}"))
    return ticks


@dataclass(frozen=True)
class Cell:
    workers: int
    level: str  # gap | low | mid | high | off (outside the day's staffed hours) | future


@dataclass(frozen=True)
class GridRow:
    zone: str | None  # None: the "anywhere" row
    cells: list[Cell]


def _level(workers: int, staffed: bool, future: bool) -> str:
    if future:
        return "future"
    if workers == 0:
        return "gap" if staffed else "off"
    return "low" if workers == 1 else "mid" if workers == 2 else "high"


def coverage_grid(
    coverage: Sequence[HourCoverage], zones: Sequence[str], now: datetime
) -> tuple[list[str], list[GridRow]]:
    """Hour labels and one row per zone (and a first row for anywhere): workers per hour.

    An hour with nobody is a *gap* when it lies within the day's staffed span (from the first
    to the last hour anyone was present anywhere); before and after it the hours are *off*,
    so a night nobody works does not drown the gaps that matter. Hours not begun are *future*.
    """
    labels = [f"{h.start.astimezone(LOCAL_TZ).hour:02d}" for h in coverage]
    present = [n for n, h in enumerate(coverage) if h.workers]
    first, last = (present[0], present[-1]) if present else (len(coverage), -1)

    def row(zone: str | None, counts: list[int]) -> GridRow:
        return GridRow(
            zone,
            [
                Cell(count, _level(count, first <= n <= last, coverage[n].start > now))
                for n, count in enumerate(counts)
            ],
        )

    rows = [row(None, [h.workers for h in coverage])]
    for zone in zones:
        rows.append(
            row(zone, [next((z.workers for z in h.zones if z.zone == zone), 0) for h in coverage])
        )
    return labels, rows


@dataclass(frozen=True)
class ChartBar:
    key: str
    count: int | None  # None: suppressed
    width: float  # percent of the largest count


def chart(cells: Sequence[Mapping[str, Any]]) -> list[ChartBar]:
    """Bars for aggregate cells as the service returns them; a suppressed cell has no bar."""
    counts = [c["count"] for c in cells if c.get("count") is not None]
    top = max(counts, default=0) or 1
    return [
        ChartBar(
            str(c["key"]),
            c.get("count"),
            round((c["count"] or 0) / top * 100, 2) if c.get("count") is not None else 0.0,
        )
        for c in cells
    ]


def case_features(
    cases: Iterable[Any],
    overdue: set[uuid.UUID],
    labels: Mapping[str, str],
    category_colours: Mapping[str, str],
    link: Any,
) -> list[dict[str, Any]]:
    """GeoJSON point features of cases for the map: what map.js needs to draw and label each."""
    return [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [case.lon, case.lat]},
            "properties": {
                "id": short_id(case.id),
                "url": link(case.id),
                "category": labels.get(case.category, case.category),
                "colour": category_colours.get(case.category, NO_ZONE_COLOUR),
                "overdue": case.id in overdue,
                "reports": case.report_count,
            },
        }
        for case in cases
    ]


def qr_svg(text: str, title: str) -> Markup:
    """``text`` as a QR code, an inline SVG element (no script, no style attribute: CSP-safe,
    and nothing to fetch, so the token it holds is only ever in this one answer). Error
    correction M (15 %) survives a scratched screen or a reflection."""
    code = segno.make(text, error="m", micro=False)
    svg = code.svg_inline(
        scale=5,
        border=4,
        dark="#000000",
        light="#ffffff",
        title=title,
        svgclass="qr",
        omitsize=True,  # a viewBox instead: the stylesheet gives it its size
    )
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))
