"""The GeoReport v2 routes under ``/open311/v2/``: a plain Flask blueprint, not part of the
OpenAPI document (GeoReport v2 is its own published contract, with its own key, formats and
error document; see the README).

Each view parses the GeoReport parameters, calls one use case in ``services`` and renders its
answer in the format the path's extension names. Every error under the prefix, 404 and 405
included, is the spec's errors document (``errors.render_errors_under``).
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.datastructures import MultiDict

from backend import ratelimit
from backend.database import deferred_reads, utcnow
from backend.errors import Forbidden, NotFound, render_errors_under
from backend.extensions import db
from backend.open311 import (
    catalogue,
    documents,
    keys,
    media_links,
    params,
    posting,
    service_requests,
    updates,
)
from backend.open311.models import Open311Key
from backend.photos.services import SERVED_CONTENT_TYPE
from backend.photos.store import storage_from
from backend.sync.services import SyncSettings

PREFIX = "/open311/v2"
FMT = "<any(json, xml):fmt>"

blp = Blueprint("open311", __name__, url_prefix=PREFIX)

_ATTRIBUTE = re.compile(r"^attribute\[([A-Za-z0-9_.-]{1,64})\](\[\])?$")
_OPTIONAL_TEXT = ("email", "device_id", "account_id", "first_name", "last_name", "phone")
"""Who reported, in the other system: accepted as the spec allows and never stored (privacy by
default: the case needs what and where, not who)."""
_FORM_FIELDS = {
    "api_key",
    "jurisdiction_id",
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "description",
    "media_url",
    *_OPTIONAL_TEXT,
}


def _document(fmt: str, root: str, value: Any, status: int = 200) -> Response:
    body, content_type = documents.render(fmt, root, value)
    response = Response(body, status=status, content_type=content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Answers depend on the key: never cached by a shared cache.
    response.headers["Cache-Control"] = "private, no-store"
    return response


# Spec: 404 for what does not exist, 403 for the key, 400 for any other refusal. 405, 413,
# 429 and 5xx keep their HTTP meaning (Allow, Retry-After).
_AS_400 = {409, 422}


def _render_error(status: int, code: str, message: str, errors: dict[str, Any]) -> Response:
    body, content_type = documents.render_error(request.path, status, code, message, errors)
    response = Response(
        body, status=400 if status in _AS_400 else status, content_type=content_type
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def register(app: Flask) -> None:
    app.register_blueprint(blp)
    render_errors_under(app, PREFIX + "/", _render_error)


def _undecodable(raw: bytes) -> bool:
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


@blp.before_request
def _utf8_only() -> None:
    """GeoReport v2: "All text received ... will be assumed to be UTF-8". Werkzeug keeps an
    undecodable escape (a lone surrogate's %ED%A0%80) as literal text; refuse it instead, so a
    garbled value is never stored as if it had been typed."""
    body = b""
    if request.mimetype == "application/x-www-form-urlencoded":
        # Cached: the form is parsed from the same bytes afterwards.
        body = request.get_data(cache=True)
    for part, name in ((request.query_string, "query string"), (body, "body")):
        if _undecodable(part):
            raise params.bad("invalid_encoding", name, "is not valid UTF-8")


@blp.before_request
def _one_jurisdiction() -> None:
    jurisdiction = request.values.get("jurisdiction_id", "")
    if jurisdiction not in ("", catalogue.JURISDICTION_ID):
        raise NotFound(
            f"jurisdiction_id: this endpoint serves {catalogue.JURISDICTION_ID} only.",
            code="jurisdiction_not_found",
        )


def _api_key() -> str | None:
    """The ``api_key`` parameter, or HTTP Basic with the key as user name: clients that cannot
    add parameters to a GET (and anyone keeping keys out of URLs and access logs) use that."""
    raw = request.values.get("api_key")
    if raw:
        return raw
    authorization = request.authorization
    if authorization is not None and authorization.type == "basic" and authorization.username:
        return authorization.username
    return None


def _key() -> Open311Key:
    """The request's live key, or 403 in the spec's format; counts against its rate limit."""
    raw = _api_key()
    if raw is None:
        raise Forbidden(
            "api_key is required: send the key your organisation was issued.",
            code="api_key_required",
        )
    session = db.session()
    with deferred_reads():
        key = keys.key_for(session, raw)
        # End the read now, as the bearer tokens do: no lock held while the body arrives.
        session.commit()
    if key is None:
        raise Forbidden("The api_key is unknown or revoked.", code="invalid_api_key")
    g.open311_key = key
    ratelimit.check(ratelimit.OPEN311, f"open311:{key.id}")
    return key


def _media_link(sha256: str, user_id: uuid.UUID) -> str:
    token = media_links.sign_media(current_app.config["SECRET_KEY"], sha256, user_id)
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}{PREFIX}/media/{token}"


@blp.get(f"/discovery.{FMT}")
def discovery(fmt: str) -> Response:
    return _document(fmt, "discovery", catalogue.discovery(current_app.config["PUBLIC_BASE_URL"]))


@blp.get(f"/services.{FMT}")
def service_list(fmt: str) -> Response:
    return _document(fmt, "services", catalogue.services(db.session()))


@blp.get(f"/services/<string:service_code>.{FMT}")
def service_definition(service_code: str, fmt: str) -> Response:
    code = params.text("service_code", service_code, 64) or ""
    return _document(fmt, "service_definition", catalogue.service_definition(db.session(), code))


@blp.get(f"/requests.{FMT}")
def request_list(fmt: str) -> Response:
    key = _key()
    session = db.session()
    query = service_requests.parse_query(session, request.args, utcnow())
    found = service_requests.list_requests(session, key, query, _media_link)
    return _document(fmt, "service_requests", found)


@blp.get(f"/requests/<string:service_request_id>.{FMT}")
def request_detail(service_request_id: str, fmt: str) -> Response:
    key = _key()
    found = service_requests.get_request(db.session(), key, service_request_id, _media_link)
    return _document(fmt, "service_requests", found)


def _form() -> MultiDict[str, str]:
    if request.mimetype != "application/x-www-form-urlencoded":
        raise params.bad(
            "unsupported_content_type",
            "Content-Type",
            "send application/x-www-form-urlencoded, as GeoReport v2 prescribes",
        )
    return request.form


def _new_request(form: MultiDict[str, str]) -> posting.NewRequest:
    attributes: dict[str, str] = {}
    for name in form:
        match = _ATTRIBUTE.match(name)
        if match:
            values = [params.text(name, v, 200) or "" for v in form.getlist(name)]
            attributes[match.group(1)] = ", ".join(v for v in values if v)
        elif name not in _FORM_FIELDS:
            raise params.bad("unknown_parameter", name[:64], "is not a GeoReport v2 parameter")
    for name in _OPTIONAL_TEXT:
        params.text(name, form.get(name), 200)
    if form.get("lat") is None and form.get("long") is None and form.get("address_string"):
        raise params.bad(
            "missing_parameter",
            "lat",
            "lat and long are required: this service places reports by coordinates, not addresses",
        )
    media_url = params.text("media_url", form.get("media_url"), 2000)
    if media_url is not None and not re.match(r"^https?://[^\s]+$", media_url):
        raise params.bad("invalid_media_url", "media_url", "must be an http or https URL")
    return posting.NewRequest(
        service_code=params.required(
            "service_code", params.text("service_code", form.get("service_code"), 64)
        ),
        lat=params.coordinate("lat", form.get("lat"), -90, 90),
        lon=params.coordinate("long", form.get("long"), -180, 180),
        description=params.text(
            "description", form.get("description"), service_requests.DESCRIPTION_MAX, multiline=True
        ),
        attributes={k: v for k, v in attributes.items() if v},
        media_url=media_url,
    )


@blp.post(f"/requests.{FMT}")
def request_create(fmt: str) -> Response:
    key = _key()
    form = _form()
    new = _new_request(form)
    raw_key = request.headers.get("Idempotency-Key")
    now = utcnow()
    if raw_key is not None:
        idempotency = params.required(
            "Idempotency-Key", params.text("Idempotency-Key", raw_key, 200)
        )
    else:
        idempotency = posting.request_fingerprint(form.to_dict(flat=False), now.date().isoformat())
    answer = posting.create_request(
        db.session(),
        key,
        new,
        idempotency,
        SyncSettings.from_config(current_app.config),
        now,
    )
    return _document(fmt, "service_requests", [answer])


@blp.post(f"/servicerequestupdates.{FMT}")
def update_create(fmt: str) -> Response:
    key = _key()
    form = _form()
    for name in form:
        if name not in {
            "api_key",
            "jurisdiction_id",
            "service_request_id",
            "update_id",
            "updated_datetime",
            "status",
            "description",
            "media_url",
            "title",
            *_OPTIONAL_TEXT,
        }:
            raise params.bad("unknown_parameter", name[:64], "is not a parameter of this call")
    for name in (*_OPTIONAL_TEXT, "title", "media_url"):
        params.text(name, form.get(name), 2000)
    update = updates.NewUpdate(
        service_request_id=params.required(
            "service_request_id",
            params.text("service_request_id", form.get("service_request_id"), 64),
        ),
        update_id=params.required(
            "update_id", params.text("update_id", form.get("update_id"), 100)
        ),
        updated_datetime=params.required(
            "updated_datetime",
            params.w3c_datetime("updated_datetime", form.get("updated_datetime")),
        ),
        status=params.required("status", params.text("status", form.get("status"), 40)),
        description=params.text(
            "description", form.get("description"), updates.UPDATE_NOTE_MAX, multiline=True
        ),
    )
    answer = updates.post_update(db.session(), key, update)
    return _document(fmt, "service_request_updates", answer)


@blp.get("/media/<string:token>")
def media(token: str) -> Response:
    config = current_app.config
    data = media_links.media(
        db.session(),
        storage_from(config),
        config["SECRET_KEY"],
        token[:500],
        config["OPEN311_MEDIA_URL_TTL_SECONDS"],
    )
    response = Response(data, mimetype=SERVED_CONTENT_TYPE)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
