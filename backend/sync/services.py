"""Push: store a batch of offline items exactly once.

The ledger claim and replays are ``backend.sync.ledger``; placing reports in cases is
``cases.assignment``; routing what a push started is ``routing.services.plan_pushed``; the
reference data, zones, dedup settings, rule set and organisations are ``push_config``'s,
cached per version; the results are ``results``.

Validation, content hashes, the configuration, the photo check, which ids are stored already
(``duplicate`` or ``conflict``) and the new items' rows and placement layout are built first,
in a read-only transaction (on SQLite DEFERRED: no write lock), so the locks cover only what
depends on what is read under them. The write transaction then does set-based database work:
the cases (read and written under their cells' locks; a held one written with its
``route_after``), the ledger rows of the new ids with their final status in two claims of
``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` (contacts and presence before placement,
reports after it; together exactly once), one insert per item table, the tasks and deliveries
(the outbox: they commit with the items or not at all) and one feed append. No row is
inserted to be updated later in the same push. Two batches that share ids never deadlock:
``ledger.lock_ids`` serialises them before either writes. Should another push have stored
some of the ids since they were read (the same batch sent again while the first was in
flight), the claim returns fewer
(``ledger.Raced``): the transaction rolls back and runs again, reading the stored ids after
the id locks (PostgreSQL: ``ledger.lock_ids``, which the second of two identical pushes waits
on; SQLite: the write lock), and answers them as duplicates.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.cases import assignment as cases
from backend.database import among, deferred_reads, insert_rows, utcnow
from backend.errors import BadRequest, PayloadTooLarge
from backend.feed import services as feed
from backend.photos.models import PhotoUploader
from backend.presence import stored as presence_days
from backend.reports.models import Report
from backend.routing import services as routing
from backend.routing.rules import CaseFacts
from backend.stats.dirty import mark_dirty
from backend.sync import item_rows, ledger, push_config, results
from backend.users.models import User
from sync import envelope
from sync.clock import estimate_clock
from sync.envelope import ClockPolicy, Limits, Rejection, ValidItem


@dataclass(frozen=True)
class SyncSettings:
    max_batch_items: int
    limits: Limits
    clock: ClockPolicy
    photo_grace_s: int = 0

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SyncSettings:
        return cls(
            max_batch_items=config["SYNC_MAX_BATCH_ITEMS"],
            limits=Limits(
                max_note_chars=config["SYNC_MAX_NOTE_CHARS"],
                max_photos_per_report=config["SYNC_MAX_PHOTOS_PER_REPORT"],
                max_photo_bytes=config["MAX_PHOTO_BYTES"],
                area=envelope.Area(*config["SERVICE_AREA"]),
            ),
            clock=ClockPolicy(
                correction_threshold_s=config["SYNC_CLOCK_CORRECTION_S"],
                max_future_s=config["SYNC_MAX_FUTURE_S"],
                max_age_days=config["SYNC_MAX_ITEM_AGE_DAYS"],
            ),
            photo_grace_s=config["ROUTING_PHOTO_GRACE_SECONDS"],
        )


@dataclass
class Batch:
    device_id: str
    app_version: str
    sent_at: datetime
    items: list[Any]
    protocol_version: int = envelope.PROTOCOL_VERSION


@dataclass
class PushResult:
    server_time: datetime
    clock_skew_s: float
    results: list[results.ItemResult]


def check_protocol_version(version: int) -> None:
    if version not in envelope.SUPPORTED_PROTOCOL_VERSIONS:
        supported = ", ".join(str(v) for v in envelope.SUPPORTED_PROTOCOL_VERSIONS)
        raise BadRequest(
            f"Protocol version {version} is not supported; this service speaks {supported}.",
            code="unsupported_protocol_version",
            errors={"protocol_version": [f"must be one of {supported}"]},
        )


@dataclass(frozen=True)
class _Prepared:
    """What the push decided before its write transaction: among it which ids were stored
    already when it read them (``stored``) and the rows of the others (``rows``)."""

    user_id: uuid.UUID
    device_id: str
    skew_s: float
    ordered: list[ValidItem]
    config: push_config.PushConfig
    missing: dict[uuid.UUID, list[str]]
    now: datetime
    grace_s: int
    stored: dict[uuid.UUID, ledger.StoredItem]
    rows: item_rows.NewRows


def _place(
    session: Session, built: item_rows.NewRows, p: _Prepared
) -> dict[uuid.UUID, cases.Assignment]:
    """Place the new reports in cases (writing the cases, each held one with its
    ``route_after``) and give the report rows their case; :func:`_write_rows` writes them
    after the ledger rows they reference."""
    until = p.now + timedelta(seconds=p.grace_s)

    def hold(assigned: Mapping[uuid.UUID, cases.Assignment]) -> dict[uuid.UUID, datetime]:
        held = routing.held_cases(_subjects(assigned, built.placed), p.missing, p.grace_s)
        return dict.fromkeys(held, until)

    assigned = cases.assign(session, built.layout, hold=hold) if built.layout else {}
    for model, rows in built.reports:
        if model is Report:
            for row in rows:
                a = assigned[row["id"]]
                row |= {"case_id": a.case_id, "joined": a.joined, "merge_reason": a.reason}
    return assigned


def _write_rows(session: Session, tables: list[tuple[Any, list[dict[str, Any]]]]) -> None:
    for model, rows in tables:
        insert_rows(session, model.__table__, rows)


def _plan(p: _Prepared, subjects: list[routing.Subject]) -> routing.Routed:
    return routing.plan_pushed(
        subjects, p.missing, p.now, p.grace_s, p.config.rule_set, p.config.organisations
    )


def _claim(
    session: Session,
    claim: ledger.Claim,
    items: list[ValidItem],
    p: _Prepared,
    changes: Sequence[feed.NewChange],
) -> set[uuid.UUID]:
    """Claim ``items``' ids with their ledger rows, each with its status after ``changes``;
    :class:`ledger.Raced` when the claim got fewer."""
    statuses = feed.own_statuses(changes)
    rows = ledger.ledger_rows(items, p.user_id, p.device_id, p.skew_s, p.now, statuses)
    created = claim(session, rows)
    if created != {i.id for i in items}:
        raise ledger.Raced
    return created


def _subjects(
    assigned: Mapping[uuid.UUID, cases.Assignment],
    placed: Sequence[cases.Placed],
    contacts: Sequence[dict[str, Any]] = (),
) -> list[routing.Subject]:
    """What this push hands to routing: each new case (with the items of its reports) and
    each contact with a referral."""
    reports_of: dict[uuid.UUID, list[cases.Placed]] = {}
    for p in placed:
        reports_of.setdefault(assigned[p.id].case_id, []).append(p)
    new_cases = {assigned[p.id].case_id: p for p in placed if not assigned[p.id].joined}
    return [
        routing.Subject(
            facts=CaseFacts(kind=first.kind, category=first.category, zone=first.zone),
            observed_at=first.occurred_at,
            case_id=case_id,
            location=(first.lat, first.lon),
            item_ids=tuple(p.id for p in reports_of[case_id]),
        )
        for case_id, first in new_cases.items()
    ] + [
        routing.Subject(
            facts=CaseFacts(kind="contact", zone=row["zone"], referral=row["referral"]),
            observed_at=row["occurred_at"],
            contact_id=row["id"],
            item_ids=(row["id"],),
        )
        for row in contacts
        if row["referral"] is not None
    ]


def _missing_photos(
    session: Session, user: User, listed: dict[uuid.UUID, list[str]]
) -> dict[uuid.UUID, list[str]]:
    """The listed photos ``user`` has not uploaded, per report. Possession, not existence: a
    photo someone else sent is missing all the same, so a hash learned elsewhere tells
    nothing and attaches nothing (``photos.models.PhotoUploader``)."""
    wanted = {sha for shas in listed.values() for sha in shas}
    if not wanted:
        return {}
    present = set(
        session.execute(
            select(PhotoUploader.sha256).where(
                PhotoUploader.user_id == user.id,
                among(session, PhotoUploader.sha256, sorted(wanted)),
            )
        ).scalars()
    )
    return {item_id: [s for s in shas if s not in present] for item_id, shas in listed.items()}


def _check_size(batch: Batch, settings: SyncSettings) -> None:
    check_protocol_version(batch.protocol_version)
    if len(batch.items) > settings.max_batch_items:
        raise PayloadTooLarge(
            f"A batch holds at most {settings.max_batch_items} items; split it.",
            code="batch_too_large",
            errors={"items": [f"at most {settings.max_batch_items} items per batch"]},
        )


def _first_of_each(checked: Sequence[ValidItem | Rejection]) -> dict[uuid.UUID, ValidItem]:
    """The first occurrence of each id in the batch: the one stored; later ones compare to it."""
    first: dict[uuid.UUID, ValidItem] = {}
    for item in checked:
        if isinstance(item, ValidItem):
            first.setdefault(item.id, item)
    return first


def _changes(
    new_items: list[ValidItem],
    assigned: dict[uuid.UUID, cases.Assignment],
    routed: Sequence[routing.Routed],
) -> list[feed.NewChange]:
    """The pusher's feed changes: ``received``, ``merged``, then ``routed`` (in item order)
    and ``awaiting_photos``."""
    joined = sorted(i for i, a in assigned.items() if a.joined)
    decided = [c for r in routed for c in r.changes]
    return (
        [feed.NewChange(str(i.id), i.type, "received") for i in new_items]
        + [
            feed.NewChange(str(i), "report", "merged", data={"case_id": str(assigned[i].case_id)})
            for i in joined
        ]
        + sorted((c for c in decided if c.status == "routed"), key=lambda c: uuid.UUID(c.subject))
        + [c for c in decided if c.status != "routed"]
    )


def _store_and_route(
    session: Session, user: User, p: _Prepared, claim: ledger.Claim, first_attempt: bool = True
) -> tuple[dict[uuid.UUID, ledger.StoredItem], set[uuid.UUID], dict[uuid.UUID, cases.Assignment]]:
    """The write transaction: lock the ids; for those not stored already (the first attempt
    takes ``p.stored``, read before; a retry reads them here, after the locks) the ledger rows
    with their final status (the claim), the item rows, the cases, the routing of what they
    started, the feed changes; commits. :class:`ledger.Raced` when a claim got fewer: another
    push stored some of the ids since they were read.

    What does not depend on placement comes first: the contacts and presence events, their
    ledger rows, the contacts' routing, the statistics' marks (append-only). Only then does
    placement take its cells' locks, which on PostgreSQL every push of reports from the same
    place waits on until the other commits."""
    ids = [i.id for i in p.ordered]
    ledger.lock_ids(session, ids)
    stored = p.stored if first_attempt else ledger.stored_before(session, ids)
    new_items = [i for i in p.ordered if i.id not in stored]
    built = p.rows
    if built.ids != [i.id for i in new_items]:
        built = item_rows.new_rows(user, new_items, p.config.zones, p.config.dedup, p.missing)
    others = [i for i in new_items if i.type != "report"]
    routed_contacts = _plan(p, _subjects({}, (), built.contacts))
    early = [feed.NewChange(str(i.id), i.type, "received") for i in others]
    created = _claim(session, claim, others, p, early + routed_contacts.changes)
    _write_rows(session, built.others)
    routing.write_pushed(session, routed_contacts)
    if new_items:
        mark_dirty(session, [i.occurred_at for i in new_items], p.now)

    assigned = _place(session, built, p)
    routed_cases = _plan(p, _subjects(assigned, built.placed))
    changes = _changes(new_items, assigned, [routed_contacts, routed_cases])
    reports = [i for i in new_items if i.type == "report"]
    created |= _claim(session, claim, reports, p, changes)
    _write_rows(session, built.reports)
    routing.write_pushed(session, routed_cases)
    feed.append(session, str(p.user_id), changes, at=p.now)
    presence = [(p.user_id, i.occurred_at) for i in others if i.type == "presence"]
    presence_days.mark_dirty(session, presence)
    session.commit()
    return stored, created, assigned


PUSH_ATTEMPTS = 3
"""Write transactions a push runs at most: another only after :class:`ledger.Raced` (another
push stored some of the ids between ``_prepare``'s read and this push's locks), which reads
the stored ids after ``ledger.lock_ids`` and so finds them."""


def _prepare(
    session: Session, user: User, batch: Batch, settings: SyncSettings, now: datetime
) -> tuple[list[ValidItem | Rejection], dict[uuid.UUID, ValidItem], _Prepared, float]:
    """Everything before the write transaction: the configuration (cached per version),
    validation and content hashes, the photos the pusher lacks. On SQLite these reads run in a
    DEFERRED transaction, so the write lock is taken only for the database work."""
    clock = estimate_clock(now, batch.sent_at, settings.clock)
    with deferred_reads():
        config = push_config.current(session)
        checked: list[ValidItem | Rejection] = [
            envelope.validate_item(raw, config.reference, settings.limits, clock, settings.clock)
            for raw in batch.items
        ]
        first = _first_of_each(checked)
        ordered = sorted(first.values(), key=lambda i: i.id)
        # Which listed photos the server lacks: for the results, and new cases wait for them.
        missing = _missing_photos(
            session,
            user,
            {
                i.id: [p["sha256"] for p in i.fields["photos"]]
                for i in ordered
                if i.type == "report"
            },
        )
        # Read here, outside the write lock; the claim tells if another push stored some
        # of them since (ledger.Raced), and the retry reads them again under the locks.
        stored = ledger.stored_before(session, [i.id for i in ordered])
        session.commit()
    new_items = [i for i in ordered if i.id not in stored]
    prepared = _Prepared(
        user.id,
        batch.device_id,
        clock.skew_s,
        ordered,
        config,
        missing,
        now,
        settings.photo_grace_s,
        stored,
        item_rows.new_rows(user, new_items, config.zones, config.dedup, missing),
    )
    return checked, first, prepared, clock.skew_s


def push(
    session: Session,
    user: User,
    batch: Batch,
    settings: SyncSettings,
    now: datetime | None = None,
    claim: ledger.Claim = ledger.claim_set_based,
) -> PushResult:
    """Store a batch; one result per item, in order. Commits."""
    _check_size(batch, settings)
    now = now or utcnow()
    checked, first, prepared, skew_s = _prepare(session, user, batch, settings, now)
    for attempt in range(PUSH_ATTEMPTS):
        try:
            stored, created, assigned = _store_and_route(
                session, user, prepared, claim, first_attempt=attempt == 0
            )
            break
        except ledger.Raced:
            session.rollback()
            if attempt == PUSH_ATTEMPTS - 1:
                raise
    outcome = results.Outcome(user, first, created, stored, assigned, prepared.missing)
    return PushResult(now, skew_s, results.results(checked, outcome))
