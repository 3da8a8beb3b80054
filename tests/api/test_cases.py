"""Cases through the real push: which reports merge, the case routes, split/merge, resolution."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from pyproj import Geod
from sqlalchemy import select

from backend.cases.services import resolve_case
from backend.extensions import db
from backend.reports.models import Report
from tests.helpers.sync_items import SERGELS_TORG, batch, iso, now, report

PUSH = "/api/v1/sync/push"
PULL = "/api/v1/sync/pull"
GEOD = Geod(ellps="WGS84")


def _at(metres: float, bearing: float = 90.0, accuracy_m: float | None = 5.0) -> dict:
    lon, lat, _ = GEOD.fwd(SERGELS_TORG["lon"], SERGELS_TORG["lat"], bearing, metres)
    location = {"lat": lat, "lon": lon}
    if accuracy_m is not None:
        location["accuracy_m"] = accuracy_m
    return location


def _push(client, account, *items) -> list[dict]:
    response = client.post(PUSH, json=batch(list(items)), headers=account.headers)
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert all(r["status"] == "created" for r in results), results
    return results


@dataclass(frozen=True)
class Second:
    """The second report, relative to a first overflowing-bin report at Sergels Torg."""

    metres: float
    minutes_later: float
    category: str = "litter.overflowing_bin"
    kind: str = "litter"
    accuracy_m: float | None = 5.0
    first_accuracy_m: float | None = 5.0


# Bins: radius 15 m, window 240 min, GPS widening bounded at 25 m (categories.toml, sync.dedup).
TABLE = {
    "same bin 5 m and 10 min apart joins": (Second(5, 10), True),
    "200 m apart does not join": (Second(200, 10), False),
    "different categories do not join": (
        Second(5, 10, category="litter.broken_glass"),
        False,
    ),
    "outside the 4 h window does not join": (Second(5, 241), False),
    "inside the window at its edge joins": (Second(5, 239), True),
    "25 m with good GPS does not join": (Second(25, 10), False),
    "25 m with poor GPS joins (radius widened)": (
        Second(25, 10, accuracy_m=20, first_accuracy_m=20),
        True,
    ),
    "45 m with terrible GPS does not join (widening bounded at 25 m)": (
        Second(45, 10, accuracy_m=500, first_accuracy_m=500),
        False,
    ),
    "plain and offensive graffiti on one wall join (one dedup group)": (
        Second(5, 60, category="damage.graffiti_offensive", kind="damage"),
        True,
    ),
}


@pytest.mark.parametrize("second,joins", TABLE.values(), ids=TABLE.keys())
def test_dedup_table_through_the_push(client, field_user, create_user, second, joins):
    t0 = now() - timedelta(hours=5)
    first_category = (
        "damage.graffiti" if second.category.startswith("damage") else "litter.overflowing_bin"
    )
    first = report(
        captured_at=iso(t0),
        category=first_category,
        kind=second.category.split(".")[0],
        location=_at(0, accuracy_m=second.first_accuracy_m),
    )
    [r1] = _push(client, field_user, first)
    other = create_user(role="field")
    later = report(
        captured_at=iso(t0 + timedelta(minutes=second.minutes_later)),
        category=second.category,
        kind=second.kind,
        location=_at(second.metres, accuracy_m=second.accuracy_m),
    )
    [r2] = _push(client, other, later)

    assert r1["joined_case"] is False
    assert r2["joined_case"] is joins
    assert (r2["case_id"] == r1["case_id"]) is joins


def _case(client, headers, case_id: str) -> dict:
    response = client.get(f"/api/v1/cases/{case_id}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _pull(client, account) -> list[tuple[str, str, dict]]:
    response = client.get(PULL, query_string={"limit": 500}, headers=account.headers)
    assert response.status_code == 200
    return [
        (c["id"], c["status"], c["data"])
        for c in response.get_json()["changes"]
        if c["type"] == "report"
    ]


def test_a_case_shows_its_reports_and_why_each_merged(client, field_user, create_user):
    supervisor = create_user(role="supervisor")
    t0 = now() - timedelta(hours=1)
    a = report(captured_at=iso(t0), location=_at(0))
    b = report(captured_at=iso(t0 + timedelta(minutes=10)), location=_at(5))
    c = report(captured_at=iso(t0 + timedelta(minutes=20)), location=_at(8, bearing=0))
    results = _push(client, field_user, b, a, c)
    assert len({r["case_id"] for r in results}) == 1

    case = _case(client, supervisor.headers, results[0]["case_id"])
    assert case["report_count"] == 3
    assert case["status"] == "open"
    assert case["zone"] == "sergels-torg"
    # The case is where its first report (by capture time) was, whatever the batch order.
    assert (case["lat"], case["lon"]) == pytest.approx((_at(0)["lat"], _at(0)["lon"]))
    assert case["first_at"] < case["last_at"]
    reports = {r["id"]: r for r in case["reports"]}
    assert [r["id"] for r in case["reports"]] == [a["id"], b["id"], c["id"]]
    assert reports[a["id"]]["joined"] is False
    assert reports[a["id"]]["merge_reason"]["rule"] == "no_candidate"
    reason = reports[b["id"]]["merge_reason"]
    assert reason["rule"] == "within_radius"
    assert reason["distance_m"] == pytest.approx(5, abs=0.2)
    assert reason["gap_min"] == pytest.approx(10, abs=0.1)
    # The phone was told: both later reports are merged, into this case.
    merged = {(i, d["case_id"]) for i, s, d in _pull(client, field_user) if s == "merged"}
    assert merged == {(b["id"], case["id"]), (c["id"], case["id"])}


def test_a_report_after_resolution_starts_a_new_case(client, field_user):
    t0 = now() - timedelta(hours=2)
    [first] = _push(client, field_user, report(captured_at=iso(t0), location=_at(0)))
    resolve_case(db.session(), uuid.UUID(first["case_id"]))
    db.session.commit()
    [again] = _push(
        client,
        field_user,
        report(captured_at=iso(t0 + timedelta(minutes=30)), location=_at(2)),
    )
    assert again["joined_case"] is False
    assert again["case_id"] != first["case_id"]
    resolved = [(i, s) for i, s, _ in _pull(client, field_user) if s == "resolved"]
    assert resolved == [(first["id"], "resolved")]


def test_two_bins_of_one_batch_stay_two_and_resends_keep_their_case(client, field_user):
    t0 = now() - timedelta(minutes=30)
    items = [
        report(captured_at=iso(t0), location=_at(0)),
        report(captured_at=iso(t0 + timedelta(minutes=1)), location=_at(30)),
        report(captured_at=iso(t0 + timedelta(minutes=2)), location=_at(32)),
    ]
    results = _push(client, field_user, *items)
    assert results[0]["case_id"] != results[1]["case_id"]
    assert results[1]["case_id"] == results[2]["case_id"]
    assert [r["joined_case"] for r in results] == [False, False, True]

    response = client.post(PUSH, json=batch(items), headers=field_user.headers)
    resent = response.get_json()["results"]
    assert [r["status"] for r in resent] == ["duplicate"] * 3
    assert [(r["case_id"], r["joined_case"]) for r in resent] == [
        (r["case_id"], r["joined_case"]) for r in results
    ]


@pytest.fixture
def three_reports(client, field_user, create_user):
    """One case of three reports by two field workers."""
    other = create_user(role="field")
    t0 = now() - timedelta(hours=1)
    a = report(captured_at=iso(t0), location=_at(0))
    [ra] = _push(client, field_user, a)
    b = report(captured_at=iso(t0 + timedelta(minutes=5)), location=_at(4))
    c = report(captured_at=iso(t0 + timedelta(minutes=9)), location=_at(6))
    rb, rc = _push(client, other, b, c)
    assert ra["case_id"] == rb["case_id"] == rc["case_id"]
    return ra["case_id"], (a, b, c), other


def test_split_moves_reports_to_a_new_case_and_tells_their_reporters(
    client, field_user, create_user, three_reports
):
    case_id, (a, b, c), other = three_reports
    supervisor = create_user(role="supervisor")
    response = client.post(
        f"/api/v1/cases/{case_id}/split",
        json={"report_ids": [c["id"], b["id"]]},
        headers=supervisor.headers,
    )
    assert response.status_code == 201, response.get_json()
    new = response.get_json()
    assert new["id"] != case_id
    assert [r["id"] for r in new["reports"]] == [b["id"], c["id"]]
    assert new["report_count"] == 2
    assert new["reports"][0]["merge_reason"]["rule"] == "split"
    assert new["reports"][0]["merge_reason"]["from_case_id"] == case_id
    old = _case(client, supervisor.headers, case_id)
    assert [r["id"] for r in old["reports"]] == [a["id"]]
    assert old["report_count"] == 1
    assert old["last_at"] == old["first_at"]

    moved = [(i, s, d) for i, s, d in _pull(client, other) if d.get("case_id") == new["id"]]
    merged = [m for m in moved if m[1] == "merged"]
    assert sorted(merged, key=lambda m: m[0]) == sorted(
        [(b["id"], "merged", {"case_id": new["id"]}), (c["id"], "merged", {"case_id": new["id"]})]
    )
    # The split-off case is routed as a case of its own, and its reporters hear where it went.
    routed = {i: d["organisation"] for i, s, d in moved if s == "routed"}
    assert routed == {b["id"]: "trafikkontoret", c["id"]: "trafikkontoret"}
    assert all(d.get("case_id") != new["id"] for _, _, d in _pull(client, field_user))


def test_merge_moves_every_report_and_tells_their_reporters(client, field_user, create_user):
    supervisor = create_user(role="supervisor")
    t0 = now() - timedelta(hours=1)
    a = report(captured_at=iso(t0), location=_at(0))
    b = report(captured_at=iso(t0 + timedelta(minutes=3)), location=_at(40))
    ra, rb = _push(client, field_user, a, b)
    assert ra["case_id"] != rb["case_id"]

    response = client.post(
        f"/api/v1/cases/{ra['case_id']}/merge",
        json={"case_id": rb["case_id"]},
        headers=supervisor.headers,
    )
    assert response.status_code == 200, response.get_json()
    merged = response.get_json()
    assert [r["id"] for r in merged["reports"]] == [a["id"], b["id"]]
    assert merged["report_count"] == 2
    assert merged["reports"][1]["merge_reason"]["rule"] == "merge"
    gone = _case(client, supervisor.headers, rb["case_id"])
    assert (gone["status"], gone["merged_into_id"], gone["report_count"]) == (
        "merged",
        ra["case_id"],
        0,
    )
    assert (b["id"], "merged", {"case_id": ra["case_id"]}) in _pull(client, field_user)

    # A later report at the merged-away case's place joins the surviving case, not the merged one.
    [later] = _push(
        client, field_user, report(captured_at=iso(t0 + timedelta(minutes=20)), location=_at(1))
    )
    assert later["case_id"] == ra["case_id"]


def test_corrections_refuse_bad_requests_with_codes(client, field_user, create_user):
    supervisor = create_user(role="supervisor")
    t0 = now() - timedelta(hours=1)
    a = report(captured_at=iso(t0), location=_at(0))
    b = report(captured_at=iso(t0 + timedelta(minutes=3)), location=_at(40))
    ra, rb = _push(client, field_user, a, b)
    h = supervisor.headers

    def post(path: str, body: dict) -> tuple[int, str]:
        response = client.post(path, json=body, headers=h)
        return response.status_code, response.get_json()["code"]

    missing = uuid.uuid4()
    case_a, case_b = ra["case_id"], rb["case_id"]
    assert post(f"/api/v1/cases/{missing}/merge", {"case_id": case_b}) == (404, "case_not_found")
    assert post(f"/api/v1/cases/{case_a}/merge", {"case_id": str(missing)}) == (
        422,
        "unknown_case",
    )
    assert post(f"/api/v1/cases/{case_a}/merge", {"case_id": case_a}) == (
        409,
        "merge_into_itself",
    )
    assert post(f"/api/v1/cases/{case_a}/split", {"report_ids": [b["id"]]}) == (
        422,
        "report_not_in_case",
    )
    assert post(f"/api/v1/cases/{case_a}/split", {"report_ids": [a["id"]]}) == (
        422,
        "split_leaves_case_empty",
    )
    assert post(f"/api/v1/cases/{case_a}/split", {"report_ids": []}) == (422, "validation_error")
    resolve_case(db.session(), uuid.UUID(case_b))
    db.session.commit()
    assert post(f"/api/v1/cases/{case_a}/merge", {"case_id": case_b}) == (409, "case_resolved")
    # Nothing refused above changed either case.
    assert _case(client, h, case_a)["report_count"] == 1
    assert _case(client, h, case_b)["report_count"] == 1


def test_list_pages_and_filters(client, field_user, create_user):
    supervisor = create_user(role="supervisor")
    t0 = now() - timedelta(hours=1)
    items = [
        report(captured_at=iso(t0 + timedelta(minutes=n)), location=_at(40 * n)) for n in range(5)
    ]
    items.append(
        report(captured_at=iso(t0), category="damage.graffiti", kind="damage", location=_at(0))
    )
    results = _push(client, field_user, *items)
    assert len({r["case_id"] for r in results}) == 6

    seen: list[str] = []
    cursor = ""
    while True:
        response = client.get(
            "/api/v1/cases", query_string={"limit": 4, "cursor": cursor}, headers=supervisor.headers
        )
        assert response.status_code == 200
        body = response.get_json()
        seen.extend(c["id"] for c in body["items"])
        if body["next_cursor"] is None:
            break
        cursor = body["next_cursor"]
    assert sorted(seen) == sorted(r["case_id"] for r in results)

    graffiti = client.get(
        "/api/v1/cases", query_string={"category": "damage.graffiti"}, headers=supervisor.headers
    ).get_json()["items"]
    assert [c["id"] for c in graffiti] == [results[-1]["case_id"]]
    resolve_case(db.session(), uuid.UUID(results[0]["case_id"]))
    db.session.commit()
    resolved = client.get(
        "/api/v1/cases", query_string={"status": "resolved"}, headers=supervisor.headers
    ).get_json()["items"]
    assert [c["id"] for c in resolved] == [results[0]["case_id"]]
    # A filter value the document does not list is a mistake to hear about, not an empty list.
    nowhere = client.get(
        "/api/v1/cases", query_string={"zone": "no-such-zone"}, headers=supervisor.headers
    )
    assert (nowhere.status_code, nowhere.get_json()["code"]) == (422, "unknown_zone")
    bad = client.get("/api/v1/cases", query_string={"cursor": "x"}, headers=supervisor.headers)
    assert (bad.status_code, bad.get_json()["code"]) == (400, "invalid_cursor")


def test_a_department_sees_and_corrects_the_cases_its_organisation_works(
    client, field_user, create_user
):
    from backend.tasks.models import OPEN, Task

    trafik = create_user(role="department", org="trafikkontoret")
    fastighet = create_user(role="department", org="fastighetskontoret")
    a1, a2, b, c = _push(
        client,
        field_user,
        report(location=_at(0)),
        report(location=_at(3)),
        report(location=_at(60)),
        report(kind="damage", category="damage.building", location=_at(0)),
    )
    assert a1["case_id"] == a2["case_id"]
    assert len({a1["case_id"], b["case_id"], c["case_id"]}) == 3

    def listed(account) -> set[str]:
        body = client.get("/api/v1/cases", headers=account.headers).get_json()
        return {case["id"] for case in body["items"]}

    def task_of(case_id: str) -> Task:
        return (
            db.session.execute(
                select(Task).where(Task.case_id == uuid.UUID(case_id)).order_by(Task.routed_at)
            )
            .scalars()
            .first()
        )

    assert listed(trafik) == {a1["case_id"], b["case_id"]}
    assert listed(fastighet) == {c["case_id"]}
    nope = client.get(f"/api/v1/cases/{c['case_id']}", headers=trafik.headers)
    assert (nope.status_code, nope.get_json()["code"]) == (404, "case_not_found")
    # Trafikkontoret merges the two bins it was sent, which are one; the duplicate's task is
    # closed so nobody works it twice.
    merged = client.post(
        f"/api/v1/cases/{a1['case_id']}/merge",
        json={"case_id": b["case_id"]},
        headers=trafik.headers,
    )
    assert merged.status_code == 200, merged.get_json()
    duplicate = task_of(b["case_id"])
    assert duplicate.status == "rejected"
    assert [e.action for e in duplicate.events][-1] == "merged"
    assert task_of(a1["case_id"]).status in OPEN
    # It cannot pull another organisation's case into its own.
    foreign = client.post(
        f"/api/v1/cases/{a1['case_id']}/merge",
        json={"case_id": c["case_id"]},
        headers=trafik.headers,
    )
    assert (foreign.status_code, foreign.get_json()["code"]) == (422, "unknown_case")
    # Once it sends its task on to Fastighetskontoret, it still sees the case but no longer
    # corrects it; Fastighetskontoret does.
    rejected = client.post(
        f"/api/v1/tasks/{task_of(a1['case_id']).id}/events",
        json={"action": "reject", "reroute_to": "fastighetskontoret"},
        headers=trafik.headers,
    )
    assert rejected.status_code == 200, rejected.get_json()
    split = {"report_ids": [a2["id"]]}
    refused = client.post(
        f"/api/v1/cases/{a1['case_id']}/split", json=split, headers=trafik.headers
    )
    assert (refused.status_code, refused.get_json()["code"]) == (403, "not_responsible")
    assert client.get(f"/api/v1/cases/{a1['case_id']}", headers=trafik.headers).status_code == 200
    done = client.post(
        f"/api/v1/cases/{a1['case_id']}/split", json=split, headers=fastighet.headers
    )
    assert done.status_code == 201, done.get_json()
    # The split-off bin is routed by the rules like any new case: litter goes to
    # Trafikkontoret, which now sees it; the splitter saw it in the answer.
    assert done.get_json()["reports"][0]["id"] == a2["id"]
    assert done.get_json()["id"] in listed(trafik)


@pytest.mark.parametrize(
    "second_phash,rule,possessed",
    [
        ("ffff0000ffff00f0", "near_photo", True),
        ("0000ffff0000ffff", "different_photo", True),
        ("0000ffff0000ffff", "within_accuracy", False),
    ],
    ids=[
        "near photo joins at the edge",
        "different photo keeps apart at the edge",
        "a photo listed by hash but never uploaded by its reporter does not weigh in",
    ],
)
def test_photos_decide_at_the_edge(client, field_user, create_user, second_phash, rule, possessed):
    from backend.photos.models import Photo, PhotoUploader

    # Processed photos as the media job leaves them (hashes chosen: 4 and 64 bits apart),
    # uploaded by the reporter: only a photo its reporter possesses weighs in.
    for sha, phash in (("a" * 64, "ffff0000ffff0000"), ("b" * 64, second_phash)):
        db.session.add(
            Photo(sha256=sha, size=1000, content_type="image/jpeg", status="ready", phash=phash)
        )
        db.session.flush()
        uploader = field_user.id if possessed or sha == "a" * 64 else create_user().id
        db.session.add(PhotoUploader(sha256=sha, user_id=uploader))
    db.session.commit()
    t0 = now() - timedelta(hours=1)

    def photo(sha: str) -> list[dict]:
        return [{"sha256": sha, "size": 1000, "content_type": "image/jpeg"}]

    # 25 m apart: outside the bin's 15 m, inside it widened by 20 m fixes (the edge band).
    [r1] = _push(
        client,
        field_user,
        report(captured_at=iso(t0), location=_at(0, accuracy_m=20), photos=photo("a" * 64)),
    )
    [r2] = _push(
        client,
        field_user,
        report(
            captured_at=iso(t0 + timedelta(minutes=5)),
            location=_at(25, accuracy_m=20),
            photos=photo("b" * 64),
        ),
    )
    assert (r2["case_id"] == r1["case_id"]) is (rule != "different_photo")
    supervisor_view = db.session.get(Report, uuid.UUID(r2["id"]))
    assert supervisor_view.merge_reason["rule"] == rule
