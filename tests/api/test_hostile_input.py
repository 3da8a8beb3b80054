"""Hostile values: each pushed item that cannot be stored or computed with is rejected alone with
its code while its neighbour goes in; batch-level ones, bodies and queries are a clear 4xx with
nothing stored; nothing answers 500.

Bodies are written as JSON text here (``json.dumps`` escapes a lone surrogate as ``\\ud800``
and writes ``NaN`` as is), so the service sees exactly what a hostile client sends.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.contacts.models import Contact
from backend.extensions import db
from backend.presence.models import PresenceEvent
from backend.reports.models import Report
from backend.sync.models import SyncItem
from tests.helpers.sync_items import SERGELS_TORG, batch, contact, presence, report

PUSH = "/api/v1/sync/push"
LONE = "\ud800"


class Raw:
    """A JSON literal written into the body as is (NaN, a 5000-digit number)."""

    def __init__(self, text: str) -> None:
        self.text = text


def body_text(value: Any) -> str:
    """JSON text of ``value``, with ``Raw`` literals spliced in."""
    literals: dict[str, str] = {}

    def replace(node: Any) -> Any:
        if isinstance(node, Raw):
            key = f"@@raw{len(literals)}@@"
            literals[key] = node.text
            return key
        if isinstance(node, dict):
            return {k: replace(v) for k, v in node.items()}
        if isinstance(node, list):
            return [replace(v) for v in node]
        return node

    text = json.dumps(replace(value))  # ensure_ascii: a lone surrogate becomes \ud800
    for key, literal in literals.items():
        text = text.replace(f'"{key}"', literal)
    return text


def post(client, account, body: Any, content_type: str | None = "application/json"):
    headers = dict(account.headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    data = body if isinstance(body, bytes) else body_text(body).encode()
    return client.post(PUSH, data=data, headers=headers)


def _count(model: type) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def at(lat: Any, lon: Any = 18.0642) -> dict[str, Any]:
    return {"lat": lat, "lon": lon, "accuracy_m": 8}


def deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


HOSTILE_ITEMS = [
    # text that cannot be stored
    ("lone surrogate in the note", report(note=f"full {LONE} bin"), "invalid_note"),
    ("NUL in the note", report(note="full\x00bin"), "invalid_note"),
    ("lone surrogate as the id", report(id=LONE), "invalid_id"),
    ("NUL in the id", report(id=str(uuid.uuid4())[:-1] + "\x00"), "invalid_id"),
    ("id with a trailing newline", report(id=str(uuid.uuid4()) + "\n"), "invalid_id"),
    ("lone surrogate as the category", report(category=LONE), "unknown_category"),
    ("NUL as a zone", presence(zone="\x00"), "unknown_zone"),
    ("lone surrogate as a contact field", {**contact(), LONE: "x"}, "contact_field_not_allowed"),
    ("lone surrogate as a referral", contact(referral=LONE), "unknown_referral"),
    # times that overflow or lie outside 1970-2099
    ("year 1 with +01:00", report(captured_at="0001-01-01T00:00:00+01:00"), "invalid_timestamp"),
    ("year 9999 with -01:00", report(captured_at="9999-12-31T23:59:59-01:00"), "invalid_timestamp"),
    ("before 1970", report(captured_at="1969-12-31T23:59:59Z"), "invalid_timestamp"),
    ("not RFC 3339", report(captured_at="2026-05-04 10:15"), "invalid_timestamp"),
    ("a number as the time", report(captured_at=1717171717), "invalid_timestamp"),
    # numbers that cannot be computed with
    ("NaN latitude", report(location=at(Raw("NaN"))), "invalid_location"),
    ("Infinity latitude", report(location=at(Raw("Infinity"))), "invalid_location"),
    ("-Infinity longitude", report(location=at(59.33, Raw("-Infinity"))), "invalid_location"),
    ("1e400 latitude", report(location=at(Raw("1e400"))), "invalid_location"),
    ("a 5000-digit latitude", report(location=at(Raw("9" * 5000))), "invalid_location"),
    ("a 50-digit latitude", report(location=at(10**50)), "invalid_location"),
    (
        "NaN accuracy",
        report(location={**SERGELS_TORG, "accuracy_m": Raw("NaN")}),
        "invalid_location",
    ),
    (
        "a 5000-digit photo size",
        report(
            photos=[{"sha256": "a" * 64, "size": Raw("9" * 5000), "content_type": "image/jpeg"}]
        ),
        "invalid_photo",
    ),
    # where nobody reports from
    ("the north pole", report(location=at(90, 0)), "outside_service_area"),
    ("just short of the pole", report(location=at(89.999, 0)), "outside_service_area"),
    ("the south pole", report(location=at(-90, 0)), "outside_service_area"),
    ("Uppsala", report(location=at(59.8586, 17.6389)), "outside_service_area"),
    ("a ping at the pole", presence(event="ping", location=at(90, 0)), "outside_service_area"),
    ("a contact at the pole", contact(location=at(-90, 0)), "outside_service_area"),
    # wrong types
    ("latitude as a string", report(location=at("59.33")), "invalid_location"),
    ("location as a list", report(location=[59.33, 18.06]), "invalid_location"),
    ("note as a number", report(note=123), "invalid_note"),
    ("note nested 25 deep", report(note=deep(25)), "invalid_note"),
    ("needs as a string", contact(needs="housing"), "invalid_needs"),
    ("photos as an object", report(photos={}), "invalid_photo"),
    ("photos on a contact", contact(photos=[{"sha256": "a" * 64}]), "contact_photo_not_allowed"),
    (
        "upper-case photo digest",
        report(photos=[{"sha256": "A" * 64, "size": 10, "content_type": "image/jpeg"}]),
        "invalid_photo",
    ),
    ("type as a list", report(type=["report"]), "unknown_item_type"),
    ("an item that is a list", ["report"], "invalid_item"),
    ("an item that is null", None, "invalid_item"),
    ("an item that is a string", LONE, "invalid_item"),
]


@pytest.mark.parametrize(
    "item,code", [(i, c) for _, i, c in HOSTILE_ITEMS], ids=[n for n, _, _ in HOSTILE_ITEMS]
)
def test_a_hostile_item_is_rejected_alone_and_its_neighbour_goes_in(client, field_user, item, code):
    neighbour = report(location={"lat": 59.3330, "lon": 18.0600, "accuracy_m": 5})
    response = post(client, field_user, batch([item, neighbour]))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    hostile, fine = response.get_json()["results"]
    assert (hostile["status"], hostile["code"]) == ("rejected", code), hostile
    assert fine["status"] == "created" and fine["id"] == neighbour["id"]
    assert db.session.get(Report, uuid.UUID(neighbour["id"])) is not None
    assert _count(SyncItem) == 1  # the neighbour only


def test_a_hostile_id_is_echoed_escaped(client, field_user):
    response = post(client, field_user, batch([report(id=f"x{LONE}y")]))
    result = response.get_json()["results"][0]
    assert (result["code"], result["id"]) == ("invalid_id", "x\\ud800y")


HOSTILE_BATCHES = [
    ("sent_at in year 1 with +01:00", {"sent_at": "0001-01-01T00:00:00+01:00"}, "sent_at"),
    ("sent_at in year 9999 with -01:00", {"sent_at": "9999-12-31T23:59:59-01:00"}, "sent_at"),
    ("sent_at without an offset", {"sent_at": "2026-05-04T10:15:00"}, "sent_at"),
    ("lone surrogate device id", {"device_id": LONE}, "device_id"),
    ("NUL in the device id", {"device_id": "phone\x001"}, "device_id"),
    ("lone surrogate app version", {"app_version": "1.\udfff"}, "app_version"),
    ("NaN protocol version", {"protocol_version": Raw("NaN")}, "protocol_version"),
    ("a 100-digit protocol version", {"protocol_version": Raw("1" * 100)}, "protocol_version"),
    ("items as an object", {"items": {}}, "items"),
    ("items as a string", {"items": LONE}, "items"),
]


@pytest.mark.parametrize(
    "overrides,field",
    [(o, f) for _, o, f in HOSTILE_BATCHES],
    ids=[n for n, _, _ in HOSTILE_BATCHES],
)
def test_a_batch_value_that_cannot_be_used_is_422_with_nothing_stored(
    client, field_user, overrides, field
):
    response = post(client, field_user, {**batch([report(), contact(), presence()]), **overrides})
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["code"] == "validation_error" and field in body["errors"]
    assert (_count(SyncItem), _count(Report), _count(Contact), _count(PresenceEvent)) == (
        0,
        0,
        0,
        0,
    )


PUSH_TEXT = body_text(batch([report()])).encode()
JSON = "application/json"
BAD_BODIES = [
    ("100,000 [", b"[" * 100_000, JSON, 400, "invalid_json"),
    (
        "nested 40 deep",
        body_text(batch([report(note=deep(40))])).encode(),
        JSON,
        400,
        "invalid_json",
    ),
    ("not UTF-8", b'{"device_id": "\xff\xfe"}', JSON, 400, "invalid_json"),
    ("truncated", PUSH_TEXT[:-7], JSON, 400, "invalid_json"),
    ("JSON without a Content-Type", PUSH_TEXT, None, 415, "unsupported_media_type"),
    ("JSON as text/plain", PUSH_TEXT, "text/plain", 415, "unsupported_media_type"),
    ("a form", b"device_id=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
]


@pytest.mark.parametrize(
    "data,content_type,status,code",
    [b[1:] for b in BAD_BODIES],
    ids=[b[0] for b in BAD_BODIES],
)
def test_a_body_that_is_not_json_is_a_clear_4xx(
    client, field_user, data, content_type, status, code
):
    response = post(client, field_user, data, content_type=content_type)
    assert (response.status_code, response.get_json()["code"]) == (status, code)
    assert _count(SyncItem) == 0


def test_an_empty_push_says_which_fields_are_missing(client, field_user):
    response = post(client, field_user, b"", content_type=None)
    assert response.status_code == 422
    assert {"device_id", "app_version", "sent_at", "items"} <= set(response.get_json()["errors"])


def test_nul_and_surrogates_elsewhere_are_422_naming_the_field(client, admin):
    for name in (f"Anna {LONE}", "Anna\x00"):
        response = client.post(
            "/api/v1/admin/users",
            data=body_text({"name": name, "role": "field", "organisation": "city-i-samverkan"}),
            headers={**admin.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 422 and "name" in response.get_json()["errors"]
    # A key of the body, too (a rule set keeps unknown keys to name them).
    response = client.put(
        "/api/v1/admin/rules",
        data=body_text({"version": 2, f"k{LONE}": 1}),
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422 and "k\\ud800" in response.get_json()["errors"]


def test_an_organisation_that_is_an_object_is_422_not_500(client, admin):
    response = client.post(
        "/api/v1/admin/users",
        json={"name": "Anna", "role": "field", "organisation": {}},
        headers=admin.headers,
    )
    assert response.status_code == 422
    assert "organisation" in response.get_json()["errors"]


def _cursor(at: str) -> str:
    """A case-list cursor as the service makes them, naming the time ``at``."""
    raw = f"v1|{at}|{uuid.uuid4()}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


PRESENCE, CONTACTS = "/api/v1/presence", "/api/v1/contacts/aggregates"
# Sequence numbers past a BIGINT (the user check is filled in by the test: any user's).
FORGED_PULL_CURSOR = "FORGED"
AUDIT, CASES = "/api/v1/admin/audit", "/api/v1/cases"
INVALID = (422, "validation_error")
YEAR_1 = {"from": "0001-01-01", "to": "0001-01-02"}
YEAR_9999 = {"from": "9999-12-30", "to": "9999-12-31"}
ALL_YEARS = {"from": "1970-01-01", "to": "2099-12-31"}
QUERY_EXTREMES = [
    ("supervisor", f"{PRESENCE}/daily", {"date": "0001-01-01"}, *INVALID),
    ("supervisor", f"{PRESENCE}/daily", {"date": "9999-12-31"}, *INVALID),
    ("supervisor", f"{PRESENCE}/daily", {"date": "1969-12-31"}, *INVALID),
    ("supervisor", f"{PRESENCE}/summary", YEAR_1, *INVALID),
    ("supervisor", f"{PRESENCE}/summary", YEAR_9999, *INVALID),
    ("supervisor", f"{PRESENCE}/summary", ALL_YEARS, 422, "range_too_long"),
    ("supervisor", CONTACTS, YEAR_1, *INVALID),
    ("supervisor", CONTACTS, YEAR_9999, *INVALID),
    ("admin", AUDIT, {"since": "0001-01-01T00:00:00+01:00"}, *INVALID),
    ("admin", AUDIT, {"until": "9999-12-31T23:59:59-01:00"}, *INVALID),
    ("admin", AUDIT, {"cursor": "9" * 40}, 400, "invalid_cursor"),
    ("supervisor", CASES, {"cursor": _cursor("0001-01-01T00:00:00+01:00")}, 400, "invalid_cursor"),
    ("supervisor", CASES, {"cursor": _cursor("9999-12-31T23:59:59-01:00")}, 400, "invalid_cursor"),
    ("supervisor", CASES, {"zone": "\x00"}, *INVALID),
    ("supervisor", CASES, {"category": "litter.overflowing_bin\x00"}, *INVALID),
    ("supervisor", CASES, {"limit": "9" * 5000}, *INVALID),
    ("supervisor", "/api/v1/tasks", {"limit": "-1"}, *INVALID),
    ("field", "/api/v1/sync/pull", {"cursor": "\x00"}, *INVALID),
    ("field", "/api/v1/sync/pull", {"limit": "1e999"}, *INVALID),
    ("field", "/api/v1/sync/pull", {"cursor": FORGED_PULL_CURSOR}, 400, "invalid_cursor"),
]  # fmt: skip


@pytest.mark.parametrize(
    "role,path,query,status,code",
    QUERY_EXTREMES,
    ids=[f"{p} {q}"[:80] for _, p, q, _, _ in QUERY_EXTREMES],
)
def test_query_extremes_are_4xx(client, create_user, role, path, query, status, code):
    account = create_user(role=role)
    if query.get("cursor") == FORGED_PULL_CURSOR:
        from backend.feed.services import encode_cursor

        query = {"cursor": encode_cursor(account.id, 10**30, 10**30)}
    response = client.get(path, query_string=query, headers=account.headers)
    assert (response.status_code, response.get_json()["code"]) == (status, code)


def test_unknown_query_parameters_are_422_naming_them(client, role_headers):
    supervisor = role_headers["supervisor"]
    sha = "a" * 64
    response = client.get(f"/api/v1/photos/{sha}?variant=thumbnail", headers=supervisor)
    body = response.get_json()
    assert (response.status_code, body["code"]) == (422, "unknown_parameter")
    assert body["errors"] == {"variant": ["unknown query parameter"]}
    assert "size" in body["message"]  # what the operation does take
    # A route that takes no query at all, and a known parameter beside an unknown one.
    case = client.get(f"/api/v1/cases/{uuid.uuid4()}?expand=reports", headers=supervisor)
    assert (case.status_code, case.get_json()["code"]) == (422, "unknown_parameter")
    cases = client.get("/api/v1/cases?limit=5&limt=5", headers=supervisor)
    assert cases.get_json()["errors"] == {"limt": ["unknown query parameter"]}
    assert client.get("/api/v1/cases?limit=5", headers=supervisor).status_code == 200


def test_a_nul_in_a_path_slug_is_404(client, admin):
    response = client.get("/api/v1/admin/organisations/%00", headers=admin.headers)
    assert (response.status_code, response.get_json()["code"]) == (404, "not_found")
