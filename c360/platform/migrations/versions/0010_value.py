"""value: CLV models, value scores, the value timeline, dynamic segments

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-03 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "value_model",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fitted_by", sa.String(length=256), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("repeat_customers", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_index("ix_value_model_status", "value_model", ["status"], unique=False)
    op.create_table(
        "value_score",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("rules_version", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("first_order_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_order_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recency_days", sa.Float(), nullable=True),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary", sa.Float(), nullable=False),
        sa.Column("r_score", sa.Integer(), nullable=False),
        sa.Column("f_score", sa.Integer(), nullable=False),
        sa.Column("m_score", sa.Integer(), nullable=False),
        sa.Column("p_alive", sa.Float(), nullable=True),
        sa.Column("expected_purchases_90d", sa.Float(), nullable=True),
        sa.Column("next_purchase_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expected_order_value", sa.Float(), nullable=True),
        sa.Column("clv_12m", sa.Float(), nullable=True),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("interests", sa.JSON(), nullable=False),
        sa.Column("csat", sa.Float(), nullable=True),
        sa.Column("csat_answers", sa.Integer(), nullable=False),
        sa.Column("nps", sa.Float(), nullable=True),
        sa.Column("nps_answers", sa.Integer(), nullable=False),
        sa.Column("sentiment", sa.Float(), nullable=True),
        sa.Column("sentiment_texts", sa.Integer(), nullable=False),
        sa.Column("repeat_rate", sa.Float(), nullable=True),
        sa.Column("tenure_days", sa.Float(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_index("ix_value_score_clv_12m", "value_score", ["clv_12m"], unique=False)
    op.create_index("ix_value_score_stage", "value_score", ["stage"], unique=False)
    op.create_index("ix_value_score_tier", "value_score", ["tier"], unique=False)
    op.create_table(
        "value_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("from_value", sa.String(length=16), nullable=True),
        sa.Column("to_value", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rules_version", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_value_change_at", "value_change", ["at"], unique=False)
    op.create_index("ix_value_change_customer_id", "value_change", ["customer_id"], unique=False)
    op.create_table(
        "value_segment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(length=512), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "value_segment_member",
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["segment_id"], ["value_segment.id"]),
        sa.PrimaryKeyConstraint("segment_id", "customer_id"),
    )
    op.create_index(
        "ix_value_segment_member_customer_id", "value_segment_member", ["customer_id"], unique=False
    )
    op.create_table(
        "value_segment_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(length=8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["segment_id"], ["value_segment.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_value_segment_change_at", "value_segment_change", ["at"], unique=False)
    op.create_index(
        "ix_value_segment_change_customer_id", "value_segment_change", ["customer_id"], unique=False
    )
    op.create_index(
        "ix_value_segment_change_segment_id", "value_segment_change", ["segment_id"], unique=False
    )
    op.create_table(
        "value_segment_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("joined", sa.Integer(), nullable=False),
        sa.Column("left", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["segment_id"], ["value_segment.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_value_segment_run_segment_id", "value_segment_run", ["segment_id"], unique=False
    )


def downgrade() -> None:
    for table in (
        "value_segment_run",
        "value_segment_change",
        "value_segment_member",
        "value_segment",
        "value_change",
        "value_score",
        "value_model",
    ):
        op.drop_table(table)
