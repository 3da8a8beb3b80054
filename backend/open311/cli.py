"""``flask --app wsgi open311``: issue, list and revoke organisations' Open311 API keys."""

from __future__ import annotations

import json
import uuid

import click
from flask.cli import AppGroup

from backend.errors import DomainError
from backend.extensions import db
from backend.open311 import keys

open311_cli = AppGroup("open311", help="Open311 GeoReport v2 API keys of organisations.")


@open311_cli.command("issue-key")
@click.option("--org", "org", required=True, help="Slug of the organisation the key is for.")
@click.option("--label", default="", help="Which system holds it, e.g. 'TK ärendesystem'.")
def issue_key(org: str, label: str) -> None:
    """Issue a key; prints {"api_key": "..."} (shown only this once, stored hashed)."""
    try:
        issued = keys.issue_key(db.session(), org, label[:100])
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc
    click.echo(json.dumps({"api_key": issued.api_key}))


@open311_cli.command("list-keys")
@click.option("--org", "org", default=None, help="Only this organisation's keys.")
def list_keys(org: str | None) -> None:
    """List keys (never the keys themselves): id, organisation, prefix, label, dates."""
    try:
        found = keys.list_keys(db.session(), org)
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc
    for key in found:
        click.echo(
            json.dumps(
                {
                    "id": str(key.id),
                    "organisation": key.organisation.slug,
                    "prefix": key.prefix,
                    "label": key.label,
                    "created_at": key.created_at.isoformat(),
                    "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
                },
                ensure_ascii=False,
            )
        )


@open311_cli.command("revoke-key")
@click.argument("key_id")
def revoke_key(key_id: str) -> None:
    """Revoke the key KEY_ID (from list-keys): its system gets 403 from the next request on."""
    try:
        key = keys.revoke_key(db.session(), uuid.UUID(key_id))
    except ValueError as exc:
        raise click.ClickException(f"not a key id: {key_id!r}") from exc
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc
    revoked = key.revoked_at.isoformat() if key.revoked_at else None
    click.echo(json.dumps({"id": str(key.id), "revoked_at": revoked}))
