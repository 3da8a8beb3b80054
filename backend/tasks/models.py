"""Tasks: a case handed to one organisation to fix, and the history of what it did.

A task keeps a snapshot of what routing looked at (category, kind, zone, location, referral),
so the decision can be explained later even if the case changes, and the rule and rule-set
version that made it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.database import UTCDateTime, new_id, utcnow
from backend.extensions import db
from backend.organisations.models import Organisation

NEW = "new"
ACKNOWLEDGED = "acknowledged"
IN_PROGRESS = "in_progress"
RESOLVED = "resolved"
REJECTED = "rejected"
STATUSES = (NEW, ACKNOWLEDGED, IN_PROGRESS, RESOLVED, REJECTED)
OPEN = (NEW, ACKNOWLEDGED, IN_PROGRESS)
"""Statuses in which the organisation still owes work; ``?status=open`` means these."""

_OPEN_SQL = "status IN ('new', 'acknowledged', 'in_progress')"


class Task(db.Model):  # type: ignore[name-defined]
    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(
            "status IN ('new', 'acknowledged', 'in_progress', 'resolved', 'rejected')",
            name="status",
        ),
        # At most one open task per case: a retried routing (a resent push, a relay replay)
        # hits this index instead of creating a second task, and a reroute must close the
        # old task first. Closed tasks stay as history, so the index is partial. Both SQLite
        # and PostgreSQL support partial unique indexes.
        Index(
            "uq_tasks_open_case",
            "case_id",
            unique=True,
            sqlite_where=text(_OPEN_SQL),
            postgresql_where=text(_OPEN_SQL),
        ),
        # The same for a referred contact: one open task per contact.
        Index(
            "uq_tasks_open_contact",
            "contact_id",
            unique=True,
            sqlite_where=text(_OPEN_SQL),
            postgresql_where=text(_OPEN_SQL),
        ),
        # The department list: its organisation's tasks, newest first.
        Index("ix_tasks_organisation_routed", "organisation_id", "routed_at"),
        Index("ix_tasks_status_due", "status", "due_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # A task is for a case (litter, damage) or for a referred social-prevention contact.
    # Cases are never deleted; a contact is deleted when its retention ends, and its task
    # stays as history without it (no personal data is copied into the task: see route_new).
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cases.id", ondelete="RESTRICT"), index=True, nullable=True
    )
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True, default=None
    )
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    status: Mapped[str] = mapped_column(String(16), default=NEW)
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(64), nullable=True)
    zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    referral: Mapped[str | None] = mapped_column(String(64), nullable=True)
    priority: Mapped[str] = mapped_column(String(16))
    deadline: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rule_id: Mapped[str] = mapped_column(String(64))
    rule_set_version: Mapped[int] = mapped_column()
    rerouted_from_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="SET NULL"), nullable=True, default=None
    )
    routed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    # organisation_id is NOT NULL: an inner join, which PostgreSQL lets FOR UPDATE use.
    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)
    events: Mapped[list[TaskEvent]] = relationship(
        order_by="TaskEvent.at", cascade="all, delete-orphan", back_populates="task"
    )

    def is_overdue(self, now: datetime) -> bool:
        return self.status in OPEN and self.due_at < now


class TaskEvent(db.Model):  # type: ignore[name-defined]
    """One thing that happened to a task: routed, acknowledged, started, resolved, rejected."""

    __tablename__ = "task_events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    # None for the system (routing itself).
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), nullable=True
    )
    action: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    task: Mapped[Task] = relationship(back_populates="events")
