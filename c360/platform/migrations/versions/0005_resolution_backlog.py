"""resolution backlog: records landed by a sync and not yet resolved

Joins the two heads (0003 resolution, 0004 connectors) into one. Being a merge
point, it downgrades by name: ``alembic downgrade 0004`` (``-1`` is ambiguous).

Revision ID: 0005
Revises: 0003, 0004
Create Date: 2026-11-23 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = ("0003", "0004")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "resolution_backlog",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["record_id"], ["source_record.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("record_id"),
    )


def downgrade() -> None:
    op.drop_table("resolution_backlog")
