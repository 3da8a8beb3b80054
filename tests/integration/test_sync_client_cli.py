"""The demo CLI against gunicorn: realistic traffic pushed over HTTP, stored, pulled back."""

from __future__ import annotations

import json
import subprocess
import sys

from sqlalchemy import func, select

from backend.extensions import db
from backend.sync.models import SyncItem
from tests.servers import REPO


def test_demo_cli_pushes_over_http_and_pulls_every_status(live_server, field_user, tmp_path):
    args = [sys.executable, "-m", "sync.client", "demo", "--url", live_server.url]
    args += ["--token", field_user.token, "--outbox", str(tmp_path / "o.sqlite3")]
    run = subprocess.run(
        [*args, "--items", "80", "--seed", "7"],
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=120,
    )
    summary = json.loads(run.stdout)
    assert summary["pushed"] == {"created": 80}
    assert summary["pending"] == 0
    assert summary["pulled_changes"] >= 80  # every item as received, plus reference updates
    count = db.session.execute(select(func.count()).select_from(SyncItem)).scalar_one()
    assert count == 80
