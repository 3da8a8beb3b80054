"""``flask --app wsgi stats rebuild``: recompute the daily aggregates of a range of days."""

from __future__ import annotations

from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from backend.database import utcnow
from backend.extensions import db
from backend.stats import jobs
from backend.stats.dirty import local_day

stats_cli = AppGroup("stats", help="Maintain the daily statistics aggregates.")


@stats_cli.command("rebuild")
@click.option("--from", "first", required=True, help="First local day, YYYY-MM-DD.")
@click.option("--to", "last", default=None, help="Last local day (default: today).")
def rebuild(first: str, last: str | None) -> None:
    """Recompute every day from FROM to TO from the stored rows (after the upgrade that adds
    statistics, or to repair); prints progress, then the number of days as JSON."""

    try:
        start = date.fromisoformat(first)
        end = date.fromisoformat(last) if last else local_day(utcnow())
    except ValueError as exc:
        raise click.BadParameter(f"not a date: {exc}") from exc
    if end < start:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    total = (end - start).days + 1
    day = start
    for n in range(total):
        jobs.refresh(db.session(), day, current_app.config)
        if (n + 1) % 30 == 0 or n + 1 == total:
            click.echo(f"stats: {n + 1}/{total} days ({day.isoformat()})", err=True)
        day += timedelta(days=1)
    click.echo(f'{{"days": {total}}}')
