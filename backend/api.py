"""The flask-smorest ``Api`` and ``Blueprint`` of this service: the error shape, a hardened JSON
parser, unknown query parameters refused, and the errors every operation can give documented.

Request bodies are parsed here, once, for every route:

- a body that is not JSON (or not UTF-8), or nested deeper than ``MAX_JSON_DEPTH``, is 400
  ``invalid_json``; a body under another ``Content-Type`` is 415 ``unsupported_media_type``
  (so a push without a ``Content-Type`` is not "every field missing");
- ``NaN``, ``Infinity`` and integers longer than ``MAX_INTEGER_DIGITS`` are not JSON numbers this
  service can compute with: they are parsed as ``NotANumber`` values, which no schema field
  accepts (422) and which the push's item validation rejects per item;
- strings (keys and values) that cannot be stored, a lone UTF-16 surrogate or a NUL, are 422
  ``validation_error`` naming the field, except inside a schema's ``OPAQUE_FIELDS`` (the push's
  ``items``, which are checked one by one so that a bad item never fails its batch).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import flask_smorest
import marshmallow as ma
import swagger_ui_bundle
from apispec import BasePlugin
from flask import Flask, Request, Response, request, send_from_directory
from webargs import core
from webargs.flaskparser import FlaskParser
from werkzeug.routing import BaseConverter

from backend import errors
from backend.fields import OneOf
from sync.text import text_problem

MAX_JSON_DEPTH = 32
"""Deepest nesting of a request body. The deepest body this API takes (a rule set's match
tables) is 5 levels; 32 leaves room and keeps every walk over a body cheap."""

MAX_INTEGER_DIGITS = 64
"""Longer integer literals are not numbers any field here can hold (the largest stored values
are 64-bit); Python would otherwise refuse some past 4300 digits with an error of its own."""


class NotANumber:
    """A JSON number this service cannot compute with (NaN, ±Infinity, a huge integer)."""

    __slots__ = ("literal",)

    def __init__(self, literal: str) -> None:
        self.literal = literal if len(literal) <= 20 else literal[:17] + "..."

    def __repr__(self) -> str:
        return f"NotANumber({self.literal!r})"


def _parse_int(literal: str) -> int | NotANumber:
    digits = len(literal) - literal.startswith("-")
    return NotANumber(literal) if digits > MAX_INTEGER_DIGITS else int(literal)


def invalid_json(detail: str) -> errors.BadRequest:
    return errors.BadRequest(
        f"The body is not valid JSON: {detail}.", code="invalid_json", errors={"body": [detail]}
    )


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any, int]]:
    """Every key and scalar of a parsed body with its dotted path and depth, iteratively (no
    recursion limit to hit)."""
    stack: list[tuple[str, Any, int]] = [(path, value, 1)]
    while stack:
        where, node, depth = stack.pop()
        if isinstance(node, dict):
            for key, child in node.items():
                yield (f"{where}.{key}" if where else str(key)), key, depth
                stack.append(((f"{where}.{key}" if where else str(key)), child, depth + 1))
        elif isinstance(node, list):
            for n, child in enumerate(node):
                stack.append(((f"{where}.{n}" if where else str(n)), child, depth + 1))
        else:
            yield where, node, depth


def printable(path: str) -> str:
    """A field path as it can be sent back in an error (surrogates escaped)."""
    return path.encode("utf-8", "backslashreplace").decode("utf-8")[:200]


def parse_body(raw: bytes) -> Any:
    """The body as JSON values, or 400 ``invalid_json``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_json("not UTF-8") from None
    try:
        body = json.loads(text, parse_int=_parse_int, parse_constant=NotANumber)
    except RecursionError:
        raise invalid_json(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError, and int() refusing a huge literal
        raise invalid_json(str(exc).split(":")[0]) from None
    if any(depth > MAX_JSON_DEPTH for _, _, depth in _walk(body)):
        raise invalid_json(f"nested deeper than {MAX_JSON_DEPTH} levels")
    return body


def check_values(body: Any, opaque: tuple[str, ...] = ()) -> None:
    """422 naming every field whose value cannot be stored or computed with."""
    problems: dict[str, list[str]] = {}
    roots = body.items() if isinstance(body, dict) else [("", body)]
    for key, value in roots:
        if key in opaque:
            continue
        if isinstance(key, str) and key and (why := text_problem(key)):
            problems[printable(key)] = [f"the name {why}"]
        for path, leaf, _ in _walk(value, str(key)):
            if isinstance(leaf, str) and (why := text_problem(leaf)):
                problems[printable(path)] = [why]
            elif isinstance(leaf, NotANumber):
                problems[printable(path)] = ["is not a number this service can store"]
    if problems:
        raise errors.Unprocessable(errors=problems)


class Parser(FlaskParser):
    """webargs' Flask parser with the body rules in the module docstring."""

    def load_json(self, req: Request, schema: ma.Schema) -> Any:
        raw = req.get_data(cache=True)
        if not raw:
            return core.missing
        if not core.is_json(req.mimetype):
            raise errors.UnsupportedMediaType(
                "The body must be JSON: send Content-Type: application/json.",
                errors={"Content-Type": ["must be application/json"]},
            )
        body = parse_body(raw)
        check_values(body, getattr(schema, "OPAQUE_FIELDS", ()))
        return body

    def load_querystring(self, req: Request, schema: ma.Schema) -> Any:
        # A field marked ``opaque`` (a list's cursor) is judged by its reader: whatever it
        # holds, a surrogate included, is 400 invalid_cursor (backend.pagination).
        opaque = {name for name, field in schema.fields.items() if getattr(field, "opaque", 0)}
        problems = {
            printable(key): [why]
            for key, values in req.args.lists()
            for value in (key, *(values if key not in opaque else ()))
            if (why := text_problem(value))
        }
        if problems:
            raise errors.Unprocessable(errors=problems)
        return super().load_querystring(req, schema)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()


SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"


class SlugConverter(BaseConverter):
    """An organisation slug in a path; anything else is 404 before a query is made."""

    regex = SLUG_PATTERN[1:-1]


class Sha256Converter(BaseConverter):
    """A photo's name in a path. Matches what ``string`` does, so that a malformed digest
    reaches the view and gets its 422 invalid_sha256; the document states the pattern."""

    regex = "[^/]+"


def register_converters(app: Flask, api: Api) -> None:
    """Path converters with their documented patterns (before any blueprint is registered)."""
    for name, converter, pattern in (
        ("slug", SlugConverter, SLUG_PATTERN),
        ("sha256", Sha256Converter, SHA256_PATTERN),
    ):
        app.url_map.converters[name] = converter
        api.register_converter(converter, lambda _c, p=pattern: {"type": "string", "pattern": p})


DOCS_STATIC = "/api/docs/static/"


def serve_docs_assets(app: Flask) -> None:
    """Swagger UI's files from the pinned ``swagger-ui-bundle`` package."""
    assets = swagger_ui_bundle.swagger_ui_path

    def asset(filename: str) -> Response:
        return send_from_directory(assets, filename, max_age=86400)

    app.add_url_rule(f"{DOCS_STATIC}<path:filename>", "docs_asset", asset)


_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _documented_query(spec: dict[str, Any]) -> dict[tuple[str, str], frozenset[str]]:
    """(OpenAPI path, method) -> the query parameters the document gives that operation."""
    documented: dict[tuple[str, str], frozenset[str]] = {}
    for path, item in spec.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method == "parameters":
                continue
            parameters = shared + operation.get("parameters", [])
            query = frozenset(p["name"] for p in parameters if p.get("in") == "query")
            documented[(path, method.upper())] = query
            if method == "get":  # Flask answers HEAD with the GET view
                documented.setdefault((path, "HEAD"), query)
    return documented


class Api(flask_smorest.Api):
    ERROR_SCHEMA = errors.ErrorSchema
    # Every error an operation can give is listed with its status (ErrorResponses below), so a
    # catch-all "default" would only hide an undocumented one.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def __init__(self, app: Flask) -> None:
        super().__init__(app, spec_kwargs={"extra_plugins": [ErrorResponses()]})
        self.ma_plugin.converter.add_attribute_function(one_of2properties)
        self._query: dict[tuple[str, str], frozenset[str]] | None = None
        app.before_request(self._refuse_unknown_query)

    def _register_error_handlers(self) -> None:
        errors.register(self._app)

    def handle_http_exception(self, error: Any) -> Any:  # pragma: no cover - see errors.register
        return errors.handle_http_exception(error)

    def _refuse_unknown_query(self) -> None:
        """422 ``unknown_parameter`` for query parameters the operation does not document:
        ignoring them would let ``?variant=thumbnail`` quietly serve the full image."""
        if request.url_rule is None or not request.args:
            return
        if self._query is None:
            self._query = _documented_query(self.spec.to_dict())
        path = _CONVERTER.sub(r"{\1}", request.url_rule.rule)
        allowed = self._query.get((path, request.method))
        if allowed is None:  # not an API operation (docs, static files, OPTIONS)
            return
        unknown = sorted(set(request.args) - allowed)
        if unknown:
            takes = ", ".join(sorted(allowed)) or "none"
            raise errors.Unprocessable(
                f"Unknown query parameter(s): {', '.join(printable(u) for u in unknown)}; "
                f"this operation takes: {takes}.",
                code="unknown_parameter",
                errors={printable(name): ["unknown query parameter"] for name in unknown},
            )


def one_of2properties(converter: Any, field: ma.fields.Field, **kwargs: Any) -> dict[str, Any]:
    """``oneOf`` with a discriminator for a ``backend.fields.OneOf`` field (a method of
    apispec's field converter, which registers each schema as a component)."""
    if not isinstance(field, OneOf):
        return {}
    refs = {name: converter.resolve_nested_schema(schema) for name, schema in field.schemas.items()}
    return {
        "oneOf": list(refs.values()),
        "discriminator": {
            "propertyName": field.discriminator,
            "mapping": {name: ref["$ref"] for name, ref in refs.items()},
        },
    }


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


class ErrorResponses(BasePlugin):
    """Documents, on every operation, the errors that come from this module rather than from
    the operation's own view: refused query parameters, bodies that are not JSON, the database
    being unavailable."""

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            add = {
                "422": "validation_error (a field or parameter at fault, named in errors); "
                "unknown_parameter: a query parameter this operation does not take"
            }
            if operation.get("security"):
                # The token is looked up in the database on every authenticated request.
                add["503"] = "database_unavailable: busy or unreachable; retry after Retry-After"
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                add |= {
                    "400": "invalid_json: not JSON, not UTF-8, or nested too deeply",
                    "413": "payload_too_large: the body is larger than MAX_BODY_BYTES",
                    "415": "unsupported_media_type: the body is not sent as application/json",
                }
            for status, description in add.items():
                existing = responses.get(status)
                if existing is None:
                    responses[status] = _error(description)
                elif status == "422" and "description" in existing:
                    existing["description"] += "; unknown_parameter"
