"""Push: store a batch of offline items exactly once.

The ledger claim and replays are ``backend.sync.ledger``; placing reports in cases is
``cases.assignment``; routing what a push started is ``routing.services.route_pushed``.

A push is one transaction doing set-based work: one multi-row ``INSERT ... ON CONFLICT DO
NOTHING RETURNING id`` into the ledger claims the new ids, one SELECT of the ids that collided
tells ``duplicate`` (same content hash) from ``conflict``, then one insert per item table, the
new cases' and referred contacts' tasks and deliveries as one set of inserts (the outbox: they
commit with the items or not at all), and one feed append. Rows are inserted in id order, so two
batches that share ids lock them in the same order on PostgreSQL and never deadlock; the second
of two identical concurrent pushes waits on the first's unique-index entries and then sees them
as duplicates.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.cases import assignment as cases
from backend.contacts.models import Contact
from backend.database import utcnow
from backend.errors import BadRequest, PayloadTooLarge
from backend.feed import services as feed
from backend.organisations.models import Organisation
from backend.photos.models import PhotoUploader
from backend.presence import stored as presence_days
from backend.reference.models import Category, Zone
from backend.reference.zones import ZoneIndex, index_of
from backend.reports.models import Report
from backend.routing import services as routing
from backend.routing.rules import CaseFacts
from backend.stats.dirty import mark_dirty
from backend.sync import item_rows, ledger
from backend.users.models import User
from sync import envelope
from sync.clock import estimate_clock
from sync.envelope import ClockPolicy, Limits, Reference, Rejection, ValidItem


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
class ItemResult:
    id: str | None
    status: str
    code: str | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    case_id: uuid.UUID | None = None
    # Whether the report joined a case that existed before it (None for other item types).
    joined_case: bool | None = None
    missing_photos: list[str] = field(default_factory=list)
    # What became of the report's case_hint: {kind, followed, reason}; None without a hint.
    hint: dict[str, Any] | None = None


HINT_NOT_FOLLOWED = "hint_not_followed"
"""A created or duplicate report's ``code`` when its ``same_as`` hint was not followed."""


@dataclass
class PushResult:
    server_time: datetime
    clock_skew_s: float
    results: list[ItemResult]


def check_protocol_version(version: int) -> None:
    if version not in envelope.SUPPORTED_PROTOCOL_VERSIONS:
        supported = ", ".join(str(v) for v in envelope.SUPPORTED_PROTOCOL_VERSIONS)
        raise BadRequest(
            f"Protocol version {version} is not supported; this service speaks {supported}.",
            code="unsupported_protocol_version",
            errors={"protocol_version": [f"must be one of {supported}"]},
        )


def load_reference(session: Session) -> tuple[Reference, ZoneIndex]:
    categories = dict(
        session.execute(select(Category.code, Category.kind).where(Category.active.is_(True))).all()
    )
    zones = list(session.execute(select(Zone).order_by(Zone.slug)).scalars())
    organisations = frozenset(
        session.execute(select(Organisation.slug).where(Organisation.active.is_(True))).scalars()
    )
    reference = Reference(categories, frozenset(z.slug for z in zones), organisations)
    return reference, index_of(zones)


def assign_case(
    session: Session, reports: Sequence[cases.Placed]
) -> dict[uuid.UUID, cases.Assignment]:
    """Where new reports go, inside the push transaction: report id -> case, joined, reason.

    Creates or extends the cases (``backend.cases.assignment``); the caller then inserts the
    reports pointing at them.
    """
    return cases.assign(session, reports)


@dataclass
class Stored:
    """What ``_store_details`` wrote that routing needs."""

    assigned: dict[uuid.UUID, cases.Assignment]
    placed: list[cases.Placed]
    contacts: list[dict[str, Any]]


def _store_details(
    session: Session,
    user: User,
    items: list[ValidItem],
    zones: ZoneIndex,
    missing: dict[uuid.UUID, list[str]],
) -> Stored:
    placed, tables = item_rows.detail_rows(user, items, zones, missing)
    # Cases first: the report rows reference them.
    assigned = assign_case(session, placed)
    contacts: list[dict[str, Any]] = []
    for model, rows in tables:
        if model is Report:
            for row in rows:
                a = assigned[row["id"]]
                row |= {"case_id": a.case_id, "joined": a.joined, "merge_reason": a.reason}
        if model is Contact:
            contacts = rows
        if rows:
            session.execute(model.__table__.insert(), rows)
    return Stored(assigned, placed, contacts)


def _subjects(stored: Stored) -> list[routing.Subject]:
    """What this push hands to routing: each new case (with the items of its reports) and
    each contact with a referral."""
    assigned = stored.assigned
    reports_of: dict[uuid.UUID, list[cases.Placed]] = {}
    for p in stored.placed:
        reports_of.setdefault(assigned[p.id].case_id, []).append(p)
    new_cases = {assigned[p.id].case_id: p for p in stored.placed if not assigned[p.id].joined}
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
        for row in stored.contacts
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
                PhotoUploader.user_id == user.id, PhotoUploader.sha256.in_(wanted)
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


def _store_and_route(
    session: Session,
    user: User,
    new_items: list[ValidItem],
    zones: ZoneIndex,
    missing: dict[uuid.UUID, list[str]],
    now: datetime,
    grace_s: int,
) -> dict[uuid.UUID, cases.Assignment]:
    """Store the new items, place their reports in cases, route what they started and tell
    the pusher's phone (``received``, ``merged``, ``routed``/``awaiting_photos``)."""
    details = _store_details(session, user, new_items, zones, missing)
    assigned = details.assigned
    joined = sorted(i for i, a in assigned.items() if a.joined)
    routed = routing.route_pushed(session, _subjects(details), missing, now, grace_s)
    feed.append_own(
        session,
        str(user.id),
        [feed.NewChange(str(i.id), i.type, "received") for i in new_items]
        + [
            feed.NewChange(str(i), "report", "merged", data={"case_id": str(assigned[i].case_id)})
            for i in joined
        ]
        + routed,
        at=now,
    )
    return assigned


@dataclass
class _Outcome:
    """What the push decided, for the results."""

    user: User
    first: dict[uuid.UUID, ValidItem]
    created: set[uuid.UUID]
    stored: dict[uuid.UUID, ledger.StoredItem]
    assigned: dict[uuid.UUID, cases.Assignment]
    missing: dict[uuid.UUID, list[str]]


def _status(item: ValidItem, outcome: _Outcome, seen: set[uuid.UUID]) -> str:
    if item.content_hash != outcome.first[item.id].content_hash:
        return "conflict"
    if item.id in outcome.created:
        return "duplicate" if item.id in seen else "created"
    before = outcome.stored[item.id]
    same = before.content_hash == item.content_hash and before.user_id == outcome.user.id
    return "duplicate" if same else "conflict"


def _result(item: ValidItem, status: str, outcome: _Outcome) -> ItemResult:
    result = ItemResult(str(item.id), status)
    if status == "conflict":
        result.code = "item_conflict"
        result.errors = {"id": ["was already stored with different content; not changed"]}
    elif item.type == "report":
        reason: Any
        if item.id in outcome.created:
            placed = outcome.assigned[item.id]
            result.case_id, result.joined_case, reason = (
                placed.case_id,
                placed.joined,
                placed.reason,
            )
        else:
            before = outcome.stored[item.id]
            result.case_id, result.joined_case, reason = (
                before.case_id,
                before.joined,
                before.merge_reason,
            )
        # A replay answers what the first push decided: the hint's outcome is stored with the
        # report's merge reason.
        result.hint = (reason or {}).get("hint")
        if result.hint and not result.hint["followed"]:
            result.code = HINT_NOT_FOLLOWED
        result.missing_photos = outcome.missing.get(item.id, [])
    return result


def _results(checked: Sequence[ValidItem | Rejection], outcome: _Outcome) -> list[ItemResult]:
    """One result per pushed item, in the batch's order."""
    results: list[ItemResult] = []
    seen: set[uuid.UUID] = set()
    for item in checked:
        if isinstance(item, Rejection):
            results.append(ItemResult(item.id, "rejected", item.code, item.errors))
            continue
        status = _status(item, outcome, seen)
        seen.add(item.id)
        results.append(_result(item, status, outcome))
    return results


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
    clock = estimate_clock(now, batch.sent_at, settings.clock)
    reference, zones = load_reference(session)
    checked: list[ValidItem | Rejection] = [
        envelope.validate_item(raw, reference, settings.limits, clock, settings.clock)
        for raw in batch.items
    ]
    first = _first_of_each(checked)
    ordered = sorted(first.values(), key=lambda i: i.id)
    rows = ledger.ledger_rows(ordered, user.id, batch.device_id, clock.skew_s, now)
    created = claim(session, rows)
    stored = ledger.stored_before(session, [i.id for i in ordered if i.id not in created])
    # Which listed photos the server lacks: for the results, and new cases wait for them.
    missing = _missing_photos(
        session,
        user,
        {i.id: [p["sha256"] for p in i.fields["photos"]] for i in ordered if i.type == "report"},
    )
    new_items = [i for i in ordered if i.id in created]
    assigned = _store_and_route(
        session, user, new_items, zones, missing, now, settings.photo_grace_s
    )
    results = _results(checked, _Outcome(user, first, created, stored, assigned, missing))
    if new_items:
        mark_dirty(session, [i.occurred_at for i in new_items], now)
        presence = [(user.id, i.occurred_at) for i in new_items if i.type == "presence"]
        presence_days.mark_dirty(session, presence)
    session.commit()
    return PushResult(now, clock.skew_s, results)
