"""GET /api/v1/cases/nearby and the pull's nearby_cases (issue 21): what a field worker is
shown before filing a report, what is kept from them, and hostile queries."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from pyproj import Geod

from backend.cases.services import resolve_case
from backend.extensions import db
from tests.helpers.sync_items import SERGELS_TORG, batch, iso, now, report

PUSH = "/api/v1/sync/push"
NEARBY = "/api/v1/cases/nearby"
PULL = "/api/v1/sync/pull"
GEOD = Geod(ellps="WGS84")
BIN = "litter.overflowing_bin"  # radius 15 m: nearby shows cases up to 30 m away
FIELDS = {"id", "category", "distance_m", "first_at", "last_at", "report_count", "has_photo"}


def _at(metres: float, bearing: float = 90.0) -> dict:
    lon, lat, _ = GEOD.fwd(SERGELS_TORG["lon"], SERGELS_TORG["lat"], bearing, metres)
    return {"lat": lat, "lon": lon, "accuracy_m": 3}


def _file(
    client, account, metres: float, bearing: float = 90.0, minutes_ago: float = 20, **extra
) -> str:
    item = report(
        captured_at=iso(now() - timedelta(minutes=minutes_ago)),
        location=_at(metres, bearing),
        **extra,
    )
    response = client.post(PUSH, json=batch([item]), headers=account.headers)
    [result] = response.get_json()["results"]
    assert result["status"] == "created", result
    return result["case_id"]


def _nearby(client, account, category: str = BIN, **point) -> dict:
    query = {"lat": SERGELS_TORG["lat"], "lon": SERGELS_TORG["lon"], "category": category}
    response = client.get(NEARBY, query_string=query | point, headers=account.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_open_cases_of_the_group_within_twice_the_radius_closest_first(
    client, field_user, create_user
):
    reporter = create_user(role="field")
    far = _file(client, reporter, 28, bearing=0)
    near = _file(client, reporter, 0)
    _file(client, reporter, 33, bearing=180)  # beyond 30 m
    _file(client, reporter, 3, category="litter.broken_glass")  # another dedup group
    mid = _file(client, reporter, 20, bearing=270)

    body = _nearby(client, field_user)
    assert [c["id"] for c in body["cases"]] == [near, mid, far]
    assert [c["distance_m"] for c in body["cases"]] == [0, 20, 30]  # 5 m steps
    assert (body["radius_m"], body["same_as_max_m"]) == (30, 45)
    first = body["cases"][0]
    assert set(first) == FIELDS
    assert (first["category"], first["report_count"], first["has_photo"]) == (BIN, 1, False)


def test_resolved_and_merged_cases_are_not_offered(client, field_user, create_user):
    reporter = create_user(role="field")
    resolved = _file(client, reporter, 0)
    resolve_case(db.session(), uuid.UUID(resolved))
    db.session.commit()
    kept = _file(client, reporter, 25, bearing=0)
    gone = _file(client, reporter, 25, bearing=180)
    supervisor = create_user(role="supervisor")
    merged = client.post(
        f"/api/v1/cases/{kept}/merge", json={"case_id": gone}, headers=supervisor.headers
    )
    assert merged.status_code == 200
    assert [c["id"] for c in _nearby(client, field_user)["cases"]] == [kept]


def test_at_most_ten(client, field_user, create_user):
    reporter = create_user(role="field")
    # Twelve open cases of one bin, each found more than the 4 h window after the last.
    for n in range(12):
        _file(client, reporter, n, minutes_ago=20 + n * 300)
    cases = _nearby(client, field_user)["cases"]
    assert len(cases) == 10
    assert [c["distance_m"] for c in cases] == [0, 0, 0, 5, 5, 5, 5, 5, 10, 10]


def test_has_photo_only_for_a_photo_its_reporter_sent(client, field_user, create_user):
    from backend.photos.models import Photo, PhotoUploader

    reporter = create_user(role="field")
    for sha in ("a" * 64, "b" * 64):
        db.session.add(Photo(sha256=sha, size=1000, content_type="image/jpeg", status="ready"))
    db.session.flush()
    db.session.add(PhotoUploader(sha256="a" * 64, user_id=reporter.id))
    db.session.commit()

    def photo(sha: str) -> list[dict]:
        return [{"sha256": sha, "size": 1000, "content_type": "image/jpeg"}]

    with_photo = _file(client, reporter, 0, photos=photo("a" * 64))
    listed_only = _file(client, reporter, 25, photos=photo("b" * 64))
    shown = {c["id"]: c["has_photo"] for c in _nearby(client, field_user)["cases"]}
    assert shown == {with_photo: True, listed_only: False}


def test_nothing_personal(client, field_user, create_user):
    reporter = create_user(role="field")
    secret = "Nyckeln ligger under mattan hos Anna 070-1234567"
    location = _at(7, bearing=45)
    _file(client, reporter, 7, bearing=45, note=secret)
    response = client.get(
        NEARBY,
        query_string={"lat": SERGELS_TORG["lat"], "lon": SERGELS_TORG["lon"], "category": BIN},
        headers=field_user.headers,
    )
    text = response.get_data(as_text=True)
    [case] = response.get_json()["cases"]
    assert set(case) == FIELDS
    assert secret not in text and "Anna" not in text
    assert str(reporter.id) not in text and reporter.name not in text
    assert f"{location['lat']:.5f}" not in text and f"{location['lon']:.5f}" not in text
    assert case["distance_m"] == 5  # 7 m, given in 5 m steps


@pytest.mark.parametrize("role", ["department", "supervisor", "admin"])
def test_only_field_workers_ask(client, create_user, role):
    account = create_user(role=role)
    query = {"lat": SERGELS_TORG["lat"], "lon": SERGELS_TORG["lon"], "category": BIN}
    response = client.get(NEARBY, query_string=query, headers=account.headers)
    assert (response.status_code, response.get_json()["code"]) == (403, "forbidden")


def test_without_token_401(client):
    query = {"lat": SERGELS_TORG["lat"], "lon": SERGELS_TORG["lon"], "category": BIN}
    assert client.get(NEARBY, query_string=query).status_code == 401


HOSTILE = {
    "latitude past 90": {"lat": "91"},
    "the north pole": {"lat": "90", "lon": "0"},
    "the south pole": {"lat": "-90"},
    "longitude past 180": {"lon": "181"},
    "NaN": {"lat": "NaN"},
    "nan lower-case": {"lon": "nan"},
    "Infinity": {"lat": "Infinity"},
    "-Infinity": {"lon": "-Infinity"},
    "a float overflowing to infinity": {"lat": "1e309"},
    "not a number": {"lat": "north"},
    "empty": {"lat": ""},
    "a huge string": {"lon": "1" * 100_000},
    "a NUL": {"category": "litter.overflowing_bin\x00"},
    "unknown category": {"category": "litter.unicorn"},
    "no category": {"category": None},
    "no latitude": {"lat": None},
}


@pytest.mark.parametrize("change", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_queries_are_422_with_a_code(client, field_user, change):
    query = {"lat": SERGELS_TORG["lat"], "lon": SERGELS_TORG["lon"], "category": BIN} | change
    query = {k: v for k, v in query.items() if v is not None}
    response = client.get(NEARBY, query_string=query, headers=field_user.headers)
    body = response.get_json()
    assert response.status_code == 422, body
    assert body["code"] == "validation_error"
    assert body["errors"]


def test_an_unlisted_parameter_is_refused(client, field_user):
    query = {"lat": 59.3325, "lon": 18.0642, "category": BIN, "radius": 5000}
    response = client.get(NEARBY, query_string=query, headers=field_user.headers)
    assert (response.status_code, response.get_json()["code"]) == (422, "unknown_parameter")


def test_outside_this_servers_area(app, client, field_user, monkeypatch):
    monkeypatch.setitem(app.config, "SERVICE_AREA", (59.30, 18.00, 59.31, 18.01))
    query = {"lat": SERGELS_TORG["lat"], "lon": SERGELS_TORG["lon"], "category": BIN}
    response = client.get(NEARBY, query_string=query, headers=field_user.headers)
    assert (response.status_code, response.get_json()["code"]) == (422, "outside_service_area")


# -- offline: the pull carries a zone's open cases -----------------------------------------


def test_pull_with_nearby_zone_carries_the_zones_open_cases(client, field_user, create_user):
    reporter = create_user(role="field")
    case = _file(client, reporter, 7, bearing=45, note="Anna har nyckeln")
    resolved = _file(client, reporter, 60)
    resolve_case(db.session(), uuid.UUID(resolved))
    db.session.commit()

    response = client.get(
        PULL, query_string={"nearby_zone": "sergels-torg"}, headers=field_user.headers
    )
    assert response.status_code == 200
    body = response.get_json()
    [listed] = body["nearby_cases"]
    assert listed["id"] == case
    assert listed["dedup_group"] == "bin"
    exact = _at(7, bearing=45)
    # Rounded to 0.0001 degree: the phone can measure 30 m, not see where someone stood.
    assert listed["lat"] == round(exact["lat"], 4) and listed["lon"] == round(exact["lon"], 4)
    assert listed["lat"] != exact["lat"]
    assert set(listed) == {
        "id", "category", "dedup_group", "lat", "lon", "first_at", "last_at", "report_count",
        "has_photo",
    }  # fmt: skip
    assert "Anna" not in response.get_data(as_text=True)
    assert str(reporter.id) not in response.get_data(as_text=True)


def test_pull_without_nearby_zone_is_unchanged(client, field_user, create_user):
    _file(client, create_user(role="field"), 0)
    body = client.get(PULL, headers=field_user.headers).get_json()
    assert set(body) == {"changes", "cursor", "has_more"}


def test_pull_nearby_zone_must_be_a_zone(client, field_user):
    response = client.get(
        PULL, query_string={"nearby_zone": "atlantis"}, headers=field_user.headers
    )
    assert (response.status_code, response.get_json()["code"]) == (422, "validation_error")


def test_pull_nearby_cases_are_bounded(client, field_user, create_user):
    reporter = create_user(role="field")
    # Sixty open cases in one zone: each bin found more than the 4 h window after the last.
    items = [
        report(captured_at=iso(now() - timedelta(minutes=20 + n * 250)), location=_at(n % 20))
        for n in range(60)
    ]
    response = client.post(PUSH, json=batch(items), headers=reporter.headers)
    assert response.status_code == 200
    assert len({r["case_id"] for r in response.get_json()["results"]}) == 60
    body = client.get(
        PULL, query_string={"nearby_zone": "sergels-torg"}, headers=field_user.headers
    ).get_json()
    assert len(body["nearby_cases"]) == 50
    times = [c["last_at"] for c in body["nearby_cases"]]
    assert times == sorted(times, reverse=True)
