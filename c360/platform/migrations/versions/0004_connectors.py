"""connectors: webhook inbox, legal bases, credit results, shareholders, lookup ledger

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-23 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "webhook_inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_name", sa.String(length=64), nullable=False),
        sa.Column("delivery_id", sa.String(length=256), nullable=False),
        _ts("received_at"),
        _ts("signed_at", nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _ts("processed_at", nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["source_name"], ["source.name"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_name", "delivery_id", name="uq_webhook_inbox_delivery"),
    )
    op.create_index(
        "ix_webhook_inbox_pending", "webhook_inbox", ["status", "source_name", "id"], unique=False
    )

    op.create_table(
        "legal_basis",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("basis", sa.String(length=32), nullable=False),
        sa.Column("evidence", sa.String(length=512), nullable=False),
        sa.Column("recorded_by", sa.String(length=256), nullable=False),
        _ts("recorded_at"),
        _ts("expires_at", nullable=True),
        _ts("revoked_at", nullable=True),
        sa.Column("revoked_by", sa.String(length=256), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_legal_basis_customer_id", "legal_basis", ["customer_id"], unique=False)

    op.create_table(
        "credit_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_name", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=128), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("subject_ref", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("band", sa.String(length=16), nullable=True),
        sa.Column("overdue_count", sa.Integer(), nullable=True),
        sa.Column("overdue_amount", sa.Float(), nullable=True),
        sa.Column("default_count", sa.Integer(), nullable=True),
        sa.Column("enforcements", sa.JSON(), nullable=False),
        sa.Column("dishonest", sa.JSON(), nullable=False),
        sa.Column("registration", sa.JSON(), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("cost", sa.Float(), nullable=False),
        _ts("retrieved_at"),
        _ts("expires_at"),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["source_name"], ["source.name"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_credit_result_customer_id", "credit_result", ["customer_id"], unique=False)
    op.create_index("ix_credit_result_expires_at", "credit_result", ["expires_at"], unique=False)
    op.create_index(
        "ix_credit_result_subject", "credit_result", ["subject_hash", "retrieved_at"], unique=False
    )

    op.create_table(
        "org_shareholder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("org_uscc", sa.String(length=18), nullable=False),
        sa.Column("shareholder_name", sa.String(length=256), nullable=False),
        sa.Column("shareholder_kind", sa.String(length=16), nullable=False),
        sa.Column("shareholder_uscc", sa.String(length=18), nullable=True),
        sa.Column("share_ratio", sa.Float(), nullable=True),
        sa.Column("subscribed_capital", sa.String(length=64), nullable=True),
        sa.Column("source_name", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=128), nullable=False),
        _ts("retrieved_at"),
        sa.ForeignKeyConstraint(["result_id"], ["credit_result.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_org_shareholder_result_id", "org_shareholder", ["result_id"])
    op.create_index("ix_org_shareholder_org_uscc", "org_shareholder", ["org_uscc"])
    op.create_index("ix_org_shareholder_shareholder_uscc", "org_shareholder", ["shareholder_uscc"])

    op.create_table(
        "credit_lookup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_name", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        _ts("at"),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("result_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_credit_lookup_day", "credit_lookup", ["source_name", "day"])


def downgrade() -> None:
    op.drop_index("ix_credit_lookup_day", table_name="credit_lookup")
    op.drop_table("credit_lookup")
    for index in (
        "ix_org_shareholder_shareholder_uscc",
        "ix_org_shareholder_org_uscc",
        "ix_org_shareholder_result_id",
    ):
        op.drop_index(index, table_name="org_shareholder")
    op.drop_table("org_shareholder")
    for index in (
        "ix_credit_result_subject",
        "ix_credit_result_expires_at",
        "ix_credit_result_customer_id",
    ):
        op.drop_index(index, table_name="credit_result")
    op.drop_table("credit_result")
    op.drop_index("ix_legal_basis_customer_id", table_name="legal_basis")
    op.drop_table("legal_basis")
    op.drop_index("ix_webhook_inbox_pending", table_name="webhook_inbox")
    op.drop_table("webhook_inbox")
