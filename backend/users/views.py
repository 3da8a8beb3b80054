"""User routes: /api/v1/admin/users (accounts and tokens, admins only) and /api/v1/me."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView

from backend import pagination, roles
from backend.api import Blueprint
from backend.auth import auth, current_user
from backend.errors import ErrorSchema
from backend.extensions import db
from backend.users import services
from backend.users.models import ApiToken, User
from backend.users.schemas import (
    DirectoryPageSchema,
    NewTokenSchema,
    RevokedSchema,
    TokenSchema,
    UserPageSchema,
    UserQuerySchema,
    UserSchema,
    UserUpdateSchema,
    UserWithTokenSchema,
)

blp = Blueprint(
    "users",
    __name__,
    url_prefix="/api/v1/admin/users",
    description="Users and their API tokens (admin only).",
)
me_blp = Blueprint("me", __name__, url_prefix="/api/v1/me", description="The caller.")
directory_blp = Blueprint(
    "directory",
    __name__,
    url_prefix="/api/v1/users",
    description="Who the users are (supervisors, admins): names, roles and organisations for "
    "the worker ids in logs and histories. Read-only.",
)

FILTER_ERROR = {"schema": ErrorSchema, "description": "validation_error, unknown_organisation"}


@blp.route("")
class Users(MethodView):
    @auth(blp, "admin")
    @blp.arguments(UserQuerySchema, location="query")
    @blp.response(200, UserPageSchema)
    @blp.alt_response(400, **pagination.CURSOR_ERROR)
    @blp.alt_response(422, **FILTER_ERROR)
    def get(self, query: dict[str, Any]) -> pagination.Page[User]:
        """List users, oldest first, optionally by role or organisation"""
        return services.user_page(db.session(), **query)

    @auth(blp, "admin")
    @blp.arguments(UserSchema)
    @blp.response(201, UserWithTokenSchema)
    @blp.alt_response(422, **FILTER_ERROR)
    def post(self, data: dict[str, Any]) -> User:
        """Create a user and their first token (shown once)"""
        user, token = services.create_user(db.session(), **data)
        user.issued_token = token  # dumped once as "token", never stored
        return user


@blp.route("/<uuid:user_id>")
class UserById(MethodView):
    @auth(blp, "admin")
    @blp.response(200, UserSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, user_id: uuid.UUID) -> User:
        """Get one user"""
        return services.get_user(db.session(), user_id)

    @auth(blp, "admin")
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(422, **FILTER_ERROR)
    def patch(self, data: dict[str, Any], user_id: uuid.UUID) -> User:
        """Change a user's name, role, organisation or active flag"""
        return services.update_user(db.session(), user_id, **data)


@blp.route("/<uuid:user_id>/tokens")
class Tokens(MethodView):
    @auth(blp, "admin")
    @blp.response(200, TokenSchema(many=True))
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, user_id: uuid.UUID) -> list[ApiToken]:
        """List a user's tokens (never the tokens themselves)"""
        return services.list_tokens(db.session(), user_id)

    @auth(blp, "admin")
    @blp.arguments(TokenSchema)
    @blp.response(201, NewTokenSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, data: dict[str, Any], user_id: uuid.UUID) -> ApiToken:
        """Issue a new token for a user (shown once)"""
        row, token = services.new_token_for(db.session(), user_id, data.get("label", ""))
        row.issued_token = token  # dumped once as "token", never stored
        return row


@blp.route("/<uuid:user_id>/tokens/revoke")
class RevokeAll(MethodView):
    @auth(blp, "admin")
    @blp.response(200, RevokedSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, user_id: uuid.UUID) -> dict[str, int]:
        """Revoke every token of a user"""
        return {"revoked": services.revoke_user_tokens(db.session(), user_id)}


@blp.route("/<uuid:user_id>/tokens/<uuid:token_id>")
class TokenById(MethodView):
    @auth(blp, "admin")
    @blp.response(200, TokenSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self, user_id: uuid.UUID, token_id: uuid.UUID) -> ApiToken:
        """Revoke one token"""
        return services.revoke_token(db.session(), user_id, token_id)


@directory_blp.route("")
class Directory(MethodView):
    @auth(directory_blp, *roles.SEES_ALL)
    @directory_blp.arguments(UserQuerySchema, location="query")
    @directory_blp.response(200, DirectoryPageSchema)
    @directory_blp.alt_response(400, **pagination.CURSOR_ERROR)
    @directory_blp.alt_response(422, **FILTER_ERROR)
    def get(self, query: dict[str, Any]) -> pagination.Page[User]:
        """List users (id, name, role, organisation, active), oldest first"""
        return services.user_page(db.session(), **query)


@me_blp.route("")
class Me(MethodView):
    @auth(me_blp)
    @me_blp.response(200, UserSchema)
    def get(self) -> User:
        """Who the token belongs to"""
        return current_user()
