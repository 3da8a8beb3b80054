"""tuspy, the tus client from PyPI, against the app served over real HTTP.

The upload goes in chunks, the connection is cut in the middle of a chunk, and a new client
resumes from the offset the server reports; the photo is then the same as one sent by PUT.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from tusclient.client import TusClient
from werkzeug.serving import make_server

from media.sanitise import sanitise
from tests.api.test_photos import run_media_jobs
from tests.photos import phone_jpeg, sha256

# The chunks in MEDIA_ROOT/uploads or as objects of the bucket: tuspy cannot tell.
pytestmark = pytest.mark.usefixtures("photo_store")


@pytest.fixture
def server(app) -> Iterator[str]:
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(10)


def big_phone_jpeg() -> bytes:
    # Noise keeps the JPEG large (~300 KB), so the upload takes many chunks.
    from PIL import Image

    data = phone_jpeg(trailing=b"")
    base = Image.open(io.BytesIO(data))
    noise = Image.effect_noise(base.size, 60).convert("RGB")
    blended = Image.blend(base.convert("RGB"), noise, 0.3).resize((800, 600))
    out = io.BytesIO()
    exif = base.getexif()
    blended.save(out, "JPEG", quality=95, exif=exif.tobytes(), comment=b"GPS-SECRET-COMMENT")
    return out.getvalue() + b"TRAILER-SECRET"


def cut_off_patch(url: str, headers: dict[str, str], offset: int, chunk: bytes, sent: int) -> None:
    """Send a PATCH announcing ``chunk`` but only its first ``sent`` bytes, then drop the
    connection: a phone losing signal mid-chunk."""
    parts = urlsplit(url)
    head = [
        f"PATCH {parts.path} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Tus-Resumable: 1.0.0",
        "Content-Type: application/offset+octet-stream",
        f"Upload-Offset: {offset}",
        f"Content-Length: {len(chunk)}",
        *(f"{k}: {v}" for k, v in headers.items()),
        "",
        "",
    ]
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall("\r\n".join(head).encode() + chunk[:sent])
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(10)
        with contextlib.suppress(OSError):
            sock.recv(4096)  # let the server finish with what it got


def test_tuspy_uploads_in_chunks_is_cut_off_resumes_and_matches_put(app, server, field_user):
    from backend.extensions import db

    db.session.remove()  # the test's own reads must not hold SQLite's lock against the server
    data = big_phone_jpeg()
    digest = sha256(data)
    chunk = 32 * 1024
    assert len(data) > 6 * chunk

    client = TusClient(f"{server}/api/v1/uploads/", headers=field_user.headers)
    first = client.uploader(
        file_stream=io.BytesIO(data),
        chunk_size=chunk,
        metadata={"sha256": digest, "filename": "IMG_0042.jpg"},
        upload_checksum=True,
    )
    first.upload(stop_at=3 * chunk)
    assert first.offset == 3 * chunk
    url = first.url

    # Signal lost halfway through the fourth chunk: what arrived is kept.
    cut_off_patch(url, field_user.headers, 3 * chunk, data[3 * chunk : 4 * chunk], 10_000)
    status = requests.head(url, headers={**field_user.headers, "Tus-Resumable": "1.0.0"})
    assert status.status_code == 200
    assert int(status.headers["Upload-Offset"]) == 3 * chunk + 10_000

    # The phone comes back with a fresh client and resumes from the server's offset.
    resumed = TusClient(f"{server}/api/v1/uploads/", headers=field_user.headers).uploader(
        file_stream=io.BytesIO(data), url=url, chunk_size=chunk, upload_checksum=True
    )
    assert resumed.offset == 3 * chunk + 10_000
    resumed.upload()
    assert resumed.offset == len(data)

    info = requests.get(f"{server}/api/v1/photos/{digest}/info", headers=field_user.headers)
    assert info.status_code == 200
    assert (info.json()["sha256"], info.json()["size"]) == (digest, len(data))

    # The same photo as a PUT: a PUT of the bytes finds it stored, and the served image is
    # exactly what the pipeline makes of those bytes.
    put = requests.put(f"{server}/api/v1/photos/{digest}", data=data, headers=field_user.headers)
    assert put.status_code == 200
    run_media_jobs(app)
    served = requests.get(f"{server}/api/v1/photos/{digest}", headers=field_user.headers)
    assert served.status_code == 200
    from backend.photos.services import limits_from

    assert served.content == sanitise(data, limits_from(app.config)).full
    assert b"GPS-SECRET-COMMENT" not in served.content
    assert b"TRAILER-SECRET" not in served.content
