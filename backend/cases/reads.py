"""Reading cases: the list with its filters, one case in the view need-to-know gives its
reader (``cases.visibility``, the reporter's ``cases.reporter``), and the day's activity
figures of the console's overview. Corrections are ``cases.services``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from backend import pagination, roles
from backend.cases import reporter, visibility
from backend.cases.models import Case
from backend.database import utcnow
from backend.errors import NotFound
from backend.presence.log import day_bounds
from backend.reference.services import check_zone
from backend.reports.models import Report
from backend.tasks.models import OPEN as OPEN_TASK
from backend.tasks.models import Task
from backend.users.models import User


def visible_cases(query: Select[Any], user: User) -> Select[Any]:
    """``query`` (over ``Case``) narrowed to the cases ``user`` may see: the one visibility
    rule, for every reader of cases (the case API and Open311)."""
    return query.where(visibility.visible_cases(user))


LIST = "cases"
"""The case list's name in its cursors (``backend.pagination``)."""


def _overdue(now: datetime) -> Any:
    """The case has an open task past its due time."""
    return exists().where(Task.case_id == Case.id, Task.status.in_(OPEN_TASK), Task.due_at < now)


def list_cases(
    session: Session,
    user: User,
    *,
    limit: int,
    cursor: str | None = None,
    status: str | None = None,
    category: str | None = None,
    zone: str | None = None,
    day: date | None = None,
    overdue: bool | None = None,
    now: datetime | None = None,
) -> pagination.Page[visibility.CaseView]:
    """Newest first; the cursor continues after the last case of the previous page. Each case
    as ``user`` sees it (``backend.cases.visibility``), the status filter included.

    ``day``: the case's first report was captured that local (Stockholm) day; ``overdue``:
    the case's open task is past due (false: it is not). 422 ``unknown_zone`` for a zone
    filter that names none."""
    check_zone(session, zone)
    query = visible_cases(select(Case), user)
    if status:
        query = query.where(visibility.status_is(user, status))
    if category:
        query = query.where(Case.category == category)
    if zone:
        query = query.where(Case.zone == zone)
    if day is not None:
        start, end = day_bounds(day)
        query = query.where(Case.first_at >= start, Case.first_at < end)
    if overdue is not None:
        late = _overdue(now or utcnow())
        query = query.where(late if overdue else ~late)
    page = pagination.keyset_page(
        session,
        query,
        LIST,
        (Case.created_at, Case.id),
        cursor,
        limit,
        parts=(pagination.AT, pagination.ID),
    )
    grants = visibility.access(session, user, [c.id for c in page.items])
    return pagination.Page(visibility.case_views(session, page.items, grants), page.next_cursor)


def case_not_found() -> NotFound:
    return NotFound("No such case.", code="case_not_found")


def get_case(session: Session, user: User, case_id: uuid.UUID) -> Case:
    """The case row (its ``reports`` load oldest first); 404 when the caller cannot see it.
    Corrections work on the row; what is shown is :func:`case_detail`."""
    query = visible_cases(select(Case).where(Case.id == case_id), user)
    case = session.execute(query).scalar_one_or_none()
    if case is None:
        raise case_not_found()
    return case


def case_detail(session: Session, user: User, case_id: uuid.UUID) -> visibility.CaseView:
    """The case as ``user`` sees it: in full, or a department's history of it; 404 when the
    caller cannot see it at all."""
    return visibility.case_view(session, user, get_case(session, user, case_id))


def reporter_case(session: Session, user: User, case_id: uuid.UUID) -> reporter.ReporterCaseView:
    """A case one of ``user``'s reports is in, as its reporter sees it; 404 otherwise (the
    404 of a case that does not exist: whether others' cases exist is not told)."""
    view = reporter.reporter_view(session, user, case_id)
    if view is None:
        raise case_not_found()
    return view


def read_case(
    session: Session, user: User, case_id: uuid.UUID
) -> visibility.CaseView | reporter.ReporterCaseView:
    """``GET /cases/{id}``: a field worker's reporter view, everyone else's case detail."""
    if user.role in roles.REPORTERS:
        return reporter_case(session, user, case_id)
    return case_detail(session, user, case_id)


@dataclass(frozen=True)
class Activity:
    """What happened between two instants, for the cases ``user`` may see."""

    reports: int  # reports captured
    new_cases: int  # cases whose first report was captured
    resolved: int  # cases resolved


def activity(session: Session, user: User, lo: datetime, hi: datetime) -> Activity:
    """Counts of reports, new and resolved cases in ``[lo, hi)`` (the overview's "today
    against yesterday")."""
    visible = visible_cases(select(Case.id), user).scalar_subquery()
    reports = session.execute(
        select(func.count()).where(
            Report.occurred_at >= lo, Report.occurred_at < hi, Report.case_id.in_(visible)
        )
    ).scalar_one()
    new = session.execute(
        visible_cases(select(func.count(Case.id)), user).where(
            Case.first_at >= lo, Case.first_at < hi
        )
    ).scalar_one()
    resolved = session.execute(
        visible_cases(select(func.count(Case.id)), user).where(
            Case.resolved_at >= lo, Case.resolved_at < hi
        )
    ).scalar_one()
    return Activity(int(reports), int(new), int(resolved))
