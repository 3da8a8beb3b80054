"""The push envelope: item validation and canonical content hashing (the clock-skew correction
it applies is ``sync.clock``, the time and text rules ``sync.timestamps`` and ``sync.text``).

Pure protocol logic with no Flask and no database: the caller passes the reference data
(``Reference``) and the clock (``ClockPolicy`` plus the server time), so everything here is
tested and benchmarked alone.

A bad item never fails its batch: ``validate_item`` returns either a ``ValidItem`` or a
``Rejection`` with a machine-readable code and field errors, and the caller stores the rest.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sync.case_hints import MAX_DISTINCT_FROM
from sync.clock import Clock, ClockPolicy
from sync.text import printable, text_problem
from sync.timestamps import parse_timestamp

PROTOCOL_VERSION = 1
SUPPORTED_PROTOCOL_VERSIONS = (1,)

ITEM_TYPES = ("report", "contact", "presence")
REPORT_KINDS = ("litter", "damage")

# Social-prevention contacts are minimal by design (the privacy review for the outreach
# workers' app): enumerated fields only, no names, no free text, no photos. The lists follow the
# socialtjänst's uppsökande enhet's own contact log, so a referral lands in their categories.
CONTACT_TYPES = ("conversation", "information", "referral", "first_aid", "emergency_call")
AGE_GROUPS = ("under-18", "18-25", "26-40", "41-64", "65+", "unknown")
NEEDS = (
    "housing",
    "food",
    "health",
    "mental_health",
    "substance_use",
    "safety",
    "financial",
    "employment",
    "other",
)
CONTACT_FIELDS = frozenset(
    {"type", "id", "captured_at", "location", "contact_type", "age_group", "needs", "referral"}
)

PRESENCE_EVENTS = ("shift_start", "shift_end", "zone_enter", "zone_exit", "ping")
PHOTO_CONTENT_TYPES = ("image/jpeg", "image/png", "image/heic", "image/heif", "image/webp")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class Area:
    """A bounding box in degrees (WGS 84): where the service takes reports from."""

    south: float
    west: float
    north: float
    east: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lon <= self.east

    def describe(self) -> str:
        return f"{self.south}..{self.north} N, {self.west}..{self.east} E"


WORLD = Area(-90.0, -180.0, 90.0, 180.0)


@dataclass(frozen=True)
class Limits:
    """The per-item limits the server enforces (and advertises in ``GET /sync/config``)."""

    max_note_chars: int
    max_photos_per_report: int
    max_photo_bytes: int
    area: Area = WORLD


@dataclass(frozen=True)
class Reference:
    """The reference data an item is checked against, loaded once per batch."""

    categories: Mapping[str, str]  # active category code -> kind
    zones: frozenset[str]
    organisations: frozenset[str]


@dataclass
class Rejection:
    id: str | None
    code: str
    errors: dict[str, list[str]]


@dataclass
class ValidItem:
    """An item that passed validation, normalised, with its canonical content hash."""

    id: uuid.UUID
    type: str
    captured_at_raw: str
    captured_at: datetime
    occurred_at: datetime
    content_hash: str
    location: dict[str, float] | None
    fields: dict[str, Any] = field(default_factory=dict)


def canonical_hash(content: Mapping[str, Any]) -> str:
    """SHA-256 of the item's normalised content as canonical JSON (sorted keys, no spaces).

    Computed over the normalised fields, not the raw body, so a resend from an app that
    serialises differently (key order, 8 vs 8.0) is still recognised as the same item.
    """
    blob = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class _Invalid(Exception):
    def __init__(self, code: str, field_name: str, message: str) -> None:
        super().__init__(message)
        self.code, self.field, self.message = code, field_name, message


def _number(value: object, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid("invalid_location", f"location.{name}", "must be a number")
    if not low <= value <= high:
        raise _Invalid("invalid_location", f"location.{name}", f"must be within {low}..{high}")
    return float(value)


def _location(raw: object, required: bool, area: Area) -> dict[str, float] | None:
    if raw is None:
        if required:
            raise _Invalid("missing_location", "location", "is required for this item")
        return None
    if not isinstance(raw, dict):
        raise _Invalid("invalid_location", "location", "must be {lat, lon, accuracy_m}")
    location = {
        "lat": _number(raw.get("lat"), "lat", -90, 90),
        "lon": _number(raw.get("lon"), "lon", -180, 180),
    }
    if raw.get("accuracy_m") is not None:
        # 10 km: anything coarser is no location at all for a report on a square.
        location["accuracy_m"] = _number(raw["accuracy_m"], "accuracy_m", 0, 10_000)
    if not area.contains(location["lat"], location["lon"]):
        raise _Invalid(
            "outside_service_area", "location", f"is outside the service area {area.describe()}"
        )
    return location


def _choice(value: object, allowed: Sequence[str], code: str, name: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise _Invalid(code, name, f"must be one of {', '.join(allowed)}")
    return value


def _photos(raw: object, limits: Limits) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _Invalid("invalid_photo", "photos", "must be a list")
    if len(raw) > limits.max_photos_per_report:
        raise _Invalid(
            "too_many_photos", "photos", f"at most {limits.max_photos_per_report} per report"
        )
    photos: list[dict[str, Any]] = []
    seen: set[str] = set()
    for n, photo in enumerate(raw):
        where = f"photos.{n}"
        if not isinstance(photo, dict):
            raise _Invalid("invalid_photo", where, "must be {sha256, size, content_type}")
        sha = photo.get("sha256")
        if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
            raise _Invalid(
                "invalid_photo", f"{where}.sha256", "must be 64 lower-case hexadecimal digits"
            )
        if sha in seen:
            raise _Invalid("invalid_photo", f"{where}.sha256", "is listed twice")
        seen.add(sha)
        size = photo.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise _Invalid("invalid_photo", f"{where}.size", "must be a positive integer")
        if size > limits.max_photo_bytes:
            raise _Invalid(
                "photo_too_large", f"{where}.size", f"at most {limits.max_photo_bytes} bytes"
            )
        content_type = _choice(
            photo.get("content_type"),
            PHOTO_CONTENT_TYPES,
            "unsupported_photo_type",
            f"{where}.content_type",
        )
        photos.append({"sha256": sha, "size": size, "content_type": content_type})
    return photos


def _case_id(value: object, where: str) -> str:
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        raise _Invalid("invalid_case_hint", where, "must be a case id (a UUID)")
    return str(uuid.UUID(value))


def _case_hint(raw: object) -> dict[str, Any] | None:
    """``{"same_as": id}`` and/or ``{"distinct_from": [ids]}``, normalised (ids lower-case,
    ``distinct_from`` sorted without repeats), or None when absent."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not raw:
        raise _Invalid(
            "invalid_case_hint", "case_hint", "must be {same_as: id} or {distinct_from: [ids]}"
        )
    extra = sorted(k for k in raw if k not in ("same_as", "distinct_from"))
    if extra:
        raise _Invalid("invalid_case_hint", f"case_hint.{printable(extra[0])}", "is not a hint")
    hint: dict[str, Any] = {}
    if "same_as" in raw:
        hint["same_as"] = _case_id(raw["same_as"], "case_hint.same_as")
    if "distinct_from" in raw:
        ids = raw["distinct_from"]
        if not isinstance(ids, list) or not ids:
            raise _Invalid(
                "invalid_case_hint", "case_hint.distinct_from", "must be a non-empty list of ids"
            )
        if len(ids) > MAX_DISTINCT_FROM:
            raise _Invalid(
                "case_hint_too_long",
                "case_hint.distinct_from",
                f"names at most {MAX_DISTINCT_FROM} cases",
            )
        hint["distinct_from"] = sorted(
            {_case_id(v, f"case_hint.distinct_from.{n}") for n, v in enumerate(ids)}
        )
    if hint.get("same_as") in hint.get("distinct_from", ()):
        raise _Invalid(
            "invalid_case_hint", "case_hint", "a case cannot be both same_as and distinct_from"
        )
    return hint


def _report(item: Mapping[str, Any], reference: Reference, limits: Limits) -> dict[str, Any]:
    kind = _choice(item.get("kind"), REPORT_KINDS, "invalid_kind", "kind")
    category = item.get("category")
    if not isinstance(category, str) or category not in reference.categories:
        raise _Invalid("unknown_category", "category", "is not an active category code")
    if reference.categories[category] != kind:
        raise _Invalid("category_kind_mismatch", "category", f"is not a {kind} category")
    note = item.get("note")
    if note is not None and not isinstance(note, str):
        raise _Invalid("invalid_note", "note", "must be a string")
    if note is not None and (why := text_problem(note)):
        raise _Invalid("invalid_note", "note", why)
    if note is not None and len(note) > limits.max_note_chars:
        raise _Invalid("note_too_long", "note", f"at most {limits.max_note_chars} characters")
    note = (note or "").strip()
    fields: dict[str, Any] = {
        "kind": kind,
        "category": category,
        "note": note,
        "photos": _photos(item.get("photos"), limits),
    }
    hint = _case_hint(item.get("case_hint"))
    if hint is not None:
        # Only when given: the content hash of a report without a hint stays what it was.
        fields["case_hint"] = hint
    return fields


def _contact(item: Mapping[str, Any], reference: Reference) -> dict[str, Any]:
    if item.get("photos") not in (None, []):
        raise _Invalid("contact_photo_not_allowed", "photos", "contacts never carry photos")
    extra = sorted(k for k in item if k not in CONTACT_FIELDS and k != "photos")
    if extra:
        # A name or a free-text note on a contact is refused rather than silently dropped, so
        # the app learns that it is sending data it must not collect.
        raise _Invalid(
            "contact_field_not_allowed", printable(extra[0]), "is not collected for contacts"
        )
    needs = item.get("needs", [])
    if not isinstance(needs, list) or not all(isinstance(n, str) and n in NEEDS for n in needs):
        raise _Invalid("invalid_needs", "needs", f"must be a list of {', '.join(NEEDS)}")
    referral = item.get("referral")
    if referral is not None and (
        not isinstance(referral, str) or referral not in reference.organisations
    ):
        raise _Invalid("unknown_referral", "referral", "is not an organisation slug")
    return {
        "contact_type": _choice(
            item.get("contact_type"), CONTACT_TYPES, "invalid_contact_type", "contact_type"
        ),
        "age_group": _choice(item.get("age_group"), AGE_GROUPS, "invalid_age_group", "age_group"),
        "needs": sorted(set(needs)),
        "referral": referral,
    }


def _presence(item: Mapping[str, Any], reference: Reference) -> dict[str, Any]:
    event = _choice(item.get("event"), PRESENCE_EVENTS, "invalid_event", "event")
    zone = item.get("zone")
    if zone is not None and (not isinstance(zone, str) or zone not in reference.zones):
        raise _Invalid("unknown_zone", "zone", "is not a zone slug")
    return {"event": event, "zone": zone}


def _check_time(captured: datetime, clock: Clock, policy: ClockPolicy) -> datetime:
    try:
        occurred = clock.correct(captured)
    except OverflowError:  # only a clock built from a sent_at outside EARLIEST..LATEST
        raise _Invalid(
            "invalid_timestamp", "captured_at", "cannot be corrected by this batch's clock"
        ) from None
    if occurred > clock.server_time + timedelta(seconds=policy.max_future_s):
        raise _Invalid(
            "captured_at_in_future", "captured_at", "is in the future even after clock correction"
        )
    if occurred < clock.server_time - timedelta(days=policy.max_age_days):
        raise _Invalid(
            "captured_at_too_old", "captured_at", f"is older than {policy.max_age_days} days"
        )
    return occurred


def validate_item(
    item: object, reference: Reference, limits: Limits, clock: Clock, policy: ClockPolicy
) -> ValidItem | Rejection:
    """Check one pushed item; never raises for bad input."""
    if not isinstance(item, dict):
        return Rejection(None, "invalid_item", {"_item": ["must be an object"]})
    raw_id = item.get("id")
    echo_id = printable(raw_id) if isinstance(raw_id, str) else None
    try:
        item_id = uuid.UUID(raw_id) if isinstance(raw_id, str) and _UUID.fullmatch(raw_id) else None
        if item_id is None:
            raise _Invalid("invalid_id", "id", "must be a UUID made on the phone")
        item_type = _choice(item.get("type"), ITEM_TYPES, "unknown_item_type", "type")
        try:
            captured = parse_timestamp(item.get("captured_at"))
        except ValueError as exc:
            raise _Invalid("invalid_timestamp", "captured_at", str(exc)) from None
        occurred = _check_time(captured, clock, policy)
        if item_type == "report":
            fields = _report(item, reference, limits)
            location = _location(item.get("location"), True, limits.area)
        elif item_type == "contact":
            fields = _contact(item, reference)
            location = _location(item.get("location"), False, limits.area)
        else:
            fields = _presence(item, reference)
            location = _location(item.get("location"), fields["event"] == "ping", limits.area)
    except _Invalid as exc:
        return Rejection(echo_id, exc.code, {exc.field: [exc.message]})

    captured_raw = str(item["captured_at"])
    content = {
        "type": item_type,
        "id": str(item_id),
        "captured_at": captured_raw,
        "location": location,
        **fields,
    }
    return ValidItem(
        id=item_id,
        type=item_type,
        captured_at_raw=captured_raw,
        captured_at=captured,
        occurred_at=occurred,
        content_hash=canonical_hash(content),
        location=location,
        fields=fields,
    )
