"""Tasks through the API: who sees which, transitions, rerouting, the phones' feed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from backend.delivery.models import Delivery
from backend.extensions import db
from backend.routing.rules import CaseFacts
from backend.routing.services import route_case
from backend.tasks.models import Task, TaskEvent
from tests.helpers.sync_items import contact, report
from tests.helpers.tasks import (
    awaiting,
    bin_number,
    deliver_pending,
    new_task,
    push,
    route_reports,
    task_of,
)

TASKS = "/api/v1/tasks"


def _pull(client, account) -> list[dict]:
    response = client.get("/api/v1/sync/pull", query_string={"limit": 200}, headers=account.headers)
    assert response.status_code == 200
    return [c for c in response.get_json()["changes"] if c["type"] != "reference"]


def _event(client, account, task_id, action, **extra):
    return client.post(
        f"{TASKS}/{task_id}/events", json={"action": action, **extra}, headers=account.headers
    )


def test_a_case_at_sergels_torg_reaches_trafikkontoret_only(client, field_user, create_user):
    task, pushed = new_task(client, field_user)
    trafik = create_user(role="department", org="trafikkontoret")
    fastighet = create_user(role="department", org="fastighetskontoret")
    # Not in any inbox before the delivery has run.
    assert client.get(TASKS, headers=trafik.headers).get_json()["items"] == []
    assert deliver_pending() == ["delivered"]

    items = client.get(TASKS, headers=trafik.headers).get_json()["items"]
    assert [i["id"] for i in items] == [str(task.id)]
    item = items[0]
    assert item["organisation"] == "trafikkontoret"
    assert item["category"] == "litter.overflowing_bin"
    assert item["zone"] == "sergels-torg"
    assert item["location"] == {"lat": pushed["location"]["lat"], "lon": pushed["location"]["lon"]}
    assert item["status"] == "new" and item["overdue"] is False
    assert item["rule_id"] and item["rule_set_version"] == 1
    assert client.get(TASKS, headers=fastighet.headers).get_json()["items"] == []
    assert client.get(f"{TASKS}/{task.id}", headers=fastighet.headers).status_code == 404

    routed = [c for c in _pull(client, field_user) if c["status"] == "routed"]
    assert routed and routed[0]["id"] == pushed["id"]
    assert routed[0]["data"] == {
        "organisation": "trafikkontoret",
        "task_id": str(task.id),
        "case_id": str(task.case_id),
    }


def test_routing_a_case_twice_makes_one_task_and_one_delivery(app, client, field_user):
    task, _ = new_task(client, field_user)
    again = route_case(
        db.session(),
        task.case_id,
        CaseFacts(kind="litter", category="litter.overflowing_bin", zone="sergels-torg"),
        received_at=datetime.now(UTC),
    )
    db.session.commit()
    assert again.id == task.id
    assert db.session.execute(select(func.count()).select_from(Task)).scalar() == 1
    assert db.session.execute(select(func.count()).select_from(Delivery)).scalar() == 1


def test_the_partial_index_refuses_a_second_open_task(app, client, field_user):
    from sqlalchemy.exc import IntegrityError

    task, _ = new_task(client, field_user)
    twin = Task(
        case_id=task.case_id,
        organisation_id=task.organisation_id,
        kind="litter",
        priority="normal",
        deadline="hours(1)",
        due_at=datetime.now(UTC),
        rule_id="x",
        rule_set_version=1,
    )
    db.session.add(twin)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_detail_has_reports_photos_history_and_deadline(client, field_user, create_user):
    photo = "ab" * 32
    # The photo never arrives, so the case waits and is routed here.
    first = report(photos=[{"sha256": photo, "size": 1000, "content_type": "image/jpeg"}])
    second = report(note="Glas överallt")
    push(client, field_user, [first, second])
    task = route_reports([first["id"], second["id"]])
    supervisor = create_user(role="supervisor")
    body = client.get(f"{TASKS}/{task.id}", headers=supervisor.headers).get_json()
    assert [r["id"] for r in body["reports"]] == [first["id"], second["id"]] or [
        r["id"] for r in body["reports"]
    ] == [second["id"], first["id"]]
    photos = {r["id"]: r["photos"] for r in body["reports"]}
    assert photos == {first["id"]: [photo], second["id"]: []}
    assert body["due_at"] and body["deadline"] == task.deadline
    assert [e["action"] for e in body["events"]] == ["routed"]


def test_the_whole_life_of_a_task_reaches_the_phone(client, field_user, create_user):
    task, pushed = new_task(client, field_user)
    trafik = create_user(role="department", org="trafikkontoret")
    for action, status in (
        ("acknowledge", "acknowledged"),
        ("start", "in_progress"),
        ("resolve", "resolved"),
    ):
        response = _event(client, trafik, task.id, action, note=f"{action} klart")
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == status
    changes = [c for c in _pull(client, field_user) if c["id"] == pushed["id"]]
    assert [c["status"] for c in changes] == [
        "received",
        "routed",
        "acknowledged",
        "in_progress",
        "resolved",
    ]
    # The department's notes reach the reporter's phone with each status.
    assert [c["note"] for c in changes[2:]] == [
        "acknowledge klart",
        "start klart",
        "resolve klart",
    ]
    detail = client.get(f"{TASKS}/{task.id}", headers=trafik.headers).get_json()
    assert detail["resolved_at"] is not None
    assert [(e["action"], e["user_id"]) for e in detail["events"]] == [
        ("routed", None),
        ("acknowledge", str(trafik.id)),
        ("start", str(trafik.id)),
        ("resolve", str(trafik.id)),
    ]
    # One task.created and three task.changed, all to Trafikkontoret.
    rows = db.session.execute(select(Delivery.event_type)).scalars().all()
    assert sorted(rows) == ["task.changed"] * 3 + ["task.created"]


@pytest.mark.parametrize(
    "done,action",
    [
        ([], "start"),
        ([], "resolve"),
        (["acknowledge"], "acknowledge"),
        (["acknowledge", "start", "resolve"], "reject"),
        (["acknowledge", "start", "resolve"], "start"),
        (["reject"], "acknowledge"),
    ],
)
def test_an_invalid_transition_is_409_and_changes_nothing(
    client, field_user, create_user, done, action
):
    task, _ = new_task(client, field_user)
    trafik = create_user(role="department", org="trafikkontoret")
    for step in done:
        assert _event(client, trafik, task.id, step).status_code == 200
    before = _pull(client, field_user)
    response = _event(client, trafik, task.id, action)
    assert response.status_code == 409
    assert response.get_json()["code"] == "invalid_transition"
    assert _pull(client, field_user) == before


def test_reject_without_reroute_goes_to_the_fallback(client, field_user, create_user):
    task, pushed = new_task(client, field_user)
    trafik = create_user(role="department", org="trafikkontoret")
    response = _event(client, trafik, task.id, "reject", note="Inte vår mark")
    assert response.status_code == 200
    assert response.get_json()["status"] == "rejected"
    supervisor = create_user(role="supervisor")
    items = client.get(
        TASKS, query_string={"status": "open"}, headers=supervisor.headers
    ).get_json()["items"]
    assert [(i["organisation"], i["rerouted_from_id"]) for i in items] == [
        ("city-i-samverkan", str(task.id))
    ]
    assert items[0]["due_at"] == response.get_json()["due_at"]
    changes = [c for c in _pull(client, field_user) if c["id"] == pushed["id"]]
    assert [(c["status"], c["note"]) for c in changes][-2:] == [
        ("rejected", "Inte vår mark"),
        ("routed", None),
    ]
    assert changes[-1]["data"]["organisation"] == "city-i-samverkan"


def test_reject_with_reroute_goes_to_that_organisation(client, field_user, create_user):
    task, _ = new_task(client, field_user)
    trafik = create_user(role="department", org="trafikkontoret")
    fastighet = create_user(role="department", org="fastighetskontoret")
    assert _event(client, trafik, task.id, "acknowledge").status_code == 200
    response = _event(client, trafik, task.id, "reject", reroute_to="fastighetskontoret")
    assert response.status_code == 200
    deliver_pending()
    items = client.get(TASKS, headers=fastighet.headers).get_json()["items"]
    assert len(items) == 1 and items[0]["case_id"] == str(task.case_id)
    # The rejected task stays in Trafikkontoret's list as history.
    mine = client.get(TASKS, headers=trafik.headers).get_json()["items"]
    assert [(i["id"], i["status"]) for i in mine] == [(str(task.id), "rejected")]


@pytest.mark.parametrize(
    "extra,code",
    [
        ({"reroute_to": "no-such-org"}, "unknown_organisation"),
        ({"reroute_to": "trafikkontoret"}, "reroute_to_self"),
    ],
)
def test_a_bad_reroute_is_422_and_the_task_stays_open(client, field_user, create_user, extra, code):
    task, _ = new_task(client, field_user)
    trafik = create_user(role="department", org="trafikkontoret")
    response = _event(client, trafik, task.id, "reject", **extra)
    assert response.status_code == 422
    assert response.get_json()["code"] == code
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "new"
    assert db.session.execute(select(func.count()).select_from(Task)).scalar() == 1


def test_reroute_only_with_reject(client, field_user, create_user):
    task, _ = new_task(client, field_user)
    trafik = create_user(role="department", org="trafikkontoret")
    response = _event(client, trafik, task.id, "acknowledge", reroute_to="fastighetskontoret")
    assert response.status_code == 422
    assert response.get_json()["code"] == "reroute_needs_reject"


def test_another_organisations_task_cannot_be_worked(client, field_user, create_user):
    task, _ = new_task(client, field_user)
    fastighet = create_user(role="department", org="fastighetskontoret")
    response = _event(client, fastighet, task.id, "acknowledge")
    assert response.status_code == 404
    assert response.get_json()["code"] == "task_not_found"
    assert db.session.execute(select(func.count()).select_from(TaskEvent)).scalar() == 1


def test_overdue_is_flagged_and_filtered(client, field_user, create_user):
    push(client, field_user, [old := awaiting(report()), fresh := report(location=bin_number(1))])
    late = route_reports([old["id"]], received_at=datetime.now(UTC) - timedelta(days=30))
    on_time = task_of(fresh["id"])
    supervisor = create_user(role="supervisor")

    def listed(**query):
        body = client.get(TASKS, query_string=query, headers=supervisor.headers).get_json()
        return {i["id"]: i["overdue"] for i in body["items"]}

    assert listed() == {str(late.id): True, str(on_time.id): False}
    assert listed(overdue="true") == {str(late.id): True}
    assert listed(overdue="false") == {str(on_time.id): False}
    # A resolved task is no longer overdue, whatever its due_at.
    trafik = create_user(role="department", org="trafikkontoret")
    for action in ("acknowledge", "start", "resolve"):
        assert _event(client, trafik, late.id, action).status_code == 200
    assert listed(overdue="true") == {}


def test_filters_by_status_zone_and_category(client, field_user, create_user):
    hotorget = {"lat": 59.33515, "lon": 18.0634, "accuracy_m": 8}
    push(
        client,
        field_user,
        [a := report(), b := report(category="litter.broken_glass", location=hotorget)],
    )
    ta, tb = task_of(a["id"]), task_of(b["id"])
    supervisor = create_user(role="supervisor")

    def ids(**query):
        body = client.get(TASKS, query_string=query, headers=supervisor.headers).get_json()
        return {i["id"] for i in body["items"]}

    assert ids(zone="hotorget") == {str(tb.id)}
    assert ids(category="litter.overflowing_bin") == {str(ta.id)}
    assert ids(status="open") == {str(ta.id), str(tb.id)}
    assert ids(status="resolved") == set()


def test_cursor_pages_never_skip_or_repeat(client, field_user, create_user):
    items = [report(location=bin_number(n)) for n in range(5)]
    push(client, field_user, items)
    made = {str(task_of(i["id"]).id) for i in items}
    supervisor = create_user(role="supervisor")
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get(TASKS, query_string=query, headers=supervisor.headers).get_json()
        seen.extend(i["id"] for i in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5 and set(seen) == made
    unknown = client.get(
        TASKS, query_string={"cursor": str(uuid.uuid4())}, headers=supervisor.headers
    )
    # A task id is no cursor (the list's cursors are opaque): the one answer for a bad cursor.
    assert unknown.status_code == 400 and unknown.get_json()["code"] == "invalid_cursor"


def test_field_staff_cannot_list_tasks(client, field_user):
    assert client.get(TASKS, headers=field_user.headers).status_code == 403


def test_a_contact_referral_routes_to_the_outreach_unit(app, client, field_user, create_user):
    referred, unreferred = contact(), contact(referral=None)
    push(client, field_user, [referred, unreferred])
    tasks = db.session.execute(select(Task)).scalars().all()
    assert len(tasks) == 1  # a contact without a referral is not a task for anyone
    (task,) = tasks
    assert task.organisation.slug == "socialtjanst-uppsok"
    assert task.rule_id == "contact-referral"
    assert task.contact_id == uuid.UUID(referred["id"]) and task.case_id is None
    # Minimal: the task holds no location of the person met; the zone is enough to plan.
    assert (task.lat, task.lon, task.zone) == (None, None, "sergels-torg")
    outreach = create_user(role="department", org="socialtjanst-uppsok")
    deliver_pending()
    (listed,) = client.get(TASKS, headers=outreach.headers).get_json()["items"]
    assert listed["contact_id"] == referred["id"] and listed["location"] is None
    detail = client.get(f"{TASKS}/{task.id}", headers=outreach.headers).get_json()
    assert detail["reports"] == []
    # The contact itself is read through its own route, which audits the read.
    read = client.get(
        f"/api/v1/contacts/{referred['id']}",
        query_string={"reason": "referral_intake"},
        headers=outreach.headers,
    )
    assert read.status_code == 200, read.get_json()
    for action in ("acknowledge", "start", "resolve"):
        assert _event(client, outreach, task.id, action).status_code == 200
    statuses = [c["status"] for c in _pull(client, field_user) if c["id"] == referred["id"]]
    assert statuses == ["received", "routed", "acknowledged", "in_progress", "resolved"]


def test_the_department_holding_the_task_sees_its_photos(app, client, field_user, create_user):
    from backend.photos.jobs import process_photo
    from tests.helpers.photos import phone_jpeg, sha256

    data = phone_jpeg()
    digest = sha256(data)
    assert (
        client.put(f"/api/v1/photos/{digest}", data=data, headers=field_user.headers).status_code
        == 201
    )
    assert process_photo(digest) == "ready"
    item = report(photos=[{"sha256": digest, "size": len(data), "content_type": "image/jpeg"}])
    push(client, field_user, [item])
    trafik = create_user(role="department", org="trafikkontoret")
    fastighet = create_user(role="department", org="fastighetskontoret")
    url = f"/api/v1/photos/{digest}"
    task = task_of(item["id"])  # routed by the push: the photo was already there
    assert client.get(url, headers=trafik.headers).status_code == 200
    assert client.get(url, headers=fastighet.headers).status_code == 404
    # Once Trafikkontoret rejects it on to Fastighetskontoret, the holder changes.
    assert (
        _event(client, trafik, task.id, "reject", reroute_to="fastighetskontoret").status_code
        == 200
    )
    assert client.get(url, headers=trafik.headers).status_code == 404
    assert client.get(url, headers=fastighet.headers).status_code == 200


@pytest.mark.parametrize(
    "received_utc,due_utc",
    [
        # Friday 15:00 CET: the weekend does not count, due Monday 15:00.
        ("2026-03-06T14:00Z", "2026-03-09T14:00Z"),
        # Kristi himmelsfärdsdag (Thursday 14 May 2026): Wednesday 15:00 -> Friday 15:00 CEST.
        ("2026-05-13T13:00Z", "2026-05-15T13:00Z"),
        # Summer time starts Sunday 29 March 2026: Friday 10:00 CET -> Monday 10:00 CEST.
        ("2026-03-27T09:00Z", "2026-03-30T08:00Z"),
    ],
)
def test_an_overflowing_bin_is_due_within_24_working_hours(
    client, field_user, create_user, received_utc, due_utc
):
    push(client, field_user, [item := awaiting(report())])
    task = route_reports([item["id"]], received_at=datetime.fromisoformat(received_utc))
    supervisor = create_user(role="supervisor")
    body = client.get(f"{TASKS}/{task.id}", headers=supervisor.headers).get_json()
    assert (body["rule_id"], body["deadline"]) == ("bins-and-glass", "working_hours(24)")
    assert datetime.fromisoformat(body["due_at"]) == datetime.fromisoformat(due_utc)


def test_offensive_graffiti_is_due_at_once(client, field_user, create_user):
    push(
        client,
        field_user,
        [item := awaiting(report(kind="damage", category="damage.graffiti_offensive"))],
    )
    received = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)  # a Saturday: no working-day wait
    task = route_reports([item["id"]], received_at=received)
    assert (task.priority, task.deadline) == ("urgent", "immediate")
    assert task.due_at - received <= timedelta(hours=4)


def test_a_note_with_nul_is_422_and_the_task_unchanged(client, field_user, create_user):
    task, _ = new_task(client, field_user)
    trafik = create_user(role="department", org="trafikkontoret")
    response = _event(client, trafik, task.id, "acknowledge", note="ok\x00")
    assert response.status_code == 422
    assert "note" in response.get_json()["errors"]
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "new"
