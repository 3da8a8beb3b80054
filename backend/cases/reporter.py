"""The reporter view: a case as the field worker whose report is in it sees it (status,
category, place, times, the organisation responsible and their own reports only; never another
reporter's report, note, position or name). The policy of who sees which view is
``cases.visibility``; this module builds the one view ``roles.REPORTERS`` get.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from backend import roles
from backend.cases import visibility
from backend.cases.models import Case
from backend.organisations.models import Organisation
from backend.reports.models import Report
from backend.tasks.models import OPEN as OPEN_TASK
from backend.tasks.models import RESOLVED as RESOLVED_TASK
from backend.tasks.models import Task
from backend.users.models import User


def reporter_cases(user: User) -> ColumnElement[bool]:
    """The condition on ``Case`` for the cases a report of ``user``'s is in now."""
    return exists().where(Report.case_id == Case.id, Report.user_id == user.id)


@dataclass(frozen=True)
class Responsible:
    """The organisation whose task holds a case (attributes of ``ResponsibleSchema``)."""

    slug: str
    name: str


@dataclass(frozen=True)
class OwnReportView:
    """One of the reader's own reports in a case (the attributes of ``OwnReportSchema``)."""

    id: uuid.UUID
    category: str
    kind: str
    captured_at: datetime
    lat: float
    lon: float
    accuracy_m: float | None
    zone: str | None
    note: str | None
    photos: list[str]


@dataclass(frozen=True)
class ReporterCaseView:
    """A case as a reporter sees it (the attributes of ``ReporterCaseSchema``)."""

    id: uuid.UUID
    category: str
    kind: str
    status: str
    lat: float
    lon: float
    zone: str | None
    first_at: datetime
    last_at: datetime
    resolved_at: datetime | None
    responsible: Responsible | None
    reports: list[OwnReportView]
    view: str = visibility.REPORTER


def responsible(session: Session, case_id: uuid.UUID) -> Responsible | None:
    """The organisation holding the case's open task, else the one that resolved it; None
    while it waits for its photos, or when every task was rejected or closed by a merge."""
    row = session.execute(
        select(Organisation.slug, Organisation.name)
        .join(Task, Task.organisation_id == Organisation.id)
        .where(Task.case_id == case_id, Task.status.in_((*OPEN_TASK, RESOLVED_TASK)))
        .order_by(Task.status.in_(OPEN_TASK).desc(), Task.routed_at.desc(), Task.id)
        .limit(1)
    ).first()
    return None if row is None else Responsible(row.slug, row.name)


def reporter_view(session: Session, user: User, case_id: uuid.UUID) -> ReporterCaseView | None:
    """The case as its reporter ``user`` sees it, or None when no report of theirs is in it.

    The place is the case's (its first report's): exact when that is one of the reader's own
    reports' positions, otherwise rounded like a history view (``POSITION_DECIMALS``), so the
    case never gives away where another worker stood."""
    if user.role not in roles.REPORTERS:
        return None
    case = session.execute(
        select(Case).where(Case.id == case_id, reporter_cases(user))
    ).scalar_one_or_none()
    if case is None:
        return None
    own = list(
        session.execute(
            select(Report)
            .where(Report.case_id == case.id, Report.user_id == user.id)
            .order_by(Report.occurred_at, Report.id)
        ).scalars()
    )
    photos = visibility.report_photos(session, [r.id for r in own])
    exact = any((r.lat, r.lon) == (case.lat, case.lon) for r in own)
    return ReporterCaseView(
        id=case.id,
        category=case.category,
        kind=case.kind,
        status=case.status,
        lat=case.lat if exact else round(case.lat, visibility.POSITION_DECIMALS),
        lon=case.lon if exact else round(case.lon, visibility.POSITION_DECIMALS),
        zone=case.zone,
        first_at=case.first_at,
        last_at=case.last_at,
        resolved_at=case.resolved_at,
        responsible=responsible(session, case.id),
        reports=[
            OwnReportView(
                id=r.id,
                category=r.category,
                kind=r.kind,
                captured_at=r.occurred_at,
                lat=r.lat,
                lon=r.lon,
                accuracy_m=r.accuracy_m,
                zone=r.zone,
                note=r.note,
                photos=photos[r.id],
            )
            for r in own
        ],
    )
