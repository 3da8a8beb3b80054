"""JSON-ready dictionaries and CSV for presence logs and summaries.

Times leave as local ISO 8601 with the offset (``2026-10-25T02:30:00+01:00``), so a reader on
a daylight-saving day can tell the two 02:30s apart. Durations leave as whole seconds and as
minutes rounded to two decimals; totals are summed in seconds before rounding, so they never
drift from the intervals they add up.

The CSV has one row per interval, a header row, and these columns:

=============  ===============================================================
``date``       the local day, ``YYYY-MM-DD``
``worker_id``  the worker
``worker``     the worker's display name (empty when not given)
``zone``       zone slug; empty for presence outside every known zone
``zone_name``  the zone's display name (empty when not given)
``start``      local ISO 8601 with offset
``end``        local ISO 8601 with offset
``minutes``    the interval's length, two decimals, ``.`` as decimal separator
``inferred``   ``true`` when a bound was inferred (a missing shift start or end)
=============  ===============================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from backend import spreadsheet
from backend.localtime import LOCAL_TZ
from backend.presence.values import (
    MAX_SHIFT,
    SHIFT_GRACE,
    DailyLog,
    FiledItem,
    Interval,
    Summary,
    WorkerDay,
    ZoneTime,
)

CSV_COLUMNS = (
    "date",
    "worker_id",
    "worker",
    "zone",
    "zone_name",
    "start",
    "end",
    "minutes",
    "inferred",
)


def local_iso(at: datetime) -> str:
    return at.astimezone(LOCAL_TZ).isoformat()


def minutes(seconds: int) -> float:
    return round(seconds / 60, 2)


class _LocalIso(dict[datetime, str]):
    """``local_iso`` remembered per instant within one answer: a busy day's ~6,000 intervals
    share most of their bounds (one ends where the next starts), and formatting was a third
    of serving a stored day (issue 20)."""

    def __missing__(self, at: datetime) -> str:
        text = self[at] = local_iso(at)
        return text


def _interval(interval: Interval, seconds: int, iso: _LocalIso) -> dict[str, Any]:
    return {
        "zone": interval.zone,
        "start": iso[interval.start],
        "end": iso[interval.end],
        "seconds": seconds,
        "minutes": minutes(seconds),
        "inferred": interval.inferred,
    }


def _zone_times(zone_times: tuple[ZoneTime, ...]) -> list[dict[str, Any]]:
    return [
        {"zone": z.zone, "seconds": z.seconds, "minutes": minutes(z.seconds)} for z in zone_times
    ]


def _filed(item: FiledItem) -> dict[str, Any]:
    return {"id": item.item_id, "at": local_iso(item.at), "zone": item.zone}


def _worker(worker: WorkerDay, include_contacts: bool, iso: _LocalIso) -> dict[str, Any]:
    # Each interval's length once (``WorkerDay.zone_times`` and ``seconds`` would recompute
    # them): zones in order of first presence, as ``zone_times`` gives them.
    lengths = [interval.seconds for interval in worker.intervals]
    per_zone: dict[str | None, int] = {}
    for interval, seconds in zip(worker.intervals, lengths, strict=True):
        per_zone[interval.zone] = per_zone.get(interval.zone, 0) + seconds
    total = sum(lengths)
    body: dict[str, Any] = {
        "worker_id": worker.worker_id,
        "first_seen": local_iso(worker.first_seen) if worker.first_seen else None,
        "last_seen": local_iso(worker.last_seen) if worker.last_seen else None,
        "intervals": [
            _interval(i, seconds, iso) for i, seconds in zip(worker.intervals, lengths, strict=True)
        ],
        "zones": _zone_times(tuple(ZoneTime(z, seconds) for z, seconds in per_zone.items())),
        "seconds": total,
        "minutes": minutes(total),
        "filed": {
            "reports": worker.filed_count("report"),
            "contacts": worker.filed_count("contact"),
        },
        "reports": [_filed(item) for item in worker.filed if item.kind == "report"],
    }
    if include_contacts:
        body["contacts"] = [_filed(item) for item in worker.filed if item.kind == "contact"]
    return body


def policy_json() -> dict[str, int]:
    """The inference rules a client should show beside inferred intervals."""
    return {
        "shift_grace_minutes": int(SHIFT_GRACE.total_seconds() // 60),
        "max_shift_hours": int(MAX_SHIFT.total_seconds() // 3600),
    }


def daily_log_json(log: DailyLog, *, include_contacts: bool = False) -> dict[str, Any]:
    """The log as plain JSON values.

    Contacts are counted for everyone but listed (id, time, zone) only with
    ``include_contacts``: the caller sets it when the reader may see them individually (their
    author), since supervisors get aggregates only.
    """
    iso = _LocalIso()
    return {
        "date": log.day.isoformat(),
        "timezone": str(LOCAL_TZ),
        "start": local_iso(log.start),
        "end": local_iso(log.end),
        "zone": log.zone,
        "policy": policy_json(),
        "workers": [_worker(w, include_contacts, iso) for w in log.workers],
        "coverage": [
            {
                "start": local_iso(hour.start),
                "end": local_iso(hour.end),
                "workers": hour.workers,
                "zones": [{"zone": z.zone, "workers": z.workers} for z in hour.zones],
            }
            for hour in log.coverage
        ],
    }


def summary_json(
    result: Summary, *, worker_names: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The summary as plain JSON values; ``by_worker`` names each worker from ``worker_names``
    (empty when not given)."""
    return {
        "from": result.first.isoformat(),
        "to": result.last.isoformat(),
        "timezone": str(LOCAL_TZ),
        "zone": result.zone,
        "days": [
            {
                "date": day.day.isoformat(),
                "zones": _zone_times(day.zone_times),
                "workers": day.workers,
                "filed": {"reports": day.reports, "contacts": day.contacts},
            }
            for day in result.days
        ],
        "zones": _zone_times(result.zone_times),
        "workers": result.workers,
        "filed": {"reports": result.reports, "contacts": result.contacts},
        "by_worker": [
            {
                "worker_id": worker.worker_id,
                "name": (worker_names or {}).get(worker.worker_id, ""),
                "days": worker.days,
                "zones": _zone_times(worker.zone_times),
                "seconds": worker.seconds,
                "minutes": minutes(worker.seconds),
                "filed": {"reports": worker.reports, "contacts": worker.contacts},
            }
            for worker in result.by_worker
        ],
    }


def daily_filename(log: DailyLog) -> str:
    """What the API's and the console's downloads of a day's log are saved as."""
    return f"presence-{log.day.isoformat()}.csv"


def daily_log_csv(
    log: DailyLog,
    *,
    worker_names: Mapping[str, str] | None = None,
    zone_names: Mapping[str, str] | None = None,
) -> str:
    """One row per interval (columns in the module docstring), through ``backend.spreadsheet``
    (cells that a spreadsheet would run as formulas are neutralised)."""
    return spreadsheet.csv_text(
        CSV_COLUMNS,
        (
            (
                log.day.isoformat(),
                worker.worker_id,
                (worker_names or {}).get(worker.worker_id, ""),
                interval.zone or "",
                (zone_names or {}).get(interval.zone, "") if interval.zone else "",
                local_iso(interval.start),
                local_iso(interval.end),
                f"{minutes(interval.seconds):.2f}",
                "true" if interval.inferred else "false",
            )
            for worker in log.workers
            for interval in worker.intervals
        ),
    )
