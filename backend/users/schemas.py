"""The user API's shapes: a user, its update and query, tokens issued and revoked."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend import pagination
from backend.organisations.schemas import SLUG
from backend.roles import ROLES


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


MAX_PAGE = 200
"""A page of users is an admin's or a supervisor's screen; the partnership has a few hundred
users in all."""


class UserQuerySchema(ma.Schema):
    role = ma.fields.String(validate=validate.OneOf(ROLES))
    organisation = ma.fields.String(
        validate=SLUG,
        metadata={"description": "Only this organisation's users (a slug; another is 422)"},
    )
    cursor = pagination.cursor_field()
    limit = pagination.limit_field(50, MAX_PAGE)


class UserPageSchema(pagination.PageSchema):
    items = ma.fields.List(ma.fields.Nested(UserSchema))


class DirectoryUserSchema(ma.Schema):
    """A user as the directory shows them: who a worker id in a log is. No e-mail address, no
    tokens, nothing to sign in with."""

    id = ma.fields.UUID()
    name = ma.fields.String()
    role = ma.fields.String(validate=validate.OneOf(ROLES))
    organisation = ma.fields.Function(
        lambda user: user.organisation.slug,
        metadata={"type": "string", "description": "Organisation slug"},
    )
    active = ma.fields.Boolean()


class DirectoryPageSchema(pagination.PageSchema):
    items = ma.fields.List(ma.fields.Nested(DirectoryUserSchema))


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
