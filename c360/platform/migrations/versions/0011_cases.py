"""cases: complaints and feedback, their history, SLA alerts, surveys, teams

Revision ID: 0011
Revises: 0006
Create Date: 2026-12-02 21:39:01.340246
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_team",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("supervisor", sa.String(length=128), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("source_name", sa.String(length=64), nullable=True),
        sa.Column("external_id", sa.String(length=256), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_target_s", sa.Integer(), nullable=False),
        sa.Column("resolution_target_s", sa.Integer(), nullable=False),
        sa.Column("first_response_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_s", sa.Float(), nullable=False),
        sa.Column("first_response_s", sa.Float(), nullable=True),
        sa.Column("resolution_s", sa.Float(), nullable=True),
        sa.Column("warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("csat", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_name", "external_id", name="uq_case_source_external"),
    )
    op.create_index("ix_case_category", "case", ["category"])
    op.create_index("ix_case_customer_id", "case", ["customer_id"])
    op.create_index("ix_case_open_state", "case", ["state", "resolution_due"])
    op.create_index("ix_case_opened_at", "case", ["opened_at"])
    op.create_index("ix_case_owner", "case", ["owner"])
    op.create_index("ix_case_region", "case", ["region"])
    op.create_index("ix_case_state", "case", ["state"])
    op.create_index("ix_case_team", "case", ["team"])

    op.create_table(
        "case_customer_state",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("open_cases", sa.Integer(), nullable=False),
        sa.Column("open_complaints", sa.Integer(), nullable=False),
        sa.Column("sla_state", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_table(
        "case_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recipient", sa.String(length=128), nullable=True),
        sa.Column("due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "kind", name="uq_case_alert_kind"),
    )
    op.create_index("ix_case_alert_case_id", "case_alert", ["case_id"])

    op.create_table(
        "case_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_case_change_case_id", "case_change", ["case_id"])

    op.create_table(
        "case_survey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("csat", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_case_survey_case_id", "case_survey", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_case_survey_case_id", table_name="case_survey")

    op.drop_table("case_survey")
    op.drop_index("ix_case_change_case_id", table_name="case_change")

    op.drop_table("case_change")
    op.drop_index("ix_case_alert_case_id", table_name="case_alert")

    op.drop_table("case_alert")
    op.drop_table("case_customer_state")
    op.drop_index("ix_case_team", table_name="case")
    op.drop_index("ix_case_state", table_name="case")
    op.drop_index("ix_case_region", table_name="case")
    op.drop_index("ix_case_owner", table_name="case")
    op.drop_index("ix_case_opened_at", table_name="case")
    op.drop_index("ix_case_open_state", table_name="case")
    op.drop_index("ix_case_customer_id", table_name="case")
    op.drop_index("ix_case_category", table_name="case")

    op.drop_table("case")
    op.drop_table("case_team")
