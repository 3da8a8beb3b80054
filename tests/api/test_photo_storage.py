"""Photos on S3 through the API: presigned redirects, and a store that is missing, refuses
the credentials or cannot be reached (a clear 503 and readyz, never a 500, nothing stored)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from backend.extensions import db
from tests.api.test_photos import put, run_media_jobs
from tests.api.test_uploads import create, head, patch
from tests.conftest import server_env
from tests.helpers.photos import phone_jpeg, sha256
from tests.helpers.servers import REPO, free_port


def ready_photo(app, client, account) -> str:
    data = phone_jpeg()
    assert put(client, account, data).status_code == 201
    run_media_jobs(app)
    return sha256(data)


def test_redirect_mode_answers_a_presigned_url_after_the_access_check(
    app, client, field_user, create_user, s3_store
):
    digest = ready_photo(app, client, field_user)
    streamed = client.get(f"/api/v1/photos/{digest}?size=thumb", headers=field_user.headers)
    assert streamed.status_code == 200

    app.config.update(PHOTO_SERVE="redirect", PHOTO_REDIRECT_SECONDS=2)
    url = f"/api/v1/photos/{digest}?size=thumb"
    answer = client.get(url, headers=field_user.headers)
    assert answer.status_code == 302
    assert answer.headers["Cache-Control"] == "private, no-store"
    location = answer.headers["Location"]
    assert location.startswith(s3_store.s3.endpoint)
    assert "X-Amz-Expires=2" in location
    # A client follows it without our token: the URL alone grants the read.
    image = requests.get(location, timeout=5)
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/jpeg"
    assert image.content == streamed.data

    # The access check comes first: someone else gets the 404, never a URL.
    other = client.get(url, headers=create_user(role="field").headers)
    assert other.status_code == 404 and "Location" not in other.headers
    # A phone revalidating its cached copy gets 304 without a trip to the bucket.
    revalidate = {**field_user.headers, "If-None-Match": streamed.headers["ETag"]}
    cached = client.get(url, headers=revalidate)
    assert cached.status_code == 304
    # The URL is short-lived.
    time.sleep(3.1)
    assert requests.get(location, timeout=5).status_code in (400, 403)


def test_redirect_mode_on_the_filesystem_store_streams(app, client, field_user):
    digest = ready_photo(app, client, field_user)
    app.config["PHOTO_SERVE"] = "redirect"
    answer = client.get(f"/api/v1/photos/{digest}", headers=field_user.headers)
    assert answer.status_code == 200 and answer.mimetype == "image/jpeg"


@pytest.mark.parametrize(
    "change,reason,retry_after",
    [
        ({"PHOTO_STORAGE_URL": "s3://no-such-bucket/photos/"}, "no_such_bucket", "60"),
        ({"AWS_SECRET_ACCESS_KEY": "not-the-secret"}, "access_denied", "60"),
        ({"AWS_ACCESS_KEY_ID": "AKNOBODY"}, "access_denied", "60"),
        ({"S3_ENDPOINT_URL": "unreachable"}, "unreachable", "5"),
    ],
)
def test_broken_store_is_a_clear_503_and_not_ready_and_stores_nothing(
    app, client, field_user, s3_store, change, reason, retry_after, caplog
):
    served = ready_photo(app, client, field_user)
    if change.get("S3_ENDPOINT_URL") == "unreachable":
        change = {"S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    app.config.update(change)
    before = s3_store.objects()

    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["errors"]["storage"] == [f"error: {reason}"]
    # The operator's log says which bucket or endpoint; the public answer does not.
    assert "not-the-secret" not in caplog.text

    data = phone_jpeg(seed=7)
    for response in (
        put(client, field_user, data),
        client.get(f"/api/v1/photos/{served}", headers=field_user.headers),
    ):
        assert response.status_code == 503, response.get_json()
        body = response.get_json()
        assert body["code"] == "storage_unavailable"
        assert body["errors"] == {"storage": [reason]}
        assert response.headers["Retry-After"] == retry_after
    info = client.get(f"/api/v1/photos/{sha256(data)}/info", headers=field_user.headers)
    assert info.status_code == 404

    # A tus upload starts (the database alone), its chunk is refused and not counted.
    location = create(client, field_user, data).headers["Location"]
    chunk = patch(client, field_user, location, 0, data[:1000])
    assert chunk.status_code == 503 and chunk.get_json()["code"] == "storage_unavailable"
    assert head(client, field_user, location).headers["Upload-Offset"] == "0"
    assert s3_store.objects() == before


def test_worker_starts_and_works_while_the_bucket_is_missing(app, runner, s3_store):
    """The worker's start-up photo sweep says why it was skipped; the rest of the worker
    (deliveries, routing) runs on."""
    app.config["PHOTO_STORAGE_URL"] = "s3://no-such-bucket/photos/"
    swept = runner.invoke(args=["photos", "sweep"])
    assert swept.exit_code == 1
    assert "photo storage unavailable (no_such_bucket)" in swept.output
    assert "does not exist" in swept.output

    db.session.remove()
    done = subprocess.run(
        [str(Path(sys.executable).with_name("flask")), "--app", "wsgi", "worker", "--burst"],
        cwd=REPO,
        env={**os.environ, **server_env(app)},
        capture_output=True,
        timeout=120,
    )
    log = done.stderr.decode()
    assert done.returncode == 0, log
    assert "photo storage unavailable (no_such_bucket)" in log
    assert "worker: listening on" in log


def test_console_shows_photos_from_the_bucket_through_the_service(
    app, client, field_user, create_user, s3_store
):
    """Also in redirect mode: the console's CSP allows images from its own origin only."""
    from tests.helpers.console import make_staff, sign_in

    digest = ready_photo(app, client, field_user)
    app.config["PHOTO_SERVE"] = "redirect"
    console = app.test_client()
    assert sign_in(console, make_staff(create_user, "supervisor").email).status_code == 302
    shown = console.get(f"/console/photos/{digest}?size=thumb")
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    api = client.get(f"/api/v1/photos/{digest}?size=thumb", headers=field_user.headers)
    assert api.status_code == 302
    assert requests.get(api.headers["Location"], timeout=5).content == shown.data
