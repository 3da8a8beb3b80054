"""``flask --app wsgi retention run``: apply the retention periods now, with progress."""

from __future__ import annotations

import json
from datetime import datetime

import click
from flask.cli import AppGroup

from backend.retention import jobs

retention_cli = AppGroup("retention", help="Delete records past their retention period.")


@retention_cli.command("run")
@click.option(
    "--now",
    "as_of",
    default=None,
    help="Compute cut-offs from this ISO 8601 time with offset instead of the clock.",
)
def run_command(as_of: str | None) -> None:
    """Delete expired contacts, presence pings and events, photos; print the run as JSON."""

    now = None
    if as_of is not None:
        now = datetime.fromisoformat(as_of)
        if now.tzinfo is None:
            raise click.BadParameter("give a time zone offset, e.g. +01:00", param_hint="--now")

    def progress(kind: str, count: int) -> None:
        click.echo(f"retention: {kind}: {count} so far", err=True)

    result = jobs.run_from_config(now=now, progress=progress)
    click.echo(
        json.dumps(
            {
                "id": str(result.id),
                "as_of": result.as_of.isoformat(),
                "status": result.status,
                "details": result.details,
            }
        )
    )
