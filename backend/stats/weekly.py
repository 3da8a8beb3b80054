"""Weeks out of days: the weekly table from stored daily rows. Pure: no Flask, no database.

A week is an ISO 8601 week (Monday to Sunday) of Stockholm local days; an answer covers whole
weeks, from the Monday of the first day asked for to the Sunday of the last. Every week of the
range is in the answer, with zeros where nothing happened, and every key (kind, category,
organisation, zone, hour) that occurs anywhere in the range is in every week, so the table is
rectangular and a chart never skips a week.

Medians and 90th percentiles are computed over the union of the days' exact durations, by
linear interpolation between the closest ranks (numpy's default, Excel's PERCENTILE.INC), in
hours with two decimals; ``null`` when there is nothing to measure. Shares are ``null`` rather
than 0 when their denominator is 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy

HOURS_OF_DAY = range(24)


@dataclass(frozen=True, slots=True)
class Week:
    label: str  # "2026-W13"
    start: date  # Monday
    end: date  # Sunday


def iso_weeks(first: date, last: date) -> list[Week]:
    """The ISO weeks from the one holding ``first`` to the one holding ``last``."""
    monday = first - timedelta(days=first.weekday())
    weeks = []
    while monday <= last:
        iso = monday.isocalendar()
        weeks.append(Week(f"{iso.year}-W{iso.week:02d}", monday, monday + timedelta(days=6)))
        monday += timedelta(days=7)
    return weeks


def percentile(values: numpy.ndarray[Any, Any], q: float) -> float | None:
    """The ``q`` quantile (0..1), linear between the closest ranks; None for no values."""
    return float(numpy.percentile(values, q * 100)) if values.size else None


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


@dataclass(frozen=True, slots=True)
class ReportRow:
    """Summed over the zones asked for, as every other row type here."""

    day: date
    kind: str
    category: str
    reports: int
    cases_opened: int
    cases_resolved: int


@dataclass(frozen=True, slots=True)
class TaskRow:
    day: date
    organisation: str
    received: int
    forwarded_in: int
    acknowledged: int
    resolved: int
    resolved_within_deadline: int
    forwarded: int
    became_overdue: int
    ack_seconds: str  # comma-separated whole seconds, as stored (``join_seconds``)
    resolve_seconds: str


@dataclass(frozen=True, slots=True)
class ZoneSeconds:
    day: date
    zone: str
    seconds: int


@dataclass(frozen=True, slots=True)
class HourSeconds:
    day: date
    hour: int
    seconds: int


def join_seconds(seconds: Iterable[int]) -> str:
    """Durations as stored: whole seconds, comma-separated."""
    return ",".join(str(s) for s in seconds)


def _parse_seconds(texts: list[str]) -> numpy.ndarray[Any, Any]:
    """The union of stored duration lists (several may come joined by the database), parsed
    by numpy in one pass: a year's answer holds ~300,000 of them."""
    joined = ",".join(t for t in texts if t)
    if not joined:
        return numpy.empty(0, dtype=numpy.int64)
    return numpy.fromstring(joined, dtype=numpy.int64, sep=",")


@dataclass
class _Org:
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    ack: list[str] = field(default_factory=list)
    resolve: list[str] = field(default_factory=list)


COUNTS = (
    "received",
    "forwarded_in",
    "acknowledged",
    "resolved",
    "resolved_within_deadline",
    "forwarded",
    "became_overdue",
)


def _reports(rows: list[ReportRow], kinds: list[str], categories: list[str]) -> dict[str, Any]:
    by_kind: dict[str, int] = defaultdict(int)
    by_category: dict[str, int] = defaultdict(int)
    for row in rows:
        by_kind[row.kind] += row.reports
        by_category[row.category] += row.reports
    return {
        "total": sum(by_kind.values()),
        "by_kind": [{"key": k, "count": by_kind[k]} for k in kinds],
        "by_category": [{"key": c, "count": by_category[c]} for c in categories],
    }


def _cases(rows: list[ReportRow]) -> dict[str, int]:
    return {
        "opened": sum(r.cases_opened for r in rows),
        "resolved": sum(r.cases_resolved for r in rows),
    }


def _organisations(rows: list[TaskRow], organisations: list[str]) -> list[dict[str, Any]]:
    by_org: dict[str, _Org] = defaultdict(_Org)
    for row in rows:
        org = by_org[row.organisation]
        for name in COUNTS:
            org.counts[name] += getattr(row, name)
        org.ack.append(row.ack_seconds)
        org.resolve.append(row.resolve_seconds)
    out = []
    for slug in organisations:
        org = by_org[slug]
        ack, resolve = _parse_seconds(org.ack), _parse_seconds(org.resolve)
        c = org.counts
        closed = c["resolved"] + c["forwarded"]
        out.append(
            {
                "organisation": slug,
                **{name: c[name] for name in COUNTS},
                "hours_to_acknowledge": {
                    "median": _hours(percentile(ack, 0.5)),
                    "p90": _hours(percentile(ack, 0.9)),
                },
                "hours_to_resolve": {
                    "median": _hours(percentile(resolve, 0.5)),
                    "p90": _hours(percentile(resolve, 0.9)),
                },
                "within_deadline_share": _share(c["resolved_within_deadline"], c["resolved"]),
                "forwarding_rate": _share(c["forwarded"], closed),
            }
        )
    return out


def _presence(
    zone_rows: list[ZoneSeconds], hour_rows: list[HourSeconds], zones: list[str]
) -> dict[str, Any]:
    by_zone: dict[str, int] = defaultdict(int)
    by_hour: dict[int, int] = defaultdict(int)
    for z in zone_rows:
        by_zone[z.zone] += z.seconds
    for h in hour_rows:
        by_hour[h.hour] += h.seconds
    return {
        "hours": _hours(sum(by_zone.values())),
        "by_zone": [{"zone": z or None, "hours": _hours(by_zone[z])} for z in zones],
        "by_hour": [{"hour": h, "hours": _hours(by_hour[h])} for h in HOURS_OF_DAY],
    }


def _zone_order(zone: str) -> tuple[bool, str]:
    return (zone == "", zone)


@dataclass(frozen=True)
class Sections:
    """Which parts the reader gets: an organisation's answer has its task figures only."""

    reports: bool = True
    presence: bool = True


def table(
    weeks: Sequence[Week],
    reports: Iterable[ReportRow],
    tasks: Iterable[TaskRow],
    presence_zones: Iterable[ZoneSeconds],
    presence_hours: Iterable[HourSeconds],
    *,
    organisations: Iterable[str] = (),
    sections: Sections = Sections(),
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The weeks of the answer and the total over all of them.

    ``organisations`` are listed in every week even without a task (the filter's
    organisation); the others appear when they have any figure in the range.
    """
    if not weeks:
        return [], {}
    first = weeks[0].start
    columns: tuple[list[Any], ...] = (
        list(reports),
        list(tasks),
        list(presence_zones),
        list(presence_hours),
    )
    per_week: list[tuple[list[Any], ...]] = [tuple([] for _ in columns) for _ in weeks]
    for n, rows in enumerate(columns):
        for row in rows:
            per_week[(row.day - first).days // 7][n].append(row)
    report_rows, task_rows, zone_rows, _ = columns
    kinds = sorted({r.kind for r in report_rows})
    categories = sorted({r.category for r in report_rows})
    orgs = sorted(set(organisations) | {t.organisation for t in task_rows})
    zones = sorted({z.zone for z in zone_rows}, key=_zone_order)

    def summarise(
        rs: list[ReportRow], ts: list[TaskRow], zs: list[ZoneSeconds], hs: list[HourSeconds]
    ) -> dict[str, Any]:
        return {
            "reports": _reports(rs, kinds, categories) if sections.reports else None,
            "cases": _cases(rs) if sections.reports else None,
            "organisations": _organisations(ts, orgs),
            "presence": _presence(zs, hs, zones) if sections.presence else None,
        }

    out = [
        {
            "week": week.label,
            "start": week.start.isoformat(),
            "end": week.end.isoformat(),
            **summarise(*rows),
        }
        for week, rows in zip(weeks, per_week, strict=True)
    ]
    total = {
        "start": weeks[0].start.isoformat(),
        "end": weeks[-1].end.isoformat(),
        **summarise(*columns),
    }
    return out, total
