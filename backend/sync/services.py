"""Push: store a batch of offline items exactly once. Config: what the phones are told.

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

import dataclasses
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend import ratelimit
from backend.cases import assignment as cases
from backend.database import utcnow
from backend.errors import BadRequest, PayloadTooLarge
from backend.feed import services as feed
from backend.organisations.models import Organisation
from backend.photos.models import PhotoUploader
from backend.reference.models import Category, Zone
from backend.reference.zones import ZoneIndex, index_of
from backend.reports.models import Contact, PresenceEvent, Report, ReportPhoto
from backend.routing import services as routing
from backend.routing.rules import CaseFacts
from backend.stats.dirty import mark_dirty
from backend.sync.models import SyncItem
from backend.users.models import User
from sync import envelope
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


def ledger_rows(
    items: Iterable[ValidItem], user: User, batch: Batch, skew: float, now: datetime
) -> list[dict[str, Any]]:
    return [
        {
            "id": item.id,
            "type": item.type,
            "user_id": user.id,
            "device_id": batch.device_id,
            "content_hash": item.content_hash,
            "captured_at_raw": item.captured_at_raw,
            "captured_at": item.captured_at,
            "occurred_at": item.occurred_at,
            "clock_skew_s": skew,
            "received_at": now,
            "status": "received",
        }
        for item in items
    ]


def claim_set_based(session: Session, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert the ledger rows in one statement; returns the ids this transaction created."""
    if not rows:
        return set()
    dialect = session.get_bind().dialect.name
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # executemany form: the statement compiles once and is cached; SQLAlchemy's
    # "insertmanyvalues" still sends it as one multi-row INSERT ... RETURNING. (A literal
    # .values(rows) recompiles per batch and took two thirds of a push.)
    statement = insert_(SyncItem.__table__).on_conflict_do_nothing().returning(SyncItem.id)
    return set(session.execute(statement, rows).scalars())


def claim_per_item(session: Session, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """The round-trip-per-item alternative (a savepoint and an INSERT each), kept because the
    benchmark measures it against ``claim_set_based``; the push uses the set-based one."""
    created: set[uuid.UUID] = set()
    for row in rows:
        try:
            with session.begin_nested():
                session.execute(insert(SyncItem).values(row))
            created.add(row["id"])
        except IntegrityError:
            pass
    return created


Claim = Callable[[Session, list[dict[str, Any]]], set[uuid.UUID]]


def _zone_of(zones: ZoneIndex, location: dict[str, Any]) -> str | None:
    if location.get("lat") is None or location.get("lon") is None:
        return None
    return zones.at(location["lat"], location["lon"])


def detail_rows(
    user: User,
    items: list[ValidItem],
    zones: ZoneIndex,
    missing: dict[uuid.UUID, list[str]] | None = None,
) -> tuple[list[cases.Placed], list[tuple[Any, list[dict[str, Any]]]]]:
    """The reports to place in cases, and the rows of each item table for newly claimed
    items, in foreign-key order (reports without their case yet: ``_store_details`` adds it).
    Only the photos the pusher possesses (not in ``missing``) weigh in case assignment."""
    missing = missing or {}
    placed: list[cases.Placed] = []
    reports: list[dict[str, Any]] = []
    photos: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    presence: list[dict[str, Any]] = []
    for item in items:
        loc = item.location or {}
        where = {"lat": loc.get("lat"), "lon": loc.get("lon"), "accuracy_m": loc.get("accuracy_m")}
        common = {"id": item.id, "user_id": user.id, "occurred_at": item.occurred_at}
        f = item.fields
        if item.type == "report":
            zone = zones.at(loc["lat"], loc["lon"])
            missing_here = set(missing.get(item.id, ()))
            placed.append(
                cases.Placed(
                    id=item.id,
                    category=f["category"],
                    kind=f["kind"],
                    lat=loc["lat"],
                    lon=loc["lon"],
                    accuracy_m=loc.get("accuracy_m"),
                    occurred_at=item.occurred_at,
                    zone=zone,
                    photo_sha256=tuple(
                        p["sha256"] for p in f["photos"] if p["sha256"] not in missing_here
                    ),
                )
            )
            reports.append(
                {**common, **where, "kind": f["kind"], "category": f["category"]}
                | {"note": f["note"], "zone": zone}
            )
            photos.extend(
                {"report_id": item.id, "position": n, **photo}
                for n, photo in enumerate(f["photos"])
            )
        elif item.type == "contact":
            contacts.append(
                {**common, **where, "zone": _zone_of(zones, loc)}
                | {k: f[k] for k in ("contact_type", "age_group", "needs", "referral")}
            )
        else:
            # An event of any kind without a zone gets one from the polygons, so a shift
            # started on Sergels Torg by a phone that named no zone is not logged "nowhere";
            # a zone the phone named is kept (the worker may know better than the GPS).
            zone = f["zone"]
            if zone is None:
                zone = _zone_of(zones, loc)
            presence.append({**common, **where, "event": f["event"], "zone": zone})
    return placed, [
        (Report, reports),
        (ReportPhoto, photos),
        (Contact, contacts),
        (PresenceEvent, presence),
    ]


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
    placed, tables = detail_rows(user, items, zones, missing)
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


def push(
    session: Session,
    user: User,
    batch: Batch,
    settings: SyncSettings,
    now: datetime | None = None,
    claim: Claim = claim_set_based,
) -> PushResult:
    """Store a batch; one result per item, in order. Commits."""
    check_protocol_version(batch.protocol_version)
    if len(batch.items) > settings.max_batch_items:
        raise PayloadTooLarge(
            f"A batch holds at most {settings.max_batch_items} items; split it.",
            code="batch_too_large",
            errors={"items": [f"at most {settings.max_batch_items} items per batch"]},
        )
    now = now or utcnow()
    clock = envelope.estimate_clock(now, batch.sent_at, settings.clock)
    reference, zones = load_reference(session)

    checked: list[ValidItem | Rejection] = [
        envelope.validate_item(raw, reference, settings.limits, clock, settings.clock)
        for raw in batch.items
    ]
    # The first occurrence of an id in the batch is the one stored; later ones compare to it.
    first: dict[uuid.UUID, ValidItem] = {}
    for item in checked:
        if isinstance(item, ValidItem):
            first.setdefault(item.id, item)
    ordered = sorted(first.values(), key=lambda i: i.id)
    created = claim(session, ledger_rows(ordered, user, batch, clock.skew_s, now))

    collided = [i.id for i in ordered if i.id not in created]
    stored: dict[uuid.UUID, tuple[str, uuid.UUID, uuid.UUID | None, bool | None]] = {}
    if collided:
        rows = session.execute(
            select(
                SyncItem.id, SyncItem.content_hash, SyncItem.user_id, Report.case_id, Report.joined
            )
            .outerjoin(Report, Report.id == SyncItem.id)
            .where(SyncItem.id.in_(collided))
        )
        stored = {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}

    # Which listed photos the server lacks: for the results, and new cases wait for them.
    missing = _missing_photos(
        session,
        user,
        {i.id: [p["sha256"] for p in i.fields["photos"]] for i in ordered if i.type == "report"},
    )
    new_items = [i for i in ordered if i.id in created]
    details = _store_details(session, user, new_items, zones, missing)
    assigned = details.assigned
    joined = sorted(i for i, a in assigned.items() if a.joined)
    routed = routing.route_pushed(session, _subjects(details), missing, now, settings.photo_grace_s)
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

    results: list[ItemResult] = []
    seen: set[uuid.UUID] = set()
    for item in checked:
        if isinstance(item, Rejection):
            results.append(ItemResult(item.id, "rejected", item.code, item.errors))
            continue
        original = first[item.id]
        if item.content_hash != original.content_hash:
            status = "conflict"
        elif item.id in created and item.id not in seen:
            status = "created"
        elif item.id in created:
            status = "duplicate"
        else:
            stored_hash, owner, _, _ = stored[item.id]
            same = stored_hash == item.content_hash and owner == user.id
            status = "duplicate" if same else "conflict"
        seen.add(item.id)
        result = ItemResult(str(item.id), status)
        if status == "conflict":
            result.code = "item_conflict"
            result.errors = {"id": ["was already stored with different content; not changed"]}
        elif item.type == "report":
            if item.id in created:
                result.case_id = assigned[item.id].case_id
                result.joined_case = assigned[item.id].joined
            else:
                result.case_id, result.joined_case = stored[item.id][2:]
            result.missing_photos = missing.get(item.id, [])
        results.append(result)
    if new_items:
        mark_dirty(session, [i.occurred_at for i in new_items], now)
    session.commit()
    return PushResult(now, clock.skew_s, results)


def sync_config(session: Session, settings: SyncSettings, config: dict[str, Any]) -> dict[str, Any]:
    """What a phone needs before it pushes: limits, reference data, protocol, server time."""
    categories = list(
        session.execute(
            select(Category).where(Category.active.is_(True)).order_by(Category.code)
        ).scalars()
    )
    zones = list(session.execute(select(Zone).order_by(Zone.slug)).scalars())
    organisations = list(
        session.execute(
            select(Organisation).where(Organisation.active.is_(True)).order_by(Organisation.slug)
        ).scalars()
    )
    return {
        "protocol_version": envelope.PROTOCOL_VERSION,
        "supported_protocol_versions": list(envelope.SUPPORTED_PROTOCOL_VERSIONS),
        "server_time": utcnow(),
        "limits": {
            "max_items_per_batch": settings.max_batch_items,
            "max_body_bytes": config["MAX_CONTENT_LENGTH"],
            "max_note_chars": settings.limits.max_note_chars,
            "max_photos_per_report": settings.limits.max_photos_per_report,
            "max_photo_bytes": settings.limits.max_photo_bytes,
            "max_photo_pixels": config["MAX_PHOTO_PIXELS"],
            # Unfinished tus uploads one user may hold at once, and their Upload-Lengths.
            "max_open_uploads": config["UPLOAD_MAX_OPEN_PER_USER"],
            "max_open_upload_bytes": config["UPLOAD_MAX_OPEN_BYTES_PER_USER"],
            "max_item_age_days": settings.clock.max_age_days,
            "max_future_s": settings.clock.max_future_s,
            "clock_correction_threshold_s": settings.clock.correction_threshold_s,
            "pull_default_limit": config["SYNC_PULL_DEFAULT_LIMIT"],
            "pull_max_limit": config["SYNC_PULL_MAX_LIMIT"],
            # A new case waits this long for its missing photos before it is routed anyway.
            "photo_grace_s": settings.photo_grace_s,
        },
        "rate_limits": ratelimit.advertised(config),
        # Locations outside are rejected items (outside_service_area).
        "service_area": dataclasses.asdict(settings.limits.area),
        "photo_content_types": list(envelope.PHOTO_CONTENT_TYPES),
        "categories": categories,
        "zones": zones,
        "contact": {
            "contact_types": list(envelope.CONTACT_TYPES),
            "age_groups": list(envelope.AGE_GROUPS),
            "needs": list(envelope.NEEDS),
            "referrals": [o.slug for o in organisations],
        },
        "presence_events": list(envelope.PRESENCE_EVENTS),
    }
