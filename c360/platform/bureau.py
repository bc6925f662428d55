"""What the credit bureau said about a customer, as every judgment reads it:
the newest answer that found the subject (:func:`latest_results`), how many
court listings it carries (:func:`listing_count`) and whether it says the
business no longer trades (:func:`registration_closed`). Verification, credit
scoring and credit monitoring all read the bureau through these, so they agree
on which answer counts and what a status means."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import Connection, func, select

from c360.platform.connector_tables import CreditResult
from c360.platform.sql import chunks
from c360.platform.tables import table_of

RESULTS = table_of(CreditResult)

CLOSED_STATUSES = ("注销", "吊销", "撤销", "cancelled", "revoked", "deregistered")
"""Registration statuses under which a business no longer trades."""


def latest_results(conn: Connection, customer_ids: Collection[int]) -> dict[int, dict[str, Any]]:
    """Each customer's newest bureau answer that found the subject (any
    purpose), as a mapping of its columns."""
    found: dict[int, dict[str, Any]] = {}
    for part in chunks(sorted({int(c) for c in customer_ids})):
        newest = (
            select(RESULTS.c.customer_id, func.max(RESULTS.c.id).label("id"))
            .where(RESULTS.c.customer_id.in_(part), RESULTS.c.found.is_(True))
            .group_by(RESULTS.c.customer_id)
            .subquery()
        )
        for row in conn.execute(
            select(RESULTS).join(newest, newest.c.id == RESULTS.c.id)
        ).mappings():
            found[int(row["customer_id"])] = dict(row)
    return found


def listing_count(result: Mapping[str, Any] | None) -> int:
    """Court enforcement (被执行人) and dishonest-debtor (失信被执行人) listings."""
    if not result:
        return 0
    return len(result.get("enforcements") or []) + len(result.get("dishonest") or [])


def registration_closed(status: Any) -> bool:
    """Whether a registration status (``注销``, ``Revoked``…) says the business
    no longer trades."""
    text = str(status or "").strip().lower()
    return bool(text) and any(word in text for word in CLOSED_STATUSES)


__all__ = ["CLOSED_STATUSES", "latest_results", "listing_count", "registration_closed"]
