"""Photo uploads over HTTP to gunicorn, as phones send them: the size limit to the byte, with
and without Content-Length, hostile files and headers, a connection cut mid-body.
"""

from __future__ import annotations

import base64
import random
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import requests

from tests.helpers.photos import phone_jpeg, scan_bomb_jpeg, sha256

TUS = {"Tus-Resumable": "1.0.0"}


def chunked(data: bytes, size: int = 1 << 20) -> Iterator[bytes]:
    """A generator body: requests sends it with Transfer-Encoding: chunked, no length."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def put(server, account, data, body=None, timeout=60) -> requests.Response:
    return requests.put(
        f"{server.url}/api/v1/photos/{sha256(data)}",
        data=data if body is None else body,
        headers=account.headers,
        timeout=timeout,
    )


def raw_request(url: str, head: list[str], body: bytes = b"") -> str:
    """Send a hand-written request (latin-1 headers, so any byte can be tried) and return the
    answer's status line and body, or '' when the server closed without an answer."""
    parts = urlsplit(url)
    request = "\r\n".join([*head, f"Host: {parts.netloc}", "", ""]).encode("latin-1") + body
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while piece := sock.recv(65536):
            answer += piece
    status, _, rest = answer.partition(b"\r\n")
    return status.decode("latin-1") + " " + rest.partition(b"\r\n\r\n")[2].decode("latin-1")


def test_a_photo_of_exactly_max_photo_bytes_is_judged_by_content_one_byte_more_is_413(
    app, live_server, field_user
):
    limit = app.config["MAX_PHOTO_BYTES"]
    photo = phone_jpeg()
    exact = photo + bytes(limit - len(photo))  # a phone's trailer after the image
    assert len(exact) == limit

    assert put(live_server, field_user, exact).status_code == 201
    # Without Content-Length (chunked), the same bytes are read to the end of the stream.
    assert put(live_server, field_user, exact, body=chunked(exact)).status_code == 200

    noise = random.Random(3).randbytes(limit)  # exactly the limit, but not a photo
    refused = put(live_server, field_user, noise)
    assert (refused.status_code, refused.json()["code"]) == (415, "unsupported_format")

    over = exact + b"\0"
    for body in (over, chunked(over)):
        response = put(live_server, field_user, over, body=body)
        assert response.status_code == 413, response.text
        assert response.json()["code"] == "photo_too_large"

    # The same by tus: Upload-Length up to the limit, the last chunk completing it exactly.
    photo = phone_jpeg(seed=3)
    exact = photo + bytes(limit - len(photo))
    digest = base64.b64encode(sha256(exact).encode()).decode()
    endpoint = f"{live_server.url}/api/v1/uploads/"
    headers = {**field_user.headers, **TUS, "Upload-Metadata": f"sha256 {digest}"}
    too_long = requests.post(endpoint, headers={**headers, "Upload-Length": str(limit + 1)})
    assert (too_long.status_code, too_long.json()["code"]) == (413, "photo_too_large")

    created = requests.post(endpoint, headers={**headers, "Upload-Length": str(limit)})
    assert created.status_code == 201, created.text
    location = live_server.url + created.headers["Location"]
    patch = {**field_user.headers, **TUS, "Content-Type": "application/offset+octet-stream"}
    half = limit // 2
    first = requests.patch(location, data=exact[:half], headers={**patch, "Upload-Offset": "0"})
    assert first.status_code == 204, first.text
    last = requests.patch(
        location, data=exact[half:], headers={**patch, "Upload-Offset": str(half)}, timeout=60
    )
    assert last.status_code == 204, last.text
    assert last.headers["Upload-Offset"] == str(limit)
    info = requests.get(
        f"{live_server.url}/api/v1/photos/{sha256(exact)}/info", headers=field_user.headers
    )
    assert info.json()["size"] == limit


def test_hostile_uploads_are_refused_at_once_and_stall_nobody(live_server, field_user):
    bomb = scan_bomb_jpeg()  # a 2000 x 2000 progressive JPEG, its last scan 5000 times
    # The timeout is only a stall check: the refusal needs no decode (it took ~8 s of CPU).
    refused = put(live_server, field_user, bomb, timeout=5)
    assert refused.status_code == 422
    assert refused.json()["code"] == "too_many_scans"
    assert "32" in refused.json()["message"]

    digest = base64.b64encode(sha256(bomb).encode()).decode()
    created = requests.post(
        f"{live_server.url}/api/v1/uploads/",
        headers={
            **field_user.headers,
            **TUS,
            "Upload-Length": str(len(bomb)),
            "Upload-Metadata": f"sha256 {digest}",
        },
        timeout=5,
    )
    last = requests.patch(
        live_server.url + created.headers["Location"],
        data=bomb,
        headers={
            **field_user.headers,
            **TUS,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
        timeout=5,
    )
    assert (last.status_code, last.json()["code"]) == (422, "too_many_scans")
    info = requests.get(
        f"{live_server.url}/api/v1/photos/{sha256(bomb)}/info",
        headers=field_user.headers,
        timeout=5,
    )
    assert info.status_code == 404

    # Phones losing signal mid-PUT, more of them than gunicorn has workers: nothing stored.
    data = phone_jpeg(seed=11)
    head = [
        f"PUT /api/v1/photos/{sha256(data)} HTTP/1.1",
        f"Authorization: {field_user.headers['Authorization']}",
        f"Content-Length: {len(data)}",
    ]
    parts = urlsplit(live_server.url)
    for _ in range(3):  # more cut-off uploads than gunicorn has workers
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
            sock.sendall(
                "\r\n".join([*head, f"Host: {parts.netloc}", "", ""]).encode()
                + data[: len(data) // 2]
            )
    info = requests.get(
        f"{live_server.url}/api/v1/photos/{sha256(data)}/info",
        headers=field_user.headers,
        timeout=10,
    )
    assert info.status_code == 404
    assert put(live_server, field_user, data).status_code == 201

    # Garbage lengths: 400, never a 500 ("\xb2", latin-1 superscript two, passes str.isdigit()
    # but not int()).
    digest = base64.b64encode(sha256(b"x").encode()).decode()
    for value in ("-1", "1e6", "\xb2", "9" * 40, ""):
        status = raw_request(
            f"{live_server.url}/api/v1/uploads/",
            [
                "POST /api/v1/uploads/ HTTP/1.1",
                f"Authorization: {field_user.headers['Authorization']}",
                "Tus-Resumable: 1.0.0",
                f"Upload-Metadata: sha256 {digest}",
                f"Upload-Length: {value}",
                "Content-Length: 0",
                "Connection: close",
            ],
        )
        assert status.startswith("HTTP/1.1 400"), (value, status)
        assert '"code":"invalid_tus_header"' in status, (value, status)
