from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

SLUG = validate.Regexp(r"^[a-z0-9][a-z0-9-]{0,63}$", error="lowercase letters, digits and '-'")
CHANNELS = ("inbox", "webhook", "email")


class OrganisationSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    slug = ma.fields.String(required=True, validate=SLUG)
    name = ma.fields.String(required=True, validate=validate.Length(1, 200))
    channel = ma.fields.String(load_default="inbox", validate=validate.OneOf(CHANNELS))
    active = ma.fields.Boolean(load_default=True)
    created_at = ma.fields.DateTime(dump_only=True)


class OrganisationUpdateSchema(ma.Schema):
    name = ma.fields.String(validate=validate.Length(1, 200))
    channel = ma.fields.String(validate=validate.OneOf(CHANNELS))
    active = ma.fields.Boolean()
