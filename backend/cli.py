"""The flask CLI: users, seed-demo, worker (RQ and the outbox relay), run-demo."""

from __future__ import annotations

import json
import sys
import uuid
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from backend.extensions import db

users_cli = AppGroup("users", help="Create users, set console passwords, revoke tokens.")


def _password_from_stdin() -> str:
    """The password on standard input: its first line, without the line break (so both
    `echo pw |` and a password manager's pipe work, and it never appears in `ps`)."""
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise click.ClickException("no password on standard input")
    return password


@users_cli.command("create")
@click.option("--name", required=True, help="The person's name as colleagues know it.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["field", "department", "supervisor", "admin"]),
)
@click.option("--org", "org", default=None, help="Organisation slug (default city-i-samverkan).")
@click.option("--email", default=None, help="E-mail address, the console sign-in.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the console password from standard input (needs --email).",
)
def users_create(
    name: str, role: str, org: str | None, email: str | None, password_stdin: bool
) -> None:
    """Create a user; prints one JSON object with the API token (shown only this once)."""
    from backend.errors import DomainError
    from backend.users.services import create_user

    if password_stdin and email is None:
        raise click.ClickException("--password-stdin needs --email (the console sign-in)")
    password = _password_from_stdin() if password_stdin else None
    try:
        user, token = create_user(
            db.session(),
            name=name,
            role=role,
            organisation=org,
            email=email,
            password=password,
            password_min_length=current_app.config["CONSOLE_PASSWORD_MIN_LENGTH"],
        )
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc
    created = {
        "id": str(user.id),
        "name": user.name,
        "role": user.role,
        "organisation": user.organisation.slug,
        "token": token,
    }
    if user.email:
        created["email"] = user.email
    click.echo(json.dumps(created))


@users_cli.command("set-password")
@click.option("--email", required=True, help="The user's e-mail address.")
@click.option(
    "--password-stdin", is_flag=True, required=True, help="Read the password from standard input."
)
def users_set_password(email: str, password_stdin: bool) -> None:
    """Set a user's console password; their console sessions end."""
    from backend.errors import DomainError
    from backend.users.services import set_password

    password = _password_from_stdin()
    try:
        user = set_password(
            db.session(), email, password, current_app.config["CONSOLE_PASSWORD_MIN_LENGTH"]
        )
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc
    click.echo(json.dumps({"id": str(user.id), "email": user.email, "password_set": True}))


@users_cli.command("revoke")
@click.argument("user_id")
def users_revoke(user_id: str) -> None:
    """Revoke every token of USER_ID."""
    from backend.errors import DomainError
    from backend.users.services import revoke_user_tokens

    try:
        count = revoke_user_tokens(db.session(), uuid.UUID(user_id))
    except ValueError as exc:
        raise click.ClickException(f"not a user id: {user_id!r}") from exc
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc
    click.echo(json.dumps({"id": user_id, "revoked": count}))


DEMO_USERS = (
    ("Demo Fältvärd", "field", "city-i-samverkan", None),
    ("Demo Trafikkontoret", "department", "trafikkontoret", "trafikkontoret@demo.example"),
    ("Demo Arbetsledare", "supervisor", "city-i-samverkan", "arbetsledare@demo.example"),
    ("Demo Admin", "admin", "city-i-samverkan", "admin@demo.example"),
)
"""Name, role, organisation and console e-mail (the reserved .example domain: no real
mailbox) of each demo user; field workers use the phone and have no console login."""


def seed_demo_users(session: Session) -> list[dict[str, Any]]:
    """Create the demo users when missing and give each a fresh token, and each console role a
    fresh password (both are stored only as hashes, so an earlier run's cannot be shown again;
    a new password also ends the earlier run's console sessions). The demo users' earlier
    ``seed-demo`` tokens are revoked, so each keeps exactly one live token of this command."""
    import secrets

    from sqlalchemy import select

    from backend.users.models import User
    from backend.users.services import create_user, replace_labelled_tokens, set_password

    min_length = current_app.config["CONSOLE_PASSWORD_MIN_LENGTH"]
    logins = []
    for name, role, org, email in DEMO_USERS:
        user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
        password = secrets.token_urlsafe(max(12, min_length)) if email else None
        if user is None:
            user, token = create_user(
                session,
                name,
                role,
                org,
                label="seed-demo",
                email=email,
                password=password,
                password_min_length=min_length,
            )
        else:
            # Only the token this command issued before is revoked: no pile of demo tokens.
            _, token = replace_labelled_tokens(session, user.id, label="seed-demo")
            if email and password:
                user.email = email
                set_password(session, email, password, min_length)
        entry: dict[str, Any] = {
            "id": str(user.id),
            "name": name,
            "role": role,
            "organisation": org,
            "token": token,
        }
        if email:
            entry |= {"email": email, "password": password}
        logins.append(entry)
    return logins


@click.command("seed-demo")
def seed_demo() -> None:
    """Load reference data and demo users (idempotent); prints the demo tokens and console
    logins as JSON."""
    from backend.reference.services import load_reference_data
    from backend.routing.services import seed_rule_set

    loaded = load_reference_data(db.session())
    click.echo(
        f"reference data: {loaded.organisations} organisations, {loaded.zones} zones, "
        f"{loaded.categories} categories",
        err=True,
    )
    version = seed_rule_set(db.session())
    click.echo(f"routing rules: version {version} active", err=True)
    click.echo(json.dumps(seed_demo_users(db.session()), ensure_ascii=False, indent=2))


def _all_queue_names(session: Session) -> list[str]:
    from sqlalchemy import select

    from backend.organisations.models import Organisation
    from backend.routing import queues as queue_names

    slugs = session.execute(select(Organisation.slug)).scalars()
    return queue_names.everything(slugs)


def _redis_up() -> bool:
    from redis.exceptions import RedisError

    from backend.extensions import redis

    try:
        return bool(redis.client.ping())
    except (RedisError, OSError):
        return False


def _wait_for_redis() -> None:
    """Block until Redis answers. Pushes need no Redis; the relay (already running) keeps the
    outbox until Redis is back, so a worker started during an outage just waits."""
    import time

    delay = 0.5
    while not _redis_up():
        click.echo(f"worker: waiting for Redis, next try in {delay:.1f} s", err=True)
        time.sleep(delay)
        delay = min(delay * 2, 10.0)


def _burst(queue_list: list[str]) -> None:
    """Relay what is due, work every queue empty; again while that made progress."""
    from rq import Worker
    from rq.worker import DequeueStrategy

    from backend.delivery.relay import relay_once
    from backend.extensions import redis
    from backend.stats.jobs import enqueue_dirty_days_from_config
    from backend.tasks.services import route_waiting

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    while True:
        waited = route_waiting(db.session())
        if waited:
            click.echo(f"worker: routed {waited} cases whose photos arrived", err=True)
        enqueue_dirty_days_from_config()  # the statistics jobs of marked days
        db.session.remove()
        relayed = 0
        while True:
            result = relay_once(db.session(), redis.client, app.config)
            db.session.remove()
            if result.redis_error:
                raise click.ClickException(f"Redis unavailable: {result.redis_error}")
            relayed += result.enqueued + result.requeued
            if result.enqueued + result.requeued == 0:
                break
        click.echo(f"worker: relayed {relayed} deliveries", err=True)
        db.engine.dispose()  # no connection of ours may be shared with RQ's forked horses
        worked = Worker(queue_list, connection=redis.client).work(
            burst=True, dequeue_strategy=DequeueStrategy.ROUND_ROBIN
        )
        if not worked and relayed == 0:
            return


@click.command("relay")
@click.option("--exit-with-parent", is_flag=True, help="Stop when the starting process dies.")
def relay(exit_with_parent: bool) -> None:
    """Run the outbox relay alone: pending deliveries to their organisations' RQ queues."""
    import os
    import signal
    import threading

    from backend.delivery.relay import run_forever

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    parent = os.getppid() if exit_with_parent else None
    click.echo("relay: moving pending deliveries to RQ", err=True)
    run_forever(app, stop, lambda line: click.echo(line, err=True), parent_pid=parent)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Relay what is pending, work every queue empty, exit.")
@click.option("--queue", "queues", multiple=True, help="Queue names (default: all).")
@click.option("--no-relay", is_flag=True, help="Do not start the outbox relay beside the worker.")
def worker(burst: bool, queues: tuple[str, ...], no_relay: bool) -> None:
    """Run the outbox relay beside an RQ worker (with the scheduler) on the service's queues.

    Listens on the fixed queues and every organisation's delivery queue as they are when it
    starts: restart workers after adding an organisation.
    """
    import subprocess
    import sys

    from flask.cli import ScriptInfo
    from rq import Worker
    from rq.worker import DequeueStrategy

    from backend.extensions import redis
    from backend.routing import queues as queue_names

    names = list(queues) or _all_queue_names(db.session())
    if queue_names.MEDIA in names:
        # Photos left unqueued by a Redis outage or a crash are picked up at every start.
        from flask import current_app

        from backend.photos import jobs, services
        from media.errors import StorageUnavailable

        try:
            swept = jobs.sweep(db.session(), services.storage_from(current_app.config))
            click.echo(f"worker: photo sweep {json.dumps(swept)}", err=True)
        except StorageUnavailable as exc:
            # Photo jobs fail and are retried meanwhile (backend.photos.jobs.RETRY); deliveries
            # and routing do not need the store, so the worker works on.
            db.session.rollback()
            click.echo(
                f"worker: photo storage unavailable ({exc.reason}): {exc.message}; "
                "photo sweep skipped until the next start",
                err=True,
            )
    if not burst and queue_names.DEFAULT in names:
        # The nightly retention run; one per day however many workers start (see schedule).
        from backend.retention import jobs as retention

        scheduled = retention.schedule(retention.next_run(retention.utcnow()))
        click.echo(f"worker: retention scheduled: {scheduled}", err=True)
        from backend.stats import jobs as stats

        scheduled = stats.schedule(stats.next_run(retention.utcnow()))
        click.echo(f"worker: statistics nightly run scheduled: {scheduled}", err=True)
    # RQ forks a work horse per job; a database connection open in this process at that
    # moment would be shared with the child (SQLite's own docs forbid carrying one across
    # fork). So this process holds none: the relay runs in a process of its own.
    db.session.remove()
    db.engine.dispose()
    click.echo(f"worker: listening on {', '.join(names)} (burst={burst})", err=True)
    if burst:
        _burst(names)
        return
    relay_process = None
    if not no_relay:
        app_path = click.get_current_context().ensure_object(ScriptInfo).app_import_path
        command = ["relay", "--exit-with-parent"]
        relay_process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", app_path or "wsgi", *command]
        )
    try:
        while True:
            _wait_for_redis()
            # Round robin over the queues: one organisation's backlog (or a burst of photos)
            # never starves another's deliveries; the default order would drain queues in
            # list order.
            Worker(names, connection=redis.client).work(
                with_scheduler=True, dequeue_strategy=DequeueStrategy.ROUND_ROBIN
            )
            # RQ returns after a requested shutdown, and also when it lost Redis for good;
            # in the second case wait for Redis and work on (the relay never stopped).
            if _redis_up():
                break
            click.echo("worker: lost Redis; RQ worker restarts when it is back", err=True)
    finally:
        if relay_process is not None:
            relay_process.terminate()
            relay_process.wait(15)


def register_cli(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(worker)
    app.cli.add_command(relay)

    from backend.photos.cli import photos_cli

    app.cli.add_command(photos_cli)

    from backend.retention.cli import retention_cli

    app.cli.add_command(retention_cli)

    from backend.stats.cli import stats_cli

    app.cli.add_command(stats_cli)

    from backend.open311.cli import open311_cli

    app.cli.add_command(open311_cli)

    from backend.demo import run_demo

    app.cli.add_command(run_demo)
