"""photo uploaders: who possesses each photo

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "photo_uploaders",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sha256"],
            ["photos.sha256"],
            name=op.f("fk_photo_uploaders_sha256_photos"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_photo_uploaders_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sha256", "user_id", name=op.f("pk_photo_uploaders")),
    )
    with op.batch_alter_table("photo_uploaders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_photo_uploaders_user_id"), ["user_id"], unique=False)
    # Until now only the first uploader was recorded; they possess their photos. A later
    # uploader of the same bytes was not recorded and uploads them again (the phone does so
    # as long as the push lists the photo in missing_photos).
    op.execute(
        "INSERT INTO photo_uploaders (sha256, user_id, created_at) "
        "SELECT sha256, uploaded_by, created_at FROM photos WHERE uploaded_by IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table("photo_uploaders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_photo_uploaders_user_id"))
    op.drop_table("photo_uploaders")
