"""Correcting cases: split, merge, resolve (reading them is ``cases.reads``).

Who sees what: supervisors and admins see every case; a department the cases its organisation
holds or held a task for (``reads.visible_cases``), and it may correct those it holds an open
task for (``_check_responsible``); anyone else none (an empty list, 404 on a case).
Corrections take the same per-cell advisory locks as the push (``assignment.lock_cells``), so a
report pushed at the same moment never joins a case that is being merged away or resolved.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend import roles
from backend.cases import visibility
from backend.cases.assignment import category_settings, lock_case, lock_cells
from backend.cases.models import MERGED, OPEN, RESOLVED, Case
from backend.cases.reads import case_detail, case_not_found, get_case, visible_cases
from backend.database import utcnow
from backend.errors import Conflict, Forbidden, Unprocessable
from backend.feed.services import append_item_statuses
from backend.reports.models import Report
from backend.routing import services as routing
from backend.tasks.models import OPEN as OPEN_TASK
from backend.tasks.models import Task
from backend.users.models import User
from sync.cells import cell_of, lock_keys


def _check_responsible(session: Session, user: User, case: Case, field: str | None = None) -> None:
    """A department corrects only the cases it is working now (holds an open task for); a
    case it rejected or finished is another organisation's to correct."""
    if user.role != "department":
        return
    holds = session.execute(
        select(Task.id).where(
            Task.case_id == case.id,
            Task.organisation_id == user.organisation_id,
            Task.status.in_(OPEN_TASK),
        )
    ).first()
    if holds is None:
        raise Forbidden(
            "Only the organisation working the case (an open task) may correct it.",
            code="not_responsible",
            errors={field: ["names a case your organisation has no open task for"]}
            if field
            else {},
        )


def may_correct(session: Session, user: User, case: Case) -> bool:
    """Whether ``user`` may split or merge ``case`` now (the console shows the forms only
    then; ``split`` and ``merge`` check the same again)."""
    if case.status != OPEN or user.role not in roles.STAFF:
        return False
    try:
        _check_responsible(session, user, case)
    except Forbidden:
        return False
    return True


def _check_open(case: Case, field: str | None = None) -> None:
    errors = {field: ["names a case that is not open"]} if field else {}
    if case.merged_into_id is not None or case.status == MERGED:
        raise Conflict(
            f"Case {case.id} was merged into case {case.merged_into_id}; correct that one.",
            code="case_merged",
            errors=errors,
        )
    if case.resolved_at is not None:
        raise Conflict(
            f"Case {case.id} is resolved; a new report starts a new case.",
            code="case_resolved",
            errors=errors,
        )


def _refresh_span(session: Session, case_id: uuid.UUID) -> None:
    """Recompute first_at, last_at and report_count from the case's reports."""
    first, last, count = session.execute(
        select(func.min(Report.occurred_at), func.max(Report.occurred_at), func.count()).where(
            Report.case_id == case_id
        )
    ).one()
    values: dict[str, Any] = {"report_count": count}
    if count:
        values |= {"first_at": first, "last_at": last}
    session.execute(update(Case).where(Case.id == case_id).values(**values))


def _correction(
    rule: str, user: User, case_id: uuid.UUID, from_case_id: uuid.UUID, joined: bool
) -> dict[str, Any]:
    return {
        "rule": rule,
        "joined": joined,
        "case_id": str(case_id),
        "from_case_id": str(from_case_id),
        "by": str(user.id),
        "at": utcnow().isoformat(),
    }


def _tell_reporters(session: Session, report_ids: Sequence[uuid.UUID], case_id: uuid.UUID) -> None:
    append_item_statuses(session, report_ids, "merged", data={"case_id": str(case_id)})


def split(
    session: Session, user: User, case_id: uuid.UUID, report_ids: Sequence[uuid.UUID]
) -> visibility.CaseView:
    """Move ``report_ids`` out of the case into one new case. Commits; returns the new case.

    The new case's place, category and dedup group are its earliest report's. The old case keeps
    its place (a case's place never moves), so later reports keep meeting the same bin.
    """
    case = get_case(session, user, case_id)
    lock_case(session, case)
    session.refresh(case)
    _check_open(case)
    _check_responsible(session, user, case)
    wanted = set(report_ids)
    reports = list(case.reports)
    moving = [r for r in reports if r.id in wanted]
    stray = wanted - {r.id for r in moving}
    if stray:
        raise Unprocessable(
            "Some reports are not in this case.",
            code="report_not_in_case",
            errors={"report_ids": [f"{r} is not a report of this case" for r in sorted(stray)]},
        )
    if len(moving) == len(reports):
        raise Unprocessable(
            "A split must leave at least one report in the case.",
            code="split_leaves_case_empty",
            errors={"report_ids": ["names every report of the case"]},
        )
    first = moving[0]
    group = category_settings(session)[first.category].group
    new = Case(
        category=first.category,
        kind=first.kind,
        dedup_group=group,
        dedup_cell=cell_of(first.lat, first.lon),
        lat=first.lat,
        lon=first.lon,
        accuracy_m=first.accuracy_m,
        zone=first.zone,
        status=OPEN,
        first_at=first.occurred_at,
        last_at=moving[-1].occurred_at,
        report_count=len(moving),
    )
    session.add(new)
    session.flush()
    for n, report in enumerate(moving):
        report.case_id = new.id
        report.joined = n > 0
        report.merge_reason = _correction("split", user, new.id, case.id, joined=n > 0)
    session.flush()
    _refresh_span(session, case.id)
    _tell_reporters(session, [r.id for r in moving], new.id)
    # The split-off case is a problem of its own: the rules route it (perhaps elsewhere).
    routing.route_existing_case(session, new)
    session.commit()
    session.expire_all()
    # Not get_case: a department that split a report out sees the result even when the rules
    # route the new case to another organisation.
    created = session.get(Case, new.id)
    assert created is not None
    (view,) = visibility.case_views(session, [created], {created.id: visibility.FULL_ACCESS})
    return view


def merge(
    session: Session, user: User, case_id: uuid.UUID, other_id: uuid.UUID
) -> visibility.CaseView:
    """Move every report of ``other_id`` into ``case_id``; the other case becomes ``merged``.

    Commits; returns the merged case with its reports.
    """
    case = get_case(session, user, case_id)
    if other_id == case_id:
        raise Conflict(
            "A case cannot be merged into itself.",
            code="merge_into_itself",
            errors={"case_id": ["is the case being merged into"]},
        )
    other = session.execute(
        visible_cases(select(Case).where(Case.id == other_id), user)
    ).scalar_one_or_none()
    if other is None:
        raise Unprocessable(
            "The case to merge does not exist.",
            code="unknown_case",
            errors={"case_id": ["no such case"]},
        )
    lock_cells(
        session,
        [
            *lock_keys(case.lat, case.lon, case.dedup_group),
            *lock_keys(other.lat, other.lon, other.dedup_group),
        ],
    )
    session.refresh(case)
    session.refresh(other)
    _check_open(case)
    _check_open(other, "case_id")
    _check_responsible(session, user, case)
    _check_responsible(session, user, other, "case_id")
    moving = list(session.execute(select(Report.id).where(Report.case_id == other.id)).scalars())
    session.execute(
        update(Report)
        .where(Report.case_id == other.id)
        .values(
            case_id=case.id,
            joined=True,
            merge_reason=_correction("merge", user, case.id, other.id, joined=True),
        )
    )
    other.status = MERGED
    other.merged_into_id = case.id
    other.report_count = 0
    other.route_after = None
    session.flush()
    _refresh_span(session, case.id)
    _tell_reporters(session, moving, case.id)
    # The merged-away case's task is a duplicate now; the kept case's task carries on.
    routing.withdraw_for_merge(session, other.id, case.id)
    session.commit()
    session.expire_all()
    return case_detail(session, user, case.id)


def resolve_case(
    session: Session,
    case_id: uuid.UUID,
    at: datetime | None = None,
    data: dict[str, Any] | None = None,
    note: str | None = None,
) -> Case:
    """Mark a case resolved (the routing work calls this when its task is resolved).

    Joins the caller's transaction (does not commit). Idempotent: resolving a resolved case
    changes nothing. Every reporter's phone is told ``resolved``. From now on a report of the
    same place starts a new case: the bin is full again. ``data`` (e.g. the organisation and
    task that resolved it) goes to the phones with ``case_id``.
    """
    case = session.get(Case, case_id)
    if case is None:
        raise case_not_found()
    lock_case(session, case)
    session.refresh(case)
    if case.resolved_at is not None:
        return case
    if case.merged_into_id is not None:
        raise Conflict(
            f"Case {case.id} was merged into case {case.merged_into_id}; resolve that one.",
            code="case_merged",
        )
    case.status = RESOLVED
    case.resolved_at = at or utcnow()
    case.route_after = None
    reports = session.execute(select(Report.id).where(Report.case_id == case.id)).scalars()
    append_item_statuses(
        session,
        list(reports),
        "resolved",
        note=note,
        data={**(data or {}), "case_id": str(case.id)},
    )
    session.flush()
    return case
