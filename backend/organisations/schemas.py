"""The organisation API's shapes, with the channel settings and their checks."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from backend import pagination
from backend.delivery.webhook import secret_key
from backend.fields import Pattern

SLUG = Pattern(r"^[a-z0-9][a-z0-9-]{0,63}$", error="lowercase letters, digits and '-'")
CHANNELS = ("inbox", "webhook", "email")
# No credentials in the URL (the signature authenticates us), a plain host name or IP literal,
# optional port and path. Whether http is allowed depends on WEBHOOK_ALLOWED_HOSTS.
WEBHOOK_URL = Pattern(
    r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$",
    error="an http(s) URL with a host name, optional port and path, no credentials",
)
# Standard Webhooks: "whsec_" and the base64 of a 24 to 64 byte key (8 to 21 groups of four).
WEBHOOK_SECRET = Pattern(
    r"^whsec_([A-Za-z0-9+/]{4}){8,20}([A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)?$",
    error="whsec_ followed by the base64 of a 24 to 64 byte key",
)


def _valid_secret(value: str | None) -> None:
    if value is None:
        return
    try:
        secret_key(value)
    except ValueError as exc:
        raise ma.ValidationError(f"not a Standard Webhooks secret: {exc}") from exc


class ChannelSettingsSchema(ma.Schema):
    """What the webhook and email channels need; the secret goes in and never comes out."""

    webhook_url = ma.fields.String(
        allow_none=True,
        validate=[validate.Length(max=2000), WEBHOOK_URL],
        metadata={
            "description": "Where the webhook channel POSTs: https, or a host in "
            "WEBHOOK_ALLOWED_HOSTS"
        },
    )
    webhook_secret = ma.fields.String(
        load_only=True,
        allow_none=True,
        validate=[WEBHOOK_SECRET, _valid_secret],
        metadata={
            "description": "Signing secret 'whsec_<base64 of 24-64 bytes>' (Standard Webhooks); "
            "write-only, never returned"
        },
    )
    email = ma.fields.Email(
        allow_none=True,
        validate=validate.Length(max=320),
        metadata={"description": "Where the email channel sends its notices"},
    )


def _secret_set(org: Any) -> bool:
    return bool(org.webhook_secret)


class OrganisationSchema(ChannelSettingsSchema):
    id = ma.fields.UUID(dump_only=True)
    slug = ma.fields.String(required=True, validate=SLUG)
    name = ma.fields.String(required=True, validate=validate.Length(1, 200))
    channel = ma.fields.String(load_default="inbox", validate=validate.OneOf(CHANNELS))
    active = ma.fields.Boolean(load_default=True)
    webhook_secret_set = ma.fields.Function(
        _secret_set,
        dump_only=True,
        metadata={"type": "boolean", "description": "Whether a webhook secret is stored"},
    )
    created_at = ma.fields.DateTime(dump_only=True)


class OrganisationUpdateSchema(ChannelSettingsSchema):
    name = ma.fields.String(validate=validate.Length(1, 200))
    channel = ma.fields.String(validate=validate.OneOf(CHANNELS))
    active = ma.fields.Boolean()


class OrganisationQuerySchema(pagination.PageQuerySchema):
    """``cursor`` and ``limit`` (1-200, default 50)."""


class OrganisationPageSchema(pagination.PageSchema):
    items = ma.fields.List(ma.fields.Nested(OrganisationSchema))
