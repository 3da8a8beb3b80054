"""``flask --app wsgi photos migrate --to s3://...``: a filesystem store copied into a bucket,
resumed, and then served from the bucket alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.api.test_photos import put, run_media_jobs
from tests.api.test_uploads import create, head, patch
from tests.helpers.photos import phone_jpeg, sha256


def point_at_server(app, s3_server) -> None:
    """The S3 settings of the server, while the app still stores on the filesystem."""
    app.config.update(
        S3_ENDPOINT_URL=s3_server.endpoint,
        AWS_ACCESS_KEY_ID=s3_server.access_key,
        AWS_SECRET_ACCESS_KEY=s3_server.secret_key,
    )


def objects(s3_server, bucket: str) -> dict[str, bytes]:
    client = s3_server.client()
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def filesystem_photos(app, client, account):
    """Two ready photos, one still processing, one tus upload a third done."""
    ready = [phone_jpeg(seed=seed) for seed in (1, 2)]
    for data in ready:
        assert put(client, account, data).status_code == 201
    run_media_jobs(app)
    waiting = phone_jpeg(seed=3)
    app.config["REDIS_URL"], real = "redis://127.0.0.1:1/0", app.config["REDIS_URL"]
    app.extensions["redis"] = None
    try:
        assert put(client, account, waiting).status_code == 201  # not queued: Redis is away
    finally:
        app.config["REDIS_URL"] = real
        app.extensions["redis"] = None
    partial = phone_jpeg(seed=4)
    location = create(client, account, partial).headers["Location"]
    third = len(partial) // 3
    assert patch(client, account, location, 0, partial[:third]).status_code == 204
    return ready, waiting, (partial, location, third)


def test_migrate_copies_resumes_and_the_bucket_alone_serves(
    app, client, runner, field_user, s3_server
):
    ready, waiting, (partial, location, third) = filesystem_photos(app, client, field_user)
    served = {
        sha256(d): client.get(f"/api/v1/photos/{sha256(d)}", headers=field_user.headers).data
        for d in ready
    }
    point_at_server(app, s3_server)
    bucket = s3_server.create_bucket()
    target = f"s3://{bucket}/city/photos"

    first = runner.invoke(args=["photos", "migrate", "--to", target])
    assert first.exit_code == 0, first.output
    counts = json.loads(first.stdout.strip().splitlines()[-1])
    assert [counts[k] for k in ("listed", "copied", "skipped", "missing")] == [6, 6, 0, 0]
    assert "photos migrate: 100%" in first.stderr and "6/6" in first.stderr  # the progress bar
    stored = objects(s3_server, bucket)
    upload_id = location.rsplit("/", 1)[1].replace("-", "")
    expected = {f"city/photos/{area}/{sha256(d)}" for d in ready for area in ("full", "thumb")}
    expected |= {f"city/photos/raw/{sha256(waiting)}", f"city/photos/uploads/{upload_id}/{0:020d}"}
    assert set(stored) == expected
    assert stored[f"city/photos/raw/{sha256(waiting)}"] == waiting
    assert stored[f"city/photos/uploads/{upload_id}/{0:020d}"] == partial[:third]

    # Interrupted halfway (here: two objects never arrived): a second run copies just those.
    for name in sorted(expected)[:2]:
        s3_server.client().delete_object(Bucket=bucket, Key=name)
    second = runner.invoke(args=["photos", "migrate", "--to", target])
    assert second.exit_code == 0, second.output
    counts = json.loads(second.stdout.strip().splitlines()[-1])
    assert (counts["copied"], counts["skipped"]) == (2, 4)
    assert objects(s3_server, bucket) == stored

    # Switched to the bucket, with the old directory gone: everything carries on from S3.
    shutil.rmtree(app.config["MEDIA_ROOT"])
    app.config["PHOTO_STORAGE_URL"] = target
    for digest, image in served.items():
        again = client.get(f"/api/v1/photos/{digest}", headers=field_user.headers)
        assert again.status_code == 200 and again.data == image
    assert runner.invoke(args=["photos", "sweep"]).exit_code == 0  # queues the waiting photo
    run_media_jobs(app)
    info = client.get(f"/api/v1/photos/{sha256(waiting)}/info", headers=field_user.headers)
    assert info.get_json()["status"] == "ready"
    assert head(client, field_user, location).headers["Upload-Offset"] == str(third)
    assert patch(client, field_user, location, third, partial[third:]).status_code == 204
    info = client.get(f"/api/v1/photos/{sha256(partial)}/info", headers=field_user.headers)
    assert info.status_code == 200
    assert not Path(app.config["MEDIA_ROOT"]).exists()


def test_migrate_reports_what_the_source_lacks_and_refuses_bad_targets(
    app, client, runner, field_user, s3_server
):
    data = phone_jpeg(seed=5)
    put(client, field_user, data)
    run_media_jobs(app)
    thumb = next(Path(app.config["MEDIA_ROOT"]).rglob(f"thumb/**/{sha256(data)}"))
    thumb.unlink()  # lost from the volume
    point_at_server(app, s3_server)
    bucket = s3_server.create_bucket()

    result = runner.invoke(args=["photos", "migrate", "--to", f"s3://{bucket}"])
    assert result.exit_code == 1
    assert f"missing in the source: thumb/{sha256(data)}" in result.stderr
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert (counts["copied"], counts["missing"]) == (1, 1)

    for target, says in [
        ("s3://no-such-bucket/x", "does not exist"),
        ("ftp://elsewhere", "use s3://BUCKET/PREFIX"),
        (f"file://{app.config['MEDIA_ROOT']}", "the target is the source"),
    ]:
        refused = runner.invoke(args=["photos", "migrate", "--to", target])
        assert refused.exit_code != 0
        assert says in refused.output
