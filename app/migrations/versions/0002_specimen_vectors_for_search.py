"""specimen vectors for search

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 09:50:49.068479
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "specimen_vectors",
        sa.Column("specimen_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("features", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["specimen_id"],
            ["specimen.id"],
        ),
        sa.PrimaryKeyConstraint("specimen_id"),
    )
    with op.batch_alter_table("specimen_vectors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_specimen_vectors_model_id"), ["model_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("specimen_vectors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_specimen_vectors_model_id"))

    op.drop_table("specimen_vectors")
