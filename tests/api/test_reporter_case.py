"""A field worker opens a case their own report is in (``backend.cases.visibility``'s reporter
view): the case's status, category, place, times and responsible organisation, and their own
reports only; another reporter's report, note, position, id, name and photos never appear.
Any other case is the 404 of a case that does not exist, and the rule follows splits and
merges."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from backend.extensions import db
from tests.api.test_photos import put
from tests.helpers.photos import phone_jpeg, sha256
from tests.helpers.servers import REPO
from tests.helpers.sync_items import batch, contact, iso, now, report
from tests.helpers.tasks import bin_number, push, task_of

CASES = "/api/v1/cases"
TASKS = "/api/v1/tasks"
# Many digits, so that a coordinate found in a body's text is that coordinate.
ANNA_AT = {"lat": 59.33251234, "lon": 18.06423456, "accuracy_m": 6}
BO_AT = {"lat": 59.33254321, "lon": 18.06426543, "accuracy_m": 9}  # about 4 m away


def _documented(body: dict) -> list[str]:
    """The schemas of the documented 200 (oneOf) that ``body`` matches."""
    spec = json.loads((REPO / "openapi" / "openapi.json").read_text("utf-8"))
    answer = spec["paths"]["/api/v1/cases/{case_id}"]["get"]["responses"]["200"]
    matched = []
    for ref in answer["content"]["application/json"]["schema"]["oneOf"]:
        validator = OAS30Validator(
            {"components": spec["components"], **ref}, format_checker=oas30_format_checker
        )
        if validator.is_valid(body):
            matched.append(ref["$ref"].rsplit("/", 1)[-1])
    return matched


def _get(client, account, case_id):
    return client.get(f"{CASES}/{case_id}", headers=account.headers)


def _numbers(value) -> set[float]:
    if isinstance(value, dict):
        return set().union(*(_numbers(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_numbers(v) for v in value)) if value else set()
    return {value} if isinstance(value, float) else set()


def _photo(client, account, seed):
    data = phone_jpeg(seed=seed)
    assert put(client, account, data).status_code == 201
    return {"sha256": sha256(data), "size": len(data), "content_type": "image/jpeg"}


@pytest.fixture
def shared(client, create_user):
    """Anna reported a full bin with a photo; ten minutes later Bo (another organisation's
    worker) reported the same bin, with a note of his own and a photo: one case."""
    anna = create_user(role="field", name="Anna Andersson")
    bo = create_user(role="field", org="trafikkontoret", name="Bo Hemligsson")
    first = report(
        captured_at=iso(now() - timedelta(minutes=20)),
        location=dict(ANNA_AT),
        note="Påsar bredvid korgen",
        photos=[_photo(client, anna, 1)],
    )
    push(client, anna, [first])
    later = report(
        captured_at=iso(now() - timedelta(minutes=10)),
        location=dict(BO_AT),
        note="Portkoden är 4711",
        photos=[_photo(client, bo, 2)],
    )
    push(client, bo, [later])
    db.session.expire_all()
    task = task_of(first["id"])
    assert task is not None and task_of(later["id"]).case_id == task.case_id
    return {"anna": anna, "bo": bo, "first": first, "later": later, "case_id": task.case_id}


def test_a_reporter_sees_the_case_and_only_their_own_report(client, shared):
    anna, bo, first, later = shared["anna"], shared["bo"], shared["first"], shared["later"]
    response = _get(client, anna, shared["case_id"])
    assert response.status_code == 200, response.get_json()
    case = response.get_json()
    assert case["view"] == "reporter"
    assert (case["id"], case["status"], case["category"]) == (
        str(shared["case_id"]),
        "open",
        "litter.overflowing_bin",
    )
    # The case started with Anna's report: its place is hers, exact.
    assert (case["lat"], case["lon"]) == (ANNA_AT["lat"], ANNA_AT["lon"])
    assert case["zone"] == "sergels-torg"
    assert case["first_at"] < case["last_at"]
    assert case["responsible"] == {"slug": "trafikkontoret", "name": "Trafikkontoret"}
    (own,) = case["reports"]
    assert own == {
        "id": first["id"],
        "category": "litter.overflowing_bin",
        "kind": "litter",
        "captured_at": own["captured_at"],
        "lat": ANNA_AT["lat"],
        "lon": ANNA_AT["lon"],
        "accuracy_m": 6.0,
        "zone": "sergels-torg",
        "note": "Påsar bredvid korgen",
        "photos": [first["photos"][0]["sha256"]],
    }
    # Nothing of Bo's: not his report, note, position, photo, id or name.
    text = response.get_data(as_text=True)
    for secret in (
        later["id"],
        "Portkoden",
        str(BO_AT["lat"]),
        str(BO_AT["lon"]),
        later["photos"][0]["sha256"],
        str(bo.id),
        "Hemligsson",
        str(anna.id),  # nor reporters' user ids at all
    ):
        assert secret not in text, secret
    assert not _numbers(case) & {BO_AT["lat"], BO_AT["lon"]}
    assert "report_count" not in case and "merge_reason" not in text
    assert _documented(case) == ["ReporterCase"]


def test_the_second_reporter_gets_the_place_rounded(client, shared):
    anna, bo, first = shared["anna"], shared["bo"], shared["first"]
    response = _get(client, bo, shared["case_id"])
    assert response.status_code == 200
    case = response.get_json()
    # The case's place is Anna's position: Bo gets the block, not where she stood.
    assert (case["lat"], case["lon"]) == (round(ANNA_AT["lat"], 3), round(ANNA_AT["lon"], 3))
    assert [r["id"] for r in case["reports"]] == [shared["later"]["id"]]
    assert case["reports"][0]["note"] == "Portkoden är 4711"
    text = response.get_data(as_text=True)
    for secret in (first["id"], "Påsar", str(ANNA_AT["lat"]), str(anna.id), "Andersson"):
        assert secret not in text, secret
    assert first["photos"][0]["sha256"] not in text
    assert not _numbers(case) & {ANNA_AT["lat"], ANNA_AT["lon"]}


def test_a_case_without_a_report_of_theirs_is_not_found(client, shared, create_user):
    anna = shared["anna"]
    theirs_only = report(location=bin_number(3))  # another bin, Bo's alone
    push(client, shared["bo"], [theirs_only])
    db.session.expire_all()
    other_case = task_of(theirs_only["id"]).case_id
    refused = _get(client, anna, other_case)
    missing = _get(client, anna, uuid.uuid4())
    assert refused.status_code == missing.status_code == 404
    assert refused.get_json() == missing.get_json()
    assert refused.get_json()["code"] == "case_not_found"
    assert theirs_only["id"] not in refused.get_data(as_text=True)
    # A report id is not a case id.
    assert _get(client, anna, shared["first"]["id"]).status_code == 404
    # The other calls on cases stay closed to field workers.
    assert client.get(CASES, headers=anna.headers).status_code == 403
    split = client.post(
        f"{CASES}/{shared['case_id']}/split",
        json={"report_ids": [shared["first"]["id"]]},
        headers=anna.headers,
    )
    merge = client.post(
        f"{CASES}/{shared['case_id']}/merge",
        json={"case_id": str(other_case)},
        headers=anna.headers,
    )
    assert split.status_code == merge.status_code == 403
    # Departments and supervisors keep their own views of the same case.
    supervisor = create_user(role="supervisor")
    full = _get(client, supervisor, shared["case_id"]).get_json()
    assert full["view"] == "full" and full["report_count"] == 2
    assert _documented(full) == ["CaseDetail"]


@pytest.mark.parametrize(
    "path",
    ["not-a-uuid", "%00", "%ED%A0%80", "1" * 5000, "", f"{{{uuid.uuid4()}}}", "0" * 32],
    ids=["word", "nul", "lone surrogate", "huge", "trailing slash", "braces", "zero hex"],
)
def test_hostile_case_ids_are_a_clear_404(client, field_user, path):
    response = client.get(f"{CASES}/{path}", headers=field_user.headers)
    assert response.status_code == 404
    assert response.get_json()["code"] in ("not_found", "case_not_found")


def test_the_own_case_id_in_capitals_is_the_same_case(client, shared):
    upper = str(shared["case_id"]).upper()
    response = _get(client, shared["anna"], upper)
    assert response.status_code == 200
    assert response.get_json()["id"] == str(shared["case_id"])


def test_a_referred_contact_never_shows_through_a_case(client, shared, create_user):
    anna, bo = shared["anna"], shared["bo"]
    referred = contact(referral="socialtjanst-uppsok", location=dict(ANNA_AT))
    pushed = client.post("/api/v1/sync/push", json=batch([referred]), headers=anna.headers)
    assert pushed.get_json()["results"][0]["status"] == "created"
    for reader in (anna, bo):
        assert _get(client, reader, referred["id"]).status_code == 404
        body = _get(client, reader, shared["case_id"]).get_data(as_text=True)
        assert referred["id"] not in body and "socialtjanst" not in body
        assert "housing" not in body
    social = create_user(role="department", org="socialtjanst-uppsok")
    assert _get(client, social, referred["id"]).status_code == 404


def test_the_responsible_organisation_follows_the_task(client, shared, create_user):
    anna = shared["anna"]
    trafik = create_user(role="department", org="trafikkontoret")
    task = task_of(shared["first"]["id"])
    rerouted = client.post(
        f"{TASKS}/{task.id}/events",
        json={"action": "reject", "reroute_to": "fastighetskontoret"},
        headers=trafik.headers,
    )
    assert rerouted.status_code == 200, rerouted.get_json()
    case = _get(client, anna, shared["case_id"]).get_json()
    assert case["responsible"]["slug"] == "fastighetskontoret"
    fastighet = create_user(role="department", org="fastighetskontoret")
    db.session.expire_all()
    task = task_of(shared["first"]["id"])
    for action in ("acknowledge", "start", "resolve"):
        done = client.post(
            f"{TASKS}/{task.id}/events", json={"action": action}, headers=fastighet.headers
        )
        assert done.status_code == 200, done.get_json()
    case = _get(client, anna, shared["case_id"]).get_json()
    assert (case["status"], case["responsible"]["slug"]) == ("resolved", "fastighetskontoret")
    assert case["resolved_at"]


def test_a_case_waiting_for_its_photos_has_no_responsible_yet(client, field_user):
    never = {"sha256": "ab" * 32, "size": 1000, "content_type": "image/jpeg"}
    waiting = report(location=bin_number(5), photos=[never])
    pushed = client.post("/api/v1/sync/push", json=batch([waiting]), headers=field_user.headers)
    (result,) = pushed.get_json()["results"]
    case = _get(client, field_user, result["case_id"]).get_json()
    assert case["responsible"] is None
    assert case["reports"][0]["photos"] == ["ab" * 32]


def test_the_rule_follows_merges_and_splits(client, shared, create_user):
    anna, bo = shared["anna"], shared["bo"]
    supervisor = create_user(role="supervisor")
    # Anna reports a second bin; the supervisor merges that case into the shared one.
    elsewhere = report(location=bin_number(4), note="Andra korgen")
    push(client, anna, [elsewhere])
    db.session.expire_all()
    away = task_of(elsewhere["id"]).case_id
    merged = client.post(
        f"{CASES}/{shared['case_id']}/merge",
        json={"case_id": str(away)},
        headers=supervisor.headers,
    )
    assert merged.status_code == 200, merged.get_json()
    # The merged-away case held only Anna's report, which left it: unknown to her now.
    assert _get(client, anna, away).status_code == 404
    kept = _get(client, anna, shared["case_id"]).get_json()
    assert {r["id"] for r in kept["reports"]} == {shared["first"]["id"], elsewhere["id"]}
    assert shared["later"]["id"] not in json.dumps(kept)
    # The supervisor splits Bo's report off: Bo sees the new case, and no longer the old one.
    split = client.post(
        f"{CASES}/{shared['case_id']}/split",
        json={"report_ids": [shared["later"]["id"]]},
        headers=supervisor.headers,
    )
    assert split.status_code == 201, split.get_json()
    new_case = split.get_json()["id"]
    assert _get(client, bo, shared["case_id"]).status_code == 404
    mine = _get(client, bo, new_case).get_json()
    assert [r["id"] for r in mine["reports"]] == [shared["later"]["id"]]
    # The split-off case starts at Bo's report: his own position, exact.
    assert (mine["lat"], mine["lon"]) == (BO_AT["lat"], BO_AT["lon"])
    assert _get(client, anna, new_case).status_code == 404
    text = _get(client, bo, new_case).get_data(as_text=True)
    assert "Påsar" not in text and shared["first"]["id"] not in text
