"""The flask CLI: users, seed-demo, worker, run-demo."""

from __future__ import annotations

import json
import uuid

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from backend.extensions import db

users_cli = AppGroup("users", help="Create users and revoke their tokens.")


@users_cli.command("create")
@click.option("--name", required=True, help="The person's name as colleagues know it.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["field", "department", "supervisor", "admin"]),
)
@click.option("--org", "org", default=None, help="Organisation slug (default city-i-samverkan).")
def users_create(name: str, role: str, org: str | None) -> None:
    """Create a user; prints one JSON object with the token (shown only this once)."""
    from backend.errors import DomainError
    from backend.users.services import create_user

    try:
        user, token = create_user(db.session(), name=name, role=role, organisation=org)
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc
    click.echo(
        json.dumps(
            {
                "id": str(user.id),
                "name": user.name,
                "role": user.role,
                "organisation": user.organisation.slug,
                "token": token,
            }
        )
    )


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
    ("Demo Fältvärd", "field", "city-i-samverkan"),
    ("Demo Trafikkontoret", "department", "trafikkontoret"),
    ("Demo Arbetsledare", "supervisor", "city-i-samverkan"),
    ("Demo Admin", "admin", "city-i-samverkan"),
)


def seed_demo_users(session: Session) -> list[dict[str, str]]:
    """Create the demo users when missing and give each a fresh token (tokens are stored only
    as hashes, so an earlier run's tokens cannot be shown again)."""
    from sqlalchemy import select

    from backend.users.models import User
    from backend.users.services import create_user, new_token_for

    tokens = []
    for name, role, org in DEMO_USERS:
        user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
        if user is None:
            user, token = create_user(session, name, role, org, label="seed-demo")
        else:
            _, token = new_token_for(session, user.id, label="seed-demo")
        tokens.append(
            {"id": str(user.id), "name": name, "role": role, "organisation": org, "token": token}
        )
    return tokens


@click.command("seed-demo")
def seed_demo() -> None:
    """Load reference data and demo users (idempotent); prints the demo tokens as JSON."""
    from backend.reference.services import load_reference_data

    loaded = load_reference_data(db.session())
    click.echo(
        f"reference data: {loaded.organisations} organisations, {loaded.zones} zones, "
        f"{loaded.categories} categories",
        err=True,
    )
    click.echo(json.dumps(seed_demo_users(db.session()), ensure_ascii=False, indent=2))


@click.command("worker")
@click.option("--burst", is_flag=True, help="Process what is queued, then exit.")
@click.option("--queue", "queues", multiple=True, help="Queue names (default: all).")
def worker(burst: bool, queues: tuple[str, ...]) -> None:
    """Run an RQ worker on the service's queues."""
    from rq import Worker

    from backend.extensions import redis
    from backend.routing import queues as queue_names

    names = list(queues) or list(queue_names.ALL)
    if queue_names.MEDIA in names:
        # Photos left unqueued by a Redis outage or a crash are picked up at every start.
        from flask import current_app

        from backend.photos import jobs, services

        swept = jobs.sweep(db.session(), services.storage_from(current_app.config))
        click.echo(f"worker: photo sweep {json.dumps(swept)}", err=True)
    if not burst and queue_names.DEFAULT in names:
        # The nightly retention run; one per day however many workers start (see schedule).
        from backend.retention import jobs as retention

        scheduled = retention.schedule(retention.next_run(retention.utcnow()))
        click.echo(f"worker: retention scheduled: {scheduled}", err=True)
    click.echo(f"worker: listening on {', '.join(names)} (burst={burst})", err=True)
    Worker(names, connection=redis.client).work(burst=burst, with_scheduler=not burst)


def register_cli(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(worker)

    from backend.photos.cli import photos_cli

    app.cli.add_command(photos_cli)

    from backend.retention.cli import retention_cli

    app.cli.add_command(retention_cli)

    from backend.demo import run_demo

    app.cli.add_command(run_demo)
