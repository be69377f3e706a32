"""catalogue: specimens, images, history

Revision ID: 0001
Revises:
Create Date: 2026-11-22 09:24:16.722227
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "specimen",
        sa.Column("bcp_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column(
            "shape",
            sa.Enum(
                "rectangle",
                "rounded_rectangle",
                "circle",
                "oval",
                "triangle",
                "octagon",
                "other",
                name="shape",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("ink_colour", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("width_mm", sa.Float(), nullable=True),
        sa.Column("height_mm", sa.Float(), nullable=True),
        sa.Column("security_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("draft", "active", "withdrawn", name="status", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
        sa.Column("country", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("bcp_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "direction",
            sa.Enum("entry", "exit", name="direction", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column(
            "mode",
            sa.Enum("air", "land", "sea", "rail", name="mode", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("image_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("image_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("image_width", sa.Integer(), nullable=False),
        sa.Column("image_height", sa.Integer(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("specimen", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_specimen_bcp_name"), ["bcp_name"], unique=False)
        batch_op.create_index(batch_op.f("ix_specimen_country"), ["country"], unique=False)
        batch_op.create_index(batch_op.f("ix_specimen_direction"), ["direction"], unique=False)
        batch_op.create_index(batch_op.f("ix_specimen_mode"), ["mode"], unique=False)
        batch_op.create_index(batch_op.f("ix_specimen_status"), ["status"], unique=False)

    op.create_table(
        "specimen_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("specimen_id", sa.Integer(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["specimen_id"],
            ["specimen.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("specimen_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_specimen_event_specimen_id"), ["specimen_id"], unique=False
        )

    op.create_table(
        "specimen_image",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("specimen_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "front", "detail", "uv", "other", name="imagekind", native_enum=False, length=24
            ),
            nullable=False,
        ),
        sa.Column("object_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("byte_size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["specimen_id"],
            ["specimen.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("specimen_id", "position"),
    )
    with op.batch_alter_table("specimen_image", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_specimen_image_sha256"), ["sha256"], unique=True)
        batch_op.create_index(
            batch_op.f("ix_specimen_image_specimen_id"), ["specimen_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("specimen_image", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_specimen_image_specimen_id"))
        batch_op.drop_index(batch_op.f("ix_specimen_image_sha256"))

    op.drop_table("specimen_image")
    with op.batch_alter_table("specimen_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_specimen_event_specimen_id"))

    op.drop_table("specimen_event")
    with op.batch_alter_table("specimen", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_specimen_status"))
        batch_op.drop_index(batch_op.f("ix_specimen_mode"))
        batch_op.drop_index(batch_op.f("ix_specimen_direction"))
        batch_op.drop_index(batch_op.f("ix_specimen_country"))
        batch_op.drop_index(batch_op.f("ix_specimen_bcp_name"))

    op.drop_table("specimen")
