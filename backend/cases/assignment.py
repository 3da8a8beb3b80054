"""Putting new reports into cases inside the push transaction: lock, find candidates, decide.

Per batch, not per report: the advisory locks of every report are taken in one statement (in
ascending key order), the open cases in every report's 3 x 3 cells are read with one query on
the partial index ``ix_cases_open_cell``, and the photo hashes with at most two more. Then
``sync.dedup.decide`` runs per report in capture-time order against those cases plus the ones
this batch has created or extended, so two reports of one bin in one batch share a case too.
New cases are written with one multi-row INSERT, extended ones with one executemany UPDATE.

A report may carry the reporter's ``CaseHint`` (issue 21): the ``same_as`` cases are read by id
with one more query, whatever their state or age, so ``sync.case_hints.decide_hinted`` can join them
or say why not. They lie within three radii of the report, so inside the locked 3 x 3 cells.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, select, text, update
from sqlalchemy.orm import Session

from backend.cases.models import OPEN, Case
from backend.database import among, utcnow
from backend.photos.models import Photo, PhotoUploader
from backend.photos.possession import reporter_possesses
from backend.reference.models import Category
from backend.reports.models import Report, ReportPhoto
from sync.case_hints import CaseHint, decide_hinted
from sync.cells import cell_of, lock_keys, query_cells
from sync.dedup import (
    CaseCandidate,
    DedupSettings,
    HintOutcome,
    NewReport,
    catalogue_settings,
    phash_from_hex,
)


@dataclass(frozen=True)
class Placed:
    """A report about to be stored, as case assignment needs it.

    ``joined`` in the result is true for every report but the one that started its case, also
    when the case was started earlier in the same batch: the phone is told ``merged`` either way.
    """

    id: uuid.UUID
    category: str
    kind: str
    lat: float
    lon: float
    accuracy_m: float | None
    occurred_at: datetime
    zone: str | None
    photo_sha256: tuple[str, ...] = ()
    hint: CaseHint | None = None


@dataclass(frozen=True)
class Assignment:
    case_id: uuid.UUID
    joined: bool
    reason: dict[str, Any]
    # What became of the reporter's hint (None without one); also in ``reason["hint"]``.
    hint: HintOutcome | None = None


@dataclass
class _Open:
    """A case this batch may join: an open case read from the database or one it created."""

    candidate: CaseCandidate
    cells: frozenset[int] = field(default_factory=frozenset)
    report_count: int = 0
    created: bool = False
    changed: bool = False


def category_settings(session: Session) -> dict[str, DedupSettings]:
    rows = session.execute(select(Category.code, Category.settings)).all()
    return catalogue_settings({"code": code, **(settings or {})} for code, settings in rows)


def lock_cells(session: Session, keys: Iterable[int]) -> None:
    """Take the dedup advisory locks (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises).

    One statement over the keys in ascending order: ``unnest`` yields them in array order and
    the function runs per row, so two transactions never wait on each other in a cycle.
    """
    ordered = sorted(set(keys))
    if not ordered or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS bigint[])) AS k"),
        {"keys": ordered},
    )


def lock_case(session: Session, case: Case | uuid.UUID) -> None:
    """The advisory locks of the cells a case's dedup lookup touches (see :func:`lock_cells`);
    ``case`` loaded already, or its id."""
    if session.get_bind().dialect.name != "postgresql":
        return
    if isinstance(case, Case):
        lock_cells(session, lock_keys(case.lat, case.lon, case.dedup_group))
        return
    row = session.execute(
        select(Case.lat, Case.lon, Case.dedup_group).where(Case.id == case)
    ).first()
    if row is not None:
        lock_cells(session, lock_keys(row.lat, row.lon, row.dedup_group))


def _phashes_by_sha(session: Session, shas: set[str]) -> dict[str, int]:
    if not shas:
        return {}
    wanted = among(session, Photo.sha256, sorted(shas))
    rows = session.execute(
        select(Photo.sha256, Photo.phash).where(wanted, Photo.phash.is_not(None))
    )
    return {sha: phash_from_hex(phash) for sha, phash in rows if phash}


def _case_phashes(session: Session, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[int, ...]]:
    """The processed photos the cases' reports attach: listed, and possessed by the report's
    author (a hash listed without the bytes attaches nothing)."""
    if not case_ids:
        return {}
    rows = session.execute(
        select(Report.case_id, Photo.phash)
        .join(ReportPhoto, ReportPhoto.report_id == Report.id)
        .join(
            PhotoUploader,
            reporter_possesses(),
        )
        .join(Photo, Photo.sha256 == ReportPhoto.sha256)
        .where(among(session, Report.case_id, case_ids), Photo.phash.is_not(None))
    )
    out: dict[uuid.UUID, set[int]] = {}
    for case_id, phash in rows:
        if case_id is not None and phash:
            out.setdefault(case_id, set()).add(phash_from_hex(phash))
    return {case_id: tuple(sorted(hashes)) for case_id, hashes in out.items()}


_CANDIDATE_COLUMNS = (
    Case.id,
    Case.dedup_group,
    Case.dedup_cell,
    Case.lat,
    Case.lon,
    Case.accuracy_m,
    Case.first_at,
    Case.last_at,
    Case.report_count,
    Case.resolved_at,
    Case.merged_into_id,
)


def _open_case(row: Any) -> _Open:
    return _Open(
        CaseCandidate(
            case_id=row.id,
            group=row.dedup_group,
            lat=row.lat,
            lon=row.lon,
            accuracy_m=row.accuracy_m,
            first_at=row.first_at,
            last_at=row.last_at,
            resolved=row.resolved_at is not None or row.merged_into_id is not None,
        ),
        cells=frozenset({row.dedup_cell}),
        report_count=row.report_count,
    )


def _hinted(session: Session, reports: Sequence[Placed]) -> dict[uuid.UUID, _Open]:
    """The cases named by ``same_as`` hints, by id, in any state (closed ones are refused)."""
    ids = sorted({r.hint.same_as for r in reports if r.hint and r.hint.same_as})
    if not ids:
        return {}
    rows = session.execute(select(*_CANDIDATE_COLUMNS).where(among(session, Case.id, ids))).all()
    return {row.id: _open_case(row) for row in rows}


def _candidates(
    session: Session,
    wanted: Mapping[str, set[int]],
    earliest: datetime,
    latest: datetime,
) -> list[_Open]:
    """Open cases of the given groups in the given cells that may overlap the batch's windows."""
    if not wanted:
        return []
    by_group = or_(
        *(
            and_(Case.dedup_group == group, among(session, Case.dedup_cell, sorted(cells)))
            for group, cells in sorted(wanted.items())
        )
    )
    rows = session.execute(
        select(*_CANDIDATE_COLUMNS).where(
            by_group,
            Case.resolved_at.is_(None),
            Case.merged_into_id.is_(None),
            Case.last_at >= earliest,
            Case.first_at <= latest,
        )
    ).all()
    return [_open_case(row) for row in rows]


@dataclass
class _Batch:
    """The state one ``assign`` call works on: its reports and the cases they may join."""

    settings: Mapping[str, DedupSettings]
    placed: list[Placed]
    near_cells: dict[uuid.UUID, frozenset[int]]
    photos: dict[str, int]
    by_id: dict[uuid.UUID, _Open]
    hinted: dict[uuid.UUID, _Open]
    now: datetime
    new_cases: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Layout:
    """What placement computes from the reports alone (order, cells, lock keys, windows): a
    push builds it before its write transaction, so its locks cover reads and decisions."""

    settings: Mapping[str, DedupSettings]
    placed: list[Placed]
    near_cells: dict[uuid.UUID, frozenset[int]]
    lock_keys: list[int]
    wanted: dict[str, set[int]]
    earliest: datetime
    latest: datetime


def layout(reports: Sequence[Placed], settings: Mapping[str, DedupSettings]) -> Layout:
    """The :class:`Layout` of ``reports`` (at least one) under ``settings``."""
    placed = sorted(reports, key=lambda r: (r.occurred_at, r.id))
    near_cells = {r.id: frozenset(query_cells(r.lat, r.lon)) for r in placed}
    keys = sorted({k for r in placed for k in lock_keys(r.lat, r.lon, settings[r.category].group)})
    wanted: dict[str, set[int]] = {}
    for r in placed:
        wanted.setdefault(settings[r.category].group, set()).update(near_cells[r.id])
    windows = [timedelta(minutes=settings[r.category].window_min) for r in placed]
    earliest = min(r.occurred_at - w for r, w in zip(placed, windows, strict=True))
    latest = max(r.occurred_at + w for r, w in zip(placed, windows, strict=True))
    return Layout(settings, placed, near_cells, keys, wanted, earliest, latest)


def _read_batch(session: Session, plan: Layout) -> _Batch:
    """Lock the batch's cells, then read its candidate cases, hinted cases and photo hashes."""
    placed = plan.placed
    lock_cells(session, plan.lock_keys)
    open_cases = _candidates(session, plan.wanted, plan.earliest, plan.latest)

    photos = _phashes_by_sha(session, {sha for r in placed for sha in r.photo_sha256})
    if photos and open_cases:
        # Photos only weigh in when both sides have one, so skip the join when no new one does.
        hashes = _case_phashes(session, [c.candidate.case_id for c in open_cases])
        for case in open_cases:
            found = hashes.get(case.candidate.case_id, ())
            case.candidate = replace(case.candidate, phashes=found)
    by_id = {c.candidate.case_id: c for c in open_cases}
    hinted = {k: by_id.get(k, v) for k, v in _hinted(session, placed).items()}
    return _Batch(plan.settings, placed, dict(plan.near_cells), photos, by_id, hinted, utcnow())


def _place(batch: _Batch, r: Placed) -> Assignment:
    """Decide one report against the open cases (those read and those the batch made so far)."""
    rule = batch.settings[r.category]
    phashes = tuple(sorted({batch.photos[s] for s in r.photo_sha256 if s in batch.photos}))
    new = NewReport(rule, r.lat, r.lon, r.accuracy_m, r.occurred_at, phashes)
    nearby = [
        c.candidate
        for c in batch.by_id.values()
        if c.candidate.group == rule.group and c.cells & batch.near_cells[r.id]
    ]
    same_as = r.hint.same_as if r.hint else None
    hinted = batch.hinted.get(same_as) if same_as else None
    decision = decide_hinted(new, nearby, r.hint, hinted.candidate if hinted else None)
    reason = decision.as_dict()
    if decision.case_id is not None:
        if decision.case_id not in batch.by_id:
            # A hinted case outside the candidates (older than the window): it joins all the same.
            batch.by_id[decision.case_id] = batch.hinted[decision.case_id]
        case = batch.by_id[decision.case_id]
        cand = case.candidate
        case.candidate = replace(
            cand,
            first_at=min(cand.first_at, r.occurred_at),
            last_at=max(cand.last_at, r.occurred_at),
            phashes=tuple(sorted(set(cand.phashes) | set(phashes))),
        )
        case.report_count += 1
        case.changed = True
        return Assignment(decision.case_id, True, reason, decision.hint)
    case_id = uuid.uuid4()
    cell = cell_of(r.lat, r.lon)
    batch.by_id[case_id] = _Open(
        CaseCandidate(
            case_id=case_id,
            group=rule.group,
            lat=r.lat,
            lon=r.lon,
            accuracy_m=r.accuracy_m,
            first_at=r.occurred_at,
            last_at=r.occurred_at,
            phashes=phashes,
        ),
        cells=frozenset({cell}),
        report_count=1,
        created=True,
    )
    batch.new_cases.append(
        {
            "id": case_id,
            "category": r.category,
            "kind": r.kind,
            "dedup_group": rule.group,
            "dedup_cell": cell,
            "lat": r.lat,
            "lon": r.lon,
            "accuracy_m": r.accuracy_m,
            "zone": r.zone,
            "status": OPEN,
            "created_at": batch.now,
        }
    )
    return Assignment(case_id, False, reason, decision.hint)


def _write(session: Session, batch: _Batch, held: Mapping[uuid.UUID, datetime]) -> None:
    """One multi-row INSERT of the new cases, one executemany UPDATE of the extended ones.
    A new case in ``held`` (case id -> until) waits for its photos: ``route_after``."""
    if batch.new_cases:
        for row in batch.new_cases:
            case = batch.by_id[row["id"]]
            row |= {
                "first_at": case.candidate.first_at,
                "last_at": case.candidate.last_at,
                "report_count": case.report_count,
                "route_after": held.get(row["id"]),
            }
        session.execute(insert(Case), batch.new_cases)
    extended = [
        {
            "case_id": c.candidate.case_id,
            "first_at": c.candidate.first_at,
            "last_at": c.candidate.last_at,
            "report_count": c.report_count,
        }
        for c in batch.by_id.values()
        if c.changed and not c.created
    ]
    if extended:
        # Core executemany by primary key (the ORM's bulk UPDATE costs twice the time).
        table = Case.__table__
        session.execute(
            update(table)
            .where(table.c.id == bindparam("case_id"))
            .values(
                first_at=bindparam("first_at"),
                last_at=bindparam("last_at"),
                report_count=bindparam("report_count"),
            ),
            extended,
        )


def assign(
    session: Session,
    reports: Sequence[Placed] | Layout,
    settings: Mapping[str, DedupSettings] | None = None,
    hold: Callable[[Mapping[uuid.UUID, Assignment]], Mapping[uuid.UUID, datetime]] | None = None,
) -> dict[uuid.UUID, Assignment]:
    """Create or extend cases for ``reports`` or their :func:`layout` (whose settings then
    apply), in the caller's transaction, not committed. Returns each report's case, whether
    it joined one that already existed, and the reason; the caller inserts the reports with
    these values afterwards. ``hold`` tells from the assignments which new cases wait for
    photos until when (the push: routing's rule), so each new case is written once, with its
    ``route_after``."""
    if not isinstance(reports, Layout):
        if not reports:
            return {}
        reports = layout(reports, settings if settings is not None else category_settings(session))
    batch = _read_batch(session, reports)
    out = {r.id: _place(batch, r) for r in batch.placed}
    _write(session, batch, hold(out) if hold else {})
    return out
