"""verification: checks, verification state per attribute, authenticity score

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-03 09:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "verification_check",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("attribute", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("customer_id", "attribute"),
    )
    op.create_table(
        "verification_state",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("attribute", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("value_digest", sa.String(length=64), nullable=True),
        sa.Column("verified_by", sa.String(length=256), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("method", sa.String(length=64), nullable=True),
        sa.Column("evidence", sa.String(length=512), nullable=True),
        sa.Column("reason", sa.String(length=512), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("customer_id", "attribute"),
    )
    op.create_index("ix_verification_state_due", "verification_state", ["due_at"])
    op.create_table(
        "authenticity_score",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("band", sa.String(length=8), nullable=False),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("consistency", sa.JSON(), nullable=False),
        sa.Column("address_digest", sa.String(length=64), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_index("ix_authenticity_score_band", "authenticity_score", ["band"])
    op.create_index("ix_authenticity_score_address", "authenticity_score", ["address_digest"])


def downgrade() -> None:
    op.drop_index("ix_authenticity_score_address", table_name="authenticity_score")
    op.drop_index("ix_authenticity_score_band", table_name="authenticity_score")
    op.drop_table("authenticity_score")
    op.drop_index("ix_verification_state_due", table_name="verification_state")
    op.drop_table("verification_state")
    op.drop_table("verification_check")
