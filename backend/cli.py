"""The flask CLI: users, seed-demo, worker (RQ and the outbox relay), delivery-worker, relay,
run-demo."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import uuid

import click
from flask import Flask, current_app
from flask.cli import AppGroup, ScriptInfo

from backend import demo_data
from backend import worker as worker_loop
from backend.demo import run_demo
from backend.errors import DomainError
from backend.extensions import db
from backend.open311.cli import open311_cli
from backend.photos.cli import photos_cli
from backend.reference.services import load_reference_data
from backend.retention.cli import retention_cli
from backend.routing.rule_store import seed_rule_set
from backend.stats.cli import stats_cli
from backend.users.services import create_user, revoke_user_tokens, set_password

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
    try:
        count = revoke_user_tokens(db.session(), uuid.UUID(user_id))
    except ValueError as exc:
        raise click.ClickException(f"not a user id: {user_id!r}") from exc
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc
    click.echo(json.dumps({"id": user_id, "revoked": count}))


@click.command("seed-demo")
def seed_demo() -> None:
    """Load reference data and demo users (idempotent); prints the demo tokens and console
    logins as JSON."""
    loaded = load_reference_data(db.session())
    click.echo(
        f"reference data: {loaded.organisations} organisations, {loaded.zones} zones, "
        f"{loaded.categories} categories",
        err=True,
    )
    version = seed_rule_set(db.session())
    click.echo(f"routing rules: version {version} active", err=True)
    click.echo(json.dumps(demo_data.seed_demo_users(db.session()), ensure_ascii=False, indent=2))


@click.command("relay")
@click.option("--exit-with-parent", is_flag=True, help="Stop when the starting process dies.")
def relay(exit_with_parent: bool) -> None:
    """Run the outbox relay alone: pending deliveries to their organisations' RQ queues."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    parent = os.getppid() if exit_with_parent else None
    click.echo("relay: moving pending deliveries to RQ", err=True)
    worker_loop.relay_forever(app, stop, _say, parent_pid=parent)


@click.command("delivery-worker")
@click.option(
    "--queue", "queues", multiple=True, help="Queue names (default: every delivery queue)."
)
@click.option("--exit-with-parent", is_flag=True, help="Stop when the starting process dies.")
def delivery_worker(queues: tuple[str, ...], exit_with_parent: bool) -> None:
    """Work the delivery queues without forking (``worker`` starts one beside itself)."""
    names = list(queues) or worker_loop.split(worker_loop.queue_names())[0]
    db.session.remove()
    if exit_with_parent:
        worker_loop.exit_with_parent(os.getppid(), _say)
    click.echo(f"delivery worker: listening on {', '.join(names)}", err=True)
    worker_loop.work(names, worker_loop.DeliveryWorker, False, _say)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Relay what is pending, work every queue empty, exit.")
@click.option("--queue", "queues", multiple=True, help="Queue names (default: all).")
@click.option("--no-relay", is_flag=True, help="Do not start the outbox relay beside the worker.")
def worker(burst: bool, queues: tuple[str, ...], no_relay: bool) -> None:
    """Run the outbox relay beside an RQ worker (with the scheduler) on the service's queues:
    the fixed queues forking a work horse per job, the delivery queues in a non-forking
    ``delivery-worker`` process of its own.

    Listens on the fixed queues and every organisation's delivery queue as they are when it
    starts: restart workers after adding an organisation.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    names = list(queues) or worker_loop.queue_names()
    worker_loop.start(app, names, burst, _say)
    db.session.remove()
    db.engine.dispose()
    click.echo(f"worker: listening on {', '.join(names)} (burst={burst})", err=True)
    if burst:
        try:
            worker_loop.burst(app, names, _say)
        except worker_loop.RedisDown as exc:
            raise click.ClickException(str(exc)) from exc
        return
    app_path = click.get_current_context().ensure_object(ScriptInfo).app_import_path
    relay_command = None if no_relay else worker_loop.relay_command(app_path)
    worker_loop.run(app, names, relay_command, _say, app_path)


def _say(line: str) -> None:
    click.echo(line, err=True)


def register_cli(app: Flask) -> None:
    for command in (users_cli, seed_demo, worker, delivery_worker, relay, run_demo):
        app.cli.add_command(command)
    for group in (photos_cli, retention_cli, stats_cli, open311_cli):
        app.cli.add_command(group)
