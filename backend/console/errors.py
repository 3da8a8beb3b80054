"""Errors on console pages are pages: the same status and code as the API would answer, with
a message for people and a way on. The API's JSON error shape stays for the API."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from backend.errors import HTTP_CODES, DomainError

log = logging.getLogger(__name__)


def _page(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    fields: dict[str, Any] | None = None,
) -> Any:
    body = render_template(
        "console/error.html", status=status, code=code, message=message, fields=fields or {}
    )
    return body, status, headers or {}


def _titles() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        403: _("Your role does not give access to this page."),
        404: _("There is no such page, or you do not have access to it."),
        405: _("This address cannot be used like that."),
        413: _("What you sent is too large."),
        422: _("Some of the values in the address or the form are not valid."),
        429: _("Too many attempts; wait a moment and try again."),
        500: _("Something went wrong on our side. It has been logged."),
        503: _("The service is busy or a part of it is unreachable. Try again shortly."),
    }


def domain_error(error: DomainError) -> Any:
    message = _titles().get(error.status, error.message)
    return _page(error.status, error.code, message, error.headers, error.errors)


def csrf_error(error: CSRFError) -> Any:
    return _page(
        400,
        "csrf_failed",
        _("The form had expired or did not come from this page. Reload the page and try again."),
    )


def http_error(error: HTTPException) -> Any:
    status = error.code or 500
    return _page(status, HTTP_CODES.get(status, "http_error"), _titles().get(status, error.name))


def database_unavailable(error: OperationalError) -> Any:
    log.warning("database unavailable: %s", type(error).__name__)
    return _page(503, "database_unavailable", _titles()[503], {"Retry-After": "2"})


def unexpected(error: Exception) -> Any:
    log.exception("unhandled error on a console page", exc_info=error)
    return _page(500, "internal_error", _titles()[500])


def register(bp: Blueprint) -> None:
    bp.register_error_handler(DomainError, domain_error)
    bp.register_error_handler(CSRFError, csrf_error)
    bp.register_error_handler(HTTPException, http_error)
    bp.register_error_handler(OperationalError, database_unavailable)
    bp.register_error_handler(Exception, unexpected)

    # Unknown console addresses reach no view of the blueprint, so its handlers would not see
    # them; this route makes them the console's 404 page instead of the API's JSON.
    @bp.route("/<path:anything>")
    def not_found(anything: str) -> Any:
        abort(404)
