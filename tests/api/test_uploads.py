"""tus 1.0 under /api/v1/uploads/: the protocol's rules, through the test client."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest

from tests.api.test_photos import run_media_jobs
from tests.helpers.photos import phone_jpeg, sha256

TUS = {"Tus-Resumable": "1.0.0"}

# Every rule holds on both stores: chunks in MEDIA_ROOT/uploads or as objects in the bucket.
pytestmark = pytest.mark.usefixtures("photo_store")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def create(client, account, data: bytes, digest: str | None = None, **extra: str):
    headers = {
        **account.headers,
        **TUS,
        "Upload-Length": str(len(data)),
        "Upload-Metadata": f"sha256 {b64(digest or sha256(data))},filename {b64('IMG_0001.jpg')}",
        **extra,
    }
    return client.post("/api/v1/uploads/", headers=headers)


def patch(client, account, location: str, offset: int, chunk: bytes, **extra: str):
    headers = {
        **account.headers,
        **TUS,
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
        **extra,
    }
    return client.patch(location, data=chunk, headers=headers)


def head(client, account, location: str):
    return client.head(location, headers={**account.headers, **TUS})


def test_options_advertises_version_extensions_and_limit(app, client):
    response = client.options("/api/v1/uploads/")
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert set(response.headers["Tus-Extension"].split(",")) == {
        "creation",
        "checksum",
        "termination",
        "expiration",
    }
    assert int(response.headers["Tus-Max-Size"]) == app.config["MAX_PHOTO_BYTES"]
    assert "sha1" in response.headers["Tus-Checksum-Algorithm"].split(",")


def test_chunks_make_the_same_photo_as_a_put(app, client, field_user):
    data = phone_jpeg()
    created = create(client, field_user, data)
    assert created.status_code == 201, created.get_json()
    assert created.headers["Tus-Resumable"] == "1.0.0"
    assert created.headers["Upload-Expires"]
    location = created.headers["Location"]
    assert location.startswith("/api/v1/uploads/")

    third = len(data) // 3
    for start in (0, third, 2 * third):
        end = len(data) if start == 2 * third else start + third
        response = patch(client, field_user, location, start, data[start:end])
        assert response.status_code == 204, response.get_json()
        assert int(response.headers["Upload-Offset"]) == end

    info = client.get(f"/api/v1/photos/{sha256(data)}/info", headers=field_user.headers)
    assert info.status_code == 200
    assert info.get_json()["size"] == len(data)
    # The finished upload is gone; a PUT of the same bytes finds the photo already there.
    assert head(client, field_user, location).status_code == 404
    assert (
        client.put(
            f"/api/v1/photos/{sha256(data)}", data=data, headers=field_user.headers
        ).status_code
        == 200
    )
    run_media_jobs(app)
    assert (
        client.get(f"/api/v1/photos/{sha256(data)}", headers=field_user.headers).status_code == 200
    )


def test_head_reports_the_stored_offset(client, field_user):
    data = phone_jpeg()
    location = create(client, field_user, data).headers["Location"]
    patch(client, field_user, location, 0, data[:1000])
    response = head(client, field_user, location)
    assert response.status_code == 200
    assert response.headers["Upload-Offset"] == "1000"
    assert response.headers["Upload-Length"] == str(len(data))
    assert response.headers["Cache-Control"] == "no-store"


def test_wrong_offset_is_409_and_changes_nothing(client, field_user):
    data = phone_jpeg()
    location = create(client, field_user, data).headers["Location"]
    patch(client, field_user, location, 0, data[:1000])
    response = patch(client, field_user, location, 500, data[500:1500])
    assert response.status_code == 409
    assert response.get_json()["code"] == "offset_mismatch"
    assert head(client, field_user, location).headers["Upload-Offset"] == "1000"


def test_checksum_mismatch_is_460_and_the_chunk_discarded(client, field_user):
    data = phone_jpeg()
    location = create(client, field_user, data).headers["Location"]
    wrong = base64.b64encode(hashlib.sha1(b"other").digest()).decode()
    response = patch(
        client, field_user, location, 0, data[:1000], **{"Upload-Checksum": f"sha1 {wrong}"}
    )
    assert response.status_code == 460
    assert response.get_json()["code"] == "checksum_mismatch"
    assert head(client, field_user, location).headers["Upload-Offset"] == "0"

    right = base64.b64encode(hashlib.sha1(data[:1000]).digest()).decode()
    response = patch(
        client, field_user, location, 0, data[:1000], **{"Upload-Checksum": f"sha1 {right}"}
    )
    assert response.status_code == 204


def test_unknown_checksum_algorithm_is_400(client, field_user):
    data = phone_jpeg()
    location = create(client, field_user, data).headers["Location"]
    response = patch(
        client, field_user, location, 0, data[:10], **{"Upload-Checksum": "crc32 AAAA"}
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "checksum_algorithm_unsupported"


def test_other_tus_version_is_412(client, field_user):
    response = client.post(
        "/api/v1/uploads/",
        headers={**field_user.headers, "Tus-Resumable": "0.2.2", "Upload-Length": "10"},
    )
    assert response.status_code == 412
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.get_json()["code"] == "tus_version_unsupported"


@pytest.mark.parametrize(
    "headers,status,code",
    [
        ({"Upload-Length": "100"}, 400, "sha256_required"),
        ({"Upload-Length": "100", "Upload-Metadata": "sha256 !!!"}, 400, "invalid_upload_metadata"),
        ({"Upload-Metadata": f"sha256 {b64('a' * 64)}"}, 400, "invalid_tus_header"),
        ({"Upload-Length": "10", "Upload-Metadata": f"sha256 {b64('xyz')}"}, 422, "invalid_sha256"),
        (
            {"Upload-Length": str(10**9), "Upload-Metadata": f"sha256 {b64('a' * 64)}"},
            413,
            "photo_too_large",
        ),
        ({"Upload-Length": "0", "Upload-Metadata": f"sha256 {b64('a' * 64)}"}, 422, "empty_photo"),
        *(
            ({"Upload-Length": bad, "Upload-Metadata": f"sha256 {b64('a' * 64)}"}, 400, code)
            for bad, code in [
                ("-1", "invalid_tus_header"),
                ("1e6", "invalid_tus_header"),
                ("0x10", "invalid_tus_header"),
                ("9" * 19, "invalid_tus_header"),
                ("", "invalid_tus_header"),
            ]
        ),
        (
            {"Upload-Length": "10", "Upload-Defer-Length": "1", "Upload-Metadata": "sha256 YQ=="},
            400,
            "invalid_tus_header",
        ),
    ],
)
def test_creation_errors(client, field_user, headers, status, code):
    response = client.post("/api/v1/uploads/", headers={**field_user.headers, **TUS, **headers})
    assert response.status_code == status
    assert response.get_json()["code"] == code


@pytest.mark.parametrize("offset", ["-1", "abc", "1.5", "", "9" * 30])
def test_garbage_upload_offset_is_400_and_changes_nothing(client, field_user, offset):
    data = phone_jpeg()
    location = create(client, field_user, data).headers["Location"]
    headers = {
        **field_user.headers,
        **TUS,
        "Upload-Offset": offset,
        "Content-Type": "application/offset+octet-stream",
    }
    response = client.patch(location, data=data[:10], headers=headers)
    assert (response.status_code, response.get_json()["code"]) == (400, "invalid_tus_header")
    assert head(client, field_user, location).headers["Upload-Offset"] == "0"


def test_patch_needs_offset_octet_stream(client, field_user):
    data = phone_jpeg()
    location = create(client, field_user, data).headers["Location"]
    response = patch(client, field_user, location, 0, data[:10], **{"Content-Type": "image/jpeg"})
    assert response.status_code == 415
    assert response.get_json()["code"] == "invalid_content_type"


def test_chunk_past_the_declared_length_is_refused(client, field_user):
    data = phone_jpeg()
    location = create(client, field_user, data).headers["Location"]
    response = patch(client, field_user, location, 0, data + b"extra")
    assert response.status_code == 413
    assert head(client, field_user, location).headers["Upload-Offset"] == "0"


def test_whole_file_hash_mismatch_discards_the_upload(app, client, field_user, photo_store):
    data = phone_jpeg()
    location = create(client, field_user, data, digest=sha256(b"other")).headers["Location"]
    response = patch(client, field_user, location, 0, data)
    assert response.status_code == 400
    assert response.get_json()["code"] == "sha256_mismatch"
    assert head(client, field_user, location).status_code == 404
    assert photo_store.stored_keys() == set()


def test_hostile_file_over_tus_is_refused_at_the_last_chunk(app, client, field_user, photo_store):
    from tests.helpers.photos import hostile_files

    data = hostile_files()["tiff_renamed_jpg"]
    location = create(client, field_user, data).headers["Location"]
    response = patch(client, field_user, location, 0, data)
    assert response.status_code == 415
    assert response.get_json()["code"] == "unsupported_format"
    assert photo_store.stored_keys() == set()


def test_termination_discards_bytes(app, client, field_user, photo_store):
    data = phone_jpeg()
    location = create(client, field_user, data).headers["Location"]
    patch(client, field_user, location, 0, data[:1000])
    upload_id = location.rstrip("/").rsplit("/", 1)[1].replace("-", "")
    assert photo_store.stored_keys() == {f"uploads/{upload_id}"}
    response = client.delete(location, headers={**field_user.headers, **TUS})
    assert response.status_code == 204
    assert head(client, field_user, location).status_code == 404
    assert photo_store.stored_keys() == set()


def test_another_users_upload_is_not_found(client, field_user, create_user):
    data = phone_jpeg()
    location = create(client, field_user, data).headers["Location"]
    other = create_user(role="field")
    assert head(client, other, location).status_code == 404
    assert patch(client, other, location, 0, data[:10]).status_code == 404


def test_expired_upload_is_410_and_swept(app, client, field_user, runner, photo_store):
    from backend.extensions import db
    from backend.photos.models import Upload

    data = phone_jpeg()
    location = create(client, field_user, data).headers["Location"]
    patch(client, field_user, location, 0, data[:1000])
    upload = db.session.execute(db.select(Upload)).scalar_one()
    upload.expires_at = upload.expires_at - timedelta(days=2)
    db.session.commit()

    response = head(client, field_user, location)
    assert response.status_code == 410
    gone = patch(client, field_user, location, 1000, data[1000:2000])
    assert gone.status_code == 410
    assert gone.get_json()["code"] == "upload_expired"

    result = runner.invoke(args=["photos", "sweep"])
    assert '"uploads_expired": 1' in result.output
    assert photo_store.stored_keys() == set()
    db.session.remove()
    assert db.session.execute(db.select(Upload)).first() is None


def test_open_uploads_per_user_are_capped_listed_and_freed_by_finishing_or_deleting(
    app, client, field_user, create_user, monkeypatch
):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_OPEN_PER_USER", 2)
    photos = [phone_jpeg(seed=s) for s in (1, 2, 3)]
    first, second = (create(client, field_user, p).headers["Location"] for p in photos[:2])
    refused = create(client, field_user, photos[2])
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["code"] == "too_many_open_uploads"
    assert {f"/api/v1/uploads/{i}" for i in body["errors"]["open_uploads"]} == {first, second}
    # Another user is not affected by this one's uploads.
    assert create(client, create_user(role="field"), photos[2]).status_code == 201

    assert client.delete(first, headers={**field_user.headers, **TUS}).status_code == 204
    third = create(client, field_user, photos[2])
    assert third.status_code == 201
    # Finishing an upload frees its place too.
    assert patch(client, field_user, second, 0, photos[1]).status_code == 204
    assert create(client, field_user, phone_jpeg(seed=4)).status_code == 201


def test_open_upload_bytes_per_user_are_capped_and_expired_uploads_do_not_count(
    app, client, field_user, monkeypatch
):
    from backend.extensions import db
    from backend.photos.models import Upload

    data, other = phone_jpeg(), phone_jpeg(seed=9)
    monkeypatch.setitem(app.config, "UPLOAD_MAX_OPEN_BYTES_PER_USER", len(data) + len(other) - 1)
    assert create(client, field_user, data).status_code == 201
    refused = create(client, field_user, other)
    assert (refused.status_code, refused.get_json()["code"]) == (409, "open_uploads_too_large")
    assert str(len(data)) in refused.get_json()["message"]

    upload = db.session.execute(db.select(Upload)).scalar_one()
    upload.expires_at = upload.expires_at - timedelta(days=2)
    db.session.commit()
    assert create(client, field_user, other).status_code == 201


def test_open_upload_caps_are_advertised(app, client, field_user, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_OPEN_PER_USER", 3)
    limits = client.get("/api/v1/sync/config", headers=field_user.headers).get_json()["limits"]
    assert limits["max_open_uploads"] == 3
    assert limits["max_open_upload_bytes"] == app.config["UPLOAD_MAX_OPEN_BYTES_PER_USER"]
    assert limits["max_photo_pixels"] == app.config["MAX_PHOTO_PIXELS"]


@pytest.mark.parametrize("damage", ["deleted", "cut short"])
def test_an_upload_whose_stored_bytes_are_lost_is_discarded_with_410(
    app, client, field_user, damage, photo_store
):
    from backend.photos.store import storage_from

    data = phone_jpeg()
    location = create(client, field_user, data).headers["Location"]
    assert patch(client, field_user, location, 0, data[:2000]).status_code == 204
    # Damaged behind the service's back (a disk fault, an operator's or a lifecycle rule's
    # clean-up of the volume or the bucket).
    storage = storage_from(app.config)
    upload_key = f"uploads/{location.rsplit('/', 1)[1].replace('-', '')}"
    if damage == "deleted":
        storage.delete(upload_key)
    else:
        storage.write_at(upload_key, 0, data[:500])

    # The completing PATCH: appending would have zero-filled the gap.
    response = patch(client, field_user, location, 2000, data[2000:])
    assert (response.status_code, response.get_json()["code"]) == (410, "upload_lost")
    assert head(client, field_user, location).status_code == 404
    assert photo_store.stored_keys() == set()
    # The phone starts over and the photo arrives.
    location = create(client, field_user, data).headers["Location"]
    assert patch(client, field_user, location, 0, data).status_code == 204


def test_sweep_discards_complete_uploads_without_their_bytes_and_goes_on(
    app, client, field_user, runner
):
    from backend.extensions import db
    from backend.photos.models import Upload
    from backend.photos.store import storage_from

    lost, kept = phone_jpeg(seed=1), phone_jpeg(seed=2)
    for data in (lost, kept):
        location = create(client, field_user, data).headers["Location"]
        patch(client, field_user, location, 0, data[:1000])
    # A crash between the last chunk and the photo: the offset says complete, and for one of
    # them the file is gone.
    storage = storage_from(app.config)
    for upload in db.session.execute(db.select(Upload)).scalars():
        upload.offset = upload.length
        if upload.sha256 == sha256(lost):
            storage.delete(f"uploads/{upload.id.hex}")
        else:
            storage.write_at(f"uploads/{upload.id.hex}", 0, kept)
    db.session.commit()

    result = runner.invoke(args=["photos", "sweep"])
    assert result.exit_code == 0, result.output
    assert '"uploads_finished": 1' in result.output
    assert '"uploads_discarded": 1' in result.output
    info = client.get(f"/api/v1/photos/{sha256(kept)}/info", headers=field_user.headers)
    assert info.status_code == 200
    db.session.remove()
    assert db.session.execute(db.select(Upload)).first() is None
