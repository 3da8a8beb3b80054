"""GET /api/v1/sync/pull: the status feed a phone clears its outbox from."""

from __future__ import annotations

import base64
import shutil
import uuid
from pathlib import Path

import pytest

from backend.extensions import db
from backend.feed.services import append_item_status
from backend.reference.services import DATA_DIR, load_reference_data
from tests.helpers.sync_items import batch, contact, presence, report

PULL = "/api/v1/sync/pull"


def _pull_all(client, account, cursor: str = "", limit: int = 100) -> tuple[list[dict], str]:
    changes: list[dict] = []
    while True:
        response = client.get(
            PULL, query_string={"cursor": cursor, "limit": limit}, headers=account.headers
        )
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        changes.extend(body["changes"])
        cursor = body["cursor"]
        if not body["has_more"]:
            return changes, cursor


def _items(changes: list[dict]) -> list[dict]:
    return [c for c in changes if c["type"] != "reference"]


def _push(client, account, items):
    response = client.post("/api/v1/sync/push", json=batch(items), headers=account.headers)
    assert response.status_code == 200
    return response


def test_every_stored_item_appears_as_received(client, field_user):
    items = [report(), contact(), presence(), report(kind="nonsense")]
    _push(client, field_user, items)
    changes, _ = _pull_all(client, field_user)
    received = {(c["id"], c["type"]) for c in _items(changes) if c["status"] == "received"}
    assert received == {(i["id"], i["type"]) for i in items[:3]}
    assert all(c["at"] for c in changes)


def test_a_user_sees_only_their_own_items(client, field_user, create_user):
    other = create_user(role="field")
    _push(client, other, [report()])
    mine = report()
    _push(client, field_user, [mine])
    changes, _ = _pull_all(client, field_user)
    # Mine joined the other user's case (received, then merged); theirs never shows.
    assert {c["id"] for c in _items(changes)} == {mine["id"]}


def test_paging_never_skips_or_repeats(client, field_user):
    items = [presence() for _ in range(23)]
    _push(client, field_user, items[:10])
    _push(client, field_user, items[10:])
    changes, _ = _pull_all(client, field_user, limit=4)
    ids = [c["id"] for c in _items(changes)]
    assert sorted(ids) == sorted(i["id"] for i in items)
    assert len(ids) == len(set(ids))


def test_cursor_resumes_after_the_last_change_seen(client, field_user):
    first = report()
    _push(client, field_user, [first])
    _, cursor = _pull_all(client, field_user)
    empty = client.get(PULL, query_string={"cursor": cursor}, headers=field_user.headers)
    assert empty.get_json()["changes"] == []
    assert empty.get_json()["cursor"] == cursor

    second = report()
    _push(client, field_user, [first, second])  # first is a resend: no new change
    changes, _ = _pull_all(client, field_user, cursor)
    # The second report of the same bin joined the first one's case.
    assert [(c["id"], c["status"]) for c in changes] == [
        (second["id"], "received"),
        (second["id"], "merged"),
    ]


def test_status_changes_from_other_modules_reach_the_phone(client, field_user):
    item = report()
    _push(client, field_user, [item])
    _, cursor = _pull_all(client, field_user)
    case_id = str(uuid.uuid4())
    append_item_status(db.session(), uuid.UUID(item["id"]), "merged", data={"case_id": case_id})
    append_item_status(
        db.session(), uuid.UUID(item["id"]), "rejected", note="Inte inom vårt område"
    )
    db.session.commit()
    changes, _ = _pull_all(client, field_user, cursor)
    assert [(c["id"], c["status"]) for c in changes] == [
        (item["id"], "merged"),
        (item["id"], "rejected"),
    ]
    assert changes[0]["data"] == {"case_id": case_id}
    assert changes[1]["note"] == "Inte inom vårt område"


def test_reference_data_updates_reach_every_phone(app, client, field_user, tmp_path: Path):
    _, cursor = _pull_all(client, field_user)
    # Reloading unchanged data announces nothing.
    load_reference_data(db.session())
    assert _pull_all(client, field_user, cursor)[0] == []

    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    categories = data / "categories.toml"
    text = categories.read_text("utf-8").replace("version = 1", "version = 2", 1)
    categories.write_text(text.replace("Överfull papperskorg", "Full papperskorg"), "utf-8")
    load_reference_data(db.session(), data)
    changes, _ = _pull_all(client, field_user, cursor)
    assert [(c["id"], c["type"], c["status"]) for c in changes] == [
        ("categories", "reference", "updated")
    ]
    assert changes[0]["data"]["version"] == 2


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",
        base64.urlsafe_b64encode(b"v9:00000000:1:1").decode(),
        base64.urlsafe_b64encode(b"v1:xx:not:numbers").decode(),
    ],
)
def test_garbled_cursor_is_400_telling_the_phone_to_restart(client, field_user, cursor):
    response = client.get(PULL, query_string={"cursor": cursor}, headers=field_user.headers)
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == "invalid_cursor"
    assert "restart" in body["message"]


def test_cursor_of_another_user_or_ahead_of_the_feed_is_400(client, field_user, create_user):
    _push(client, field_user, [report()])
    _, cursor = _pull_all(client, field_user)
    other = create_user(role="field")
    response = client.get(PULL, query_string={"cursor": cursor}, headers=other.headers)
    assert response.get_json()["code"] == "invalid_cursor"

    version, check, user_seq, ref_seq = (
        base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":")
    )
    ahead = f"{version}:{check}:{int(user_seq) + 5}:{ref_seq}"
    ahead_cursor = base64.urlsafe_b64encode(ahead.encode()).decode().rstrip("=")
    response = client.get(PULL, query_string={"cursor": ahead_cursor}, headers=field_user.headers)
    assert (response.status_code, response.get_json()["code"]) == (400, "invalid_cursor")


def test_limit_is_capped(app, client, field_user):
    _push(client, field_user, [presence() for _ in range(5)])
    response = client.get(PULL, query_string={"limit": 2}, headers=field_user.headers)
    body = response.get_json()
    assert len(body["changes"]) == 2 and body["has_more"] is True
    bad = client.get(PULL, query_string={"limit": 0}, headers=field_user.headers)
    assert bad.status_code == 422


@pytest.mark.parametrize("role", ["department", "supervisor", "admin"])
def test_only_field_staff_pull(client, create_user, role):
    assert client.get(PULL, headers=create_user(role=role).headers).status_code == 403
