"""The push answers with orjson's encoding of its result (backend/sync/views.py), not
marshmallow's dump: the two must give the same document, field for field, for every kind of
result (created, duplicate, conflict, rejected; a report's case, hint and missing photos)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import orjson

from backend.sync import services
from backend.sync.schemas import PushResultSchema
from backend.users.models import User
from tests.helpers.sync_items import batch, contact, presence, report


def test_the_answer_is_what_the_schema_would_dump(app, client, field_user):
    from backend.extensions import db

    first = report(photos=[{"sha256": "a" * 64, "content_type": "image/jpeg", "size": 1000}])
    items = [
        first,
        report(case_hint={"same_as": str(uuid.uuid4())}),
        contact(),
        presence(),
        {**first, "note": "other content, same id"},
        {"type": "report", "id": str(uuid.uuid4())},
    ]
    body = batch(items)
    settings = services.SyncSettings.from_config(app.config)
    pushed = services.Batch(
        body["device_id"], body["app_version"], datetime.now(UTC), body["items"]
    )
    user = db.session.get(User, field_user.id)
    result = services.push(db.session(), user, pushed, settings)
    assert {r.status for r in result.results} == {"created", "conflict", "rejected"}
    assert any(r.hint for r in result.results) and any(r.missing_photos for r in result.results)
    expected = json.loads(json.dumps(PushResultSchema().dump(result)))
    assert orjson.loads(orjson.dumps(result)) == expected
    assert list(orjson.loads(orjson.dumps(result))["results"][0]) == list(expected["results"][0])

    # And over HTTP, a replay of the same batch: every item a duplicate or as before.
    answer = client.post("/api/v1/sync/push", json=body, headers=field_user.headers)
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    replay = answer.get_json()
    assert [r["status"] for r in replay["results"]] == [
        "duplicate",
        "duplicate",
        "duplicate",
        "duplicate",
        "conflict",
        "rejected",
    ]
    assert replay["results"][:2] == [r | {"status": "duplicate"} for r in expected["results"][:2]]
