"""A phone on a weak link sends its body slowly; that must not hold the database's write lock.

The server (gunicorn, 2 workers) runs with a short SQLite busy timeout, so a writer that had to
wait for the slow request would get 503 database_unavailable instead of its 201. On PostgreSQL
the same shows that no row lock is taken before the body is read.
"""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import requests


@pytest.mark.parametrize("live_server_env", [{"SQLITE_BUSY_TIMEOUT_MS": "300"}])
def test_slow_push_body_does_not_block_other_writers(live_server, field_user, admin):
    envelope = {"device_id": "slow", "app_version": "1.0.0", "items": []}
    body = json.dumps({**envelope, "sent_at": datetime.now(UTC).isoformat()}).encode()
    parts = urlsplit(live_server.url)
    with socket.create_connection((parts.hostname, parts.port)) as slow:
        slow.sendall(
            b"POST /api/v1/sync/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: {field_user.headers['Authorization']}\r\n".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )
        # The slow request is authenticated and now waits for the rest of its body.
        threading.Event().wait(0.5)
        created = requests.post(
            f"{live_server.url}/api/v1/admin/users",
            json={"name": "Written meanwhile", "role": "field"},
            headers=admin.headers,
            timeout=10,
        )
        assert created.status_code == 201, created.text
        slow.sendall(body[10:])
        reply = slow.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 200"), reply[:200]
