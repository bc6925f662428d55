"""risk: credit models, scores, decisions, alerts and the watch state

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-02 21:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credit_model",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("activated_by", sa.String(length=256), nullable=True),
        sa.Column("note", sa.String(length=512), nullable=False),
        sa.Column("auc", sa.Float(), nullable=False),
        sa.Column("auc_std", sa.Float(), nullable=False),
        sa.Column("ks", sa.Float(), nullable=False),
        sa.Column("gini", sa.Float(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("defaults", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_index("ix_credit_model_status", "credit_model", ["status"])
    op.create_table(
        "credit_score",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("points", sa.Float(), nullable=True),
        sa.Column("grade", sa.String(length=1), nullable=True),
        sa.Column("pd", sa.Float(), nullable=True),
        sa.Column("base_points", sa.Float(), nullable=True),
        sa.Column("factors", sa.JSON(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_index("ix_credit_score_grade", "credit_score", ["grade"])
    op.create_table(
        "credit_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=True),
        sa.Column("points", sa.Float(), nullable=True),
        sa.Column("exposure", sa.Float(), nullable=False),
        sa.Column("org_size", sa.String(length=16), nullable=False),
        sa.Column("credit_limit", sa.Float(), nullable=False),
        sa.Column("terms_days", sa.Integer(), nullable=False),
        sa.Column("measures", sa.JSON(), nullable=False),
        sa.Column("manual_review", sa.Boolean(), nullable=False),
        sa.Column("rule", sa.String(length=128), nullable=False),
        sa.Column("overrides", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=256), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_credit_decision_customer_id", "credit_decision", ["customer_id"])
    op.create_table(
        "credit_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("message", sa.String(length=512), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=160), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=256), nullable=True),
        sa.Column("acknowledgement", sa.String(length=512), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key", name="uq_credit_alert_dedupe"),
    )
    op.create_index("ix_credit_alert_customer_id", "credit_alert", ["customer_id"])
    op.create_index("ix_credit_alert_raised_at", "credit_alert", ["raised_at"])
    op.create_table(
        "credit_watch",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("bureau_result_id", sa.Integer(), nullable=True),
        sa.Column("bureau_score", sa.Integer(), nullable=True),
        sa.Column("listings", sa.JSON(), nullable=False),
        sa.Column("registration_status", sa.String(length=32), nullable=True),
        sa.Column("overdue_events", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("customer_id"),
    )


def downgrade() -> None:
    op.drop_table("credit_watch")
    op.drop_index("ix_credit_alert_raised_at", table_name="credit_alert")
    op.drop_index("ix_credit_alert_customer_id", table_name="credit_alert")
    op.drop_table("credit_alert")
    op.drop_index("ix_credit_decision_customer_id", table_name="credit_decision")
    op.drop_table("credit_decision")
    op.drop_index("ix_credit_score_grade", table_name="credit_score")
    op.drop_table("credit_score")
    op.drop_index("ix_credit_model_status", table_name="credit_model")
    op.drop_table("credit_model")
