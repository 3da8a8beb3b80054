"""The demo CLI against gunicorn: realistic traffic pushed over HTTP, stored, pulled back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

from sqlalchemy import func, select

from backend.extensions import db
from backend.sync.models import SyncItem
from tests.conftest import REPO
from tests.servers import free_port


def test_demo_cli_pushes_over_http_and_pulls_every_status(app, field_user, tmp_path):
    db.session.remove()  # release the fixture's SQLite write transaction before gunicorn writes
    port = free_port()
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"]}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=REPO,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        args = [sys.executable, "-m", "sync.client", "demo", "--url", f"http://127.0.0.1:{port}"]
        args += ["--token", field_user.token, "--outbox", str(tmp_path / "o.sqlite3")]
        run = subprocess.run(
            [*args, "--items", "80", "--seed", "7"],
            cwd=REPO,
            capture_output=True,
            check=True,
            timeout=120,
        )
        summary = json.loads(run.stdout)
    finally:
        server.terminate()
        server.wait(10)
    assert summary["pushed"] == {"created": 80}
    assert summary["pending"] == 0
    assert summary["pulled_changes"] >= 80  # every item as received, plus reference updates
    count = db.session.execute(select(func.count()).select_from(SyncItem)).scalar_one()
    assert count == 80
