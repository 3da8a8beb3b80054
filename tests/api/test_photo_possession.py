"""Photos by possession: a report attaches a photo only once its pusher has sent those bytes
(PUT or tus); knowing a hash is not enough, and sending bytes someone else sent before answers
like a first upload without showing anything of theirs."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from backend.database import utcnow
from backend.extensions import db
from backend.photos.models import PhotoUploader
from backend.routing.services import route_waiting
from tests.api.test_photos import put, run_media_jobs
from tests.api.test_uploads import create, patch
from tests.helpers.photos import phone_jpeg, sha256
from tests.helpers.sync_items import batch, report
from tests.helpers.tasks import task_of

PUSH = "/api/v1/sync/push"
PULL = "/api/v1/sync/pull"


def _listing(data: bytes) -> dict:
    return report(
        photos=[{"sha256": sha256(data), "size": len(data), "content_type": "image/jpeg"}]
    )


def _push(client, account, item) -> dict:
    response = client.post(PUSH, json=batch([item]), headers=account.headers)
    assert response.status_code == 200, response.get_json()
    (result,) = response.get_json()["results"]
    assert result["status"] == "created", result
    return result


def _statuses(client, account, item_id: str) -> list[str]:
    changes = client.get(PULL, query_string={"limit": 500}, headers=account.headers)
    return [c["status"] for c in changes.get_json()["changes"] if c["id"] == item_id]


def _uploaders(digest: str) -> set:
    db.session.expire_all()
    return set(
        db.session.execute(
            select(PhotoUploader.user_id).where(PhotoUploader.sha256 == digest)
        ).scalars()
    )


def test_a_put_of_bytes_someone_else_sent_answers_like_a_first_upload(app, client, create_user):
    first, second = create_user(role="field"), create_user(role="field")
    data = phone_jpeg()
    original = put(client, first, data)
    assert original.status_code == 201
    run_media_jobs(app)  # processed now: ready, with dimensions and a perceptual hash
    ready = client.get(f"/api/v1/photos/{sha256(data)}/info", headers=first.headers).get_json()
    assert ready["status"] == "ready" and ready["phash"]

    fresh = put(client, second, data)
    assert fresh.status_code == original.status_code == 201
    body, before = fresh.get_json(), original.get_json()
    assert set(body) == set(before)
    for name in ("sha256", "size", "content_type", "status", "failure_reason", "width", "phash"):
        assert body[name] == before[name], name
    assert body["processed_at"] is None and body["status"] == "processing"
    # Its own moment, not the first upload's.
    assert datetime.fromisoformat(body["created_at"]) > datetime.fromisoformat(ready["created_at"])
    assert _uploaders(sha256(data)) == {first.id, second.id}

    # From now on it is the second user's photo too; each sees their own upload time.
    mine = client.get(f"/api/v1/photos/{sha256(data)}/info", headers=second.headers).get_json()
    assert mine["created_at"] == body["created_at"] and mine["status"] == "ready"
    theirs = client.get(f"/api/v1/photos/{sha256(data)}/info", headers=first.headers).get_json()
    assert theirs["created_at"] == ready["created_at"]
    repeat = put(client, second, data)
    assert repeat.status_code == 200 and repeat.get_json()["created_at"] == body["created_at"]


def test_a_listed_hash_without_the_bytes_is_missing_and_never_shown(app, client, create_user):
    owner, curious = create_user(role="field"), create_user(role="field")
    trafik = create_user(role="department", org="trafikkontoret")
    data = phone_jpeg()
    assert put(client, owner, data).status_code == 201
    run_media_jobs(app)

    # A colleague lists the owner's photo by its hash: the push does not tell it exists.
    item = _listing(data)
    result = _push(client, curious, item)
    assert result["missing_photos"] == [sha256(data)]
    assert _statuses(client, curious, item["id"]) == ["received", "awaiting_photos"]
    assert route_waiting(db.session()) == 0  # the bytes exist, but not from this reporter
    assert task_of(item["id"]) is None

    # Once the grace period is over the case is routed, and Trafikkontoret, which works it,
    # sees that the report lists a photo but cannot open it: nothing is attached.
    later = utcnow() + timedelta(seconds=app.config["ROUTING_PHOTO_GRACE_SECONDS"] + 1)
    assert route_waiting(db.session(), now=later) == 1
    task = task_of(item["id"])
    assert task is not None and task.organisation.slug == "trafikkontoret"
    detail = client.get(f"/api/v1/tasks/{task.id}", headers=trafik.headers).get_json()
    assert detail["reports"][0]["photos"] == [sha256(data)]
    url = f"/api/v1/photos/{sha256(data)}"
    assert client.get(url, headers=trafik.headers).status_code == 404
    assert client.get(url, headers=curious.headers).status_code == 404


def test_the_case_waits_until_its_reporter_uploads_and_then_routes(app, client, create_user):
    owner, reporter = create_user(role="field"), create_user(role="field")
    trafik = create_user(role="department", org="trafikkontoret")
    data = phone_jpeg()
    assert put(client, owner, data).status_code == 201
    run_media_jobs(app)
    item = _listing(data)
    assert _push(client, reporter, item)["missing_photos"] == [sha256(data)]
    assert route_waiting(db.session()) == 0

    # The reporter's phone sends the same bytes (it took the photo too: a shared picture).
    assert put(client, reporter, data).status_code == 201
    assert route_waiting(db.session()) == 1
    assert _statuses(client, reporter, item["id"]) == ["received", "awaiting_photos", "routed"]
    url = f"/api/v1/photos/{sha256(data)}"
    assert client.get(url, headers=trafik.headers).status_code == 200
    # A resend of the push now finds nothing missing.
    again = client.post(PUSH, json=batch([item]), headers=reporter.headers).get_json()
    assert again["results"][0]["missing_photos"] == []


def test_a_finished_tus_upload_counts_as_possession(app, client, create_user):
    owner, reporter = create_user(role="field"), create_user(role="field")
    data = phone_jpeg()
    assert put(client, owner, data).status_code == 201
    created = create(client, reporter, data)
    assert created.status_code == 201
    assert patch(client, reporter, created.headers["Location"], 0, data).status_code == 204
    assert _uploaders(sha256(data)) == {owner.id, reporter.id}
    result = _push(client, reporter, _listing(data))
    assert result["missing_photos"] == []
    assert _statuses(client, reporter, result["id"]) == ["received", "routed"]
