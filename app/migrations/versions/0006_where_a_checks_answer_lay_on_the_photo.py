"""where a check's answer lay on the photo

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("check_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outline", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("check_record", schema=None) as batch_op:
        batch_op.drop_column("outline")
