"""POST /api/v1/sync/push: exactly once, per-item results, limits, clock."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.cases.models import Case
from backend.contacts.models import Contact
from backend.extensions import db
from backend.feed.models import Change
from backend.photos.models import Photo, PhotoUploader
from backend.presence.models import PresenceEvent
from backend.reports.models import Report, ReportPhoto
from backend.sync import services
from backend.sync.models import SyncItem
from tests.helpers.sync_items import batch, contact, iso, now, presence, report

PUSH = "/api/v1/sync/push"


def _count(model: type) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _push(client, account, items, **overrides):
    response = client.post(PUSH, json=batch(items, **overrides), headers=account.headers)
    return response


def _statuses(response) -> list[str]:
    return [r["status"] for r in response.get_json()["results"]]


def test_new_items_are_created_and_stored(client, field_user):
    items = [report(), contact(), presence()]
    response = _push(client, field_user, items)
    assert response.status_code == 200
    body = response.get_json()
    assert [r["id"] for r in body["results"]] == [i["id"] for i in items]
    assert _statuses(response) == ["created"] * 3
    # A report always lands in a case; the first one of a bin starts it.
    assert body["results"][0]["case_id"] is not None
    assert body["results"][0]["joined_case"] is False
    assert body["results"][1]["case_id"] is None
    assert (_count(Report), _count(Contact), _count(PresenceEvent)) == (1, 1, 1)
    stored = db.session.get(Report, uuid.UUID(items[0]["id"]))
    assert stored.category == "litter.overflowing_bin"
    assert stored.zone == "sergels-torg"
    assert stored.user_id == field_user.id
    assert str(stored.case_id) == body["results"][0]["case_id"]


# Text that PostgreSQL's array syntax would have to quote or escape: the push sends each
# column of a batch as one array parameter (backend.database.unnest_rows).
ARRAY_SYNTAX_NOTES = ['{"a,b"}', "NULL", "back\\slash", 'say "hej"', "", " ", "x}\n{y", "🧹 ånej"]


def test_notes_with_array_syntax_and_mixed_number_forms_are_stored_exactly(client, field_user):
    items = [
        report(note=note, location={"lat": 59.3325, "lon": 18.0642, "accuracy_m": n % 2 or 8.5})
        for n, note in enumerate(ARRAY_SYNTAX_NOTES)
    ]
    response = _push(client, field_user, items)
    assert response.status_code == 200
    assert _statuses(response) == ["created"] * len(items)
    stored = {
        str(r.id): (r.note, r.accuracy_m)
        for r in db.session.execute(select(Report.id, Report.note, Report.accuracy_m))
    }
    assert stored == {
        i["id"]: (i["note"].strip(), float(i["location"]["accuracy_m"])) for i in items
    }


def test_postgresql_connections_send_list_parameters_in_binary(app):
    """The push's arrays go in binary: psycopg's text form quotes and escapes every element in
    Python (14 % of the push's CPU samples before, issue 20)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a psycopg setting")
    from psycopg.adapt import PyFormat
    from psycopg.types.array import ListBinaryDumper

    with db.engine.connect() as conn:
        adapters = conn.connection.dbapi_connection.adapters
        assert adapters.get_dumper(list, PyFormat.AUTO) is ListBinaryDumper


def test_resend_is_duplicate_and_changes_nothing(client, field_user):
    items = [report(), contact(), presence()]
    _push(client, field_user, items)
    before = db.session.execute(select(SyncItem.id, SyncItem.received_at)).all()
    again = _push(client, field_user, items)
    assert again.status_code == 200
    assert _statuses(again) == ["duplicate"] * 3
    db.session.expire_all()
    assert db.session.execute(select(SyncItem.id, SyncItem.received_at)).all() == before
    assert _count(Report) == 1


def test_resend_with_other_key_order_and_number_forms_is_still_duplicate(client, field_user):
    item = report(location={"lat": 59.3325, "lon": 18.0642, "accuracy_m": 8})
    _push(client, field_user, [item])
    resent = dict(reversed(list(item.items())))
    resent["location"] = {"accuracy_m": 8.0, "lon": 18.0642, "lat": 59.3325}
    assert _statuses(_push(client, field_user, [resent])) == ["duplicate"]


def test_changed_content_is_conflict_and_nothing_is_overwritten(client, field_user):
    item = report(note="first")
    _push(client, field_user, [item])
    changed = {**item, "note": "second", "category": "litter.broken_glass"}
    response = _push(client, field_user, [changed])
    result = response.get_json()["results"][0]
    assert result["status"] == "conflict"
    assert result["code"] == "item_conflict"
    stored = db.session.get(Report, uuid.UUID(item["id"]))
    assert (stored.note, stored.category) == ("first", "litter.overflowing_bin")


def test_same_id_from_another_user_is_conflict(client, field_user, create_user):
    item = report()
    _push(client, field_user, [item])
    other = create_user(role="field")
    assert _statuses(_push(client, other, [item])) == ["conflict"]
    assert db.session.get(SyncItem, uuid.UUID(item["id"])).user_id == field_user.id


def test_a_resend_stored_between_the_read_and_the_write_is_answered_duplicate(
    app, client, field_user, monkeypatch
):
    """The push reads which ids are stored before its write transaction; a resend of the
    same batch (another worker) may store them in between. The claim then gets fewer, the
    push runs again under the locks and answers duplicate: one of everything, no 5xx."""
    items = [report(), report(), contact(), presence()]
    original = services._store_and_route
    attempts: list[bool] = []

    def resend_lands_first(session, user, prepared, claim, first_attempt=True):
        attempts.append(first_attempt)
        if len(attempts) == 1:
            resend = _push(app.test_client(), field_user, items)
            assert _statuses(resend) == ["created", "created", "created", "created"]
        return original(session, user, prepared, claim, first_attempt)

    monkeypatch.setattr(services, "_store_and_route", resend_lands_first)
    with app.app_context():  # a session of its own, removed after the request, as in gunicorn
        response = _push(client, field_user, items)
    assert response.status_code == 200
    assert _statuses(response) == ["duplicate"] * 4
    # The outer push's first attempt, the resend's, the outer push's retry.
    assert attempts == [True, True, False]
    db.session.expire_all()
    assert (_count(SyncItem), _count(Report), _count(Case)) == (4, 2, 1)
    body = response.get_json()["results"]
    assert body[0]["case_id"] == body[1]["case_id"] is not None
    received = db.session.execute(
        select(Change.subject).where(Change.status == "received")
    ).scalars()
    assert sorted(received) == sorted(i["id"] for i in items)
    db.session.rollback()  # the reads above end, so SQLite's write lock is free
    # The rolled-back attempt leaves nothing behind: the next push routes as ever.
    with app.app_context():
        assert _statuses(_push(client, field_user, [contact(), report()])) == ["created"] * 2


def test_same_id_twice_in_one_batch(client, field_user):
    item = report()
    response = _push(client, field_user, [item, item, {**item, "note": "other"}])
    assert _statuses(response) == ["created", "duplicate", "conflict"]
    assert _count(Report) == 1


def test_bad_item_is_rejected_while_neighbours_are_created(client, field_user):
    good_before, good_after = report(), presence()
    bad = report(category="litter.no_such_thing")
    response = _push(client, field_user, [good_before, bad, good_after])
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert _statuses(response) == ["created", "rejected", "created"]
    assert results[1]["id"] == bad["id"]
    assert results[1]["code"] == "unknown_category"
    assert "category" in results[1]["errors"]
    assert db.session.get(SyncItem, uuid.UUID(bad["id"])) is None
    assert _count(SyncItem) == 2


@pytest.mark.parametrize(
    "item,code,field",
    [
        (report(id="not-a-uuid"), "invalid_id", "id"),
        (report(type="selfie"), "unknown_item_type", "type"),
        (report(kind="weather"), "invalid_kind", "kind"),
        (report(category="damage.graffiti"), "category_kind_mismatch", "category"),
        (report(location=None), "missing_location", "location"),
        (report(location={"lat": 91, "lon": 18}), "invalid_location", "location.lat"),
        (report(location={"lat": "59", "lon": 18}), "invalid_location", "location.lat"),
        (report(captured_at="yesterday"), "invalid_timestamp", "captured_at"),
        (report(captured_at="2026-05-04T10:15:00"), "invalid_timestamp", "captured_at"),
        (
            report(photos=[{"sha256": "xyz", "size": 1, "content_type": "image/jpeg"}]),
            "invalid_photo",
            "photos.0.sha256",
        ),
        (
            report(photos=[{"sha256": "a" * 64, "size": 10, "content_type": "text/plain"}]),
            "unsupported_photo_type",
            "photos.0.content_type",
        ),
        (
            report(photos=[{"sha256": "a" * 64, "size": 10**12, "content_type": "image/jpeg"}]),
            "photo_too_large",
            "photos.0.size",
        ),
        (
            contact(photos=[{"sha256": "a" * 64, "size": 10, "content_type": "image/jpeg"}]),
            "contact_photo_not_allowed",
            "photos",
        ),
        (contact(name="Kalle"), "contact_field_not_allowed", "name"),
        (contact(note="sov på bänken"), "contact_field_not_allowed", "note"),
        (contact(age_group="old"), "invalid_age_group", "age_group"),
        (contact(needs=["money please"]), "invalid_needs", "needs"),
        (contact(referral="no-such-org"), "unknown_referral", "referral"),
        (presence(event="coffee"), "invalid_event", "event"),
        (presence(zone="atlantis"), "unknown_zone", "zone"),
        (presence(event="ping", location=None), "missing_location", "location"),
        ("just a string", "invalid_item", "_item"),
    ],
)
def test_invalid_items_are_rejected_with_their_code(client, field_user, item, code, field):
    response = _push(client, field_user, [item, presence()])
    rejected, neighbour = response.get_json()["results"]
    assert (rejected["status"], rejected["code"]) == ("rejected", code)
    assert field in rejected["errors"]
    assert neighbour["status"] == "created"
    assert _count(SyncItem) == 1


def test_note_longer_than_the_limit_is_rejected_item(app, client, field_user):
    limit = app.config["SYNC_MAX_NOTE_CHARS"]
    ok, too_long = report(note="x" * limit), report(note="x" * (limit + 1))
    response = _push(client, field_user, [ok, too_long])
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["created", "rejected"]
    assert results[1]["code"] == "note_too_long"


def test_too_many_photos_is_rejected_item(app, client, field_user):
    n = app.config["SYNC_MAX_PHOTOS_PER_REPORT"] + 1
    photos = [{"sha256": f"{i:064x}", "size": 1000, "content_type": "image/jpeg"} for i in range(n)]
    response = _push(client, field_user, [report(photos=photos)])
    assert response.get_json()["results"][0]["code"] == "too_many_photos"


def test_contact_stores_only_the_enumerated_fields(client, field_user):
    item = contact(needs=["food", "housing", "food"])
    _push(client, field_user, [item])
    stored = db.session.get(Contact, uuid.UUID(item["id"]))
    assert stored.needs == ["food", "housing"]
    assert (stored.contact_type, stored.age_group, stored.referral) == (
        "conversation",
        "26-40",
        "socialtjanst-uppsok",
    )


def test_batch_over_the_item_limit_is_413_with_nothing_stored(app, client, field_user):
    items = [presence() for _ in range(app.config["SYNC_MAX_BATCH_ITEMS"] + 1)]
    response = _push(client, field_user, items)
    assert response.status_code == 413
    assert response.get_json()["code"] == "batch_too_large"
    assert _count(SyncItem) == 0


def test_body_over_the_byte_limit_is_413_with_nothing_stored(app, client, field_user):
    # Within the item limit, but each item carries 10 KB an older app version might add.
    count = app.config["SYNC_MAX_BATCH_ITEMS"]
    assert count * 10_000 > app.config["MAX_CONTENT_LENGTH"]
    items = [report(debug_trace="x" * 10_000) for _ in range(count)]
    response = _push(client, field_user, items)
    assert response.status_code == 413
    assert response.get_json()["code"] == "payload_too_large"
    assert _count(SyncItem) == 0


def test_unsupported_protocol_version_is_400_listing_the_supported(client, field_user):
    response = _push(client, field_user, [report()], protocol_version=99)
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == "unsupported_protocol_version"
    assert "1" in body["errors"]["protocol_version"][0]
    assert _count(SyncItem) == 0


@pytest.mark.parametrize("missing", ["device_id", "sent_at", "items", "app_version"])
def test_envelope_without_required_field_is_422(client, field_user, missing):
    body = batch([report()])
    del body[missing]
    response = client.post(PUSH, json=body, headers=field_user.headers)
    assert response.status_code == 422
    assert missing in response.get_json()["errors"]


@pytest.mark.parametrize("role", ["department", "supervisor", "admin"])
def test_only_field_staff_push(client, create_user, role):
    account = create_user(role=role)
    response = _push(client, account, [report()])
    assert response.status_code == 403
    assert _count(SyncItem) == 0


def test_push_without_token_is_401(client):
    assert client.post(PUSH, json=batch([report()])).status_code == 401


def test_device_clock_behind_is_corrected_and_raw_time_kept(client, field_user):
    # The phone's clock is 2 hours behind: it says it sent the batch 2 h ago.
    behind = timedelta(hours=2)
    captured_raw = iso(now() - behind - timedelta(minutes=10))
    item = report(captured_at=captured_raw)
    response = _push(client, field_user, [item], sent_at=iso(now() - behind))
    skew = response.get_json()["clock_skew_s"]
    assert skew == pytest.approx(behind.total_seconds(), abs=30)
    stored = db.session.get(SyncItem, uuid.UUID(item["id"]))
    assert stored.captured_at_raw == captured_raw
    assert stored.clock_skew_s == pytest.approx(skew)
    assert stored.occurred_at - stored.captured_at == pytest.approx(
        timedelta(seconds=skew), abs=timedelta(milliseconds=1)
    )
    assert abs((now() - stored.occurred_at) - timedelta(minutes=10)) < timedelta(seconds=30)


def test_small_skew_is_not_corrected(client, field_user):
    item = report()
    _push(client, field_user, [item], sent_at=iso(now() - timedelta(seconds=20)))
    stored = db.session.get(SyncItem, uuid.UUID(item["id"]))
    assert stored.occurred_at == stored.captured_at


def test_future_capture_time_is_rejected_even_after_correction(client, field_user):
    item = report(captured_at=iso(now() + timedelta(hours=3)))
    response = _push(client, field_user, [item])
    assert response.get_json()["results"][0]["code"] == "captured_at_in_future"


def test_capture_time_ahead_by_a_clock_that_runs_fast_is_accepted(client, field_user):
    # The whole phone clock runs 3 h fast: sent_at and captured_at are both ahead.
    ahead = timedelta(hours=3)
    item = report(captured_at=iso(now() + ahead - timedelta(minutes=1)))
    response = _push(client, field_user, [item], sent_at=iso(now() + ahead))
    assert _statuses(response) == ["created"]


def test_items_older_than_the_limit_are_rejected_but_a_drawer_phone_is_fine(
    app, client, field_user
):
    days = app.config["SYNC_MAX_ITEM_AGE_DAYS"]
    assert days >= 90
    old = report(captured_at=iso(now() - timedelta(days=days + 1)))
    drawer = report(captured_at=iso(now() - timedelta(days=89)))
    response = _push(client, field_user, [old, drawer])
    results = response.get_json()["results"]
    assert results[0]["code"] == "captured_at_too_old"
    assert results[1]["status"] == "created"


def _uploaded(sha: str, user_id) -> None:
    """A photo row and its uploader, as a PUT of its bytes leaves them."""
    if db.session.get(Photo, sha) is None:
        db.session.add(Photo(sha256=sha, size=1000, content_type="image/jpeg"))
        db.session.flush()
    db.session.add(PhotoUploader(sha256=sha, user_id=user_id))
    db.session.commit()


def test_missing_photos_lists_the_ones_not_uploaded(client, field_user):
    present, absent = "a" * 64, "b" * 64
    _uploaded(present, field_user.id)
    photos = [
        {"sha256": sha, "size": 1000, "content_type": "image/jpeg"} for sha in (present, absent)
    ]
    item = report(photos=photos)
    first = _push(client, field_user, [item]).get_json()["results"][0]
    assert first["missing_photos"] == [absent]
    assert _count(ReportPhoto) == 2
    # A resend learns what is still missing, so the phone knows what to upload.
    _uploaded(absent, field_user.id)
    again = _push(client, field_user, [item]).get_json()["results"][0]
    assert (again["status"], again["missing_photos"]) == ("duplicate", [])
