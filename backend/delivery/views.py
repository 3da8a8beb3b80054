"""Delivery routes under /api/v1/admin/deliveries: the admins' list, one delivery, retry."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView

from backend import pagination
from backend.api import Blueprint
from backend.auth import auth
from backend.delivery import services
from backend.delivery.models import Delivery
from backend.delivery.schemas import DeliveryPageSchema, DeliveryQuerySchema, DeliverySchema
from backend.errors import ErrorSchema
from backend.extensions import db

blp = Blueprint(
    "deliveries",
    __name__,
    url_prefix="/api/v1/admin/deliveries",
    description="Deliveries of tasks to organisations (admin only): failures and retries.",
)


@blp.route("")
class Deliveries(MethodView):
    @auth(blp, "admin")
    @blp.arguments(DeliveryQuerySchema, location="query")
    @blp.response(200, DeliveryPageSchema)
    @blp.alt_response(400, **pagination.CURSOR_ERROR)
    @blp.alt_response(422, schema=ErrorSchema, description="validation_error, unknown_organisation")
    def get(self, query: dict[str, Any]) -> pagination.Page[Delivery]:
        """List deliveries, newest first; ?status=failed for the ones that gave up"""
        return services.list_deliveries(db.session(), **query)


@blp.route("/<uuid:delivery_id>")
class DeliveryById(MethodView):
    @auth(blp, "admin")
    @blp.response(200, DeliverySchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, delivery_id: uuid.UUID) -> Delivery:
        """Get one delivery"""
        return services.get_delivery(db.session(), delivery_id)


@blp.route("/<uuid:delivery_id>/retry")
class RetryDelivery(MethodView):
    @auth(blp, "admin")
    @blp.response(200, DeliverySchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, delivery_id: uuid.UUID) -> Delivery:
        """Retry a failed delivery: a fresh round of attempts on the current channel"""
        return services.retry_delivery(db.session(), delivery_id)
