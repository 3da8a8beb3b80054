"""The user API's shapes: a user, its update and query, tokens issued and revoked."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend.organisations.schemas import SLUG
from backend.users.models import ROLES


def _slug_in(value: object) -> str:
    if not isinstance(value, str):
        # validate=SLUG would meet the dict or list itself (a TypeError, once a 500).
        raise ma.ValidationError("Not a valid string.")
    return value


class UserSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    name = ma.fields.String(required=True, validate=validate.Length(1, 200))
    role = ma.fields.String(required=True, validate=validate.OneOf(ROLES))
    organisation = ma.fields.Function(
        lambda user: user.organisation.slug,
        deserialize=_slug_in,
        validate=SLUG,
        metadata={"type": "string", "description": "Organisation slug"},
    )
    active = ma.fields.Boolean(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)


class UserUpdateSchema(ma.Schema):
    name = ma.fields.String(validate=validate.Length(1, 200))
    role = ma.fields.String(validate=validate.OneOf(ROLES))
    organisation = ma.fields.String(validate=SLUG)
    active = ma.fields.Boolean()


class UserQuerySchema(ma.Schema):
    role = ma.fields.String(validate=validate.OneOf(ROLES))
    organisation = ma.fields.String(validate=SLUG)


class TokenSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    prefix = ma.fields.String(dump_only=True, metadata={"description": "First characters"})
    label = ma.fields.String(load_default="", validate=validate.Length(0, 100))
    created_at = ma.fields.DateTime(dump_only=True)
    revoked_at = ma.fields.DateTime(dump_only=True, allow_none=True)


class NewTokenSchema(TokenSchema):
    token = ma.fields.String(
        attribute="issued_token",
        dump_only=True,
        metadata={"description": "The token itself; shown only this once"},
    )


class UserWithTokenSchema(UserSchema):
    token = ma.fields.String(
        attribute="issued_token",
        dump_only=True,
        metadata={"description": "The user's first token; shown only this once"},
    )


class RevokedSchema(ma.Schema):
    revoked = ma.fields.Integer(metadata={"description": "How many live tokens were revoked"})
