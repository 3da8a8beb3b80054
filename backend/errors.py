"""Domain errors, and the one place where every error becomes an HTTP response.

Every error body has the same shape, 404, 405, 413 and 500 included::

    {"status": 404, "code": "not_found", "message": "...", "errors": {"field": ["..."]}}

A client acts on ``code``; ``message`` is for people; ``errors`` names the fields at fault.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

import marshmallow as ma
from flask import Flask, Response, current_app, has_request_context, jsonify, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from media.errors import StorageUnavailable

log = logging.getLogger(__name__)


class ErrorSchema(ma.Schema):
    """The one error shape (documented once, used by every route)."""

    status = ma.fields.Integer(required=True, metadata={"description": "HTTP status"})
    code = ma.fields.String(required=True, metadata={"description": "Machine-readable error code"})
    message = ma.fields.String(required=True, metadata={"description": "For people"})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        metadata={"description": "Field errors: field name to a list of messages"},
    )


def documented_error(description: str) -> dict[str, Any]:
    """The keyword arguments of a ``blp.alt_response`` answering with the one error shape."""
    return {"schema": ErrorSchema, "description": description}


class DomainError(Exception):
    """Base of every error the service raises on purpose."""

    status = 400
    code = "bad_request"
    message = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        if code is not None:
            self.code = code
        self.errors = errors or {}
        self.headers = headers or {}


class BadRequest(DomainError):
    status = 400
    code = "bad_request"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    message = "A valid API token is required: send 'Authorization: Bearer <token>'."


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    message = "Your role may not do this."


class NotFound(DomainError):
    status = 404
    code = "not_found"
    message = "Not found."


class Conflict(DomainError):
    status = 409
    code = "conflict"
    message = "The request conflicts with the current state."


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"
    message = "The request is larger than this service accepts."


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


class Unprocessable(DomainError):
    status = 422
    code = "validation_error"
    message = "The request body or parameters are invalid."


class TooManyRequests(DomainError):
    status = 429
    code = "rate_limited"
    message = "Too many requests; retry after the time in Retry-After."


class ServiceUnavailable(DomainError):
    status = 503
    code = "unavailable"
    message = "A dependency of the service is unavailable."


# Codes for HTTP errors raised by Flask/Werkzeug rather than by our code.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    411: "length_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


ErrorRenderer = Callable[[int, str, str, dict[str, Any]], Response]
"""Renders an error for a protocol with an error document of its own (Open311)."""


def render_errors_under(app: Flask, prefix: str, renderer: ErrorRenderer) -> None:
    """Every error answered under the path ``prefix`` is rendered by ``renderer`` instead:
    404, 405, 413, 429 and 500 there are in that protocol's format too."""
    app.extensions.setdefault("error_renderers", []).append((prefix, renderer))


def _renderer() -> ErrorRenderer | None:
    if not has_request_context():
        return None
    for prefix, renderer in current_app.extensions.get("error_renderers", []):
        if request.path.startswith(prefix):
            return cast(ErrorRenderer, renderer)
    return None


def error_response(
    status: int,
    code: str,
    message: str,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    renderer = _renderer()
    if renderer is not None:
        response = renderer(status, code, message, errors or {})
    else:
        response = jsonify(
            {"status": status, "code": code, "message": message, "errors": errors or {}}
        )
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _flatten_webargs(messages: Any) -> dict[str, Any]:
    """webargs nests errors by location ({"json": {...}, "query": {...}}); clients want fields."""
    if not isinstance(messages, dict):
        return {"_schema": messages if isinstance(messages, list) else [str(messages)]}
    flat: dict[str, Any] = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    code = HTTP_CODES.get(status, "http_error")
    message = error.description or error.name
    errors: dict[str, Any] = {}
    headers: dict[str, str] = {}
    data = getattr(error, "data", None) or {}
    if "messages" in data:
        errors = _flatten_webargs(data["messages"])
        message = "The request body or parameters are invalid."
        if status == 400 and errors.get("json") == ["Invalid JSON body."]:
            code, message = "invalid_json", "The body is not valid JSON."
    if "errors" in data:
        errors = data["errors"]
    if "message" in data:
        message = data["message"]
    if "code" in data:
        code = data["code"]
    headers.update(data.get("headers") or {})
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    if status >= 500:
        message = "Internal error; it has been logged."
    return error_response(status, code, message, errors, headers)


def handle_domain_error(error: DomainError) -> Response:
    return error_response(error.status, error.code, error.message, error.errors, error.headers)


def handle_database_unavailable(error: Exception) -> Response:
    log.warning("database unavailable: %s", type(error).__name__)
    return error_response(
        503,
        "database_unavailable",
        "The database is busy or unreachable; nothing was changed. Retry shortly.",
        headers={"Retry-After": "2"},
    )


STORAGE_RETRY_AFTER = {"transient": "5", "config_error": "60"}
"""Seconds a client waits after 503 storage_unavailable: an unreachable store is usually a
restart or a network blip; a missing bucket or refused credentials wait for an operator."""


def handle_storage_unavailable(error: StorageUnavailable) -> Response:
    kind = "config_error" if error.config_error else "transient"
    if error.config_error:
        log.error("photo storage misconfigured: %s", error.message)
    else:
        log.warning("photo storage unavailable: %s", error.message)
    return error_response(
        503,
        "storage_unavailable",
        "The photo store is unavailable; nothing was stored. Retry after Retry-After.",
        errors={"storage": [error.reason]},
        headers={"Retry-After": STORAGE_RETRY_AFTER[kind]},
    )


def handle_unexpected(error: Exception) -> Response:
    log.exception("unhandled error", exc_info=error)
    return error_response(500, "internal_error", "Internal error; it has been logged.")


def register(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(StorageUnavailable, handle_storage_unavailable)
    app.register_error_handler(Exception, handle_unexpected)
