"""Every paginated list answers in one shape, ``{"items": [...], "next_cursor": ...}``, pages
through its rows without skipping or repeating one, and answers a bad cursor, an over-large
limit and a filter naming nothing the same way (``backend.pagination``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from backend import pagination
from tests.helpers.sync_items import batch, contact, report
from tests.helpers.tasks import bin_number, push


@dataclass(frozen=True)
class Listing:
    path: str
    role: str
    list_name: str  # in its cursors
    key: str  # the field that names an item
    maximum: int
    forged_key: tuple[Any, ...]  # a keyset of the right shape but out of range


AT_ID_YEAR_ONE = ("0001-01-01T00:00:00+00:00", str(uuid.uuid4()))
LISTS = [
    Listing("/api/v1/cases", "supervisor", "cases", "id", 200, AT_ID_YEAR_ONE),
    Listing("/api/v1/tasks", "supervisor", "tasks", "id", 200, AT_ID_YEAR_ONE),
    Listing("/api/v1/admin/deliveries", "admin", "deliveries", "id", 200, AT_ID_YEAR_ONE),
    Listing("/api/v1/admin/audit", "admin", "audit", "seq", 500, (2**31,)),
    Listing("/api/v1/admin/users", "admin", "users", "id", 200, AT_ID_YEAR_ONE),
    Listing("/api/v1/users", "supervisor", "users", "id", 200, AT_ID_YEAR_ONE),
    Listing("/api/v1/admin/organisations", "admin", "organisations", "slug", 200, ("Not A Slug",)),
]
IDS = [listing.path for listing in LISTS]


@pytest.fixture
def filled(client, create_user):
    """Five cases at five bins (so five tasks and five deliveries), three audited reads of a
    contact, a few users; the organisations are the reference data's."""
    worker = create_user(role="field")
    push(client, worker, [report(location=bin_number(n)) for n in range(5)])
    item = contact(referral="socialtjanst-uppsok")
    client.post("/api/v1/sync/push", json=batch([item]), headers=worker.headers)
    for _ in range(3):
        read = client.get(f"/api/v1/contacts/{item['id']}", headers=worker.headers)
        assert read.status_code == 200
    return {role: create_user(role=role) for role in ("supervisor", "admin", "department")}


def _get(client, account, path, **query):
    return client.get(path, query_string=query, headers=account.headers)


@pytest.mark.parametrize("listing", LISTS, ids=IDS)
def test_paging_through_returns_every_item_once(client, filled, listing):
    account = filled[listing.role]
    everything = _get(client, account, listing.path, limit=listing.maximum).get_json()
    assert set(everything) == {"items", "next_cursor"} and everything["next_cursor"] is None
    whole = [item[listing.key] for item in everything["items"]]
    assert len(whole) >= 3
    seen: list[Any] = []
    pages = 0
    cursor = None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = _get(client, account, listing.path, **query)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert set(body) == {"items", "next_cursor"}
        assert len(body["items"]) <= 2
        seen += [item[listing.key] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages >= 2
    assert seen == whole  # the same order, each item once


def _bad_cursors(listing: Listing) -> list[str]:
    other = "tasks" if listing.list_name != "tasks" else "cases"
    return [
        "x",
        "not%20a%20cursor!",
        "A" * 5000,
        str(uuid.uuid4()),  # the old tasks' and deliveries' cursor
        "12",  # the old audit cursor
        "%00",
        "%ED%A0%80",  # a lone surrogate, UTF-8 encoded
        "%FF",  # not UTF-8
        pagination.encode(other, *AT_ID_YEAR_ONE[1:]),  # another list's cursor
        pagination.encode(listing.list_name, *listing.forged_key),
        pagination.encode(listing.list_name),  # a keyset of the wrong length
        pagination.encode(listing.list_name, *listing.forged_key).replace("eyJ", "eyK", 1),
    ]


@pytest.mark.parametrize("listing", LISTS, ids=IDS)
def test_a_bad_cursor_is_400_invalid_cursor(client, filled, listing):
    account = filled[listing.role]
    for cursor in _bad_cursors(listing):
        # Sent as written: the percent escapes are the hostile bytes themselves.
        response = client.get(f"{listing.path}?cursor={cursor}", headers=account.headers)
        assert (response.status_code, response.get_json()["code"]) == (400, "invalid_cursor"), (
            cursor
        )
        assert response.get_json()["errors"] == {"cursor": ["is not a cursor of this list"]}


@pytest.mark.parametrize("listing", LISTS, ids=IDS)
def test_a_cursor_in_range_but_past_the_end_is_an_empty_last_page(client, filled, listing):
    last = {
        "seq": (2**31 - 1,),
        "slug": ("zzzz",),
    }.get(listing.key, ("1970-01-01T00:00:00+00:00", str(uuid.UUID(int=0))))
    if listing.key == "id":  # newest first: 1970 is past the oldest; users oldest first
        last = (
            ("2099-12-31T23:59:59+00:00", str(uuid.UUID(int=2**128 - 1)))
            if "users" in listing.path
            else last
        )
    cursor = pagination.encode(listing.list_name, *last)
    body = _get(client, filled[listing.role], listing.path, cursor=cursor).get_json()
    assert body == {"items": [], "next_cursor": None}


def _openapi_limit(client, path: str) -> dict[str, Any]:
    spec = client.get("/api/openapi.json").get_json()
    (limit,) = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == "limit"]
    return limit["schema"]


@pytest.mark.parametrize("listing", LISTS, ids=IDS)
def test_a_limit_above_the_documented_maximum_is_422(client, filled, listing):
    account = filled[listing.role]
    documented = _openapi_limit(client, listing.path)
    assert (documented["minimum"], documented["maximum"]) == (1, listing.maximum)
    at_max = _get(client, account, listing.path, limit=listing.maximum)
    assert at_max.status_code == 200
    for limit in (listing.maximum + 1, 10**6, 0, -1):
        response = _get(client, account, listing.path, limit=limit)
        body = response.get_json()
        assert (response.status_code, body["code"]) == (422, "validation_error")
        assert str(listing.maximum) in body["errors"]["limit"][0]


FILTERED = [
    ("/api/v1/tasks", "supervisor", "organisation", "unknown_organisation"),
    ("/api/v1/admin/deliveries", "admin", "organisation", "unknown_organisation"),
    ("/api/v1/admin/users", "admin", "organisation", "unknown_organisation"),
    ("/api/v1/users", "supervisor", "organisation", "unknown_organisation"),
    ("/api/v1/tasks", "supervisor", "zone", "unknown_zone"),
    ("/api/v1/cases", "supervisor", "zone", "unknown_zone"),
    ("/api/v1/presence/daily", "supervisor", "zone", "unknown_zone"),
]


@pytest.mark.parametrize(
    "path,role,name,code", FILTERED, ids=[f"{p} {n}" for p, _, n, _ in FILTERED]
)
def test_a_filter_naming_nothing_is_422_with_its_code(client, filled, path, role, name, code):
    query = {name: "no-such-thing"}
    if path.endswith("/daily"):
        query["date"] = "2026-03-02"
    response = _get(client, filled[role], path, **query)
    body = response.get_json()
    assert (response.status_code, body["code"]) == (422, code)
    assert list(body["errors"]) == [name]


def test_stats_answer_an_unknown_organisation_the_same_way(client, filled):
    query = {"from": "2026-03-02", "to": "2026-03-08", "organisation": "no-such-thing"}
    response = _get(client, filled["supervisor"], "/api/v1/stats/weekly", **query)
    assert (response.status_code, response.get_json()["code"]) == (422, "unknown_organisation")


def test_a_known_organisation_filter_narrows_the_list(client, filled, create_user):
    other = create_user(role="field", org="trafikkontoret")
    body = _get(
        client, filled["supervisor"], "/api/v1/users", organisation="trafikkontoret"
    ).get_json()
    assert [u["id"] for u in body["items"]] == [str(other.id)]


def test_supervisors_read_the_user_directory_without_contact_details(client, filled):
    body = _get(client, filled["supervisor"], "/api/v1/users", role="field").get_json()
    assert body["items"] and all(u["role"] == "field" for u in body["items"])
    for user in body["items"]:
        assert set(user) == {"id", "name", "role", "organisation", "active"}
    # The admin's list keeps its fields.
    admin_body = _get(client, filled["admin"], "/api/v1/admin/users", role="field").get_json()
    assert {u["id"] for u in admin_body["items"]} == {u["id"] for u in body["items"]}
    assert "created_at" in admin_body["items"][0]


@pytest.mark.parametrize("role,status", [("department", 403), ("field", 403)])
def test_only_supervisors_and_admins_read_the_directory(client, create_user, role, status):
    account = create_user(role=role)
    assert _get(client, account, "/api/v1/users").status_code == status
    assert client.get("/api/v1/users").status_code == 401


@pytest.mark.parametrize(
    "path,query",
    [
        ("/api/v1/presence/daily", {"date": "1969-12-31"}),
        ("/api/v1/presence/daily", {"date": "2100-01-01"}),
        ("/api/v1/stats/weekly", {"from": "1969-12-29", "to": "1970-01-04"}),
        ("/api/v1/stats/weekly", {"from": "2100-01-04", "to": "2100-01-10"}),
        ("/api/v1/contacts/aggregates", {"from": "1969-12-29", "to": "1970-01-04"}),
        ("/api/v1/contacts/aggregates", {"from": "2100-01-04", "to": "2100-01-10"}),
    ],
)
def test_every_day_parameter_has_the_one_bound(client, filled, path, query):
    response = _get(client, filled["supervisor"], path, **query)
    body = response.get_json()
    assert (response.status_code, body["code"]) == (422, "validation_error")
    assert any(
        "1970-2099" in message for messages in body["errors"].values() for message in messages
    )


def test_the_first_and_last_day_of_the_bound_are_answered(client, filled):
    for query in (
        {"from": "1970-01-05", "to": "1970-01-11"},
        {"from": "2099-12-21", "to": "2099-12-27"},
    ):
        response = _get(client, filled["supervisor"], "/api/v1/stats/weekly", **query)
        assert response.status_code == 200, response.get_json()
