"""``flask --app wsgi photos sweep|migrate``: the photo pipeline's catch-up after an outage,
and moving the photo store (a directory to a bucket, or back)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import click
from flask import current_app
from flask.cli import AppGroup
from tqdm import tqdm

from backend.extensions import db
from backend.photos import jobs
from backend.photos import store as photo_store
from media import storage as media_storage
from media.errors import StorageUnavailable

photos_cli = AppGroup("photos", help="Photo pipeline maintenance.")


@photos_cli.command("sweep")
def sweep_command() -> None:
    """Queue unprocessed photos, finish complete uploads, discard expired ones."""
    try:
        result = jobs.sweep(db.session(), photo_store.storage_from(current_app.config))
    except StorageUnavailable as exc:
        raise click.ClickException(
            f"photo storage unavailable ({exc.reason}): {exc.message}"
        ) from exc
    click.echo(json.dumps(result))


def _store(url: str | None, option: str) -> media_storage.Storage:
    if url is None:
        return photo_store.storage_from(current_app.config)
    try:
        return photo_store.storage_at(url, current_app.config)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from exc


@photos_cli.command("migrate")
@click.option("--to", "target_url", required=True, help="s3://BUCKET/PREFIX or file:///path")
@click.option(
    "--from",
    "source_url",
    default=None,
    help="The store to copy from (default: the configured one, PHOTO_STORAGE_URL or MEDIA_ROOT).",
)
@click.option("--workers", default=8, show_default=True, type=click.IntRange(1, 16))
def migrate_command(target_url: str, source_url: str | None, workers: int) -> None:
    """Copy every stored photo and unfinished upload to another store, with progress.

    What exists is what the database lists (sanitised images of ready photos, originals still
    being processed, unfinished uploads). Objects the target already holds in full are
    skipped, so an interrupted run is resumed by running it again. Prints counts as JSON;
    exits 1 if anything listed was missing from the source.
    """
    source, target = _store(source_url, "--from"), _store(target_url, "--to")
    if source.describe() == target.describe():
        raise click.BadParameter("the target is the source", param_hint="--to")
    for name, store in (("source", source), ("target", target)):
        try:
            store.check()
        except StorageUnavailable as exc:
            raise click.ClickException(f"{name} {store.describe()}: {exc.message}") from exc
    session = db.session()
    total = photo_store.count_stored_keys(session)
    click.echo(f"photos migrate: {source.describe()} -> {target.describe()}", err=True)
    counts: Counter[str] = Counter()
    missing: list[str] = []
    # A bounded window of copies in flight: memory stays at a few photos per worker however
    # many millions the database lists.
    window = workers * 4
    with (
        tqdm(total=total, unit="object", desc="photos migrate", file=sys.stderr) as bar,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        pending: dict[Future[str], str] = {}

        def collect(done: set[Future[str]]) -> None:
            for future in done:
                key = pending.pop(future)
                outcome = future.result()  # a store failing stops the run; rerun resumes
                counts[outcome] += 1
                if outcome == "missing":
                    missing.append(key)
                bar.update(1)

        try:
            for key in photo_store.stored_keys(session):
                pending[pool.submit(media_storage.copy, source, target, key)] = key
                if len(pending) >= window:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    collect(done)
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                collect(done)
        except StorageUnavailable as exc:
            for future in pending:
                future.cancel()
            raise click.ClickException(
                f"store unavailable after {sum(counts.values())} of {total} objects "
                f"({exc.message}); run the same command again to resume"
            ) from exc
        finally:
            session.rollback()
    for key in missing[:20]:
        click.echo(f"photos migrate: missing in the source: {key}", err=True)
    click.echo(
        json.dumps(
            {
                "from": source.describe(),
                "to": target.describe(),
                "listed": total,
                "copied": counts["copied"],
                "skipped": counts["skipped"],
                "missing": counts["missing"],
            }
        )
    )
    if missing:
        sys.exit(1)
