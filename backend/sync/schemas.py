from __future__ import annotations

import marshmallow as ma

from backend.reference.schemas import CategorySchema
from sync import envelope

ITEMS_DESCRIPTION = (
    "Items queued on the phone, each an object with `type` report | contact | presence, `id` "
    "(a UUID made on the phone), `captured_at` (ISO 8601 with offset) and `location` "
    "{lat, lon, accuracy_m}. Report: `kind`, `category`, `note`, `photos` [{sha256, size, "
    "content_type}]. Contact: `contact_type`, `age_group`, `needs`, `referral` only (no names, "
    "no text, no photos). Presence: `event`, optional `zone`. Items are checked one by one: "
    "a bad item is `rejected` in its result and never fails the batch."
)


class PushSchema(ma.Schema):
    device_id = ma.fields.String(required=True, validate=ma.validate.Length(1, 64))
    app_version = ma.fields.String(required=True, validate=ma.validate.Length(1, 32))
    sent_at = ma.fields.AwareDateTime(
        required=True, metadata={"description": "The device clock when the batch was sent"}
    )
    protocol_version = ma.fields.Integer(
        load_default=envelope.PROTOCOL_VERSION,
        metadata={"description": "Sync protocol version; 400 unsupported_protocol_version"},
    )
    items = ma.fields.List(
        ma.fields.Raw(), required=True, metadata={"description": ITEMS_DESCRIPTION}
    )


class ItemResultSchema(ma.Schema):
    id = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"description": "created | duplicate | conflict | rejected"})
    code = ma.fields.String(allow_none=True)
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


class PushResultSchema(ma.Schema):
    server_time = ma.fields.AwareDateTime()
    clock_skew_s = ma.fields.Float(metadata={"description": "Server time minus sent_at"})
    results = ma.fields.List(ma.fields.Nested(ItemResultSchema))


class PullArgsSchema(ma.Schema):
    cursor = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))
    limit = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1))


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
    photo_content_types = ma.fields.List(ma.fields.String())
    categories = ma.fields.List(ma.fields.Nested(CategorySchema))
    zones = ma.fields.List(ma.fields.Nested(ZoneSummarySchema))
    contact = ma.fields.Nested(ContactVocabularySchema)
    presence_events = ma.fields.List(ma.fields.String())
