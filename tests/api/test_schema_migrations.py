"""The models and the migrations describe the same schema (what ``flask db check`` checks): a
model moved between packages, or a column added without its migration, fails here."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from backend.extensions import db


def test_the_migrated_database_matches_every_model(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []
    # Every table the app has is one the models declare (a model module nobody imports
    # would be missing from the metadata and its table would look like a removal above).
    assert {"contacts", "presence_events", "reports", "contact_reads"} <= set(db.metadata.tables)
