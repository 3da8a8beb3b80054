"""A phone on a weak link sends its body slowly; on SQLite that must not hold the write lock.

The server runs with a short busy timeout, so a writer that had to wait for the slow request
would get 503 database_unavailable instead of its 201.
"""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path

from werkzeug.serving import make_server


def test_slow_push_body_does_not_block_other_writers(tmp_path: Path) -> None:
    from flask_migrate import upgrade

    from backend.app import create_app
    from backend.extensions import db
    from backend.reference.services import load_reference_data
    from backend.users.services import create_user

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'slow.db'}",
            "SQLITE_BUSY_TIMEOUT_MS": 300,
        }
    )
    with app.app_context():
        upgrade()
        load_reference_data(db.session())
        _, field_token = create_user(db.session(), "Slow phone", "field")
        _, admin_token = create_user(db.session(), "Admin", "admin")
        db.session.remove()

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        envelope = {"device_id": "slow", "app_version": "1.0.0", "items": []}
        body = json.dumps({**envelope, "sent_at": datetime.now(UTC).isoformat()}).encode()
        with socket.create_connection(("127.0.0.1", server.server_port)) as slow:
            _slow_push(slow, body, field_token, base, admin_token)
    finally:
        server.shutdown()


def _slow_push(
    slow: socket.socket, body: bytes, field_token: str, base: str, admin_token: str
) -> None:
    import requests

    slow.sendall(
        b"POST /api/v1/sync/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {field_token}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body[:10]
    )
    # The slow request is authenticated and now waits for the rest of its body.
    threading.Event().wait(0.5)
    created = requests.post(
        f"{base}/api/v1/admin/users",
        json={"name": "Written meanwhile", "role": "field"},
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    slow.sendall(body[10:])
    reply = slow.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 200"), reply[:200]
