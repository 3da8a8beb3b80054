"""tuspy, the tus client from PyPI, against the service under gunicorn (as the README runs it).

A 12 MP phone photo goes up in 256 KiB chunks, the connection is cut in the middle of a chunk,
and a new client resumes from the offset the server reports; the photo is then the same as one
sent by PUT. Under gunicorn the last chunk of every upload once answered 413: Werkzeug's
limited stream refused the read after exactly the bytes expected.
"""

from __future__ import annotations

import contextlib
import io
import socket
from urllib.parse import urlsplit

import pytest
import requests
from PIL import Image
from tusclient.client import TusClient

from backend.photos.services import limits_from
from media.sanitise import sanitise
from tests.api.test_photos import run_media_jobs
from tests.helpers.photos import SECRETS, encode, phone_jpeg, sha256, upright_scene

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = 256 * 1024

# The chunks in MEDIA_ROOT/uploads or as objects of the bucket: tuspy cannot tell.
pytestmark = pytest.mark.usefixtures("photo_store")


def phone_photo_12mp() -> bytes:
    """A 4032 x 3024 JPEG as a phone writes it: sensor-like noise keeps it at a real photo's
    size (several MB), with the EXIF, GPS, comment and trailer of ``phone_jpeg``."""
    original = Image.open(io.BytesIO(phone_jpeg(trailing=b"")))
    scene = upright_scene(3024, 4032).transpose(Image.Transpose.ROTATE_90)
    noise = Image.effect_noise(scene.size, 40).convert("RGB")
    photo = Image.blend(scene, noise, 0.25)
    data = encode(
        photo, "JPEG", quality=92, exif=original.getexif().tobytes(), comment=b"GPS-SECRET-COMMENT"
    )
    return data + b"TRAILER-SECRET"


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


def offset_of(url: str, account) -> int:
    status = requests.head(url, headers={**account.headers, **TUS}, timeout=10)
    assert status.status_code == 200, status.text
    return int(status.headers["Upload-Offset"])


def test_tuspy_uploads_a_phone_photo_in_chunks_is_cut_off_resumes_and_matches_put(
    app, live_server, field_user
):
    data = phone_photo_12mp()
    digest = sha256(data)
    assert len(data) > 8 * CHUNK  # a real photo's size: many chunks
    endpoint = f"{live_server.url}/api/v1/uploads/"

    first = TusClient(endpoint, headers=field_user.headers).uploader(
        file_stream=io.BytesIO(data),
        chunk_size=CHUNK,
        metadata={"sha256": digest, "filename": "IMG_0042.jpg"},
        upload_checksum=True,
    )
    first.upload(stop_at=3 * CHUNK)
    assert first.offset == 3 * CHUNK
    url = first.url

    # Signal lost 100 KB into the fourth chunk (sent without a checksum, as a phone that
    # streams does): what arrived is kept.
    cut_off_patch(url, field_user.headers, 3 * CHUNK, data[3 * CHUNK : 4 * CHUNK], 100_000)
    assert offset_of(url, field_user) == 3 * CHUNK + 100_000

    # The phone comes back with a fresh client and resumes from the server's offset.
    resumed = TusClient(endpoint, headers=field_user.headers).uploader(
        file_stream=io.BytesIO(data), url=url, chunk_size=CHUNK, upload_checksum=True
    )
    assert resumed.offset == 3 * CHUNK + 100_000
    resumed.upload()
    assert resumed.offset == len(data)

    info = requests.get(
        f"{live_server.url}/api/v1/photos/{digest}/info", headers=field_user.headers, timeout=10
    )
    assert info.status_code == 200, info.text
    assert (info.json()["sha256"], info.json()["size"]) == (digest, len(data))
    assert requests.head(url, headers={**field_user.headers, **TUS}, timeout=10).status_code == 404

    # The same photo as a PUT: a PUT of the bytes finds it stored, and the served image is
    # exactly what the pipeline makes of those bytes, without the phone's metadata.
    put = requests.put(
        f"{live_server.url}/api/v1/photos/{digest}",
        data=data,
        headers=field_user.headers,
        timeout=60,
    )
    assert put.status_code == 200, put.text
    run_media_jobs(app)
    served = requests.get(
        f"{live_server.url}/api/v1/photos/{digest}", headers=field_user.headers, timeout=10
    )
    assert served.status_code == 200
    assert served.content == sanitise(data, limits_from(app.config)).full
    for secret in SECRETS:
        assert secret not in served.content


@pytest.mark.parametrize(
    "name,chunks",
    [("one chunk", 1), ("tiny file in two chunks", 2)],
)
def test_tuspy_completes_in_one_chunk_and_a_tiny_file_in_two(
    app, live_server, field_user, name, chunks
):
    data = (
        phone_jpeg(seed=7) if chunks == 1 else encode(Image.new("RGB", (1, 1), (9, 9, 9)), "JPEG")
    )
    chunk = len(data) if chunks == 1 else -(-len(data) // 2)
    uploader = TusClient(f"{live_server.url}/api/v1/uploads/", headers=field_user.headers).uploader(
        file_stream=io.BytesIO(data), chunk_size=chunk, metadata={"sha256": sha256(data)}
    )
    offsets = []
    while uploader.offset < len(data):
        uploader.upload_chunk()
        offsets.append(uploader.offset)
    assert offsets == ([len(data)] if chunks == 1 else [chunk, len(data)])
    run_media_jobs(app)
    info = requests.get(
        f"{live_server.url}/api/v1/photos/{sha256(data)}/info",
        headers=field_user.headers,
        timeout=10,
    )
    assert info.json()["status"] == "ready", info.json()
