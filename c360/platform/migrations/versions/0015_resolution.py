"""resolution: refused values kept per field, and the merge log that unmerge reads

Revision ID: 0015
Revises: 0006
Create Date: 2026-12-02 21:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "field_rejection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=128), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["source_record.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("record_id", "field", name="uq_field_rejection_record_field"),
    )
    op.create_index("ix_field_rejection_record_id", "field_rejection", ["record_id"])
    op.create_index("ix_field_rejection_field", "field_rejection", ["field"])
    op.create_table(
        "customer_merge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survivor_id", sa.Integer(), nullable=False),
        sa.Column("absorbed_id", sa.Integer(), nullable=False),
        sa.Column("record_ids", sa.JSON(), nullable=False),
        sa.Column("event_ids", sa.JSON(), nullable=False),
        sa.Column("redirected_ids", sa.JSON(), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["survivor_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["absorbed_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_customer_merge_survivor_id", "customer_merge", ["survivor_id"])
    op.create_index("ix_customer_merge_absorbed_id", "customer_merge", ["absorbed_id"])


def downgrade() -> None:
    op.drop_table("customer_merge")
    op.drop_table("field_rejection")
