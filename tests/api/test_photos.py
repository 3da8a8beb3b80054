"""PUT /api/v1/photos/{sha256}, the media job on a real Redis, GET of the sanitised image; on
the filesystem and in an S3 bucket (``photo_store``), what is stored inspected from outside."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from redis import Redis
from rq import Queue, SimpleWorker

from backend.queues import MEDIA
from tests.helpers.photos import (
    INTERNALS,
    REFUSAL_CODES,
    SECRETS,
    hostile_files,
    phone_jpeg,
    sha256,
    truncated_with_end_marker,
)
from tests.unit.test_media import assert_no_metadata, assert_upright_scene


def put(client, account, data, digest=None):
    return client.put(
        f"/api/v1/photos/{digest or sha256(data)}",
        data=data,
        headers={**account.headers, "Content-Type": "image/jpeg"},
    )


def run_media_jobs(app) -> None:
    connection = Redis.from_url(app.config["REDIS_URL"])
    SimpleWorker([Queue(MEDIA, connection=connection)], connection=connection).work(burst=True)


pytestmark = pytest.mark.usefixtures("photo_store")


def test_upload_process_and_serve_upright_without_metadata(app, client, field_user, photo_store):
    data = phone_jpeg()
    digest = sha256(data)
    created = put(client, field_user, data)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["sha256"], body["size"], body["status"]) == (digest, len(data), "processing")
    assert body["content_type"] == "image/jpeg"

    waiting = client.get(f"/api/v1/photos/{digest}", headers=field_user.headers)
    assert waiting.status_code == 409
    assert waiting.get_json()["code"] == "photo_processing"

    run_media_jobs(app)

    info = client.get(f"/api/v1/photos/{digest}/info", headers=field_user.headers).get_json()
    assert info["status"] == "ready"
    assert (info["width"], info["height"]) == (300, 400)
    assert len(info["phash"]) == 16
    for size in ("full", "thumb"):
        served = client.get(f"/api/v1/photos/{digest}?size={size}", headers=field_user.headers)
        assert served.status_code == 200
        assert served.mimetype == "image/jpeg"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert served.headers["Cache-Control"] == "private, max-age=31536000, immutable"
        assert served.headers["ETag"]
        assert_upright_scene(served.data)
        assert_no_metadata(served.data)
    # The original bytes are gone once sanitised: only derivatives are kept.
    assert photo_store.stored_keys() == {f"full/{digest}", f"thumb/{digest}"}
    for name, stored in photo_store.objects().items():
        assert not any(secret in stored for secret in SECRETS), name


def test_etag_gives_not_modified(app, client, field_user):
    data = phone_jpeg()
    put(client, field_user, data)
    run_media_jobs(app)
    url = f"/api/v1/photos/{sha256(data)}?size=thumb"
    first = client.get(url, headers=field_user.headers)
    again = client.get(url, headers={**field_user.headers, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""


def test_same_photo_twice_is_stored_once(app, client, field_user, create_user, photo_store):
    data = phone_jpeg()
    assert put(client, field_user, data).status_code == 201
    run_media_jobs(app)
    before = photo_store.disk_stamps()
    assert len(before) == 2
    # The uploader's own repeat is 200: already stored, nothing rewritten.
    again = put(client, field_user, data)
    assert again.status_code == 200
    assert again.get_json()["status"] == "ready"
    # Another user's upload of the same bytes is stored for them (tests/api/
    # test_photo_possession.py), and rewrites nothing either.
    assert put(client, create_user(role="field"), data).status_code == 201
    assert photo_store.disk_stamps() == before


def test_hash_mismatch_is_400_and_stores_nothing(app, client, field_user, photo_store):
    data = phone_jpeg()
    wrong = sha256(b"something else")
    response = put(client, field_user, data, digest=wrong)
    assert response.status_code == 400
    assert response.get_json()["code"] == "sha256_mismatch"
    assert photo_store.stored_keys() == set()
    assert client.get(f"/api/v1/photos/{wrong}/info", headers=field_user.headers).status_code == 404


def test_invalid_sha256_in_path_is_422(client, field_user):
    response = put(client, field_user, b"abc", digest="not-a-hash")
    assert response.status_code == 422
    assert response.get_json()["code"] == "invalid_sha256"


@pytest.mark.parametrize("name", sorted(hostile_files()))
def test_hostile_upload_is_a_clear_4xx_and_other_photos_unaffected(app, client, field_user, name):
    good = phone_jpeg()
    assert put(client, field_user, good).status_code == 201
    run_media_jobs(app)

    data = hostile_files()[name]
    response = put(client, field_user, data)
    assert response.status_code in (413, 415, 422), response.get_json()
    body = response.get_json()
    assert body["code"] in REFUSAL_CODES
    assert body["errors"]["photo"]
    for internal in INTERNALS:
        assert internal not in body["message"], body["message"]
    info = client.get(f"/api/v1/photos/{sha256(data)}/info", headers=field_user.headers)
    assert info.status_code == 404

    served = client.get(f"/api/v1/photos/{sha256(good)}", headers=field_user.headers)
    assert served.status_code == 200
    assert_upright_scene(served.data)


def test_body_over_the_photo_limit_is_413_before_reading(app, client, field_user):
    app.config["MAX_PHOTO_BYTES"], saved = 10_000, app.config["MAX_PHOTO_BYTES"]
    try:
        data = phone_jpeg() + b"\0" * 20_000
        response = put(client, field_user, data)
    finally:
        app.config["MAX_PHOTO_BYTES"] = saved
    assert response.status_code == 413
    assert response.get_json()["code"] == "photo_too_large"


FRAMINGS = {
    # Werkzeug's development server: Content-Length, the stream is not ended by the server.
    "dev-server": {},
    # gunicorn: Content-Length, and the server ends the stream (wsgi.input_terminated), where
    # Werkzeug's limited stream refused the read after exactly the limit.
    "gunicorn": {"wsgi.input_terminated": True},
    # gunicorn with Transfer-Encoding: chunked: no length at all.
    "gunicorn-chunked": {"wsgi.input_terminated": True, "no_length": True},
}


def put_framed(client, account, data: bytes, framing: str):
    environ = dict(FRAMINGS[framing])
    if environ.pop("no_length", False):
        return client.put(
            f"/api/v1/photos/{sha256(data)}",
            input_stream=io.BytesIO(data),
            headers=account.headers,
            environ_overrides=environ,
        )
    return client.put(
        f"/api/v1/photos/{sha256(data)}",
        data=data,
        headers=account.headers,
        environ_overrides=environ,
    )


@pytest.mark.parametrize("framing", sorted(FRAMINGS))
def test_exactly_max_photo_bytes_is_judged_by_content_one_more_is_413(
    app, client, field_user, monkeypatch, framing
):
    monkeypatch.setitem(app.config, "MAX_PHOTO_BYTES", 50_000)
    photo = phone_jpeg()
    exact = photo + bytes(50_000 - len(photo))
    assert put_framed(client, field_user, exact, framing).status_code == 201
    not_a_photo = b"II*\x00" + bytes(50_000 - 4)  # a TIFF header: the content decides
    assert put_framed(client, field_user, not_a_photo, framing).status_code == 415
    over = put_framed(client, field_user, exact + b"\0", framing)
    assert (over.status_code, over.get_json()["code"]) == (413, "photo_too_large")


def test_photo_larger_than_normal_body_limit_is_accepted(client, field_user):
    noise = Image.effect_noise((1200, 1200), 80).convert("RGB")
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=98)
    data = out.getvalue()
    assert len(data) > 1_048_576  # over MAX_BODY_BYTES, under MAX_PHOTO_BYTES
    assert put(client, field_user, data).status_code == 201


def test_only_uploader_and_supervisors_see_a_photo(app, client, field_user, create_user):
    data = phone_jpeg()
    put(client, field_user, data)
    run_media_jobs(app)
    url = f"/api/v1/photos/{sha256(data)}"
    assert client.get(url, headers=create_user(role="supervisor").headers).status_code == 200
    assert client.get(url, headers=create_user(role="admin").headers).status_code == 200
    for role in ("field", "department"):
        other = client.get(url, headers=create_user(role=role).headers)
        assert other.status_code == 404
        assert other.get_json()["code"] == "photo_not_found"
    assert client.get(url).status_code == 401


def test_only_field_staff_and_admins_upload(client, create_user):
    data = phone_jpeg()
    response = put(client, create_user(role="department"), data)
    assert response.status_code == 403


def test_failed_processing_is_recorded_and_never_served(app, client, field_user, photo_store):
    from backend.extensions import db
    from backend.photos.store import storage_from
    from media.storage import key

    data = phone_jpeg()
    digest = sha256(data)
    put(client, field_user, data)
    # The stored original is damaged before the worker gets to it (a bad disk sector).
    storage_from(app.config).put(key("raw", digest), data[:300])
    run_media_jobs(app)
    db.session.remove()

    served = client.get(f"/api/v1/photos/{digest}", headers=field_user.headers)
    assert served.status_code == 422
    assert served.get_json()["code"] == "photo_failed"
    assert served.get_json()["errors"]["photo"] == ["corrupt_image"]
    assert photo_store.stored_keys() == set()


@pytest.mark.parametrize("fraction", [0.5, 0.9])
def test_jpeg_cut_short_behind_an_end_marker_fails_in_the_job_instead_of_going_grey(
    app, client, field_user, fraction, photo_store
):
    # The structure is intact (the scan is followed by an end marker), so the upload is
    # accepted without a decode; libjpeg would pad the missing blocks grey, the job refuses.
    data = truncated_with_end_marker(phone_jpeg(), fraction)
    assert put(client, field_user, data).status_code == 201
    run_media_jobs(app)
    info = client.get(f"/api/v1/photos/{sha256(data)}/info", headers=field_user.headers)
    assert (info.get_json()["status"], info.get_json()["failure_reason"]) == (
        "failed",
        "corrupt_image",
    )
    served = client.get(f"/api/v1/photos/{sha256(data)}", headers=field_user.headers)
    assert (served.status_code, served.get_json()["code"]) == (422, "photo_failed")
    assert photo_store.stored_keys() == set()


def test_job_is_idempotent(app, client, field_user, photo_store):
    from backend.photos.jobs import process_photo

    data = phone_jpeg()
    put(client, field_user, data)
    assert photo_store.stored_keys() == {f"raw/{sha256(data)}"}
    assert process_photo(sha256(data)) == "ready"
    stamps = photo_store.disk_stamps()
    assert process_photo(sha256(data)) == "ready"
    assert photo_store.disk_stamps() == stamps
    assert photo_store.stored_keys() == {f"full/{sha256(data)}", f"thumb/{sha256(data)}"}


def test_upload_succeeds_while_redis_is_down_and_sweep_queues_it(app, client, field_user, runner):
    from tests.helpers.servers import free_port

    data = phone_jpeg()
    real_url = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    app.extensions["redis"] = None
    try:
        response = put(client, field_user, data)
    finally:
        app.config["REDIS_URL"] = real_url
        app.extensions["redis"] = None
    assert response.status_code == 201
    assert response.get_json()["status"] == "processing"

    run_media_jobs(app)  # nothing was queued
    info = client.get(f"/api/v1/photos/{sha256(data)}/info", headers=field_user.headers)
    assert info.get_json()["status"] == "processing"

    result = runner.invoke(args=["photos", "sweep"])
    assert result.exit_code == 0, result.output
    assert '"photos_queued": 1' in result.output
    run_media_jobs(app)
    info = client.get(f"/api/v1/photos/{sha256(data)}/info", headers=field_user.headers)
    assert info.get_json()["status"] == "ready"
