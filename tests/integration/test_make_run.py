"""`make run` as a newcomer runs it: on the port asked for, refusing a taken port before
anything starts, reusing its demo tokens, and stopping cleanly on Ctrl-C (Redis last)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.helpers.servers import REPO, free_port


def _env(tmp_path: Path, redis_port: int) -> dict[str, str]:
    # Nothing answers at REDIS_URL, so `make run` starts the machine's redis-server itself: the
    # case where stopping Redis before the worker printed tracebacks.
    return {
        **os.environ,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "MEDIA_ROOT": "",
        "PHOTO_STORAGE_URL": "",
    }


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_make_run_refuses_a_taken_port_before_anything_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run(
            ["make", "--no-print-directory", "run", f"PORT={port}"],
            cwd=REPO,
            env=_env(tmp_path, free_port()),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode != 0
    output = run.stdout + run.stderr
    assert f"Cannot start: port {port} on 127.0.0.1 is already in use" in output
    assert "make run PORT=" in output
    # Refused before migrating, seeding or printing tokens.
    assert "1/4" not in output and "is running" not in output and "Bearer" not in output
    assert not (tmp_path / "demo.db").exists()
    assert "Traceback" not in output


def _start(tmp_path: Path, port: int, redis_port: int) -> tuple[subprocess.Popen[str], Path]:
    log = tmp_path / f"make-run-{time.monotonic_ns()}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"PORT={port}"],
            cwd=REPO,
            env=_env(tmp_path, redis_port),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            # Its own process group, as a terminal gives it: Ctrl-C is SIGINT to the group.
            start_new_session=True,
        )
    deadline = time.monotonic() + 240
    while "Samverkan Field is running at" not in log.read_text():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    return process, log


def _ctrl_c(process: subprocess.Popen[str], log: Path) -> str:
    os.killpg(process.pid, signal.SIGINT)
    process.wait(90)
    return log.read_text()


def test_make_run_serves_on_port_reuses_tokens_and_stops_cleanly_on_ctrl_c(tmp_path):
    port, redis_port = free_port(), free_port()
    process, log = _start(tmp_path, port, redis_port)
    try:
        assert f"Samverkan Field is running at http://127.0.0.1:{port}" in log.read_text()
        # Printed only once gunicorn answers.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            assert answer.status == 200
        tokens_file = tmp_path / "instance" / "demo-tokens.json"
        first = json.loads(tokens_file.read_text())
        field_token = next(e["token"] for e in first if e["role"] == "field")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/me",
            headers={"Authorization": f"Bearer {field_token}"},
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert json.load(answer)["role"] == "field"
        assert _port_open(redis_port)  # the redis-server `make run` started
    finally:
        output = _ctrl_c(process, log)
    assert "Traceback" not in output, output
    assert "ConnectionError" not in output, output
    assert "stopping: web server, worker, then Redis" in output
    assert not _port_open(port) and not _port_open(redis_port)

    # A second run reuses the tokens and logins that still work: a phone keeps its token.
    process, log = _start(tmp_path, port, redis_port)
    try:
        assert "reusing the demo tokens" in log.read_text()
        assert json.loads(tokens_file.read_text()) == first
        assert field_token in log.read_text()
    finally:
        output = _ctrl_c(process, log)
    assert "Traceback" not in output, output
