"""The delivery API's shapes: a delivery, a page of them and the list query."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend import pagination
from backend.delivery.models import STATUSES
from backend.organisations.schemas import CHANNELS, SLUG

# A page of deliveries is for a person reading an admin screen; 200 rows is more than one
# screen and still a small response.
MAX_PAGE = 200


class DeliverySchema(ma.Schema):
    id = ma.fields.UUID(
        dump_only=True, metadata={"description": "Also the RQ job id and the webhook-id"}
    )
    organisation = ma.fields.Function(
        lambda d: d.organisation.slug, metadata={"type": "string", "description": "Slug"}
    )
    channel = ma.fields.String(validate=validate.OneOf(CHANNELS))
    event_type = ma.fields.String()
    subject_type = ma.fields.String()
    subject_id = ma.fields.UUID()
    status = ma.fields.String(validate=validate.OneOf(STATUSES))
    attempts = ma.fields.Integer()
    last_error = ma.fields.String(allow_none=True)
    next_attempt_at = ma.fields.DateTime(allow_none=True)
    enqueued_at = ma.fields.DateTime(allow_none=True)
    delivered_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class DeliveryPageSchema(pagination.PageSchema):
    items = ma.fields.List(ma.fields.Nested(DeliverySchema))


class DeliveryQuerySchema(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf(STATUSES))
    organisation = ma.fields.String(
        validate=SLUG, metadata={"description": "Only this organisation's (a slug)"}
    )
    cursor = pagination.cursor_field()
    limit = pagination.limit_field(50, MAX_PAGE)
