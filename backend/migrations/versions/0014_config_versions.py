"""config versions: the token every change of a push's reference data, zones, organisations
or rule sets replaces (issue 20), so each process caches them per token

The row of scope ``push`` is inserted here with a first token, so a migrated database caches
from its first push on.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 19:00:00

"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "config_versions",
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_config_versions")),
    )
    op.bulk_insert(table, [{"scope": "push", "token": uuid.uuid4().hex}])


def downgrade():
    op.drop_table("config_versions")
