"""privacy_request: an index on (kind, status), so whether anyone's processing
is restricted (asked by every GraphQL request that reads personal data) does
not scan every data-subject request ever received

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-04 19:45:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_privacy_request_kind_status", "privacy_request", ["kind", "status"])


def downgrade() -> None:
    op.drop_index("ix_privacy_request_kind_status", "privacy_request")
