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
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from urllib.parse import urlparse

import click
from flask import current_app
from flask.cli import with_appcontext
from redis import Redis
from redis.exceptions import RedisError

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


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
    )
    for _ in range(100):
        if _redis_up(url):
            return process
        time.sleep(0.1)
    process.terminate()
    return None


@click.command("run-demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn workers")
@with_appcontext
def run_demo(host: str, port: int, workers: int) -> None:
    """Migrate, seed demo data, start Redis and a worker, and serve the API and console."""
    from flask_migrate import upgrade

    from backend.cli import seed_demo_users
    from backend.extensions import db
    from backend.reference.services import load_reference_data
    from backend.routing.services import seed_rule_set

    app = current_app
    click.echo("1/4 migrating the database ...", err=True)
    upgrade()
    click.echo("2/4 loading reference data and demo users ...", err=True)
    load_reference_data(db.session())
    seed_rule_set(db.session())
    tokens = seed_demo_users(db.session())
    # This process lives as long as the service: hold no transaction (and no SQLite lock).
    db.session.remove()
    tokens_file = Path(app.instance_path) / "demo-tokens.json"
    tokens_file.write_text(json.dumps(tokens, ensure_ascii=False, indent=2), "utf-8")

    children: list[subprocess.Popen[bytes]] = []
    redis_url = app.config["REDIS_URL"]
    click.echo(f"3/4 checking Redis at {redis_url} ...", err=True)
    redis_ok = _redis_up(redis_url)
    if not redis_ok:
        started = _start_local_redis(redis_url, Path(app.instance_path) / "redis")
        if started is not None:
            children.append(started)
            redis_ok = True
            click.echo("    started the machine's redis-server", err=True)
    env = dict(os.environ)
    flask_bin = str(Path(sys.executable).with_name("flask"))
    if redis_ok:
        children.append(subprocess.Popen([flask_bin, "--app", "wsgi", "worker"], env=env))
    else:
        click.echo(
            "    NO REDIS: redis-server is not installed and could not be installed. Falling back "
            "to serving the API alone: pushes are stored and their background work waits in the "
            "database until a Redis runs at REDIS_URL and `flask --app wsgi worker` is started.",
            err=True,
        )

    click.echo("4/4 starting gunicorn ...", err=True)
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    children.append(
        subprocess.Popen(
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
            env=env,
        )
    )
    base = f"http://{host}:{port}"
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

    def stop(_signum: int, _frame: FrameType | None) -> None:
        for child in reversed(children):
            child.terminate()
        for child in children:
            child.wait(15)
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while all(child.poll() is None for child in children):
        time.sleep(0.5)
    stop(0, None)
