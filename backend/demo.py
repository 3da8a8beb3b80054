"""``flask --app wsgi run-demo``: the whole service on one machine, for a first look.

Migrates the database, loads the demo data, makes sure a Redis is reachable (starting the
machine's redis-server when ``REDIS_URL`` points at this machine and nothing answers), starts an
RQ worker and serves the API with gunicorn until Ctrl-C.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlparse

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from redis import Redis
from redis.exceptions import RedisError

from backend.auth import user_for_token
from backend.demo_data import DEMO_USERS, seed_demo_users
from backend.extensions import db
from backend.reference.services import load_reference_data
from backend.routing.rule_store import seed_rule_set
from backend.users.passwords import verify

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}

STOP_TIMEOUT_S = 15
"""How long each child may take to stop on Ctrl-C: gunicorn's default graceful timeout is 30 s,
but a demo's requests are short; RQ finishes the job it is working on first."""


def port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be served, or None when it is free (checked by binding it,
    the way gunicorn will, so a taken port is found before anything starts)."""
    if not 0 < port < 65536:
        return f"port {port} is not a TCP port (1-65535)"
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        return f"host {host!r} cannot be resolved ({exc})"
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # As gunicorn binds: SO_REUSEADDR, so a port in TIME_WAIT counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except PermissionError:
            return f"port {port} on {host} needs privileges (choose one above 1023)"
        except OSError as exc:
            return f"port {port} on {host} is already in use ({exc.strerror})"
    return None


def _reusable_tokens(tokens_file: Path) -> list[dict[str, Any]] | None:
    """The earlier run's demo tokens and passwords when every one still works on this
    database, so a second ``make run`` does not invalidate what a phone or browser holds."""

    try:
        entries = json.loads(tokens_file.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entries, list) or len(entries) != len(DEMO_USERS):
        return None
    session = db.session()
    for entry, (name, _role, _org, email) in zip(entries, DEMO_USERS, strict=True):
        if not isinstance(entry, dict) or entry.get("name") != name:
            return None
        user = user_for_token(session, str(entry.get("token", "")))
        if user is None or str(user.id) != entry.get("id"):
            return None
        if email and not verify(user.password_hash, str(entry.get("password", ""))):
            return None
    return entries


def demo_logins(tokens_file: Path) -> list[dict[str, Any]]:
    """The demo tokens and console logins: ``tokens_file``'s while they all still work, else
    fresh ones (``seed_demo_users`` revokes the ones it issued before) written to it."""

    tokens = _reusable_tokens(tokens_file)
    if tokens is not None:
        click.echo(f"    reusing the demo tokens and logins in {tokens_file}", err=True)
        return tokens
    tokens = seed_demo_users(db.session())
    tokens_file.parent.mkdir(parents=True, exist_ok=True)
    tokens_file.write_text(json.dumps(tokens, ensure_ascii=False, indent=2), "utf-8")
    tokens_file.chmod(0o600)
    return tokens


def _wait_until_serving(process: subprocess.Popen[bytes], base: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def _redis_up(url: str) -> bool:
    try:
        return bool(Redis.from_url(url, socket_connect_timeout=1).ping())
    except (RedisError, OSError):
        return False


def _start_local_redis(url: str, workdir: Path) -> subprocess.Popen[bytes] | None:
    parsed = urlparse(url)
    binary = shutil.which("redis-server")
    if parsed.hostname not in LOCAL_HOSTS or binary is None:
        return None
    workdir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(parsed.port or 6379),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(workdir),
            "--appendonly",
            "yes",
        ],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(100):
        if _redis_up(url):
            return process
        time.sleep(0.1)
    process.terminate()
    return None


@click.command("run-demo")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to serve on")
@click.option("--port", default=5000, show_default=True, type=int, help="TCP port to serve on")
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn workers")
@with_appcontext
def run_demo(host: str, port: int, workers: int) -> None:
    """Migrate, seed demo data, start Redis and a worker, and serve the API and console."""
    problem = port_problem(host, port)
    if problem:
        click.echo(f"Cannot start: {problem}; choose another, e.g. `make run PORT=5001`.", err=True)
        sys.exit(1)
    app = current_app
    tokens_file = Path(app.instance_path) / "demo-tokens.json"
    tokens = _prepare_database(tokens_file)
    children, redis_ok = _start_redis_and_worker(app.config["REDIS_URL"], Path(app.instance_path))
    click.echo("4/4 starting gunicorn ...", err=True)
    children.append(_start_gunicorn(host, port, workers))
    stop = _stopper(children)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    base = f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"
    if not _wait_until_serving(children[-1], base, timeout_s=60):
        click.echo(f"Cannot start: gunicorn did not serve {base} (see its log above).", err=True)
        stop(code=1)
    _welcome(base, redis_ok, tokens, tokens_file)
    while all(child.poll() is None for child in children):
        time.sleep(0.5)
    click.echo("A part of the service exited on its own; stopping the rest.", err=True)
    stop(code=1)


def _prepare_database(tokens_file: Path) -> list[dict[str, Any]]:
    """Steps 1 and 2: migrate, load the reference data and rules, and the demo users' tokens
    and logins (``demo_logins``)."""

    click.echo("1/4 migrating the database ...", err=True)
    upgrade()
    click.echo("2/4 loading reference data and demo users ...", err=True)
    load_reference_data(db.session())
    seed_rule_set(db.session())
    tokens = demo_logins(tokens_file)
    # This process lives as long as the service: hold no transaction (and no SQLite lock).
    db.session.remove()
    return tokens


def _start_redis_and_worker(
    redis_url: str, instance: Path
) -> tuple[list[subprocess.Popen[bytes]], bool]:
    """Step 3: the machine's Redis when none answers at ``redis_url``, then a worker; without
    Redis the API is served alone (and says so). Returns the children and whether Redis runs."""
    children: list[subprocess.Popen[bytes]] = []
    click.echo(f"3/4 checking Redis at {redis_url} ...", err=True)
    redis_ok = _redis_up(redis_url)
    if not redis_ok:
        started = _start_local_redis(redis_url, instance / "redis")
        if started is not None:
            children.append(started)
            redis_ok = True
            click.echo("    started the machine's redis-server", err=True)
    flask_bin = str(Path(sys.executable).with_name("flask"))
    if redis_ok:
        children.append(
            subprocess.Popen(
                [flask_bin, "--app", "wsgi", "worker"], env=dict(os.environ), start_new_session=True
            )
        )
    else:
        click.echo(
            "    NO REDIS: redis-server is not installed and could not be installed. Falling back "
            "to serving the API alone: pushes are stored and their background work waits in the "
            "database until a Redis runs at REDIS_URL and `flask --app wsgi worker` is started.",
            err=True,
        )
    return children, redis_ok


def _start_gunicorn(host: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    return subprocess.Popen(
        [
            gunicorn,
            "--workers",
            str(workers),
            "--bind",
            f"{host}:{port}",
            "--access-logfile",
            "-",
            "wsgi:app",
        ],
        env=dict(os.environ),
        # Ctrl-C in the terminal goes to the whole foreground process group; the children
        # live in sessions of their own so that only this process gets it and stops them in
        # order (Redis last: a worker that loses Redis first prints its tracebacks).
        start_new_session=True,
    )


def _stopper(children: list[subprocess.Popen[bytes]]) -> Callable[..., None]:
    """The signal handler (and exit) that stops the children newest first, then exits."""

    def stop(_signum: int = 0, _frame: FrameType | None = None, code: int = 0) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if _signum:
            click.echo("\nstopping: web server, worker, then Redis ...", err=True)
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        sys.exit(code)

    return stop


def _welcome(base: str, redis_ok: bool, tokens: list[dict[str, Any]], tokens_file: Path) -> None:
    click.echo(
        f"\nSamverkan Field is running at {base}\n"
        f"  Console:    {base}/console/\n"
        f"  API docs:   {base}/api/docs\n  OpenAPI:    {base}/api/openapi.json\n"
        f"  Redis:      {'ok' if redis_ok else 'not running (see above)'}\n"
        f"  Console logins (also in {tokens_file}):"
    )
    for entry in tokens:
        if "email" in entry:
            click.echo(f"    {entry['role']:<11} {entry['email']:<30} {entry['password']}")
    click.echo("  Demo API tokens:")
    for entry in tokens:
        click.echo(f"    {entry['role']:<11} {entry['token']}")
    click.echo(f"  Try: curl -H 'Authorization: Bearer {tokens[0]['token']}' {base}/api/v1/me\n")
