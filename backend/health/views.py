"""/healthz (the process answers) and /readyz (database, Redis and the photo store reachable)."""

from __future__ import annotations

import logging
from typing import Any

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from sqlalchemy import text

from backend.api import Blueprint
from backend.errors import ServiceUnavailable
from backend.extensions import db, redis
from backend.photos.store import storage_from
from media.errors import StorageUnavailable

log = logging.getLogger(__name__)

blp = Blueprint("health", __name__, description="Liveness and readiness for load balancers.")


class HealthSchema(ma.Schema):
    status = ma.fields.String()
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())


@blp.route("/healthz")
class Healthz(MethodView):
    @blp.response(200, HealthSchema)
    def get(self) -> dict[str, Any]:
        """The process is alive"""
        return {"status": "ok", "checks": {}}


def readiness() -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not ready"
        checks["database"] = f"error: {type(exc).__name__}"
    finally:
        db.session.rollback()
    try:
        redis.client.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    try:
        storage_from(current_app.config).check()
        checks["storage"] = "ok"
    except StorageUnavailable as exc:
        # A missing bucket or refused credentials show here (the reason) and in the log (with
        # bucket and endpoint, which an unauthenticated caller need not learn).
        log.error("readiness: photo storage: %s", exc.message)
        checks["storage"] = f"error: {exc.reason}"
    return checks


@blp.route("/readyz")
class Readyz(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def get(self) -> dict[str, Any]:
        """The database, Redis and the photo store are reachable"""
        checks = readiness()
        if any(value != "ok" for value in checks.values()):
            raise ServiceUnavailable(
                "Not ready: " + ", ".join(f"{k} {v}" for k, v in checks.items() if v != "ok"),
                code="not_ready",
                errors={k: [v] for k, v in checks.items() if v != "ok"},
            )
        return {"status": "ok", "checks": checks}
