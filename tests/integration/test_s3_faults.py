"""The S3 store failing under the production server: gunicorn with 2 workers, photos in a
bucket of an ``rclone serve s3`` that the test stops, kills mid-upload and starts again.

Afterwards nothing is half-stored: every photo the service acknowledged has its complete
object, every refused one neither row nor object, and the phone's retry completes it.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from datetime import UTC, datetime

import pytest
import requests
from PIL import Image
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job

from backend.queues import MEDIA
from tests.api.test_photos import run_media_jobs
from tests.conftest import server_env
from tests.helpers.photos import phone_jpeg, sha256
from tests.helpers.servers import Gunicorn

TUS = {"Tus-Resumable": "1.0.0"}


def tus_create(url: str, account, data: bytes) -> str:
    import base64

    meta = base64.b64encode(sha256(data).encode()).decode()
    answer = requests.post(
        f"{url}/api/v1/uploads/",
        headers={
            **account.headers,
            **TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": f"sha256 {meta}",
        },
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return answer.headers["Location"]


def tus_patch(url: str, account, location: str, offset: int, chunk: bytes) -> requests.Response:
    return requests.patch(
        f"{url}{location}",
        data=chunk,
        headers={
            **account.headers,
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        },
        timeout=60,
    )


def tus_offset(url: str, account, location: str) -> int:
    answer = requests.head(f"{url}{location}", headers={**account.headers, **TUS}, timeout=30)
    assert answer.status_code == 200
    return int(answer.headers["Upload-Offset"])


def info(url: str, account, data: bytes) -> requests.Response:
    return requests.get(
        f"{url}/api/v1/photos/{sha256(data)}/info", headers=account.headers, timeout=30
    )


def assert_unavailable(answer: requests.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "storage_unavailable"
    assert answer.headers["Retry-After"] == "5"


def test_store_stopped_uploads_are_503_and_the_retry_completes(
    app, live_server, field_user, own_s3_store
):
    server, url = own_s3_store.s3, live_server.url
    whole, chunked = phone_jpeg(seed=11), phone_jpeg(seed=12)
    third = len(chunked) // 3
    location = tus_create(url, field_user, chunked)
    assert tus_patch(url, field_user, location, 0, chunked[:third]).status_code == 204

    server.stop()
    put = requests.put(
        f"{url}/api/v1/photos/{sha256(whole)}", data=whole, headers=field_user.headers, timeout=60
    )
    assert_unavailable(put)
    assert info(url, field_user, whole).status_code == 404
    assert_unavailable(tus_patch(url, field_user, location, third, chunked[third : 2 * third]))
    assert tus_offset(url, field_user, location) == third
    ready = requests.get(f"{url}/readyz", timeout=30)
    assert ready.status_code == 503 and ready.json()["errors"]["storage"] == ["error: unreachable"]

    server.start()
    second = tus_patch(url, field_user, location, third, chunked[third : 2 * third])
    assert second.status_code == 204
    # The store goes away while the last chunk makes the photo: the phone is told to send
    # that chunk again (the offset is where it began), not that the upload is done.
    server.stop()
    assert_unavailable(tus_patch(url, field_user, location, 2 * third, chunked[2 * third :]))
    assert tus_offset(url, field_user, location) == 2 * third
    assert info(url, field_user, chunked).status_code == 404

    server.start()
    assert tus_patch(url, field_user, location, 2 * third, chunked[2 * third :]).status_code == 204
    again = requests.put(
        f"{url}/api/v1/photos/{sha256(whole)}", data=whole, headers=field_user.headers, timeout=60
    )
    assert again.status_code == 201
    assert requests.get(f"{url}/readyz", timeout=30).status_code == 200
    stored = own_s3_store.objects()
    assert set(stored) == {
        f"{own_s3_store.prefix}raw/{sha256(whole)}",
        f"{own_s3_store.prefix}raw/{sha256(chunked)}",
    }
    assert stored[f"{own_s3_store.prefix}raw/{sha256(chunked)}"] == chunked


def test_media_job_fails_while_the_store_is_down_and_its_rq_retry_finishes(
    app, client, field_user, own_s3_store
):
    data = phone_jpeg(seed=13)
    digest = sha256(data)
    stored = client.put(f"/api/v1/photos/{digest}", data=data, headers=field_user.headers)
    assert stored.status_code == 201
    own_s3_store.s3.stop()
    run_media_jobs(app)
    connection = Redis.from_url(app.config["REDIS_URL"])
    job = Job.fetch(digest, connection=connection)
    assert job.get_status() == "scheduled"
    assert job.retries_left == 2  # backend.photos.jobs.RETRY: 3 retries, the first in 10 s
    photo = client.get(f"/api/v1/photos/{digest}/info", headers=field_user.headers)
    assert photo.get_json()["status"] == "processing"

    own_s3_store.s3.start()
    queue = Queue(MEDIA, connection=connection)
    queue.scheduled_job_registry.schedule(job, datetime.now(UTC))  # its 10 s have passed
    SimpleWorker([queue], connection=connection).work(burst=True, with_scheduler=True)
    photo = client.get(f"/api/v1/photos/{digest}/info", headers=field_user.headers)
    assert photo.get_json()["status"] == "ready"
    assert own_s3_store.stored_keys() == {f"full/{digest}", f"thumb/{digest}"}


def large_photo(seed: int) -> bytes:
    """A ~3 MB JPEG (noise does not compress): several seconds through a throttled store."""
    noise = Image.effect_noise((1800, 1400), 70 + seed).convert("RGB")
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=95)
    return out.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("own_s3_store", [("--bwlimit", "1M")], indirect=True)
def test_store_killed_mid_upload_leaves_nothing_half_stored(
    app, live_server, field_user, own_s3_store
):
    server, url = own_s3_store.s3, live_server.url
    photos = [large_photo(seed) for seed in range(3)]
    answers: dict[int, requests.Response] = {}

    def upload(index: int) -> None:
        answers[index] = requests.put(
            f"{url}/api/v1/photos/{sha256(photos[index])}",
            data=photos[index],
            headers=field_user.headers,
            timeout=120,
        )

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(len(photos))]
    for thread in threads:
        thread.start()
    # SIGKILL the store the moment the first object is being written (rclone writes a PUT to
    # a hidden temporary object and renames it when complete).
    bucket_dir = server.data / own_s3_store.bucket
    deadline = time.monotonic() + 60
    while not list(bucket_dir.rglob(".rclone_temp_put_*")):
        assert time.monotonic() < deadline, "no upload reached the store"
        time.sleep(0.01)
    server.stop(kill=True)
    for thread in threads:
        thread.join(120)
    statuses = sorted(answers[i].status_code for i in range(len(photos)))
    assert 503 in statuses, statuses
    assert set(statuses) <= {201, 503}
    assert list(bucket_dir.rglob(".rclone_temp_put_*")), "the kill did not land mid-upload"

    server.start()
    for index, data in enumerate(photos):
        if answers[index].status_code == 503:
            assert info(url, field_user, data).status_code == 404  # no row without its bytes
            upload(index)
            assert answers[index].status_code == 201
    # Every object in the bucket is whole (its name is its hash), one per photo.
    stored = own_s3_store.objects()
    assert {name.rsplit("/", 1)[1] for name in stored} == {sha256(d) for d in photos}
    for name, content in stored.items():
        assert hashlib.sha256(content).hexdigest() == name.rsplit("/", 1)[1]


def test_a_tus_upload_moves_between_web_hosts_that_share_only_the_bucket(
    app, live_server, field_user, s3_store, tmp_path
):
    """Two hosts, each with its own MEDIA_ROOT: every PATCH may land on either."""
    other = Gunicorn(
        server_env(app, MEDIA_ROOT=str(tmp_path / "other-host-media")),
        tmp_path / "other-host.log",
    )
    try:
        hosts = [live_server.url, other.url]
        data = phone_jpeg(seed=14)
        chunk = len(data) // 5 + 1
        location = tus_create(hosts[0], field_user, data)
        offset = 0
        for turn in range(5):
            host = hosts[(turn + 1) % 2]
            assert tus_offset(host, field_user, location) == offset
            answer = tus_patch(host, field_user, location, offset, data[offset : offset + chunk])
            assert answer.status_code == 204, answer.text
            offset = int(answer.headers["Upload-Offset"])
        assert offset == len(data)
        run_media_jobs(app)
        for host in hosts:
            served = requests.get(
                f"{host}/api/v1/photos/{sha256(data)}", headers=field_user.headers, timeout=30
            )
            assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"
        assert not (tmp_path / "other-host-media").exists()
        assert s3_store.stored_keys() == {f"full/{sha256(data)}", f"thumb/{sha256(data)}"}
    finally:
        other.stop()
