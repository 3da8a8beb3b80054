"""The demo CLI against gunicorn: realistic traffic pushed over HTTP, stored, pulled back; and
what a newcomer sees when something is wrong (one line and exit 1, never a traceback)."""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys

from sqlalchemy import func, select

from backend.extensions import db
from backend.photos.models import Photo
from backend.sync.models import SyncItem
from sync.client import DEFAULT_OUTBOX, build_parser
from tests.helpers.servers import REPO, free_port


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sync.client", "demo", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_demo_cli_pushes_over_http_uploads_photos_and_pulls(live_server, field_user, tmp_path):
    outbox = tmp_path / "o.sqlite3"
    run = _cli(
        *("--url", live_server.url, "--token", field_user.token, "--outbox", str(outbox)),
        *("--items", "80", "--seed", "7"),
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["pushed"] == {"created": 80}
    assert summary["pending"] == 0
    assert summary["pulled_changes"] >= 80  # every item as received, plus reference updates
    count = db.session.execute(select(func.count()).select_from(SyncItem)).scalar_one()
    assert count == 80
    # The photos the reports list were really made and uploaded: the server has every one.
    with sqlite3.connect(outbox) as local:
        listed = {row[0] for row in local.execute("SELECT sha256 FROM photos")}
        still_missing = local.execute("SELECT count(*) FROM missing_photos").fetchone()[0]
    assert listed and summary["photos_uploaded"] > 0
    stored = set(db.session.execute(select(Photo.sha256)).scalars())
    assert listed <= stored
    assert still_missing == 0
    # Progress on stderr, the summary alone on stdout.
    assert "push: 100%" in run.stderr and "80/80" in run.stderr
    assert "photos: 100%" in run.stderr


def test_bad_token_is_one_line_and_exit_1(live_server, tmp_path):
    run = _cli("--url", live_server.url, "--token", "sf_nonsense", "--outbox", str(tmp_path / "o"))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: config refused: 401"), run.stderr
    assert run.stdout == ""


def test_department_token_is_one_line_and_exit_1(live_server, create_user, tmp_path):
    department = create_user(role="department", org="trafikkontoret")
    run = _cli(
        *("--url", live_server.url, "--token", department.token, "--outbox", str(tmp_path / "o"))
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    # Besides the progress bar (which stopped at 0), one line that says what is needed.
    lines = [line for line in run.stderr.strip().splitlines() if not line.startswith("push:")]
    assert lines == ["error: push refused: 403 forbidden: This needs one of the roles: field."]


def test_closed_port_is_retried_then_one_line_and_exit_1(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    run = _cli("--url", url, "--token", "x", "--outbox", str(tmp_path / "o"), "--attempts", "3")
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert sum("retrying in" in line for line in lines) == 2, run.stderr
    assert lines[-1].startswith("error: no response:") and "refused" in lines[-1], run.stderr


def test_every_option_has_help_and_the_outbox_lives_under_instance():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    demo = subparsers.choices["demo"]
    options = [a for a in demo._actions if not isinstance(a, argparse._HelpAction)]
    assert options
    for action in options:
        assert action.help and action.help.strip(), action.option_strings
    assert DEFAULT_OUTBOX == "instance/demo-outbox.sqlite3"
    shown = subprocess.run(
        [sys.executable, "-m", "sync.client", "demo", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "a field worker's API token" in shown and "instance/demo-outbox.sqlite3" in shown
    for path in (DEFAULT_OUTBOX, "demo-outbox.sqlite3"):
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO).returncode == 0


def test_demo_with_hint_answers_for_its_reports(live_server, field_user, tmp_path):
    from backend.reports.models import Report

    common = ("--url", live_server.url, "--token", field_user.token, "--quiet")
    first = _cli(*common, "--outbox", str(tmp_path / "a.sqlite3"), "--items", "60", "--seed", "1")
    assert first.returncode == 0, first.stderr
    run = _cli(
        *common,
        *("--outbox", str(tmp_path / "b.sqlite3"), "--items", "60", "--seed", "2"),
        *("--hint", "same"),
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["known_cases"] > 0 and summary["hinted"] > 0
    assert summary["pushed"] == {"created": 60}
    reasons = db.session.execute(select(Report.merge_reason)).scalars().all()
    hints = [r["hint"] for r in reasons if r and "hint" in r]
    assert len(hints) == summary["hinted"]
    # The demo's same_as names a case within twice the radius: followed unless it closed.
    assert any(h["followed"] for h in hints)
    assert sum(1 for r in reasons if r and r["rule"] == "reporter_same") > 0
