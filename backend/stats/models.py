"""Daily statistics: aggregates per local day, kept up to date by jobs, read by the weekly API.

Every row belongs to one local day (Europe/Stockholm) and is written only by
``backend.stats.refresh.refresh_day``, which recomputes the whole day from the stored rows and
replaces what was there (recompute-and-replace, never increments: a retried or doubled job
writes the same rows again). ``''`` stands for "no zone" in the key columns: a primary key
cannot hold NULL.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.cases.models import Case
from backend.database import UTCDateTime, utcnow
from backend.extensions import db
from backend.tasks.models import TaskEvent

# What recomputing one day reads, found by index, so the cost of a day stays the same however
# many years of tasks and cases lie beside it (``services.load_tasks``, ``_report_rows``);
# declared here, beside the only queries that need them.
Index("ix_task_events_at", TaskEvent.at)
Index("ix_cases_resolved_at", Case.resolved_at)


class StatsDay(db.Model):  # type: ignore[name-defined]
    """When a day's aggregates were last computed.

    ``presence_computed_at`` is set when the presence figures were computed from the events;
    once the presence pings of a day have reached their retention period the day's presence
    figures are kept as they are (see ``services.refresh_day``).
    """

    __tablename__ = "stats_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    presence_computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class StatsDirtyDay(db.Model):  # type: ignore[name-defined]
    """A mark that a day's aggregates are out of date, written in the transaction that changed
    the day's rows (a push, a task event). Append-only, one row per mark: no two writers ever
    wait on each other's row, and the job deletes exactly the marks it read before computing,
    so a mark written while it computes survives and makes the day run again."""

    __tablename__ = "stats_dirty_days"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StatsReportDay(db.Model):  # type: ignore[name-defined]
    """Reports captured, cases opened (received) and cases resolved on a day."""

    __tablename__ = "stats_report_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    reports: Mapped[int] = mapped_column(Integer, default=0)
    cases_opened: Mapped[int] = mapped_column(Integer, default=0)
    cases_resolved: Mapped[int] = mapped_column(Integer, default=0)


class StatsTaskDay(db.Model):  # type: ignore[name-defined]
    """What one organisation did with its tasks in one zone on a day.

    Percentiles cannot be combined from daily medians (the median of a week is not the median
    of its days' medians), so the row keeps every duration of the day, in whole seconds and
    sorted: ``ack_seconds`` from routing to acknowledgement of the tasks acknowledged that day,
    ``resolve_seconds`` from routing to resolution of those resolved that day. A week's or a
    year's median and 90th percentile are then exact over the union of its days' lists. A
    busy partnership resolves ~200 tasks a day, so a year is ~150,000 numbers: small beside
    the rows they summarise, and exact where a bucketed histogram would only approximate.
    """

    __tablename__ = "stats_task_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    organisation: Mapped[str] = mapped_column(String(64), primary_key=True)
    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    received: Mapped[int] = mapped_column(Integer, default=0)
    forwarded_in: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    resolved_within_deadline: Mapped[int] = mapped_column(Integer, default=0)
    forwarded: Mapped[int] = mapped_column(Integer, default=0)
    became_overdue: Mapped[int] = mapped_column(Integer, default=0)
    # Comma-separated whole seconds ("3600,7200"), not JSON: a year's answer joins the texts of
    # a week and parses them once, where decoding a JSON value per row took most of its time.
    ack_seconds: Mapped[str] = mapped_column(Text, default="")
    resolve_seconds: Mapped[str] = mapped_column(Text, default="")


class StatsPresenceDay(db.Model):  # type: ignore[name-defined]
    """Seconds of staff presence in a zone during one local hour of the day (0-23; on the
    October switch day hour 2 holds both of its occurrences, in March it does not occur)."""

    __tablename__ = "stats_presence_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    seconds: Mapped[int] = mapped_column(Integer, default=0)
