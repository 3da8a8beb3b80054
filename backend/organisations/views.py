"""Organisation routes under /api/v1/admin/organisations (admins only)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView

from backend import pagination
from backend.api import Blueprint
from backend.auth import auth
from backend.extensions import db
from backend.organisations import services
from backend.organisations.models import Organisation
from backend.organisations.schemas import (
    OrganisationPageSchema,
    OrganisationQuerySchema,
    OrganisationSchema,
    OrganisationUpdateSchema,
)

blp = Blueprint(
    "organisations",
    __name__,
    url_prefix="/api/v1/admin/organisations",
    description="Organisations (admin only): the förvaltningar and the partnership.",
)


def _allowed_hosts() -> tuple[str, ...]:
    return tuple(current_app.config["WEBHOOK_ALLOWED_HOSTS"])


@blp.route("")
class Organisations(MethodView):
    @auth(blp, "admin")
    @blp.arguments(OrganisationQuerySchema, location="query")
    @blp.response(200, OrganisationPageSchema)
    @blp.alt_response(400, **pagination.CURSOR_ERROR)
    def get(self, query: dict[str, Any]) -> pagination.Page[Organisation]:
        """List organisations by slug"""
        return services.organisation_page(db.session(), **query)

    @auth(blp, "admin")
    @blp.arguments(OrganisationSchema)
    @blp.response(201, OrganisationSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data: dict[str, Any]) -> Organisation:
        """Create an organisation"""
        return services.create_organisation(
            db.session(), webhook_allowed_hosts=_allowed_hosts(), **data
        )


@blp.route("/<slug:slug>")
class OrganisationBySlug(MethodView):
    @auth(blp, "admin")
    @blp.response(200, OrganisationSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, slug: str) -> Organisation:
        """Get one organisation"""
        return services.get_by_slug(db.session(), slug)

    @auth(blp, "admin")
    @blp.arguments(OrganisationUpdateSchema)
    @blp.response(200, OrganisationSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def patch(self, data: dict[str, Any], slug: str) -> Organisation:
        """Change an organisation's name, channel, channel settings or active flag"""
        return services.update_organisation(
            db.session(), slug, webhook_allowed_hosts=_allowed_hosts(), **data
        )
