"""Contact routes: aggregates for supervisors, audited individual reads, the admin audit log.

There is no route that changes or deletes a contact or an audit row.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app
from flask.views import MethodView

from backend import pagination, roles
from backend.api import Blueprint
from backend.auth import auth, current_user
from backend.contacts import services
from backend.contacts.models import ContactRead
from backend.contacts.schemas import (
    AggregateArgsSchema,
    AggregatesSchema,
    AuditArgsSchema,
    AuditPageSchema,
    ContactQuerySchema,
    ContactSchema,
)
from backend.database import utcnow
from backend.errors import documented_error
from backend.extensions import db

blp = Blueprint(
    "contacts",
    __name__,
    url_prefix="/api/v1/contacts",
    description=(
        "Social-prevention contacts: counts for supervisors; an individual contact only for its "
        "author and the organisation it was referred to, every read audited."
    ),
)
audit_blp = Blueprint(
    "audit",
    __name__,
    url_prefix="/api/v1/admin/audit",
    description="The append-only log of reads of individual contacts (admins).",
)


@blp.route("/aggregates")
class Aggregates(MethodView):
    @auth(blp, *roles.SEES_ALL)
    @blp.arguments(AggregateArgsSchema, location="query")
    @blp.response(200, AggregatesSchema)
    @blp.alt_response(
        422,
        **documented_error(
            "validation_error, unknown_zone, range_reversed, range_too_long, "
            "range_spans_years (the range's weeks lie in two ISO years)"
        ),
    )
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Contact counts of a week, month, quarter or year, rounded down to base 5"""
        config = current_app.config
        return services.aggregates(
            db.session(),
            args["from_"],
            args["to"],
            zone=args.get("zone"),
            max_days=config["CONTACT_AGGREGATE_MAX_DAYS"],
            base=config["CONTACT_AGGREGATE_ROUNDING_BASE"],
        )


@blp.route("/<uuid:contact_id>")
class ContactItem(MethodView):
    @auth(blp)
    @blp.arguments(ContactQuerySchema, location="query")
    @blp.response(200, ContactSchema)
    @blp.alt_response(404, **documented_error("contact_not_found (also when not yours to read)"))
    @blp.alt_response(
        422,
        **documented_error(
            "reason_required, reason_not_allowed (own_record is the author's, referral_intake "
            "the referred organisation's; errors.reason lists yours), validation_error"
        ),
    )
    def get(self, args: dict[str, Any], contact_id: uuid.UUID) -> dict[str, Any]:
        """One contact, for its author or the organisation it was referred to; audited"""
        return services.read_contact(
            db.session(), current_user(), contact_id, args.get("reason"), utcnow()
        )


@audit_blp.route("")
class Audit(MethodView):
    @auth(audit_blp, "admin")
    @audit_blp.arguments(AuditArgsSchema, location="query")
    @audit_blp.response(200, AuditPageSchema)
    @audit_blp.alt_response(400, **pagination.CURSOR_ERROR)
    def get(self, args: dict[str, Any]) -> pagination.Page[ContactRead]:
        """Reads of individual contacts, oldest first, by cursor"""
        return services.audit_page(
            db.session(),
            cursor=args.get("cursor"),
            limit=args["limit"],
            contact_id=args.get("contact_id"),
            reader_id=args.get("reader_id"),
            since=args.get("since"),
            until=args.get("until"),
        )
