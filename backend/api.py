"""The flask-smorest ``Api``, with errors rendered in the service's one error shape."""

from __future__ import annotations

from typing import Any

import flask_smorest

from backend import errors


class Api(flask_smorest.Api):
    ERROR_SCHEMA = errors.ErrorSchema

    def _register_error_handlers(self) -> None:
        errors.register(self._app)

    def handle_http_exception(self, error: Any) -> Any:  # pragma: no cover - see errors.register
        return errors.handle_http_exception(error)
