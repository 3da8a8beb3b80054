"""The sync API's documented shapes: push items and results, the pull feed, the phones' config."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from backend import config as defaults
from backend.fields import OneOf, Pattern, Timestamp
from backend.reference import catalogue
from backend.reference.schemas import CategorySchema
from sync import envelope
from sync.case_hints import MAX_DISTINCT_FROM
from sync.dedup import DedupSettings

AREA = envelope.Area(*defaults.DEFAULT_SERVICE_AREA)
ITEMS_DESCRIPTION = (
    "Items queued on the phone, each a report, a contact or a presence event (told apart by "
    "`type`). Items are checked one by one: an item that breaks its schema, or a rule the "
    "schema cannot state (a category of the other kind, a capture time more than "
    "SYNC_MAX_ITEM_AGE_DAYS old or in the future, a location outside the service area), is "
    "`rejected` with its `code` in its result and never fails the batch. Limits shown are the "
    "defaults; GET /api/v1/sync/config gives this server's."
)
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"


class _Item(ma.Schema):
    """What every item has. Doc-only: ``sync.envelope.validate_item`` checks items."""

    id = ma.fields.UUID(
        required=True, metadata={"description": "Made on the phone; the item's identity"}
    )
    captured_at = Timestamp(
        required=True, metadata={"description": "When it was observed, device clock"}
    )


class LocationSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE  # other keys of the phone's fix (altitude ...) are ignored

    lat = ma.fields.Float(
        required=True,
        validate=ma.validate.Range(AREA.south, AREA.north),
        metadata={"description": "WGS 84; within the service area (outside_service_area)"},
    )
    lon = ma.fields.Float(required=True, validate=ma.validate.Range(AREA.west, AREA.east))
    accuracy_m = ma.fields.Float(
        allow_none=True,
        validate=ma.validate.Range(0, 10_000),
        metadata={"description": "GPS accuracy radius in metres"},
    )


class PhotoRefSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    sha256 = ma.fields.String(
        required=True,
        validate=Pattern(r"^[0-9a-f]{64}$"),
        metadata={"description": "Lower-case hex SHA-256 of the photo's bytes"},
    )
    size = ma.fields.Integer(required=True, validate=ma.validate.Range(1, defaults.MAX_PHOTO_BYTES))
    content_type = ma.fields.String(
        required=True, validate=ma.validate.OneOf(envelope.PHOTO_CONTENT_TYPES)
    )


class CaseHintSchema(ma.Schema):
    """Doc-only, like the items: ``sync.envelope`` checks it (invalid_case_hint,
    case_hint_too_long; the report is then `rejected`, the rest of the batch goes in)."""

    same_as = ma.fields.UUID(
        metadata={
            "description": "The reporter says it is this case (from GET /api/v1/cases/nearby or "
            "the pull's nearby_cases): joined when it is open, of the same dedup group and "
            "within three times the category's radius; otherwise the rules decide and the "
            "result's code is hint_not_followed with hint.reason closed | other_group | too_far "
            "| unknown_case"
        }
    )
    distinct_from = ma.fields.List(
        ma.fields.UUID(),
        validate=ma.validate.Length(1, MAX_DISTINCT_FROM),
        metadata={
            "description": "The reporter says it is none of these cases: they are never joined "
            "(the report may join another or start one); not the same_as case"
        },
    )


class ReportItemSchema(_Item):
    class Meta:
        unknown = ma.INCLUDE  # fields a newer app sends are ignored

    type = ma.fields.String(required=True, validate=ma.validate.OneOf(["report"]))
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(envelope.REPORT_KINDS))
    category = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(catalogue.category_codes()),
        metadata={"description": "A category of the report's kind (category_kind_mismatch)"},
    )
    location = ma.fields.Nested(LocationSchema, required=True)
    note = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(max=defaults.SYNC_MAX_NOTE_CHARS),
        metadata={"description": "Free text, trimmed; no NUL characters"},
    )
    photos = ma.fields.List(
        ma.fields.Nested(PhotoRefSchema),
        allow_none=True,
        validate=ma.validate.Length(max=defaults.SYNC_MAX_PHOTOS_PER_REPORT),
    )
    case_hint = ma.fields.Nested(
        CaseHintSchema,
        allow_none=True,
        metadata={"description": "Optional: the reporter's answer to 'is it one of these cases?'"},
    )


class ContactItemSchema(_Item):
    """Minimal by design: enumerated fields only, no names, no text, no photos; any other field
    is rejected (contact_field_not_allowed)."""

    type = ma.fields.String(required=True, validate=ma.validate.OneOf(["contact"]))
    contact_type = ma.fields.String(
        required=True, validate=ma.validate.OneOf(envelope.CONTACT_TYPES)
    )
    age_group = ma.fields.String(required=True, validate=ma.validate.OneOf(envelope.AGE_GROUPS))
    needs = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(envelope.NEEDS)))
    referral = ma.fields.String(
        allow_none=True,
        validate=Pattern(SLUG_PATTERN),
        metadata={"description": "An active organisation's slug (unknown_referral)"},
    )
    location = ma.fields.Nested(LocationSchema, allow_none=True)
    photos = ma.fields.List(
        ma.fields.Raw(),
        allow_none=True,
        validate=ma.validate.Length(max=0),
        metadata={"description": "Contacts never carry photos"},
    )


class PresenceItemSchema(_Item):
    class Meta:
        unknown = ma.INCLUDE

    type = ma.fields.String(required=True, validate=ma.validate.OneOf(["presence"]))
    event = ma.fields.String(required=True, validate=ma.validate.OneOf(envelope.PRESENCE_EVENTS))
    zone = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(catalogue.zone_slugs()))
    location = ma.fields.Nested(
        LocationSchema,
        allow_none=True,
        metadata={"description": "Required for a ping (missing_location)"},
    )


class PushSchema(ma.Schema):
    # Items are checked one by one (a bad item is a rejected result, not a failed batch), so the
    # body parser leaves their values to that check (backend.api).
    OPAQUE_FIELDS = ("items",)

    device_id = ma.fields.String(required=True, validate=ma.validate.Length(1, 64))
    app_version = ma.fields.String(required=True, validate=ma.validate.Length(1, 32))
    sent_at = Timestamp(
        required=True,
        metadata={"description": "The device clock when the batch was sent"},
    )
    protocol_version = ma.fields.Integer(
        load_default=envelope.PROTOCOL_VERSION,
        metadata={
            "description": "Sync protocol version; another is 400 unsupported_protocol_version",
            "enum": list(envelope.SUPPORTED_PROTOCOL_VERSIONS),
        },
    )
    items = ma.fields.List(
        OneOf(
            {
                "report": ReportItemSchema,
                "contact": ContactItemSchema,
                "presence": PresenceItemSchema,
            }
        ),
        required=True,
        # More is 413 batch_too_large with nothing stored (checked in the push, not here).
        metadata={"description": ITEMS_DESCRIPTION, "maxItems": defaults.SYNC_MAX_BATCH_ITEMS},
    )


class HintResultSchema(ma.Schema):
    kind = ma.fields.String(metadata={"description": "same_as | distinct_from"})
    followed = ma.fields.Boolean(
        metadata={"description": "distinct_from is always followed (those cases are not joined)"}
    )
    reason = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "Why same_as was not followed: closed | other_group | too_far "
            "| unknown_case; null when followed"
        },
    )


class ItemResultSchema(ma.Schema):
    id = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"description": "created | duplicate | conflict | rejected"})
    code = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "rejected: why; conflict: item_conflict; a created or duplicate "
            "report whose case_hint.same_as was not followed: hint_not_followed (the rules "
            "placed it; `hint.reason` says why); otherwise null"
        },
    )
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()))
    case_id = ma.fields.UUID(
        allow_none=True,
        metadata={"description": "The case a created or duplicate report belongs to"},
    )
    joined_case = ma.fields.Boolean(
        allow_none=True,
        metadata={
            "description": "True when the report joined a case that already existed (its feed "
            "also says `merged`), false when it started a new case; null for other items"
        },
    )
    missing_photos = ma.fields.List(
        ma.fields.String(), metadata={"description": "sha256 of listed photos not uploaded yet"}
    )
    hint = ma.fields.Nested(
        HintResultSchema,
        allow_none=True,
        metadata={"description": "What became of the report's case_hint; null without one"},
    )


class PushResultSchema(ma.Schema):
    server_time = ma.fields.AwareDateTime()
    clock_skew_s = ma.fields.Float(metadata={"description": "Server time minus sent_at"})
    results = ma.fields.List(ma.fields.Nested(ItemResultSchema))


class PullArgsSchema(ma.Schema):
    cursor = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))
    limit = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1))
    nearby_zone = ma.fields.String(
        load_default=None,
        validate=ma.validate.OneOf(catalogue.zone_slugs()),
        metadata={
            "description": "The zone the worker is in: the answer then also carries "
            "nearby_cases, so the phone can ask 'is it one of these?' offline"
        },
    )


class ZoneCaseSchema(ma.Schema):
    id = ma.fields.UUID(metadata={"description": "Pass as case_hint.same_as or distinct_from"})
    category = ma.fields.String()
    dedup_group = ma.fields.String(
        metadata={"description": "Compare with the category's dedup_group in /sync/config"}
    )
    lat = ma.fields.Float(metadata={"description": "The case's place rounded to 0.0001 degree"})
    lon = ma.fields.Float(metadata={"description": "Rounded to 0.0001 degree"})
    first_at = ma.fields.AwareDateTime()
    last_at = ma.fields.AwareDateTime()
    report_count = ma.fields.Integer()
    has_photo = ma.fields.Boolean()


class ChangeSchema(ma.Schema):
    id = ma.fields.String(attribute="subject", metadata={"description": "The item's id"})
    type = ma.fields.String(metadata={"description": "report | contact | presence | reference"})
    status = ma.fields.String()
    at = ma.fields.AwareDateTime()
    note = ma.fields.String(allow_none=True)
    data = ma.fields.Dict(metadata={"description": "e.g. case_id, organisation, version"})


class PullSchema(ma.Schema):
    changes = ma.fields.List(ma.fields.Nested(ChangeSchema))
    cursor = ma.fields.String()
    has_more = ma.fields.Boolean()
    nearby_cases = ma.fields.List(
        ma.fields.Nested(ZoneCaseSchema),
        metadata={
            "description": "Only with nearby_zone: that zone's open cases now, the most "
            "recently reported first, at most 50 (a snapshot, not part of the cursor); the "
            "phone shows those of the report's dedup group within twice the category's radius"
        },
    )


class ZoneSummarySchema(ma.Schema):
    slug = ma.fields.String()
    name = ma.fields.String()
    version = ma.fields.Integer()
    geometry = ma.fields.Dict()


class ContactVocabularySchema(ma.Schema):
    contact_types = ma.fields.List(ma.fields.String())
    age_groups = ma.fields.List(ma.fields.String())
    needs = ma.fields.List(ma.fields.String())
    referrals = ma.fields.List(ma.fields.String())


class AreaSchema(ma.Schema):
    south = ma.fields.Float(metadata={"description": "Degrees north (WGS 84)"})
    west = ma.fields.Float(metadata={"description": "Degrees east"})
    north = ma.fields.Float()
    east = ma.fields.Float()


def _dedup(category: Any) -> DedupSettings:
    return DedupSettings.from_category(category.code, category.settings or {})


class SyncCategorySchema(CategorySchema):
    """A category with what the phone needs to ask "is it one of these?" offline."""

    dedup_group = ma.fields.Function(
        lambda c: _dedup(c).group,
        metadata={"description": "Reports merge only with cases of the same group"},
    )
    dedup_radius_m = ma.fields.Function(
        lambda c: _dedup(c).radius_m,
        metadata={
            "description": "Show the pull's nearby_cases of the group within twice this; "
            "case_hint.same_as reaches three times this"
        },
    )


class SyncConfigSchema(ma.Schema):
    protocol_version = ma.fields.Integer()
    supported_protocol_versions = ma.fields.List(ma.fields.Integer())
    server_time = ma.fields.AwareDateTime()
    limits = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    rate_limits = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        metadata={"description": "Requests per minute per token (push, upload); 0: no limit"},
    )
    service_area = ma.fields.Nested(
        AreaSchema,
        metadata={
            "description": "Items located outside this box are rejected (outside_service_area)"
        },
    )
    photo_content_types = ma.fields.List(ma.fields.String())
    categories = ma.fields.List(ma.fields.Nested(SyncCategorySchema))
    zones = ma.fields.List(ma.fields.Nested(ZoneSummarySchema))
    contact = ma.fields.Nested(ContactVocabularySchema)
    presence_events = ma.fields.List(ma.fields.String())
