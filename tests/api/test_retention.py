"""The retention job with the clock moved past the periods: expired records gone, the rest
intact, the run logged without content, the sync ledger still exactly-once."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import uuid
from datetime import timedelta

from PIL import Image
from sqlalchemy import select, update

from backend.contacts.models import Contact
from backend.extensions import db
from backend.photos.jobs import process_photo
from backend.photos.models import Photo, PhotoUploader
from backend.photos.store import storage_from
from backend.presence.models import PresenceEvent
from backend.retention import services as retention
from backend.retention.models import RetentionRun
from backend.sync.models import SyncItem
from tests.helpers.sync_items import batch, contact, iso, now, presence

PUSH = "/api/v1/sync/push"
PERIODS = retention.Periods(contacts=30, presence_pings=20, presence_events=40, photos=20)


def _jpeg(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (shade, 90, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def _photo(client, account, shade: int) -> str:
    data = _jpeg(shade)
    sha = hashlib.sha256(data).hexdigest()
    assert (
        client.put(f"/api/v1/photos/{sha}", data=data, headers=account.headers).status_code == 201
    )
    assert process_photo(sha) == "ready"
    return sha


def _ids(model) -> set[str]:
    db.session.expire_all()
    return {str(i) for i in db.session.execute(select(model.id)).scalars()}


def test_clock_past_retention_deletes_expired_keeps_the_rest_and_logs_counts(
    app, client, field_user, caplog, photo_store
):
    today = now()
    old_contact = contact(captured_at=iso(today - timedelta(days=30)))
    new_contact = contact(captured_at=iso(today - timedelta(days=1)))
    old_ping = presence(event="ping", zone=None, captured_at=iso(today - timedelta(days=30)))
    new_ping = presence(event="ping", zone=None, captured_at=iso(today - timedelta(days=1)))
    old_start = presence(event="shift_start", captured_at=iso(today - timedelta(days=30)))
    mid_start = presence(event="shift_start", captured_at=iso(today - timedelta(days=20)))
    new_start = presence(event="shift_start", captured_at=iso(today - timedelta(days=1)))
    items = [old_contact, new_contact, old_ping, new_ping, old_start, mid_start, new_start]
    pushed = client.post(PUSH, json=batch(items), headers=field_user.headers)
    assert {r["status"] for r in pushed.get_json()["results"]} == {"created"}
    old_photo, new_photo = _photo(client, field_user, 10), _photo(client, field_user, 200)
    db.session.execute(
        update(Photo).where(Photo.sha256 == old_photo).values(created_at=today - timedelta(days=30))
    )
    db.session.commit()
    both = {f"{area}/{sha}" for area in ("full", "thumb") for sha in (old_photo, new_photo)}
    assert photo_store.stored_keys() == both

    caplog.set_level(logging.INFO)
    # Fifteen days on: ages are now 45 (old), 35 (mid) and 16 days (new).
    moved = today + timedelta(days=15)
    result = retention.run(
        db.session(),
        storage_from(app.config),
        PERIODS,
        now=moved,
        batch=1,  # every record in its own batch: the loop, not one lucky statement
    )

    assert _ids(Contact) == {new_contact["id"]}
    # Both contacts were referred: the expired one's task stays as the outreach unit's
    # history, without the contact (and it never held the coordinates).
    from backend.tasks.models import Task

    db.session.expire_all()
    tasks = db.session.execute(select(Task)).scalars().all()
    assert {t.contact_id for t in tasks} == {None, uuid.UUID(new_contact["id"])}
    assert {(t.lat, t.lon) for t in tasks} == {(None, None)}
    assert _ids(PresenceEvent) == {new_ping["id"], mid_start["id"], new_start["id"]}
    db.session.expire_all()
    mid = db.session.get(PresenceEvent, uuid.UUID(mid_start["id"]))
    assert (mid.lat, mid.lon, mid.zone) == (None, None, "sergels-torg")  # older than pings
    young = db.session.get(PresenceEvent, uuid.UUID(new_start["id"]))
    assert young.lat is not None
    assert {p.sha256 for p in db.session.execute(select(Photo)).scalars()} == {new_photo}
    # Who uploaded it goes with the photo (the foreign key cascades on both databases).
    uploaders = db.session.execute(select(PhotoUploader.sha256)).scalars()
    assert set(uploaders) == {new_photo}
    # The expired photo's objects are gone from the store (bucket or MEDIA_ROOT), the
    # other photo's are untouched.
    assert photo_store.stored_keys() == {f"full/{new_photo}", f"thumb/{new_photo}"}

    (logged,) = db.session.execute(select(RetentionRun)).scalars()
    assert logged.id == result.id and logged.status == "done" and logged.as_of == moved
    assert {k: v["deleted"] for k, v in logged.details.items()} == {
        "contacts": 1,
        "presence_pings": 1,
        "presence_events": 1,
        "presence_locations": 1,
        "photos": 1,
    }
    assert logged.details["contacts"]["cutoff"] == (moved - timedelta(days=30)).isoformat()
    # The log says how many and up to when, never which or what.
    trail = json.dumps(logged.details) + caplog.text
    for item in (old_contact, old_ping, old_start):
        assert item["id"] not in trail
    assert old_photo not in trail and "housing" not in trail

    # The ledger keeps the id and hash (and forgets the device): a resend is a duplicate.
    ledger = db.session.get(SyncItem, uuid.UUID(old_contact["id"]))
    assert ledger is not None and ledger.device_id == "" and ledger.captured_at_raw == ""
    again = client.post(PUSH, json=batch([old_contact, old_ping]), headers=field_user.headers)
    assert [r["status"] for r in again.get_json()["results"]] == ["duplicate", "duplicate"]
    assert _ids(Contact) == {new_contact["id"]}

    # A second run at the same time finds nothing more: idempotent.
    second = retention.run(db.session(), storage_from(app.config), PERIODS, now=moved)
    assert {v["deleted"] for v in second.details.values()} == {0}


def test_cli_runs_with_configured_periods_and_prints_progress(app, client, field_user, runner):
    old = contact(captured_at=iso(now() - timedelta(days=2)))
    client.post(PUSH, json=batch([old]), headers=field_user.headers)
    moved = now() + timedelta(days=app.config["RETENTION_CONTACT_DAYS"])
    result = runner.invoke(args=["retention", "run", "--now", moved.isoformat()])
    assert result.exit_code == 0, result.output
    assert "contacts: 1 so far" in result.stderr
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert printed["details"]["contacts"]["deleted"] == 1
    assert printed["details"]["contacts"]["days"] == app.config["RETENTION_CONTACT_DAYS"]
    assert _ids(Contact) == set()
    naive = runner.invoke(args=["retention", "run", "--now", "2030-01-01T00:00:00"])
    assert naive.exit_code != 0 and "offset" in naive.output
