"""The storage contract (media.storage.Storage) on both implementations: files in a directory
and objects in a bucket of a real S3-protocol server. No Flask: media/ is a library."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator

import pytest

from media.errors import StorageUnavailable
from media.s3 import S3Settings, S3Storage
from media.storage import FileStorage, Storage, copy, key
from tests.helpers.servers import S3Server, free_port

UPLOAD = key("uploads", secrets.token_hex(16))
SHA = hashlib.sha256(b"photo").hexdigest()


def settings_of(server: S3Server, **changes: object) -> S3Settings:
    values: dict[str, object] = {
        "endpoint_url": server.endpoint,
        "access_key_id": server.access_key,
        "secret_access_key": server.secret_key,
        "timeout_s": 2.0,
        "max_attempts": 2,
    }
    values.update(changes)
    return S3Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(params=["filesystem", "s3"])
def store(request, tmp_path, s3_server: S3Server) -> Iterator[Storage]:
    if request.param == "filesystem":
        yield FileStorage(tmp_path / "media")
    else:
        bucket = s3_server.create_bucket()
        yield S3Storage.open(f"s3://{bucket}/pre/fix", settings_of(s3_server))


def test_whole_objects_put_get_replace_delete(store: Storage):
    name = key("full", SHA)
    assert not store.exists(name) and store.size(name) == 0
    with pytest.raises(FileNotFoundError):
        store.get(name)
    store.put(name, b"first")
    store.put(name, b"second version")
    assert store.exists(name) and store.get(name) == b"second version"
    assert store.size(name) == len(b"second version")
    store.delete(name)
    store.delete(name)  # absent: nothing happens
    assert not store.exists(name)
    store.check()


def test_growing_file_appends_truncates_and_reads_back_whole(store: Storage):
    assert store.write_at(UPLOAD, 0, b"aaaa") == 4
    assert store.write_at(UPLOAD, 4, b"bbbb") == 8
    assert store.write_at(UPLOAD, 8, b"cccc") == 12
    assert store.get(UPLOAD) == b"aaaabbbbcccc" and store.size(UPLOAD) == 12
    # A write at an earlier offset drops what lay past it (an interrupted write the database
    # never acknowledged), also inside a chunk.
    assert store.write_at(UPLOAD, 6, b"XY") == 8
    assert store.get(UPLOAD) == b"aaaabbXY" and store.size(UPLOAD) == 8
    assert store.write_at(UPLOAD, 8, b"") == 8
    assert store.write_at(UPLOAD, 2, b"") == 2
    assert store.get(UPLOAD) == b"aa"
    store.delete(UPLOAD)
    assert not store.exists(UPLOAD) and store.size(UPLOAD) == 0
    with pytest.raises(FileNotFoundError):
        store.get(UPLOAD)


def test_many_small_chunks_reassemble_in_order(store: Storage):
    # tus clients send 256 KiB and smaller chunks: far under S3's 5 MiB multipart minimum.
    data = secrets.token_bytes(300_000)
    offset = 0
    for size in (1, 1000, 65_536, 7, 100_000, 133_456):
        offset = store.write_at(UPLOAD, offset, data[offset : offset + size])
    assert offset == len(data)
    assert store.get(UPLOAD) == data


@pytest.mark.parametrize(
    "bad",
    [
        "full/../../../etc/passwd",
        "../full/" + SHA,
        "full/" + SHA + "/x",
        "FULL/" + SHA,
        "full/short",
        "full/" + "a" * 65,
        "full/" + SHA + "\x00",
        "/full/" + SHA,
        "full",
        "",
    ],
)
def test_keys_outside_the_shape_are_refused(store: Storage, bad: str):
    with pytest.raises(ValueError):
        store.put(bad, b"x")
    with pytest.raises(ValueError):
        store.get(bad)
    with pytest.raises(ValueError):
        store.delete(bad)


def test_copy_between_stores_skips_what_is_there(tmp_path, s3_server: S3Server):
    source = FileStorage(tmp_path / "media")
    target = S3Storage.open(f"s3://{s3_server.create_bucket()}/p", settings_of(s3_server))
    source.put(key("full", SHA), b"image")
    source.write_at(UPLOAD, 0, b"part")
    assert copy(source, target, key("full", SHA)) == "copied"
    assert copy(source, target, UPLOAD) == "copied"
    assert copy(source, target, key("full", SHA)) == "skipped"
    assert copy(source, target, key("thumb", SHA)) == "missing"
    assert target.get(key("full", SHA)) == b"image" and target.get(UPLOAD) == b"part"
    # The upload grew on the source meanwhile: copied again, whole.
    source.write_at(UPLOAD, 4, b"more")
    assert copy(source, target, UPLOAD) == "copied"
    assert target.get(UPLOAD) == b"partmore"


def test_presigned_url_serves_the_object_until_it_expires(s3_server: S3Server):
    import time

    import requests

    store = S3Storage.open(f"s3://{s3_server.create_bucket()}", settings_of(s3_server))
    store.put(key("full", SHA), b"\xff\xd8jpeg")
    url = store.url(key("full", SHA), 1, "image/jpeg")
    assert url is not None and url.startswith(s3_server.endpoint)
    answer = requests.get(url, timeout=5)
    assert answer.status_code == 200
    assert answer.content == b"\xff\xd8jpeg"
    assert answer.headers["Content-Type"] == "image/jpeg"
    time.sleep(2.1)
    assert requests.get(url, timeout=5).status_code in (400, 403)
    assert FileStorage("/nonexistent").url(key("full", SHA), 60, "image/jpeg") is None


def test_missing_bucket_wrong_credentials_and_no_server_say_why(s3_server: S3Server):
    missing = S3Storage.open("s3://no-such-bucket/x", settings_of(s3_server))
    wrong = S3Storage.open(
        f"s3://{s3_server.create_bucket()}",
        settings_of(s3_server, secret_access_key="not-the-secret"),
    )
    unknown = S3Storage.open(
        f"s3://{s3_server.create_bucket()}", settings_of(s3_server, access_key_id="AKNOBODY")
    )
    nobody = S3Storage.open(
        "s3://photos", settings_of(s3_server, endpoint_url=f"http://127.0.0.1:{free_port()}")
    )
    cases = [
        (missing, "no_such_bucket", "does not exist"),
        (wrong, "access_denied", "refused the credentials"),
        (unknown, "access_denied", "refused the credentials"),
        (nobody, "unreachable", "unreachable"),
    ]
    for store, reason, says in cases:
        for operation in (
            store.check,
            lambda s=store: s.put(key("raw", SHA), b"x"),
            lambda s=store: s.get(key("raw", SHA)),
            lambda s=store: s.write_at(UPLOAD, 0, b"x"),
        ):
            with pytest.raises(StorageUnavailable) as caught:
                operation()
            assert caught.value.reason == reason, (store.describe(), caught.value.message)
            assert says in caught.value.message
            # The message names the bucket or endpoint for the operator, never the secret.
            assert s3_server.secret_key not in caught.value.message
            assert "not-the-secret" not in caught.value.message


def test_full_volume_is_storage_unavailable_not_a_crash(tmp_path):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the media directory should be")
    store = FileStorage(blocked)
    with pytest.raises(StorageUnavailable):
        store.put(key("raw", SHA), b"x")
    with pytest.raises(StorageUnavailable):
        store.check()
