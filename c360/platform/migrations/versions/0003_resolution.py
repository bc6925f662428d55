"""resolution: match models, blocking keys and counts, constraints, flags, graph edges

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "match_key_count",
        sa.Column("key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "match_model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("trained_records", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("match_model", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_match_model_active"), ["active"], unique=False)

    op.create_table(
        "resolution_flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("resolution_flag", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resolution_flag_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index("ix_resolution_flag_kind_key", ["kind", "key"], unique=False)

    op.create_table(
        "customer_edge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("other_record_id", sa.Integer(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["other_record_id"],
            ["source_record.id"],
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["source_record.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("customer_edge", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_edge_other_record_id"), ["other_record_id"], unique=False
        )
        batch_op.create_index(
            "ix_customer_edge_records", ["record_id", "other_record_id", "kind"], unique=True
        )

    op.create_table(
        "match_key",
        sa.Column("key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("record_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["source_record.id"],
        ),
        sa.PrimaryKeyConstraint("key", "record_id"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("match_key", schema=None) as batch_op:
        batch_op.create_index("ix_match_key_record_id", ["record_id"], unique=False)

    op.create_table(
        "resolution_constraint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("other_record_id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=256), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["curation_decision.id"],
        ),
        sa.ForeignKeyConstraint(
            ["other_record_id"],
            ["source_record.id"],
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["source_record.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("resolution_constraint", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resolution_constraint_decision_id"), ["decision_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_resolution_constraint_other_record_id"),
            ["other_record_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_resolution_constraint_record_id"), ["record_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("resolution_constraint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resolution_constraint_record_id"))
        batch_op.drop_index(batch_op.f("ix_resolution_constraint_other_record_id"))
        batch_op.drop_index(batch_op.f("ix_resolution_constraint_decision_id"))

    op.drop_table("resolution_constraint")
    with op.batch_alter_table("match_key", schema=None) as batch_op:
        batch_op.drop_index("ix_match_key_record_id")

    op.drop_table("match_key")
    with op.batch_alter_table("customer_edge", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_edge_records")
        batch_op.drop_index(batch_op.f("ix_customer_edge_other_record_id"))

    op.drop_table("customer_edge")
    with op.batch_alter_table("resolution_flag", schema=None) as batch_op:
        batch_op.drop_index("ix_resolution_flag_kind_key")
        batch_op.drop_index(batch_op.f("ix_resolution_flag_customer_id"))

    op.drop_table("resolution_flag")
    with op.batch_alter_table("match_model", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_match_model_active"))

    op.drop_table("match_model")
    op.drop_table("match_key_count")
