"""Sync routes under /api/v1/sync: push, pull and the phones' config."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response, current_app
from flask.views import MethodView

from backend.api import Blueprint
from backend.auth import auth, current_user
from backend.cases import nearby
from backend.extensions import db
from backend.feed import services as feed
from backend.ratelimit import PUSH, rate_limited
from backend.sync import advertised, services
from backend.sync.schemas import (
    PullArgsSchema,
    PullSchema,
    PushResultSchema,
    PushSchema,
    SyncConfigSchema,
)

blp = Blueprint(
    "sync", __name__, url_prefix="/api/v1/sync", description="The phones' offline sync protocol."
)


def _settings() -> services.SyncSettings:
    return services.SyncSettings.from_config(current_app.config)


@blp.route("/push")
class Push(MethodView):
    @auth(blp, "field")
    @rate_limited(blp, PUSH)
    @blp.arguments(PushSchema)
    @blp.response(200, PushResultSchema)
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self, body: dict[str, Any]) -> Response:
        """Push a batch of offline items; one result per item, stored exactly once"""
        batch = services.Batch(**body)
        result = services.push(db.session(), current_user(), batch, _settings())
        # The result's dataclasses, UUIDs and aware datetimes serialise as PushResultSchema
        # dumps them (tests/api/test_push_json.py compares the two), without marshmallow's
        # field-by-field dump: nothing there needs validating.
        return Response(orjson.dumps(result), mimetype="application/json")


@blp.route("/pull")
class Pull(MethodView):
    @auth(blp, "field")
    @blp.arguments(PullArgsSchema, location="query")
    @blp.response(200, PullSchema)
    @blp.alt_response(400, response="BAD_REQUEST")
    def get(self, args: dict[str, Any]) -> feed.Page | dict[str, Any]:
        """Status changes of your items and reference data updates since the cursor"""
        config = current_app.config
        limit = min(
            args["limit"] or config["SYNC_PULL_DEFAULT_LIMIT"], config["SYNC_PULL_MAX_LIMIT"]
        )
        page = feed.pull(db.session(), current_user().id, args["cursor"], limit)
        if args["nearby_zone"] is None:
            return page
        # Additive: without nearby_zone the answer is exactly what it was.
        return vars(page) | {"nearby_cases": nearby.in_zone(db.session(), args["nearby_zone"])}


@blp.route("/config")
class Config(MethodView):
    @auth(blp)
    @blp.response(200, SyncConfigSchema)
    def get(self) -> dict[str, Any]:
        """Limits, reference data, protocol version and server time for the phone app"""
        return advertised.sync_config(db.session(), _settings(), current_app.config)
