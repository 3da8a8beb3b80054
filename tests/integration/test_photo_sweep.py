"""The worker's photo sweep (run at every `flask --app wsgi worker` start) survives uploads
whose bytes are missing: an empty upload once made every start exit 1, so no photo was
processed and nothing delivered until the upload expired a day later.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from redis import Redis

from backend.database import utcnow
from backend.extensions import db
from backend.photos.models import Photo, Upload
from backend.photos.store import storage_from
from media.storage import key
from tests.conftest import server_env
from tests.helpers.photos import phone_jpeg, sha256
from tests.helpers.servers import REPO

FLASK = str(Path(sys.executable).with_name("flask"))
TUS = {"Tus-Resumable": "1.0.0"}


def upload_row(owner_id, data: bytes, stored: bytes | None, app) -> Upload:
    """An upload whose bytes all arrived (offset = length) but whose photo was not made, with
    ``stored`` as its file (None: no file)."""
    upload = Upload(
        owner_id=owner_id,
        sha256=sha256(data),
        length=len(data),
        offset=len(data),
        meta={},
        expires_at=utcnow() + timedelta(hours=1),
    )
    db.session.add(upload)
    db.session.commit()
    if stored is not None:
        storage_from(app.config).write_at(key("uploads", upload.id.hex), 0, stored)
    return upload


def test_empty_and_lost_uploads_are_discarded_and_the_worker_processes_the_rest(
    app, client, field_user, photo_store
):
    # An empty upload is refused now; one created before that (a row of length 0) is what
    # stopped the worker.
    refused = client.post(
        "/api/v1/uploads/",
        headers={
            **field_user.headers,
            **TUS,
            "Upload-Length": "0",
            "Upload-Metadata": f"sha256 {base64.b64encode(sha256(b'').encode()).decode()}",
        },
    )
    assert (refused.status_code, refused.get_json()["code"]) == (422, "empty_photo")

    queued, unqueued, finished = (phone_jpeg(seed=s) for s in (1, 2, 3))
    # A photo stored while Redis lost its queue: only the sweep queues it again.
    for data in (unqueued, queued):
        stored = client.put(f"/api/v1/photos/{sha256(data)}", data=data, headers=field_user.headers)
        assert stored.status_code == 201, stored.get_json()
        if data is unqueued:
            Redis.from_url(app.config["REDIS_URL"]).flushdb()

    upload_row(field_user.id, b"", None, app)  # the empty upload
    upload_row(field_user.id, phone_jpeg(seed=4), None, app)  # its file gone
    short = phone_jpeg(seed=5)
    upload_row(field_user.id, short, short[:100], app)  # its file cut short
    upload_row(field_user.id, finished, finished, app)  # complete, its photo not yet made
    db.session.remove()

    done = subprocess.run(
        [FLASK, "--app", "wsgi", "worker", "--burst"],
        cwd=REPO,
        env=server_env(app),
        capture_output=True,
        timeout=180,
    )
    log = done.stderr.decode()
    assert done.returncode == 0, log
    assert '"uploads_finished": 1' in log
    assert '"uploads_discarded": 3' in log

    photos = {p.sha256: p.status for p in db.session.execute(db.select(Photo)).scalars()}
    assert photos == {sha256(d): "ready" for d in (queued, unqueued, finished)}
    assert db.session.execute(db.select(Upload)).first() is None
    # Nothing of the uploads is left in the store (MEDIA_ROOT/uploads or the bucket).
    assert not {name for name in photo_store.stored_keys() if name.startswith("uploads/")}
