"""business events: what happened to a customer, for outbound delivery

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "business_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_business_event_event_type", "business_event", ["event_type"])
    op.create_index("ix_business_event_customer_id", "business_event", ["customer_id"])
    op.create_index("ix_business_event_occurred_at", "business_event", ["occurred_at"])


def downgrade() -> None:
    op.drop_table("business_event")
