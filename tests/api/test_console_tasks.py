"""The departments' board and task pages through Flask's test client (both databases): who
sees which tasks, the buttons the workflow allows, every action reaching the phone's feed,
reject with reroute, the audited contact read, and the board's hostile filters. Chromium works
the same pages in tests/browser/test_board.py."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from tests.helpers.console import csrf, make_staff, sign_in
from tests.helpers.sync_items import contact, report
from tests.helpers.tasks import bin_number, deliver_pending, push, task_of


def _staff(app, create_user, role, org):
    client = app.test_client()
    account = make_staff(create_user, role, org)
    assert sign_in(client, account.email).status_code == 302
    return client, account


@pytest.fixture
def routed(client, create_user, field_user):
    """Three tasks for Trafikkontoret (one overdue), one for Fastighetskontoret; delivered."""
    from backend.extensions import db
    from backend.tasks.models import Task

    bins = [report(location=bin_number(n)) for n in range(3)]
    building = report(kind="damage", category="damage.building", location=bin_number(6))
    push(client, field_user, [*bins, building])
    deliver_pending()
    ids = [task_of(item["id"]).id for item in bins]
    db.session.execute(
        update(Task).where(Task.id == ids[2]).values(due_at=datetime.now(UTC) - timedelta(hours=2))
    )
    db.session.commit()
    return {
        "field": field_user,
        "bins": bins,
        "ids": ids,
        "building": task_of(building["id"]).id,
    }


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr id="task-([0-9a-f-]{36})"', page)


def test_the_board_lists_its_organisations_tasks_overdue_first(app, create_user, routed):
    client, _ = _staff(app, create_user, "department", "trafikkontoret")
    page = client.get("/console/tasks").get_data(as_text=True)
    rows = _rows(page)
    assert len(rows) == 3 and rows[0] == str(routed["ids"][2])  # the overdue one on top
    assert str(routed["building"]) not in page  # Fastighetskontoret's
    assert re.search(r'data-count="open">3<', page)
    assert re.search(r'data-count="overdue">1<', page)
    assert client.get("/console/").headers["Location"].endswith("/console/tasks")
    # The other organisation's task is a 404 by its address too, as in the API.
    assert client.get(f"/console/tasks/{routed['building']}").status_code == 404
    overdue = client.get("/console/tasks?overdue=true").get_data(as_text=True)
    assert _rows(overdue) == [str(routed["ids"][2])]
    # The polled fragment: only the board, with the header counts out of band.
    fragment = client.get("/console/tasks", headers={"HX-Target": "board"}).get_data(as_text=True)
    assert "<html" not in fragment and len(_rows(fragment)) == 3
    assert 'id="board-counts" class="counts" hx-swap-oob="true"' in fragment


def test_an_undelivered_task_is_not_on_the_board_yet(app, client, create_user, field_user):
    push(client, field_user, [report()])
    staff, _ = _staff(app, create_user, "department", "trafikkontoret")
    assert _rows(staff.get("/console/tasks").get_data(as_text=True)) == []
    deliver_pending()
    assert len(_rows(staff.get("/console/tasks").get_data(as_text=True))) == 1


def _act(client, task_id, **form):
    page = client.get(f"/console/tasks/{task_id}").get_data(as_text=True)
    return client.post(f"/console/tasks/{task_id}/events", data={"csrf_token": csrf(page), **form})


def _buttons(page: str) -> list[str]:
    return re.findall(r'<form method="post" action="[^"]+/events" [^>]*id="do-([a-z]+)"', page)


def test_a_department_works_a_task_to_resolved_and_the_phone_hears_each_step(
    app, client, create_user, routed
):
    staff, _ = _staff(app, create_user, "department", "trafikkontoret")
    task_id = routed["ids"][0]
    page = staff.get(f"/console/tasks/{task_id}").get_data(as_text=True)
    assert _buttons(page) == ["acknowledge", "reject"]
    assert "Papperskorgen vid trappan är full" in page  # the report's note while it holds it
    assert 'id="task-map-data"' in page
    assert "24 arbetstimmar" in page and "<code>bins-and-glass</code>" in page  # why it is due
    for action, then in (("acknowledge", ["start", "reject"]), ("start", ["resolve", "reject"])):
        answer = _act(staff, task_id, action=action)
        assert answer.status_code == 302
        assert _buttons(staff.get(answer.headers["Location"]).get_data(as_text=True)) == then
    done = _act(staff, task_id, action="resolve", note="Tömd 14.10")
    assert "Uppgiften är åtgärdad" in staff.get(done.headers["Location"]).get_data(as_text=True)
    assert _buttons(staff.get(f"/console/tasks/{task_id}").get_data(as_text=True)) == []
    pulled = client.get("/api/v1/sync/pull", headers=routed["field"].headers).get_json()
    statuses = [c["status"] for c in pulled["changes"] if c["id"] == routed["bins"][0]["id"]]
    assert statuses[-3:] == ["acknowledged", "in_progress", "resolved"]


def test_an_action_the_task_no_longer_allows_is_a_409_page(app, create_user, routed):
    staff, _ = _staff(app, create_user, "department", "trafikkontoret")
    answer = _act(staff, routed["ids"][0], action="resolve", note="x")
    assert answer.status_code == 409
    assert "Uppgiften har gått vidare" in answer.get_data(as_text=True)
    assert _act(staff, routed["ids"][0], action="explode").status_code == 422
    assert _act(staff, routed["ids"][0], action="start", note="\x00").status_code == 422


def test_a_supervisor_follows_every_board_but_acts_on_none(app, create_user, routed):
    supervisor, _ = _staff(app, create_user, "supervisor", "city-i-samverkan")
    page = supervisor.get("/console/tasks").get_data(as_text=True)
    assert len(_rows(page)) == 4  # every organisation's
    narrowed = supervisor.get("/console/tasks?organisation=fastighetskontoret")
    assert _rows(narrowed.get_data(as_text=True)) == [str(routed["building"])]
    detail = supervisor.get(f"/console/tasks/{routed['ids'][0]}").get_data(as_text=True)
    assert _buttons(detail) == [] and "Arbetsledare följer uppgifter" in detail
    assert _act(supervisor, routed["ids"][0], action="acknowledge").status_code == 403


def test_reject_with_reroute_lands_on_the_other_organisations_board(
    app, client, create_user, routed
):
    staff, _ = _staff(app, create_user, "department", "trafikkontoret")
    task_id = routed["ids"][1]
    page = staff.get(f"/console/tasks/{task_id}").get_data(as_text=True)
    assert '<option value="trafikkontoret"' not in page.split('id="reroute-to"')[1][:2000]
    answer = _act(staff, task_id, action="reject", note="Norrmalms park", reroute_to="norrmalm-sdf")
    landed = staff.get(answer.headers["Location"]).get_data(as_text=True)
    assert "gick vidare till Norrmalms stadsdelsförvaltning" in landed
    deliver_pending()
    other, _ = _staff(app, create_user, "department", "norrmalm-sdf")
    board = other.get("/console/tasks").get_data(as_text=True)
    (successor,) = _rows(board)
    detail = other.get(f"/console/tasks/{successor}").get_data(as_text=True)
    # Why the case came: the rejecting organisation's note, written for the next one.
    assert "Trafikkontoret" in detail and "Norrmalms park" in detail
    assert _buttons(detail) == ["acknowledge", "reject"]
    assert task_id.hex[:8] not in _rows(other.get("/console/tasks").get_data(as_text=True))
    assert _act(staff, task_id, action="reject", reroute_to="norrmalm-sdf").status_code == 409


@pytest.mark.parametrize(
    "form,status,message",
    [
        ({"reroute_to": "trafikkontoret"}, 422, "Välj en annan organisation"),
        ({"reroute_to": "no-such-org"}, 422, "ingen aktiv att skicka till"),
        ({"reroute_to": "Not A Slug"}, 422, "Några av värdena är ogiltiga"),
        ({"note": "x" * 2001}, 422, "Några av värdena är ogiltiga"),
    ],
)
def test_a_refused_rejection_shows_why_and_changes_nothing(
    app, create_user, routed, form, status, message
):
    staff, _ = _staff(app, create_user, "department", "trafikkontoret")
    answer = _act(staff, routed["ids"][0], action="reject", **form)
    assert answer.status_code == status
    assert message in answer.get_data(as_text=True)
    assert _buttons(answer.get_data(as_text=True)) == ["acknowledge", "reject"]


def test_a_referred_contact_opens_only_through_the_audited_read(app, client, create_user):
    from backend.contacts.models import ContactRead
    from backend.extensions import db

    worker = create_user(role="field")
    item = contact(needs=["housing", "food"])
    push(client, worker, [item])
    deliver_pending()
    staff, account = _staff(app, create_user, "department", "socialtjanst-uppsok")
    (task_id,) = _rows(staff.get("/console/tasks").get_data(as_text=True))
    page = staff.get(f"/console/tasks/{task_id}").get_data(as_text=True)
    assert "Mat" not in page and 'id="read-contact"' in page
    reasons = re.findall(r'<option value="([a-z_]+)">', page.split('id="reason"')[1][:600])
    assert reasons == ["referral_intake", "follow_up", "correction"]
    token = csrf(page)
    bad = staff.post(f"/console/tasks/{task_id}/contact", data={"csrf_token": token})
    assert bad.status_code == 422
    assert db.session.execute(select(ContactRead)).first() is None
    read = staff.post(
        f"/console/tasks/{task_id}/contact",
        data={"csrf_token": token, "reason": "referral_intake"},
    )
    assert read.status_code == 200
    shown = read.get_data(as_text=True)
    assert "Boende" in shown and "Mat" in shown and "26–40" in shown
    (row,) = db.session.execute(select(ContactRead)).scalars()
    assert (row.reader_id, row.reason, str(row.contact_id)) == (
        account.id,
        "referral_intake",
        item["id"],
    )


@pytest.mark.parametrize(
    "query,status",
    [
        ("status=closed", 422),
        ("overdue=maybe", 422),
        ("zone=%ED%A0%80", 422),
        ("category=" + "x" * 65, 422),
        ("organisation=Not%20A%20Slug", 422),
        # The API's answers to filters that name nothing, not an empty board.
        ("organisation=no-such-org", 422),
        ("zone=no-such-zone", 422),
    ],
)
def test_bad_board_filters_get_a_clear_4xx_page(app, create_user, query, status):
    staff, _ = _staff(app, create_user, "supervisor", "city-i-samverkan")
    answer = staff.get(f"/console/tasks?{query}")
    assert answer.status_code == status
    assert answer.mimetype == "text/html" and "<h1" in answer.get_data(as_text=True)


def test_an_unknown_task_is_a_404_page(app, create_user):
    staff, _ = _staff(app, create_user, "department", "trafikkontoret")
    assert staff.get(f"/console/tasks/{uuid.uuid4()}").status_code == 404
    page = staff.get("/console/tasks").get_data(as_text=True)
    missing = staff.post(
        f"/console/tasks/{uuid.uuid4()}/events", data={"csrf_token": csrf(page), "action": "start"}
    )
    assert missing.status_code == 404
