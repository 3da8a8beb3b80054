"""The reporter's case_hint on a pushed report (issue 21): same_as, distinct_from, their
bounds and errors, and a replay answering what the first push decided."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from pyproj import Geod

from backend.cases.services import resolve_case
from backend.extensions import db
from tests.helpers.console import make_staff, sign_in
from tests.helpers.sync_items import SERGELS_TORG, batch, iso, now, report

PUSH = "/api/v1/sync/push"
GEOD = Geod(ellps="WGS84")


def _at(metres: float, bearing: float = 90.0, accuracy_m: float = 5.0) -> dict:
    lon, lat, _ = GEOD.fwd(SERGELS_TORG["lon"], SERGELS_TORG["lat"], bearing, metres)
    return {"lat": lat, "lon": lon, "accuracy_m": accuracy_m}


def _results(client, account, *items) -> list[dict]:
    # json.dumps escapes a lone surrogate as \ud800, as a phone's JSON encoder would.
    response = client.post(
        PUSH,
        data=json.dumps(batch(list(items))),
        content_type="application/json",
        headers=account.headers,
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


def _one(client, account, item) -> dict:
    [result] = _results(client, account, item)
    assert result["status"] == "created", result
    return result


def _case(client, case_id: str, create_user) -> dict:
    supervisor = create_user(role="supervisor")
    response = client.get(f"/api/v1/cases/{case_id}", headers=supervisor.headers)
    assert response.status_code == 200
    return response.get_json()


def _bin(metres: float = 0.0, minutes_ago: float = 30, **extra) -> dict:
    return report(
        captured_at=iso(now() - timedelta(minutes=minutes_ago)), location=_at(metres), **extra
    )


@pytest.fixture
def first_case(client, field_user) -> str:
    """An open overflowing-bin case at Sergels Torg (radius 15 m, so same_as reaches 45 m)."""
    return _one(client, field_user, _bin(0, minutes_ago=60))["case_id"]


def test_same_as_joins_a_case_the_rules_would_not(client, field_user, create_user, first_case):
    # 35 m with good GPS: outside 15 m widened by ~7 m, so the rules alone start a new case.
    alone = _one(client, field_user, _bin(35))
    assert alone["case_id"] != first_case

    hinted = _one(client, field_user, _bin(35, case_hint={"same_as": first_case}))
    assert hinted["case_id"] == first_case
    assert hinted["joined_case"] is True
    assert hinted["code"] is None
    assert hinted["hint"] == {"kind": "same_as", "followed": True, "reason": None}

    case = _case(client, first_case, create_user)
    reason = next(r for r in case["reports"] if r["id"] == hinted["id"])["merge_reason"]
    assert reason["rule"] == "reporter_same"
    assert reason["hint"]["followed"] is True
    assert reason["distance_m"] == pytest.approx(35, abs=0.5)


def test_same_as_joins_an_open_case_outside_the_time_window(client, field_user):
    old = _one(client, field_user, _bin(0, minutes_ago=600))  # the bin's window is 4 h
    later = _one(client, field_user, _bin(5, minutes_ago=10, case_hint={"same_as": old["case_id"]}))
    assert later["case_id"] == old["case_id"]


@pytest.mark.parametrize(
    "where,reason",
    [
        ("too_far", "too_far"),
        ("unknown", "unknown_case"),
        ("resolved", "closed"),
        ("merged", "closed"),
        ("other_group", "other_group"),
    ],
)
def test_a_same_as_not_followed_says_why_and_the_rules_decide(
    client, field_user, create_user, first_case, where, reason
):
    target = first_case
    location = 5.0
    if where == "too_far":
        location = 46.0  # three bin radii are 45 m
    elif where == "unknown":
        target = str(uuid.uuid4())
    elif where == "resolved":
        resolve_case(db.session(), uuid.UUID(first_case))
        db.session.commit()
    elif where == "merged":
        other = _one(client, field_user, _bin(300, minutes_ago=50))["case_id"]
        supervisor = create_user(role="supervisor")
        merged = client.post(
            f"/api/v1/cases/{other}/merge", json={"case_id": first_case}, headers=supervisor.headers
        )
        assert merged.status_code == 200
    elif where == "other_group":
        target = _one(client, field_user, _bin(0, category="litter.broken_glass", minutes_ago=40))[
            "case_id"
        ]

    result = _one(client, field_user, _bin(location, case_hint={"same_as": target}))
    assert result["code"] == "hint_not_followed"
    assert result["hint"] == {"kind": "same_as", "followed": False, "reason": reason}
    assert result["case_id"] != target
    if where == "other_group":
        # The rules still decide: 5 m from the open bin case, it joins that one.
        assert result["case_id"] == first_case
        assert result["joined_case"] is True
    if where == "too_far":
        assert result["joined_case"] is False


def test_distinct_from_never_joins_that_case(client, field_user, create_user, first_case):
    result = _one(client, field_user, _bin(2, case_hint={"distinct_from": [first_case]}))
    assert result["case_id"] != first_case
    assert result["joined_case"] is False
    assert result["code"] is None
    assert result["hint"] == {"kind": "distinct_from", "followed": True, "reason": None}
    case = _case(client, result["case_id"], create_user)
    assert case["reports"][0]["merge_reason"]["rule"] == "reporter_distinct"
    assert case["reports"][0]["merge_reason"]["case_id"] == first_case


def test_distinct_from_may_join_another_case(client, field_user, first_case):
    second = _one(client, field_user, _bin(30, minutes_ago=50))["case_id"]
    assert second != first_case
    # 12 m from the first bin, 18 m from the second: the rules pick the first, unless told no.
    result = _one(client, field_user, _bin(12, case_hint={"distinct_from": [first_case]}))
    assert result["case_id"] == second
    assert result["joined_case"] is True


def test_a_later_report_without_hint_still_follows_the_rules(client, field_user, first_case):
    kept_apart = _one(client, field_user, _bin(2, case_hint={"distinct_from": [first_case]}))
    plain = _one(client, field_user, _bin(0.2))
    assert plain["case_id"] == first_case
    assert kept_apart["case_id"] != first_case


def test_a_replay_gives_the_same_result(client, field_user, first_case):
    hinted = _bin(46, case_hint={"same_as": first_case})
    [first] = _results(client, field_user, hinted)
    [again] = _results(client, field_user, hinted)
    assert again["status"] == "duplicate"
    for key in ("case_id", "joined_case", "code", "hint"):
        assert again[key] == first[key], key
    assert first["code"] == "hint_not_followed"
    # The hint is part of the item's content: the same id with another hint is a conflict.
    changed = dict(hinted, case_hint={"distinct_from": [first_case]})
    [conflict] = _results(client, field_user, changed)
    assert conflict["status"] == "conflict"


def test_a_hint_in_a_replay_of_a_joined_report(client, field_user, first_case):
    hinted = _bin(10, case_hint={"same_as": first_case})
    _results(client, field_user, hinted)
    [again] = _results(client, field_user, hinted)
    assert (again["status"], again["case_id"], again["hint"]) == (
        "duplicate",
        first_case,
        {"kind": "same_as", "followed": True, "reason": None},
    )


def test_a_report_without_hint_answers_as_before(client, field_user):
    result = _one(client, field_user, _bin(0))
    assert result["hint"] is None
    assert result["code"] is None


MALFORMED = {
    "not an object": ("same", "invalid_case_hint", "case_hint"),
    "empty object": ({}, "invalid_case_hint", "case_hint"),
    "unknown key": ({"maybe": "x"}, "invalid_case_hint", "case_hint.maybe"),
    "same_as not a uuid": ({"same_as": "bin-1"}, "invalid_case_hint", "case_hint.same_as"),
    "same_as a number": ({"same_as": 7}, "invalid_case_hint", "case_hint.same_as"),
    "same_as null": ({"same_as": None}, "invalid_case_hint", "case_hint.same_as"),
    "same_as a lone surrogate": (
        {"same_as": "\ud800"},
        "invalid_case_hint",
        "case_hint.same_as",
    ),
    "distinct_from not a list": (
        {"distinct_from": str(uuid.uuid4())},
        "invalid_case_hint",
        "case_hint.distinct_from",
    ),
    "distinct_from empty": ({"distinct_from": []}, "invalid_case_hint", "case_hint.distinct_from"),
    "distinct_from a bad id": (
        {"distinct_from": [str(uuid.uuid4()), "x"]},
        "invalid_case_hint",
        "case_hint.distinct_from.1",
    ),
    "distinct_from 11 cases": (
        {"distinct_from": [str(uuid.uuid4()) for _ in range(11)]},
        "case_hint_too_long",
        "case_hint.distinct_from",
    ),
    "distinct_from 10,000 cases": (
        {"distinct_from": ["0" * 36] * 10_000},
        "case_hint_too_long",
        "case_hint.distinct_from",
    ),
    "one case both same and distinct": (
        {"same_as": "6f2c1a9e-0000-4000-8000-000000000001",
         "distinct_from": ["6f2c1a9e-0000-4000-8000-000000000001"]},
        "invalid_case_hint",
        "case_hint",
    ),
}  # fmt: skip


@pytest.mark.parametrize("hint,code,field", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_hint_rejects_that_item_only(client, field_user, hint, code, field):
    bad = _bin(0, case_hint=hint)
    good = _bin(3)
    rejected, created = _results(client, field_user, bad, good)
    assert rejected["status"] == "rejected"
    assert rejected["code"] == code
    assert field in rejected["errors"]
    assert created["status"] == "created"


def test_ten_distinct_cases_and_repeats_are_accepted(client, field_user, first_case):
    others = [str(uuid.uuid4()) for _ in range(8)]
    hint = {"distinct_from": [first_case, *others, first_case.upper()]}
    result = _one(client, field_user, _bin(1, case_hint=hint))
    assert result["case_id"] != first_case


def test_two_reports_of_one_batch_each_follow_their_hint(client, field_user, first_case):
    same, distinct = _results(
        client,
        field_user,
        _bin(30, minutes_ago=20, case_hint={"same_as": first_case}),
        _bin(1, minutes_ago=10, case_hint={"distinct_from": [first_case]}),
    )
    assert same["case_id"] == first_case
    assert distinct["case_id"] != first_case


def test_the_console_case_page_names_the_hints(app, client, field_user, create_user, first_case):
    _one(client, field_user, _bin(35, case_hint={"same_as": first_case}))
    refused = _one(client, field_user, _bin(2, case_hint={"same_as": str(uuid.uuid4())}))
    apart = _one(client, field_user, _bin(3, case_hint={"distinct_from": [first_case]}))
    staff = app.test_client()
    assert sign_in(staff, make_staff(create_user, "supervisor").email).status_code == 302

    page = staff.get(f"/console/cases/{first_case}").get_data(as_text=True)
    assert "Sammanslagen: rapportören sa att det är detta ärende" in page
    assert "rapportörens angivelse följdes inte: inget sådant ärende" in page
    assert refused["case_id"] == first_case  # 2 m away: the rules joined it
    page = staff.get(f"/console/cases/{apart['case_id']}").get_data(as_text=True)
    assert "Startade ärendet: rapportören sa att det inte är ärendet intill" in page
