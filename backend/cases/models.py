"""Cases: one real-world problem (a full bin, a tag on a wall) that one or more reports describe."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.database import UTCDateTime, new_id, utcnow
from backend.extensions import db

if TYPE_CHECKING:
    from backend.reports.models import Report

OPEN = "open"
RESOLVED = "resolved"
MERGED = "merged"


class Case(db.Model):  # type: ignore[name-defined]
    """A case's place is its first report's and never moves (see ``sync.dedup``).

    ``status`` is ``open`` until resolved (``resolve_case``) or merged into another case by a
    supervisor (``merged``, with ``merged_into_id``); the routing work adds the task statuses
    between. Dedup only looks at cases with ``resolved_at`` and ``merged_into_id`` both NULL.
    """

    __tablename__ = "cases"
    __table_args__ = (
        # The dedup candidate lookup: group + 3 x 3 cells + time, over unresolved cases only,
        # so a year of resolved cases costs nothing (sync.cells describes the query).
        Index(
            "ix_cases_open_cell",
            "dedup_group",
            "dedup_cell",
            "last_at",
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
        # Cases waiting for their photos before routing (a handful at any moment).
        Index(
            "ix_cases_route_after",
            "route_after",
            sqlite_where=text("route_after IS NOT NULL"),
            postgresql_where=text("route_after IS NOT NULL"),
        ),
        # The supervisors' list, newest first, and its cursor.
        Index("ix_cases_created", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    category: Mapped[str] = mapped_column(ForeignKey("categories.code", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(16))
    dedup_group: Mapped[str] = mapped_column(String(64))
    dedup_cell: Mapped[int] = mapped_column(BigInteger)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    zone: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default=OPEN, index=True)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), nullable=True
    )
    report_count: Mapped[int] = mapped_column(Integer, default=1)
    # Set while the case waits for photos its reports listed: routed when they have all
    # arrived or at this moment, whichever comes first (``routing.services.route_waiting``).
    route_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Read-only: reports move between cases by updating ``reports.case_id`` (push, split, merge).
    reports: Mapped[list[Report]] = relationship(
        "Report", viewonly=True, order_by="[Report.occurred_at, Report.id]", lazy="select"
    )
