"""Need-to-know: who sees what of a case. The one policy behind the case, task and photo views.

Supervisors and admins see every case in full. A department sees the cases its organisation
holds or held a task for, in one of two views:

- ``full`` while it holds an open task for the case: every report, with its note, exact
  position and photos, whenever it joined;
- ``history`` once all its tasks for the case are closed (rejected, rerouted, resolved, or
  closed by a merge): the case as it was when its last task closed (``as_of``). Only the reports
  in the case by then, without notes, positions rounded (``POSITION_DECIMALS``), no photos;
  status, report count and times as of then. Reports that joined later are not shown, nor are
  reports split off to another case since.

A field worker sees a case one of their own reports is in now (``reporter``): the case's
status, category, place and times, the organisation responsible, and their own reports only;
never another reporter's report, note, position or name (``cases.reporter``). A case they
have no report in (left by a split or merge) is unknown to them.

Everyone else sees no case. Views of the case API, of the task API and photo access all ask
this module, so the rule cannot drift apart between them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, exists, false, select, true
from sqlalchemy.orm import Session

from backend import roles
from backend.cases.models import MERGED, OPEN, RESOLVED, Case
from backend.photos.possession import reporter_possesses
from backend.reports.models import Report, ReportPhoto
from backend.sync.models import SyncItem
from backend.tasks.models import OPEN as OPEN_TASK
from backend.tasks.models import Task, TaskEvent
from backend.users.models import User

CLOSING_ACTIONS = ("reject", "resolve", "merged")
"""Task events that close a task: the department's reject (which reroutes) and resolve, and
the ``merged`` event of a task closed because its case was merged into another."""

POSITION_DECIMALS = 3
"""History views round coordinates to 0.001 degrees: about 110 m north-south and 57 m
east-west at Stockholm's latitude, the block rather than the bin (the zone says as much)."""

FULL = "full"
HISTORY = "history"
REPORTER = "reporter"
"""The view of ``roles.REPORTERS``: only the cases their own reports are in, as
``cases.reporter.reporter_view``."""


@dataclass(frozen=True)
class Access:
    """How much of one case a user sees: ``full``, or its ``history`` up to ``as_of``."""

    view: str = FULL
    as_of: datetime | None = None
    # Which task action closed the organisation's last task: "merged" and "resolve" say what
    # became of the case by then.
    closed_by: str | None = None

    @property
    def full(self) -> bool:
        return self.view == FULL


FULL_ACCESS = Access()


def visible_cases(user: User) -> ColumnElement[bool]:
    """The condition on ``Case`` for the cases ``user`` may see at all."""
    if user.role in roles.SEES_ALL:
        return true()
    if user.role == "department":
        return exists().where(Task.case_id == Case.id, Task.organisation_id == user.organisation_id)
    return false()


def working_cases(user: User) -> Select[Any]:
    """The ids of the cases ``user``'s organisation holds an open task for (its full view)."""
    return select(Task.case_id).where(
        Task.organisation_id == user.organisation_id,
        Task.status.in_(OPEN_TASK),
        Task.case_id.is_not(None),
    )


def _closing(user: User, actions: Sequence[str]) -> Any:
    return (
        select(TaskEvent.at)
        .join(Task, Task.id == TaskEvent.task_id)
        .where(
            Task.case_id == Case.id,
            Task.organisation_id == user.organisation_id,
            TaskEvent.action.in_(actions),
        )
    )


def status_is(user: User, status: str) -> ColumnElement[bool]:
    """The condition on ``Case`` that the status ``user`` is shown is ``status``: the case's
    own for a full view, the status as of ``as_of`` for a history view (so a list filtered by
    status never tells a department what became of a case after it let go)."""
    if user.role in roles.SEES_ALL:
        return Case.status == status
    working = Case.id.in_(working_cases(user))
    then = case(
        (exists(_closing(user, ("merged",))), MERGED),
        (exists(_closing(user, ("resolve",))), RESOLVED),
        else_=OPEN,
    )
    return case((working, Case.status == status), else_=then == status)


def access(session: Session, user: User, case_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Access]:
    """Each of ``case_ids`` that ``user`` may see, with the view they get; others are absent."""
    ids = sorted(set(case_ids))
    if not ids:
        return {}
    if user.role in roles.SEES_ALL:
        return dict.fromkeys(ids, FULL_ACCESS)
    if user.role != "department":
        return {}
    tasks = session.execute(
        select(Task.id, Task.case_id, Task.status, Task.updated_at).where(
            Task.organisation_id == user.organisation_id, Task.case_id.in_(ids)
        )
    ).all()
    closings: dict[uuid.UUID, tuple[datetime, str]] = {}
    closed_ids = [t.id for t in tasks if t.status not in OPEN_TASK]
    if closed_ids:
        for task_id, action, at in session.execute(
            select(TaskEvent.task_id, TaskEvent.action, TaskEvent.at).where(
                TaskEvent.task_id.in_(closed_ids), TaskEvent.action.in_(CLOSING_ACTIONS)
            )
        ):
            if task_id not in closings or at > closings[task_id][0]:
                closings[task_id] = (at, action)
    out: dict[uuid.UUID, Access] = {}
    for task in tasks:
        if task.case_id is None:
            continue
        if task.status in OPEN_TASK:
            out[task.case_id] = FULL_ACCESS
            continue
        if out.get(task.case_id) == FULL_ACCESS:
            continue
        at, action = closings.get(task.id, (task.updated_at, "reject"))
        known = out.get(task.case_id)
        if known is None or (known.as_of is not None and at > known.as_of):
            out[task.case_id] = Access(HISTORY, at, action)
    return out


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, POSITION_DECIMALS)


@dataclass(frozen=True)
class ReportView:
    """A report as one reader sees it (the attributes of ``CaseReportSchema``)."""

    id: uuid.UUID
    user_id: uuid.UUID
    category: str
    kind: str
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    zone: str | None
    note: str | None
    occurred_at: datetime
    joined: bool
    merge_reason: dict[str, Any] | None
    photos: list[str] = field(default_factory=list)
    """SHA-256 of the photos the report lists, in its order; empty in a history view."""


@dataclass(frozen=True)
class CaseView:
    """A case as one reader sees it (the attributes of ``CaseDetailSchema``)."""

    id: uuid.UUID
    category: str
    kind: str
    dedup_group: str
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    zone: str | None
    status: str
    first_at: datetime
    last_at: datetime
    resolved_at: datetime | None
    merged_into_id: uuid.UUID | None
    report_count: int
    created_at: datetime
    view: str
    as_of: datetime | None
    reports: list[ReportView]


def _joined_at(report: Report, received_at: datetime) -> datetime:
    """When the report came into its case: its push, or the split or merge that moved it."""
    reason = report.merge_reason or {}
    if reason.get("rule") in ("split", "merge") and reason.get("at"):
        return datetime.fromisoformat(reason["at"])
    return received_at


def _reports_of(session: Session, case_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Report]]:
    out: dict[uuid.UUID, list[Report]] = {case_id: [] for case_id in case_ids}
    if not case_ids:
        return out
    rows = session.execute(
        select(Report)
        .where(Report.case_id.in_(list(case_ids)))
        .order_by(Report.occurred_at, Report.id)
    ).scalars()
    for report in rows:
        if report.case_id is not None:
            out[report.case_id].append(report)
    return out


def _seen(
    session: Session, reports: dict[uuid.UUID, list[Report]], grants: dict[uuid.UUID, Access]
) -> dict[uuid.UUID, list[Report]]:
    """The reports of each case that its reader sees: all of them, or those in it by as_of."""
    history = [
        r.id for case_id, found in reports.items() for r in found if not grants[case_id].full
    ]
    received: dict[uuid.UUID, datetime] = {}
    if history:
        rows = session.execute(
            select(SyncItem.id, SyncItem.received_at).where(SyncItem.id.in_(history))
        )
        received = {item_id: at for item_id, at in rows}
    out = {}
    for case_id, found in reports.items():
        grant = grants[case_id]
        if grant.full:
            out[case_id] = found
            continue
        assert grant.as_of is not None
        cutoff = grant.as_of
        out[case_id] = [r for r in found if _joined_at(r, received[r.id]) <= cutoff]
    return out


def report_photos(session: Session, report_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    out: dict[uuid.UUID, list[str]] = {r: [] for r in report_ids}
    if not report_ids:
        return out
    for report_id, sha256 in session.execute(
        select(ReportPhoto.report_id, ReportPhoto.sha256)
        .where(ReportPhoto.report_id.in_(list(report_ids)))
        .order_by(ReportPhoto.report_id, ReportPhoto.position)
    ):
        out[report_id].append(sha256)
    return out


def _report_view(report: Report, full: bool, photos: list[str]) -> ReportView:
    return ReportView(
        id=report.id,
        user_id=report.user_id,
        category=report.category,
        kind=report.kind,
        lat=report.lat if full else rounded(report.lat),
        lon=report.lon if full else rounded(report.lon),
        accuracy_m=report.accuracy_m if full else None,
        zone=report.zone,
        note=report.note if full else None,
        occurred_at=report.occurred_at,
        joined=report.joined,
        merge_reason=report.merge_reason,
        photos=photos if full else [],
    )


def _case_view(case: Case, grant: Access, reports: list[ReportView]) -> CaseView:
    full = grant.full
    if full:
        status, resolved_at, merged_into = case.status, case.resolved_at, case.merged_into_id
    elif grant.closed_by == "merged":
        status, resolved_at, merged_into = MERGED, None, case.merged_into_id
    elif grant.closed_by == "resolve":
        status, resolved_at, merged_into = RESOLVED, case.resolved_at, None
    else:
        status, resolved_at, merged_into = OPEN, None, None
    times = [r.occurred_at for r in reports]
    return CaseView(
        id=case.id,
        category=case.category,
        kind=case.kind,
        dedup_group=case.dedup_group,
        lat=case.lat if full else rounded(case.lat),
        lon=case.lon if full else rounded(case.lon),
        accuracy_m=case.accuracy_m if full else None,
        zone=case.zone,
        status=status,
        first_at=case.first_at if full or not times else min(times),
        last_at=case.last_at if full or not times else max(times),
        resolved_at=resolved_at,
        merged_into_id=merged_into,
        report_count=case.report_count if full else len(reports),
        created_at=case.created_at,
        view=grant.view,
        as_of=grant.as_of,
        reports=reports,
    )


def case_views(
    session: Session, cases: Sequence[Case], grants: dict[uuid.UUID, Access]
) -> list[CaseView]:
    """``cases`` as their readers see them (``grants`` from :func:`access`), with reports
    and their photos; a few queries for the whole list."""
    found = _seen(session, _reports_of(session, [c.id for c in cases]), grants)
    photos = report_photos(
        session, [r.id for c in cases if grants[c.id].full for r in found.get(c.id, [])]
    )
    return [
        _case_view(
            c,
            grants[c.id],
            [_report_view(r, grants[c.id].full, photos.get(r.id, [])) for r in found[c.id]],
        )
        for c in cases
    ]


def case_view(session: Session, user: User, case: Case) -> CaseView:
    """One case as ``user`` sees it; the caller has checked ``user`` may see it at all."""
    grant = access(session, user, [case.id]).get(case.id, FULL_ACCESS)
    (view,) = case_views(session, [case], {case.id: grant})
    return view


def attached_visible(user: User, sha256: str) -> ColumnElement[bool]:
    """A department sees a photo when a report of a case it works (full view) attaches it:
    lists it and the report's author possesses those bytes. Listing someone else's hash
    attaches nothing."""
    return exists().where(
        ReportPhoto.sha256 == sha256,
        Report.id == ReportPhoto.report_id,
        reporter_possesses(),
        Report.case_id.in_(working_cases(user)),
    )
