"""Routing: who works a case or a referred contact, and the task that says so.

This module owns every routing write: route new cases and referred contacts (a push's, as one
set of inserts), hold a new case for its photos and release it (:func:`route_waiting`), route a
case that is already stored (after a split or the hold), route on after a rejection
(:func:`reroute`), and withdraw a merged-away case's task (:func:`withdraw_for_merge`). The
task rows, their ``routed`` events, the organisations' deliveries and the phones' ``routed``
statuses are written here and nowhere else, in the caller's transaction: they commit with
what was routed or not at all. The rules themselves are pure (``routing.rules``); which rule
set is active is ``routing.rule_store``; the department's workflow on a task is
``tasks.services``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.cases.models import OPEN as CASE_OPEN
from backend.cases.models import Case
from backend.database import deferred_reads, insert_rows, utcnow
from backend.delivery import wake
from backend.delivery.models import Delivery
from backend.feed.services import NewChange
from backend.organisations.models import Organisation
from backend.photos.models import PhotoUploader
from backend.photos.possession import reporter_possesses
from backend.reports.models import Report, ReportPhoto
from backend.routing import writer
from backend.routing.rule_store import active_rule_set
from backend.routing.rules import CaseFacts, RuleSet, route
from backend.tasks.models import NEW, OPEN, REJECTED, Task, TaskEvent


def _organisations(session: Session) -> dict[str, Organisation]:
    return {o.slug: o for o in session.execute(select(Organisation)).scalars()}


@dataclass(frozen=True)
class Subject:
    """Something new the push hands to routing: a case it started or a contact with a referral.

    ``location`` is copied into the task for cases only: a contact task carries its zone, and
    the department reads the contact itself (an audited read) for the rest."""

    facts: CaseFacts
    observed_at: datetime
    case_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    location: tuple[float, float] | None = None
    item_ids: tuple[uuid.UUID, ...] = field(default=())
    """The pushed items whose phones hear ``routed`` (the case's reports, or the contact)."""


@dataclass
class Routed:
    """What routing decided for a push's new subjects, before anything is written: the task,
    event and delivery rows, the held cases (with when they are routed anyway) and the
    pusher's feed changes (``routed``, then ``awaiting_photos``, each in item order)."""

    rows: list[tuple[dict[str, Any], ...]]
    changes: list[NewChange]
    held: set[uuid.UUID] = field(default_factory=set)


def _decide(
    subjects: Sequence[Subject],
    received_at: datetime,
    rule_set: RuleSet,
    organisations: Mapping[str, Organisation],
) -> tuple[list[tuple[dict[str, Any], ...]], dict[uuid.UUID, dict[str, Any]]]:
    """Each subject's task rows, and item id -> the ``routed`` data (``writer.routed_data``)
    for every item in ``item_ids``. Pure: no session."""
    rows: list[tuple[dict[str, Any], ...]] = []
    by_item: dict[uuid.UUID, dict[str, Any]] = {}
    for subject in subjects:
        decision = route(
            rule_set,
            subject.facts,
            received_at=received_at,
            observed_at=subject.observed_at,
            organisations=organisations,
        )
        organisation = organisations[decision.organisation]
        values = writer.task_values(
            subject.facts, decision, organisation, subject.case_id, subject.location
        )
        task_rows = writer.task_rows(
            values | {"contact_id": subject.contact_id}, organisation, received_at
        )
        rows.append(task_rows)
        data = writer.routed_data(organisation.slug, task_rows[0]["id"], subject.case_id)
        by_item |= dict.fromkeys(subject.item_ids, data)
    return rows, by_item


def _write_tasks(session: Session, rows: Sequence[tuple[dict[str, Any], ...]]) -> None:
    if rows:
        insert_rows(session, Task.__table__, [r[0] for r in rows])
        insert_rows(session, TaskEvent.__table__, [r[1] for r in rows])
        insert_rows(session, Delivery.__table__, [r[2] for r in rows])
        wake.deliveries_written(session)


def route_new(
    session: Session, subjects: Sequence[Subject], received_at: datetime
) -> dict[uuid.UUID, dict[str, Any]]:
    """Route cases and contacts created in the caller's transaction, as one set of inserts.

    No other transaction can see these subjects yet, so none can have a task and the open-task
    indexes cannot collide: the tasks, their ``routed`` events and their deliveries go in as
    three multi-row inserts (no ORM unit of work: it was half the cost of a 50-report push),
    and the rule set and organisations are read once per batch. The caller tells the phones:
    returns item id -> the ``routed`` data (``writer.routed_data``) for every item in
    ``item_ids``."""
    if not subjects:
        return {}
    rows, by_item = _decide(
        subjects, received_at, active_rule_set(session), _organisations(session)
    )
    _write_tasks(session, rows)
    return by_item


def held_cases(
    subjects: Sequence[Subject], missing: Mapping[uuid.UUID, list[str]], grace_s: int
) -> set[uuid.UUID]:
    """The new cases that wait for photos: a report of theirs lists photos the server lacks
    (``missing``: item id -> sha256s) and there is a grace period."""
    return {
        s.case_id
        for s in subjects
        if s.case_id is not None and grace_s > 0 and any(missing.get(i) for i in s.item_ids)
    }


def plan_pushed(
    subjects: Sequence[Subject],
    missing: Mapping[uuid.UUID, list[str]],
    now: datetime,
    grace_s: int,
    rule_set: RuleSet,
    organisations: Mapping[str, Organisation],
) -> Routed:
    """Route what a push started, or hold it, without writing (:func:`write_pushed` writes).

    A new case whose reports list photos the server lacks waits up to ``grace_s`` for them
    (``Case.route_after``, which the push writes with the case: ``cases.assignment``;
    :func:`route_waiting` routes it when they are all in or the time is up), so the
    department's first look at a case includes its photos. Contacts never wait: they carry no
    photos."""
    held_ids = held_cases(subjects, missing, grace_s)
    rows, routed = _decide(
        [s for s in subjects if s.case_id not in held_ids], now, rule_set, organisations
    )
    type_of = {
        i: "report" if s.case_id is not None else "contact" for s in subjects for i in s.item_ids
    }
    changes = [
        NewChange(str(item_id), type_of[item_id], "routed", data=data)
        for item_id, data in sorted(routed.items())
    ]
    until = (now + timedelta(seconds=grace_s)).isoformat()
    held = sorted((i, s) for s in subjects if s.case_id in held_ids for i in s.item_ids)
    changes += [
        NewChange(
            str(item_id),
            "report",
            "awaiting_photos",
            data={
                "case_id": str(s.case_id),
                "missing_photos": missing.get(item_id, []),
                "route_after": until,
            },
        )
        for item_id, s in held
    ]
    return Routed(rows, changes, held_ids)


def write_pushed(session: Session, routed: Routed) -> None:
    """The tasks, ``routed`` events and deliveries :func:`plan_pushed` decided, as three
    multi-row inserts (no other transaction can see the push's subjects yet, so the open-task
    indexes cannot collide)."""
    _write_tasks(session, routed.rows)


def _case_facts(case: Case) -> CaseFacts:
    return CaseFacts(kind=case.kind, category=case.category, zone=case.zone)


def route_existing_case(session: Session, case: Case) -> Task:
    """Route a case that is already stored (after a split, or when its photos arrived or their
    grace period ended); idempotent: a case with an open task keeps it. Caller commits.

    The deadline counts from the case's creation (the push that started it, or the split), so
    waiting for photos never gives the department less time than a case routed at once."""
    case.route_after = None
    return route_case(
        session,
        case.id,
        _case_facts(case),
        received_at=case.created_at,
        observed_at=case.first_at,
        location=(case.lat, case.lon),
    )


def _cases_missing_photos(session: Session, case_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these cases have a report listing a photo its reporter has not uploaded
    (possession: the same bytes from someone else do not count, as in the push's
    ``missing_photos``)."""
    if not case_ids:
        return set()
    return {
        case_id
        for case_id in session.execute(
            select(Report.case_id)
            .join(ReportPhoto, ReportPhoto.report_id == Report.id)
            .outerjoin(
                PhotoUploader,
                reporter_possesses(),
            )
            .where(Report.case_id.in_(list(case_ids)), PhotoUploader.sha256.is_(None))
            .distinct()
        ).scalars()
        if case_id is not None
    }


WAITING_BATCH = 200
"""Cases routed per pass of :func:`route_waiting`; the rest wait for the next pass."""


def route_waiting(session: Session, now: datetime | None = None) -> int:
    """Route the cases waiting for photos whose photos have all arrived or whose grace period
    is over. Commits; returns how many were routed. Run by the relay on every pass, so a
    photo that arrives while its report's push is still in flight costs one relay interval.

    Several relays may run at once: on PostgreSQL each takes the rows it routes with
    ``FOR UPDATE SKIP LOCKED``; on SQLite writers are serialised anyway, and routing a case
    twice is prevented by the open-task index in any case."""
    now = now or utcnow()
    with deferred_reads():
        # Every relay pass asks; on SQLite only a pass with work takes the write lock.
        anything = session.execute(select(Case.id).where(Case.route_after.is_not(None))).first()
        session.commit()
    if anything is None:
        return 0
    waiting = list(
        session.execute(
            select(Case)
            .where(Case.route_after.is_not(None))
            .order_by(Case.route_after)
            .limit(WAITING_BATCH)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    if not waiting:
        session.commit()
        return 0
    early = [c.id for c in waiting if c.route_after is not None and c.route_after > now]
    missing = _cases_missing_photos(session, early)
    routed = 0
    for case in waiting:
        if case.status != CASE_OPEN:
            # Merged away or resolved while waiting: nothing left to route.
            case.route_after = None
        elif case.id not in missing:
            route_existing_case(session, case)
            routed += 1
    session.commit()
    return routed


def route_case(
    session: Session,
    case_id: uuid.UUID,
    facts: CaseFacts,
    received_at: datetime,
    observed_at: datetime | None = None,
    *,
    location: tuple[float, float] | None = None,
) -> Task:
    """Route a new case: its task, the delivery to the organisation and the phones' ``routed``
    status, in the caller's transaction (the caller commits, e.g. the push).

    Routing a case that already has an open task returns that task and changes nothing, so a
    retried push never routes twice (the partial unique index decides, see ``writer.insert_task``).
    ``location`` (lat, lon) defaults to the case's first report's."""
    organisations = _organisations(session)
    decision = route(
        active_rule_set(session),
        facts,
        received_at=received_at,
        observed_at=observed_at,
        organisations=organisations,
    )
    reports = writer.case_reports(session, case_id)
    if location is None and reports:
        location = (reports[0].lat, reports[0].lon)
    organisation = organisations[decision.organisation]
    values = writer.task_values(facts, decision, organisation, case_id, location)
    return writer.insert_task(session, values, organisation, reports=reports)


def reroute(session: Session, task: Task, organisation: Organisation, user_id: uuid.UUID) -> Task:
    """A department rejected ``task`` (already closed, flushed) and the case or contact goes
    on to ``organisation``: a new task with the same facts. The deadline still counts from
    when the service received the case: a misrouting must not buy the next organisation
    extra time."""
    values = {
        "case_id": task.case_id,
        "contact_id": task.contact_id,
        "organisation_id": organisation.id,
        "status": NEW,
        "kind": task.kind,
        "category": task.category,
        "zone": task.zone,
        "lat": task.lat,
        "lon": task.lon,
        "referral": task.referral,
        "priority": task.priority,
        "deadline": task.deadline,
        "due_at": task.due_at,
        "rule_id": "reroute",
        "rule_set_version": task.rule_set_version,
        "rerouted_from_id": task.id,
    }
    return writer.insert_task(session, values, organisation, user_id=user_id)


def withdraw_for_merge(session: Session, case_id: uuid.UUID, into_id: uuid.UUID) -> None:
    """A supervisor merged ``case_id`` into ``into_id``: its open task (if any) is closed as
    ``rejected`` with a ``merged`` event, and the organisation is told, so a department never
    works a duplicate. The reporters already heard ``merged`` from the merge. Caller commits."""
    task = session.execute(
        select(Task)
        .where(Task.case_id == case_id, Task.status.in_(OPEN))
        .with_for_update(of=Task)  # not the joined organisation's row
    ).scalar()
    if task is None:
        return
    writer.change_task(session, task, REJECTED, "merged", note=f"Case merged into case {into_id}.")
