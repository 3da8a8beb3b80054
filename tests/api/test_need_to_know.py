"""Need-to-know for departments (``backend.cases.visibility``): the organisation working a case
sees it in full; once its task is rejected, rerouted or resolved it sees the case as it was
then: no reports added later, no notes, positions rounded, no photos. The case list, the case,
the task and the photos all follow the one rule."""

from __future__ import annotations

import pytest

from backend.extensions import db
from tests.api.test_photos import put
from tests.helpers.photos import phone_jpeg, sha256
from tests.helpers.sync_items import SERGELS_TORG, report
from tests.helpers.tasks import deliver_pending, new_task, push, task_of

TASKS = "/api/v1/tasks"
CASES = "/api/v1/cases"


def _event(client, account, task_id, action, **extra):
    response = client.post(
        f"{TASKS}/{task_id}/events", json={"action": action, **extra}, headers=account.headers
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _get(client, account, url, **query):
    response = client.get(url, query_string=query, headers=account.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _listed(client, account, **query) -> dict[str, dict]:
    return {c["id"]: c for c in _get(client, account, CASES, **query)["items"]}


@pytest.fixture
def handed_on(client, field_user, create_user):
    """Trafikkontoret had a bin case with one report (with a photo) and passed it on to
    Fastighetskontoret; then a second report with a note joined the case."""
    trafik = create_user(role="department", org="trafikkontoret")
    fastighet = create_user(role="department", org="fastighetskontoret")
    data = phone_jpeg()
    assert put(client, field_user, data).status_code == 201
    photo = [{"sha256": sha256(data), "size": len(data), "content_type": "image/jpeg"}]
    task, first = new_task(client, field_user, note="Påsar bredvid korgen", photos=photo)
    full = _get(client, trafik, f"{CASES}/{task.case_id}")
    assert full["view"] == "full" and full["as_of"] is None
    assert full["reports"][0]["note"] == "Påsar bredvid korgen"
    assert full["reports"][0]["lat"] == first["location"]["lat"]
    assert client.get(f"/api/v1/photos/{sha256(data)}", headers=trafik.headers).status_code in (
        200,
        409,  # still being sanitised: visible, not ready
    )
    rejected = _event(client, trafik, task.id, "reject", reroute_to="fastighetskontoret")
    later = report(note="En man sover bakom korgen", location=dict(SERGELS_TORG))
    push(client, field_user, [later])
    db.session.expire_all()
    assert task_of(later["id"]).case_id == task.case_id  # joined the same case
    return {
        "trafik": trafik,
        "fastighet": fastighet,
        "task": task,
        "rejected": rejected,
        "first": first,
        "later": later,
        "photo": sha256(data),
    }


def test_after_handing_on_the_case_is_shown_as_it_was_then(client, handed_on):
    trafik, task, first = handed_on["trafik"], handed_on["task"], handed_on["first"]
    case = _get(client, trafik, f"{CASES}/{task.case_id}")
    assert case["view"] == "history" and case["as_of"]
    assert [r["id"] for r in case["reports"]] == [first["id"]]  # not the later report
    (seen,) = case["reports"]
    assert seen["note"] is None and seen["accuracy_m"] is None
    assert seen["lat"] == round(first["location"]["lat"], 3) != first["location"]["lat"]
    assert case["lat"] == round(first["location"]["lat"], 3)
    assert (case["report_count"], case["status"]) == (1, "open")
    assert case["last_at"] == seen["occurred_at"]
    text = str(case)
    assert handed_on["later"]["id"] not in text and "sover" not in text

    listed = _listed(client, trafik)[str(task.case_id)]
    assert (listed["report_count"], listed["view"], listed["lat"]) == (1, "history", case["lat"])

    detail = _get(client, trafik, f"{TASKS}/{task.id}")
    assert (detail["view"], detail["status"]) == ("history", "rejected")
    assert [r["id"] for r in detail["reports"]] == [first["id"]]
    assert detail["reports"][0]["note"] is None and detail["reports"][0]["photos"] == []
    assert detail["location"]["lat"] == round(first["location"]["lat"], 3)
    assert [e["action"] for e in detail["events"]] == ["routed", "reject"]
    # The answer to the rejection itself already was the history view.
    assert handed_on["rejected"]["view"] == "history"
    assert handed_on["rejected"]["location"] == detail["location"]
    # Its own task list shows the rejected task with the rounded position too.
    deliver_pending()
    (mine,) = _get(client, trafik, TASKS)["items"]
    assert (mine["view"], mine["location"]) == ("history", detail["location"])
    # And the photo it could open while working the case is closed to it now.
    photo = client.get(f"/api/v1/photos/{handed_on['photo']}", headers=trafik.headers)
    assert photo.status_code == 404


def test_the_organisation_working_the_case_sees_everything(client, handed_on, create_user):
    fastighet, task = handed_on["fastighet"], handed_on["task"]
    deliver_pending()
    case = _get(client, fastighet, f"{CASES}/{task.case_id}")
    assert case["view"] == "full"
    notes = {r["id"]: r["note"] for r in case["reports"]}
    assert notes == {
        handed_on["first"]["id"]: "Påsar bredvid korgen",
        handed_on["later"]["id"]: "En man sover bakom korgen",
    }
    assert case["report_count"] == 2
    (open_task,) = _get(client, fastighet, TASKS)["items"]
    detail = _get(client, fastighet, f"{TASKS}/{open_task['id']}")
    assert detail["view"] == "full" and len(detail["reports"]) == 2
    assert detail["reports"][0]["photos"] == [handed_on["photo"]]
    supervisor = create_user(role="supervisor")
    assert _get(client, supervisor, f"{CASES}/{task.case_id}")["report_count"] == 2


def test_routed_back_it_sees_the_whole_case_again(client, handed_on):
    trafik, fastighet, task = handed_on["trafik"], handed_on["fastighet"], handed_on["task"]
    deliver_pending()
    (theirs,) = _get(client, fastighet, TASKS)["items"]
    _event(client, fastighet, theirs["id"], "reject", reroute_to="trafikkontoret")
    case = _get(client, trafik, f"{CASES}/{task.case_id}")
    assert case["view"] == "full" and case["report_count"] == 2
    # Its old, rejected task shows the case it works now in full.
    assert _get(client, trafik, f"{TASKS}/{task.id}")["view"] == "full"


def test_what_became_of_the_case_later_is_not_told(client, handed_on):
    trafik, fastighet, task = handed_on["trafik"], handed_on["fastighet"], handed_on["task"]
    deliver_pending()
    (theirs,) = _get(client, fastighet, TASKS)["items"]
    for action in ("acknowledge", "start", "resolve"):
        _event(client, fastighet, theirs["id"], action)
    case_id = str(task.case_id)
    assert _get(client, trafik, f"{CASES}/{case_id}")["status"] == "open"
    assert case_id not in _listed(client, trafik, status="resolved")
    assert case_id in _listed(client, trafik, status="open")
    # Fastighetskontoret resolved it: it sees it resolved, in its own history.
    resolved = _get(client, fastighet, f"{CASES}/{case_id}")
    assert (resolved["view"], resolved["status"]) == ("history", "resolved")
    assert resolved["resolved_at"] and resolved["report_count"] == 2
    assert case_id in _listed(client, fastighet, status="resolved")
    assert case_id not in _listed(client, fastighet, status="open")
    assert all(r["note"] is None for r in resolved["reports"])


def test_a_case_merged_away_shows_where_it_went(client, field_user, create_user):
    trafik = create_user(role="department", org="trafikkontoret")
    task, _ = new_task(client, field_user)
    other, _ = new_task(client, field_user, location={**SERGELS_TORG, "lat": 59.3335})
    body = {"case_id": str(other.case_id)}
    merged = client.post(f"{CASES}/{task.case_id}/merge", json=body, headers=trafik.headers)
    assert merged.status_code == 200, merged.get_json()
    gone = _get(client, trafik, f"{CASES}/{other.case_id}")
    assert (gone["view"], gone["status"], gone["merged_into_id"]) == (
        "history",
        "merged",
        str(task.case_id),
    )
    assert _get(client, trafik, f"{CASES}/{task.case_id}")["report_count"] == 2
