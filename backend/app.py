"""The application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

import backend.models  # noqa: F401  (every table known to Alembic and the ORM)
from backend import config as config_module
from backend import console
from backend.api import DOCS_STATIC, Api, register_converters, serve_docs_assets
from backend.cases.views import blp as cases
from backend.cli import register_cli
from backend.contacts.views import audit_blp as audit
from backend.contacts.views import blp as contacts
from backend.database import configure_sqlite, set_begin_mode
from backend.delivery.views import blp as deliveries
from backend.extensions import db, migrate, redis
from backend.health.views import blp as health
from backend.open311.views import register as register_open311
from backend.organisations.views import blp as organisations
from backend.photos.tus_views import uploads_blp as uploads
from backend.photos.views import blp as photos
from backend.presence.views import blp as presence
from backend.reference.views import blp as reference
from backend.routing.views import blp as rules
from backend.stats.views import blp as stats
from backend.sync.views import blp as sync
from backend.tasks.views import blp as tasks
from backend.users.views import blp as users
from backend.users.views import directory_blp, me_blp

API_TITLE = "Samverkan Field"
API_VERSION = "1.0.0"
MIGRATIONS = str(Path(__file__).parent / "migrations")


def _openapi_settings() -> dict[str, Any]:
    return {
        "API_TITLE": API_TITLE,
        "API_VERSION": API_VERSION,
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        # Swagger UI from the pinned swagger-ui-bundle package, served by this service: the docs
        # work on a city network without Internet access. No validator badge (it calls out).
        "OPENAPI_SWAGGER_UI_URL": DOCS_STATIC,
        "OPENAPI_SWAGGER_UI_CONFIG": {"validatorUrl": None},
        "API_SPEC_OPTIONS": {
            "info": {
                "description": (
                    "Field reports, photos, cases and presence around Sergels Torg. "
                    "Every error has the shape {status, code, message, errors}. "
                    "No string (in a body or a query) may contain a NUL character or a lone "
                    "UTF-16 surrogate: neither can be stored, and either is 422 naming the "
                    "field (in a pushed item: that item is rejected). A query parameter an "
                    "operation does not list is 422 unknown_parameter."
                )
            },
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer"},
                }
            },
        },
    }


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(config_module.INSTANCE))
    app.config.update(config_module.from_env())
    app.config.update(_openapi_settings())
    app.config.update(config or {})
    app.json.sort_keys = False  # type: ignore[attr-defined]
    # Swedish names stay readable in responses.
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///") :]).parent.mkdir(
            parents=True, exist_ok=True
        )
    configure_sqlite(app.config["SQLITE_BUSY_TIMEOUT_MS"])

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS, compare_type=True, render_as_batch=True)
    redis.init_app(app)
    api = Api(app)
    register_converters(app, api)
    _register_blueprints(api)
    serve_docs_assets(app)
    # GeoReport v2 is its own contract (formats, key, error document): outside the OpenAPI one.

    register_open311(app)
    console.init_app(app)
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    @app.before_request
    def _reads_do_not_lock() -> None:
        set_begin_mode(read_only=request.method in ("GET", "HEAD", "OPTIONS"))

    @app.after_request
    def _nosniff(response: Response) -> Response:
        # Every answer, errors, photos, docs and console pages included: a browser never
        # guesses a type other than the one sent (a JSON error rendered as HTML, say).
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    register_cli(app)
    return app


def _register_blueprints(api: Api) -> None:

    for blueprint in (
        health,
        me_blp,
        reference,
        organisations,
        users,
        directory_blp,
        sync,
        photos,
        uploads,
        deliveries,
        cases,
        presence,
        contacts,
        audit,
        tasks,
        rules,
        stats,
    ):
        api.register_blueprint(blueprint)
