"""Open311 GeoReport v2 through the app: every answer against the spec's JSON Schemas
(tests/helpers/open311.py) and as XML read by the standard library, keys, the round trip between a
phone and a department's system, and hostile input."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from sqlalchemy import func, select

from backend.extensions import db
from backend.tasks.models import Task, TaskEvent
from tests.helpers import open311 as spec
from tests.helpers.sync_items import SERGELS_TORG, batch, contact, report

V2 = "/open311/v2"


@pytest.fixture
def issue_key(app, runner):
    """``flask open311 issue-key --org SLUG`` as an operator runs it; returns the key."""

    def issue(org: str = "trafikkontoret") -> str:
        result = runner.invoke(args=["open311", "issue-key", "--org", org])
        assert result.exit_code == 0, result.output
        printed = json.loads(result.output)
        assert list(printed) == ["api_key"]
        return printed["api_key"]

    return issue


def push(client, account, *items):
    response = client.post("/api/v1/sync/push", json=batch(list(items)), headers=account.headers)
    assert response.status_code == 200
    return response.get_json()["results"]


def requests_json(client, key, **query):
    response = client.get(f"{V2}/requests.json", query_string={"api_key": key, **query})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type == "application/json; charset=utf-8"
    return spec.check(response.get_json(), spec.REQUESTS)


def update(client, key, case_id, status, update_id=None, fmt="json", **extra):
    return client.post(
        f"{V2}/servicerequestupdates.{fmt}",
        data={
            "api_key": key,
            "service_request_id": case_id,
            "update_id": update_id or uuid.uuid4().hex,
            "updated_datetime": "2026-12-01T10:00:00+01:00",
            "status": status,
            **extra,
        },
    )


def pulled_statuses(client, account) -> list[str]:
    changes = client.get("/api/v1/sync/pull", headers=account.headers).get_json()["changes"]
    return [c["status"] for c in changes if c["type"] == "report"]


# Services -------------------------------------------------------------------------------------


def test_services_one_per_category_in_json_and_xml(client):
    listed = spec.check(client.get(f"{V2}/services.json").get_json(), spec.SERVICES)
    codes = [s["service_code"] for s in listed]
    assert "litter.overflowing_bin" in codes and "damage.graffiti" in codes
    by_code = {s["service_code"]: s for s in listed}
    assert by_code["litter.overflowing_bin"]["group"] == "litter"
    assert by_code["damage.broken_light"]["metadata"] is True  # it has pole_number
    assert by_code["litter.overflowing_bin"]["metadata"] is False
    assert {s["type"] for s in listed} == {"realtime"}

    xml = client.get(f"{V2}/services.xml")
    assert xml.content_type == "text/xml; charset=utf-8"
    items = spec.xml_items(xml.data, "services", "service")
    assert [i["service_code"] for i in items] == codes
    assert items[codes.index("damage.broken_light")]["metadata"] == "true"


def test_service_definition_lists_the_attributes(client):
    definition = spec.check(
        client.get(f"{V2}/services/damage.broken_light.json").get_json(), spec.SERVICE_DEFINITION
    )
    assert [a["code"] for a in definition["attributes"]] == ["pole_number"]
    root = spec.xml_root(client.get(f"{V2}/services/damage.broken_light.xml").data)
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "damage.broken_light"
    assert root.findtext("attributes/attribute/code") == "pole_number"
    assert root.findtext("attributes/attribute/required") == "false"
    empty = client.get(f"{V2}/services/litter.syringes.json").get_json()
    assert spec.check(empty, spec.SERVICE_DEFINITION)["attributes"] == []


def test_discovery_names_the_endpoint_and_formats(client):
    found = spec.check(client.get(f"{V2}/discovery.json").get_json(), spec.DISCOVERY)
    assert found["endpoints"][0]["url"].endswith("/open311/v2")
    root = spec.xml_root(client.get(f"{V2}/discovery.xml").data)
    assert [f.text for f in root.iterfind("endpoints/endpoint/formats/format")] == [
        "text/xml",
        "application/json",
    ]


# Keys -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("api_key", [None, "", "o311_wrong", "sf_bearer-token-shape", "x" * 5000])
def test_a_missing_or_wrong_key_is_403_in_the_spec_format(client, fmt, api_key):
    query = {} if api_key is None else {"api_key": api_key}
    response = client.get(f"{V2}/requests.{fmt}", query_string=query)
    assert response.status_code == 403
    if fmt == "json":
        (error,) = spec.check(response.get_json(), spec.ERRORS)
    else:
        (error,) = spec.xml_errors(response.data)
    assert error["code"] in {"api_key_required", "invalid_api_key"}


def test_a_bearer_token_is_not_a_key(client, create_user):
    account = create_user(role="department", org="trafikkontoret")
    response = client.get(f"{V2}/requests.json", headers=account.headers)
    assert response.status_code == 403
    assert response.get_json()[0]["code"] == "api_key_required"


def test_keys_are_stored_hashed_listed_without_the_key_and_revocable(client, runner, issue_key):
    from backend.open311.models import Open311Key

    key = issue_key("trafikkontoret")
    assert key.startswith("o311_") and len(key) > 40
    stored = db.session.execute(select(Open311Key)).scalar_one()
    assert key not in (stored.key_hash, stored.prefix) and stored.prefix == key[:10]
    assert stored.user.role == "department" and stored.user.organisation.slug == "trafikkontoret"
    db.session.rollback()
    assert requests_json(client, key) == []

    listed = runner.invoke(args=["open311", "list-keys", "--org", "trafikkontoret"])
    (row,) = [json.loads(line) for line in listed.output.splitlines()]
    assert row["prefix"] == key[:10] and row["revoked_at"] is None
    assert key not in listed.output
    revoked = runner.invoke(args=["open311", "revoke-key", row["id"]])
    assert revoked.exit_code == 0 and json.loads(revoked.output)["revoked_at"]
    response = client.get(f"{V2}/requests.json", query_string={"api_key": key})
    assert response.status_code == 403
    assert response.get_json()[0]["code"] == "invalid_api_key"
    assert runner.invoke(args=["open311", "issue-key", "--org", "nope"]).exit_code != 0


def test_http_basic_with_the_key_as_user_name_is_the_same_key(client, issue_key):
    import base64

    key = issue_key()
    basic = base64.b64encode(f"{key}:".encode()).decode()
    response = client.get(f"{V2}/requests.json", headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200 and response.get_json() == []


def test_keys_are_rate_limited_in_the_spec_format(app, client, issue_key, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_OPEN311_PER_MINUTE", 2)
    key, other = issue_key(), issue_key()
    for _ in range(2):
        assert client.get(f"{V2}/requests.json", query_string={"api_key": key}).status_code == 200
    refused = client.get(f"{V2}/requests.xml", query_string={"api_key": key})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert spec.xml_errors(refused.data)[0]["code"] == "rate_limited"
    # Per key: another key of the same organisation still has its budget.
    assert client.get(f"{V2}/requests.json", query_string={"api_key": other}).status_code == 200


# Service requests -----------------------------------------------------------------------------


def test_round_trip_phone_push_open_update_closes_phone_hears_resolved(
    client, field_user, issue_key
):
    trafik, fastighet = issue_key("trafikkontoret"), issue_key("fastighetskontoret")
    (pushed,) = push(client, field_user, report())
    case_id = pushed["case_id"]

    (found,) = requests_json(client, trafik)
    assert found["service_request_id"] == case_id
    assert found["status"] == "open"
    assert found["service_code"] == "litter.overflowing_bin"
    assert found["description"] == "Papperskorgen vid trappan är full"
    assert found["agency_responsible"] == "Trafikkontoret"
    assert (found["lat"], found["long"]) == (SERGELS_TORG["lat"], SERGELS_TORG["lon"])
    assert found["expected_datetime"] is not None
    assert requests_json(client, fastighet) == []
    assert client.get(f"{V2}/requests/{case_id}.json?api_key={fastighet}").status_code == 404

    answer = update(client, trafik, case_id, "FIXED", description="Tömd kl 10")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    spec.check(answer.get_json(), spec.UPDATED)

    (closed,) = requests_json(client, trafik)
    assert closed["status"] == "closed"
    assert closed["status_notes"] == "Resolved by Trafikkontoret."
    # The phone hears each step as if the department had clicked them in the console.
    assert pulled_statuses(client, field_user)[-4:] == [
        "routed",
        "acknowledged",
        "in_progress",
        "resolved",
    ]
    single = client.get(f"{V2}/requests/{case_id}.xml", query_string={"api_key": trafik})
    (item,) = spec.xml_items(single.data, "service_requests", "request")
    assert item["status"] == "closed" and item["service_request_id"] == case_id
    assert requests_json(client, trafik, status="open") == []
    assert [r["service_request_id"] for r in requests_json(client, trafik, status="closed")] == [
        case_id
    ]


def test_the_same_update_id_again_changes_nothing(client, field_user, issue_key):
    key = issue_key()
    (pushed,) = push(client, field_user, report())
    first = update(client, key, pushed["case_id"], "IN_PROGRESS", update_id="tk-1")
    events = db.session.execute(select(func.count()).select_from(TaskEvent)).scalar()
    db.session.rollback()
    again = update(client, key, pushed["case_id"], "IN_PROGRESS", update_id="tk-1", fmt="xml")
    assert again.status_code == 200
    assert spec.xml_items(again.data, "service_request_updates", "request_update") == [
        first.get_json()[0]
    ]
    assert db.session.execute(select(func.count()).select_from(TaskEvent)).scalar() == events
    db.session.rollback()
    reused = update(client, key, pushed["case_id"], "FIXED", update_id="tk-1")
    assert reused.status_code == 400
    assert reused.get_json()[0]["code"] == "update_id_reused"
    assert db.session.execute(select(Task.status)).scalar() == "in_progress"


def test_not_councils_responsibility_rejects_and_routes_on(client, field_user, issue_key):
    key = issue_key()
    (pushed,) = push(client, field_user, report())
    answer = update(
        client, key, pushed["case_id"], "NOT_COUNCILS_RESPONSIBILITY", description="Ej vår"
    )
    assert answer.status_code == 200
    (found,) = requests_json(client, key)
    assert found["status"] == "closed"
    assert found["agency_responsible"] == "City i Samverkan (partnerskapet)"
    assert "Rejected by Trafikkontoret" in found["status_notes"]
    assert pulled_statuses(client, field_user)[-2:] == ["rejected", "routed"]
    # Its task is closed for it now: a later update is refused, and nothing moves.
    late = update(client, key, pushed["case_id"], "FIXED")
    assert late.status_code == 400 and late.get_json()[0]["code"] == "request_closed"


def test_another_organisations_key_can_neither_read_nor_move_it(client, field_user, issue_key):
    other = issue_key("fastighetskontoret")
    (pushed,) = push(client, field_user, report())
    answer = update(client, other, pushed["case_id"], "FIXED")
    assert answer.status_code == 404
    assert answer.get_json()[0]["code"] == "request_not_found"
    assert db.session.execute(select(Task.status)).scalar() == "new"
    listed = requests_json(client, other, service_request_id=pushed["case_id"])
    assert listed == []


def test_contacts_are_never_service_requests(client, field_user, issue_key):
    outreach = issue_key("socialtjanst-uppsok")
    (pushed,) = push(client, field_user, contact(referral="socialtjanst-uppsok"))
    assert pushed["status"] == "created"
    assert db.session.execute(select(Task.organisation_id)).scalar() is not None
    db.session.rollback()
    assert requests_json(client, outreach) == []
    assert client.get(f"{V2}/requests/{pushed['id']}.json?api_key={outreach}").status_code == 404


def test_filters_by_id_code_status_and_date(client, field_user, issue_key):
    key = issue_key()
    bin_, glass = push(
        client,
        field_user,
        report(),
        report(kind="litter", category="litter.broken_glass", location={**SERGELS_TORG}),
    )
    assert len(requests_json(client, key)) == 2
    by_code = requests_json(client, key, service_code="litter.broken_glass")
    assert [r["service_request_id"] for r in by_code] == [glass["case_id"]]
    both = requests_json(client, key, service_request_id=f"{bin_['case_id']},{glass['case_id']}")
    assert len(both) == 2
    assert requests_json(client, key, start_date="2020-01-01T00:00:00Z") == []
    assert requests_json(client, key, end_date="2099-01-01T00:00:00Z") == []
    assert len(requests_json(client, key, status="open,closed")) == 2


# Reports from another system ------------------------------------------------------------------


def create(client, key, fmt="json", headers=None, **fields):
    data = {
        "api_key": key,
        "service_code": "damage.broken_light",
        "lat": "59.33262",
        "long": "18.06499",
        "description": "Lampan vid trappan är släckt",
        **fields,
    }
    return client.post(f"{V2}/requests.{fmt}", data=data, headers=headers or {})


def test_a_posted_report_is_a_case_routed_like_the_phones(client, issue_key, field_user):
    from backend.reports.models import Report

    key = issue_key()
    answer = create(client, key, **{"attribute[pole_number]": "12-0345"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    (created,) = spec.check(answer.get_json(), spec.CREATED)
    assert "Trafikkontoret" in created["service_notice"]
    report_row = db.session.execute(select(Report)).scalar_one()
    assert str(report_row.case_id) == created["service_request_id"]
    assert "Stolpnummer (lamp post number): 12-0345" in report_row.note
    db.session.rollback()
    (listed,) = requests_json(client, key)
    assert listed["service_request_id"] == created["service_request_id"]
    assert listed["status"] == "open"
    # A phone reporting the same lamp joins the same case (the phones' dedup).
    (phone,) = push(
        client,
        field_user,
        report(
            kind="damage",
            category="damage.broken_light",
            location={"lat": 59.33262, "lon": 18.06499, "accuracy_m": 5},
        ),
    )
    assert phone["case_id"] == created["service_request_id"] and phone["joined_case"] is True


def test_a_resend_is_stored_once(client, issue_key):
    from backend.reports.models import Report

    key = issue_key()
    first = create(client, key).get_json()[0]
    time.sleep(0.01)
    again = create(client, key, fmt="xml")
    assert again.status_code == 200
    (item,) = spec.xml_items(again.data, "service_requests", "request")
    assert item["service_request_id"] == first["service_request_id"]
    assert "resend" in item["service_notice"]
    with_key = create(client, key, headers={"Idempotency-Key": "tk-4711"}).get_json()[0]
    assert create(client, key, headers={"Idempotency-Key": "tk-4711"}).get_json() == [
        {
            **with_key,
            "service_notice": create(
                client, key, headers={"Idempotency-Key": "tk-4711"}
            ).get_json()[0]["service_notice"],
        }
    ]
    reused = create(client, key, headers={"Idempotency-Key": "tk-4711"}, description="Annat")
    assert reused.status_code == 400
    assert reused.get_json()[0]["code"] == "idempotency_key_reused"
    assert db.session.execute(select(func.count()).select_from(Report)).scalar() == 2


# Media links ----------------------------------------------------------------------------------


def test_media_url_is_a_signed_expiring_link_to_the_sanitised_photo(
    app, client, field_user, issue_key, monkeypatch, photo_store
):
    from backend.photos.jobs import process_photo
    from tests.helpers.photos import phone_jpeg, sha256

    key = issue_key()
    photo = phone_jpeg()
    digest = sha256(photo)
    assert (
        client.put(f"/api/v1/photos/{digest}", data=photo, headers=field_user.headers).status_code
        == 201
    )
    assert process_photo(digest) == "ready"
    item = report(photos=[{"sha256": digest, "size": len(photo), "content_type": "image/jpeg"}])
    push(client, field_user, item)
    (found,) = requests_json(client, key)
    url = found["media_url"]
    path = url.split("://", 1)[1].split("/", 1)[1]
    served = client.get("/" + path)
    assert served.status_code == 200 and served.content_type == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.data != photo and b"Exif" not in served.data[:4096]  # sanitised, not raw
    assert photo_store.stored_keys() == {f"full/{digest}", f"thumb/{digest}"}  # files or bucket
    tampered = client.get("/" + path[:-2] + ("AA" if not path.endswith("AA") else "BB"))
    assert tampered.status_code == 404
    assert tampered.get_json()[0]["code"] == "media_not_found"
    monkeypatch.setitem(app.config, "OPEN311_MEDIA_URL_TTL_SECONDS", 60)
    from itsdangerous import URLSafeTimedSerializer

    signer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="open311-media")
    user_id = signer.loads(path.rsplit("/", 1)[1])[1]
    from unittest import mock

    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() - 120):
        old = signer.dumps([digest, user_id])
    expired = client.get(f"{V2}/media/{old}")
    assert expired.status_code == 403
    assert expired.get_json()[0]["code"] == "media_link_expired"
    # A revoked key's links stop working at once.
    from backend.open311.keys import list_keys, revoke_key

    revoke_key(db.session(), list_keys(db.session())[0].id)
    assert client.get("/" + path).status_code == 404


def test_a_report_listing_a_photo_its_author_never_sent_gets_no_media_link(
    app, client, field_user, create_user, issue_key, photo_store, monkeypatch
):
    """Possession: the hash of another worker's photo, listed without its bytes, must not put
    that photo (of another case) on this request."""
    from backend.photos.jobs import process_photo
    from backend.routing.services import route_waiting
    from tests.helpers.photos import phone_jpeg, sha256

    key = issue_key()
    photo = phone_jpeg()
    digest = sha256(photo)
    client.put(f"/api/v1/photos/{digest}", data=photo, headers=field_user.headers)
    assert process_photo(digest) == "ready"
    listed = [{"sha256": digest, "size": len(photo), "content_type": "image/jpeg"}]
    push(client, field_user, report(photos=listed))
    far = {**SERGELS_TORG, "lat": SERGELS_TORG["lat"] + 0.001}  # 110 m: another case
    other = report(photos=listed, location=far, kind="damage", category="damage.graffiti")
    monkeypatch.setitem(app.config, "ROUTING_PHOTO_GRACE_SECONDS", 0)
    push(client, create_user(role="field"), other)
    route_waiting(db.session())  # the grace for its missing photo is over: routed without it
    found = requests_json(client, key)
    assert len(found) == 2
    links = {r["service_request_id"]: r.get("media_url") for r in found}
    assert sum(1 for url in links.values() if url) == 1  # only the uploader's case has it


def test_a_media_link_to_an_image_gone_from_the_store_is_404(
    app, client, field_user, issue_key, photo_store
):
    from backend.photos.jobs import process_photo
    from backend.photos.store import storage_from
    from tests.helpers.photos import phone_jpeg, sha256

    key = issue_key()
    photo = phone_jpeg()
    digest = sha256(photo)
    client.put(f"/api/v1/photos/{digest}", data=photo, headers=field_user.headers)
    assert process_photo(digest) == "ready"
    item = report(photos=[{"sha256": digest, "size": len(photo), "content_type": "image/jpeg"}])
    push(client, field_user, item)
    (found,) = requests_json(client, key)
    path = found["media_url"].split("://", 1)[1].split("/", 1)[1]
    storage_from(app.config).delete(f"full/{digest}")
    gone = client.get("/" + path)
    assert gone.status_code == 404
    assert gone.get_json()[0]["code"] == "media_not_found"


def test_a_request_it_let_go_shows_the_case_as_it_was_then(
    client, field_user, create_user, issue_key
):
    """Need-to-know (backend.cases.visibility) through Open311: once the organisation rejects
    a case it sees neither later reports nor notes, photos or exact positions, nor what became
    of the case where its rejection sent it."""
    from backend.photos.jobs import process_photo
    from tests.helpers.photos import phone_jpeg, sha256

    key = issue_key()
    photo = phone_jpeg()
    digest = sha256(photo)
    assert (
        client.put(f"/api/v1/photos/{digest}", data=photo, headers=field_user.headers).status_code
        == 201
    )
    assert process_photo(digest) == "ready"
    listed = [{"sha256": digest, "size": len(photo), "content_type": "image/jpeg"}]
    (pushed,) = push(client, field_user, report(note="Påsar bredvid korgen", photos=listed))
    (working,) = requests_json(client, key)
    assert working["description"] == "Påsar bredvid korgen" and working["media_url"]
    assert working["lat"] == SERGELS_TORG["lat"]
    media_path = "/" + working["media_url"].split("://", 1)[1].split("/", 1)[1]
    assert client.get(media_path).status_code == 200

    assert update(client, key, pushed["case_id"], "NOT_COUNCILS_RESPONSIBILITY").status_code == 200
    push(client, field_user, report(note="En man sover bakom korgen"))
    # The partnership passes it on again; Trafikkontoret is not told.
    city = create_user(role="department", org="city-i-samverkan")
    open_task = db.session.execute(
        select(Task).where(Task.status == "new", Task.case_id == uuid.UUID(pushed["case_id"]))
    ).scalar_one()
    moved = client.post(
        f"/api/v1/tasks/{open_task.id}/events",
        json={"action": "reject", "reroute_to": "fastighetskontoret"},
        headers=city.headers,
    )
    assert moved.status_code == 200, moved.get_json()

    (gone,) = requests_json(client, key)
    assert gone["status"] == "closed"
    assert gone["description"] is None and gone["media_url"] is None
    assert gone["lat"] == round(working["lat"], 3) and gone["long"] == round(working["long"], 3)
    assert gone["status_notes"] == (
        "Rejected by Trafikkontoret; passed on to City i Samverkan (partnerskapet)."
    )
    assert gone["agency_responsible"] == "City i Samverkan (partnerskapet)"
    assert gone["expected_datetime"] is None
    assert "sover" not in json.dumps(gone) and "Fastighet" not in json.dumps(gone)
    assert client.get(media_path).status_code == 404


# Hostile input --------------------------------------------------------------------------------

HOSTILE_QUERIES = [
    ({"start_date": "garbage"}, "invalid_date"),
    ({"start_date": "2026-05-01"}, "invalid_date"),  # no time, no offset
    ({"start_date": "2026-05-01T10:00:00"}, "invalid_date"),  # no offset
    ({"start_date": "0001-01-01T00:00:00Z"}, "invalid_date"),
    ({"end_date": "9999-12-31T23:59:59-01:00"}, "invalid_date"),
    ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, "range_too_long"),
    ({"start_date": "2026-06-01T00:00:00Z", "end_date": "2026-05-01T00:00:00Z"}, "range_reversed"),
    ({"service_code": "no.such"}, "unknown_service_code"),
    ({"service_code": "litter.overflowing_bin\x00"}, "invalid_text"),
    ({"status": "reopened"}, "invalid_status"),
    ({"service_request_id": "not-a-uuid"}, "invalid_service_request_id"),
    ({"service_request_id": ",".join(str(uuid.uuid4()) for _ in range(201))}, "too_many_values"),
    ({"jurisdiction_id": "sfgov.org"}, "jurisdiction_not_found"),
]


@pytest.mark.parametrize("query,code", HOSTILE_QUERIES, ids=[c for _, c in HOSTILE_QUERIES])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_hostile_queries_are_a_clear_4xx_in_the_spec_format(client, issue_key, query, code, fmt):
    response = client.get(f"{V2}/requests.{fmt}", query_string={"api_key": issue_key(), **query})
    assert response.status_code in (400, 404), response.get_data(as_text=True)
    errors = (
        spec.check(response.get_json(), spec.ERRORS)
        if fmt == "json"
        else spec.xml_errors(response.data)
    )
    assert errors[0]["code"] == code


def test_a_lone_surrogate_in_a_query_is_a_400(client, issue_key):
    # %ED%A0%80 is a UTF-16 surrogate encoded as UTF-8: invalid, decoded as U+FFFD.
    response = client.get(f"{V2}/requests.json?api_key={issue_key()}&status=%ED%A0%80")
    assert response.status_code == 400
    assert response.get_json()[0]["code"] == "invalid_encoding"
    body = f"api_key={issue_key()}&service_code=damage.broken_light&lat=59.3326&long=18.065"
    posted = client.post(
        f"{V2}/requests.xml",
        data=body + "&description=Lampa%20%ED%A0%80",
        content_type="application/x-www-form-urlencoded",
    )
    assert posted.status_code == 400
    assert spec.xml_errors(posted.data)[0]["code"] == "invalid_encoding"


def test_posts_follow_the_configured_service_area(app, client, issue_key, monkeypatch):
    """One area for the phones and for other systems: SERVICE_AREA, not a copy of it."""
    key = issue_key()
    monkeypatch.setitem(app.config, "SERVICE_AREA", (59.0, 17.0, 59.3, 17.5))  # not the square
    refused = create(client, key)
    assert refused.status_code == 400
    assert refused.get_json()[0]["code"] == "outside_service_area"
    assert "59.0..59.3 N" in refused.get_json()[0]["description"]
    monkeypatch.setitem(app.config, "SERVICE_AREA", (59.3, 18.0, 59.4, 18.1))
    assert create(client, key).status_code in (200, 201)


HOSTILE_POSTS = [
    ({"lat": "90", "long": "0"}, "outside_service_area"),
    ({"lat": "-90", "long": "180"}, "outside_service_area"),
    ({"lat": "91", "long": "18.06"}, "invalid_location"),
    ({"lat": "59.33", "long": "-181"}, "invalid_location"),
    ({"lat": "nan", "long": "18.06"}, "invalid_location"),
    ({"lat": "inf", "long": "18.06"}, "invalid_location"),
    ({"lat": "", "long": ""}, "missing_parameter"),
    ({"service_code": "no.such"}, "service_not_found"),
    ({"service_code": ""}, "missing_parameter"),
    ({"description": "x" * 4001}, "too_long"),
    ({"description": "Lampa\x00"}, "invalid_text"),
    ({"attribute[colour]": "röd"}, "unknown_attribute"),
    ({"media_url": "javascript:alert(1)"}, "invalid_media_url"),
    ({"first_name": "A\nB"}, "invalid_text"),
    ({"surprise": "1"}, "unknown_parameter"),
]


@pytest.mark.parametrize("fields,code", HOSTILE_POSTS, ids=[c for _, c in HOSTILE_POSTS])
def test_hostile_posts_are_a_clear_4xx_and_store_nothing(client, issue_key, fields, code):
    from backend.sync.models import SyncItem

    response = create(client, issue_key(), fmt="xml", **fields)
    assert response.status_code in (400, 404), response.get_data(as_text=True)
    assert spec.xml_errors(response.data)[0]["code"] == code
    assert db.session.execute(select(func.count()).select_from(SyncItem)).scalar() == 0


def test_a_huge_body_is_413_in_the_spec_format(client, issue_key):
    response = create(client, issue_key(), description="x" * 2_000_000)
    assert response.status_code == 413
    spec.check(response.get_json(), spec.ERRORS)


def test_a_note_too_long_for_a_report_is_refused_by_the_push(client, issue_key):
    # 4000 characters are allowed by the spec, a report's note holds SYNC_MAX_NOTE_CHARS.
    response = create(client, issue_key(), description="x" * 3000)
    assert response.status_code == 400
    assert response.get_json()[0] == {
        "code": "note_too_long",
        "description": "description: at most 2000 characters",
    }


HOSTILE_UPDATES = [
    ({"status": "DUPLICATE"}, "unsupported_status"),
    ({"status": ""}, "missing_parameter"),
    ({"updated_datetime": "yesterday"}, "invalid_date"),
    ({"updated_datetime": "0001-01-01T00:00:00+01:00"}, "invalid_date"),
    ({"update_id": "u" * 101}, "too_long"),
    ({"description": "x" * 2001}, "too_long"),
    ({"service_request_id": "1 OR 1=1"}, "request_not_found"),
]


@pytest.mark.parametrize("fields,code", HOSTILE_UPDATES, ids=[c for _, c in HOSTILE_UPDATES])
def test_hostile_updates_are_a_clear_4xx_and_move_nothing(
    client, field_user, issue_key, fields, code
):
    key = issue_key()
    fields = dict(fields)  # the table is shared by both database backends' runs
    (pushed,) = push(client, field_user, report())
    response = update(
        client,
        key,
        fields.pop("service_request_id", pushed["case_id"]),
        **{"status": "FIXED", **fields},
    )
    assert response.status_code in (400, 404), response.get_data(as_text=True)
    assert response.get_json()[0]["code"] == code
    assert db.session.execute(select(Task.status)).scalar() == "new"


def test_xml_special_characters_and_controls_survive_as_parseable_xml(
    client, field_user, issue_key
):
    key = issue_key()
    note = 'Skylt <b>"trasig"</b> & \'böjd\' ]]> <!ENTITY x "y"> \x01'
    push(client, field_user, report(note=note))
    response = client.get(f"{V2}/requests.xml", query_string={"api_key": key})
    (item,) = spec.xml_items(response.data, "service_requests", "request")
    assert item["description"] == note.replace("\x01", "\ufffd")
    assert b"<!ENTITY" not in response.data and b"<b>" not in response.data


def test_errors_everywhere_under_the_prefix_are_spec_documents(client):
    missing = client.get(f"{V2}/nothing.xml")
    assert missing.status_code == 404 and spec.xml_errors(missing.data)[0]["code"] == "not_found"
    wrong_method = client.put(f"{V2}/requests.json")
    assert wrong_method.status_code == 405 and "POST" in wrong_method.headers["Allow"]
    spec.check(wrong_method.get_json(), spec.ERRORS)
    unknown = client.get(f"{V2}/services/no.such.json")
    assert unknown.status_code == 404
    assert unknown.get_json()[0]["code"] == "service_not_found"
    json_post = client.post(f"{V2}/requests.json", json={"service_code": "x"})
    assert json_post.status_code == 403  # no key in a JSON body: the spec posts forms
