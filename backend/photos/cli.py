"""``flask --app wsgi photos sweep``: the photo pipeline's catch-up after an outage."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup

from backend.extensions import db

photos_cli = AppGroup("photos", help="Photo pipeline maintenance.")


@photos_cli.command("sweep")
def sweep_command() -> None:
    """Queue unprocessed photos, finish complete uploads, discard expired ones."""
    from backend.photos import jobs, services

    result = jobs.sweep(db.session(), services.storage_from(current_app.config))
    click.echo(json.dumps(result))
