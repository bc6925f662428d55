"""auth: OAuth clients, the audit chain head, tags, notes and curation decisions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:00:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64


def upgrade() -> None:
    audit_head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # The head starts where the chain already is (rows written before this
    # revision, if any), so verification holds from the first append on.
    bind = op.get_bind()
    last = bind.execute(sa.text("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")).scalar()
    count = bind.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one()
    assert audit_head is not None
    op.bulk_insert(
        audit_head,
        [
            {
                "id": 1,
                "last_hash": last or GENESIS,
                "entries": int(count),
                "updated_at": datetime.now(UTC),
            }
        ],
    )

    op.create_table(
        "oauth_client",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("secret_hash", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("client_id"),
    )
    op.create_table(
        "customer_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("customer_note", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_note_customer_id"), ["customer_id"], unique=False
        )
    op.create_table(
        "customer_tag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "tag", name="uq_customer_tag"),
    )
    with op.batch_alter_table("customer_tag", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_tag_customer_id"), ["customer_id"], unique=False
        )
    op.create_table(
        "curation_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("other_customer_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=256), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["other_customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["record_id"], ["source_record.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("curation_decision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_curation_decision_customer_id"), ["customer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("curation_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_curation_decision_customer_id"))
    op.drop_table("curation_decision")
    with op.batch_alter_table("customer_tag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_tag_customer_id"))
    op.drop_table("customer_tag")
    with op.batch_alter_table("customer_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_note_customer_id"))
    op.drop_table("customer_note")
    op.drop_table("oauth_client")
    op.drop_table("audit_head")
