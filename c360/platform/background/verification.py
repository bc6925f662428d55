"""The report's verification section, read from the verification package's
stored judgment (:mod:`c360.platform.verification.judgment` and ``.state``):
each golden attribute's checks, its verification state with dates, the
consistency matrix, the authenticity score with its reasons, and the fraud
flags — as computed by the ``authenticity`` refresher, never recomputed here,
so the report shows what the rest of c360 decided.

A customer the refresher has not seen yet gets an honest ``not verified yet``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from c360.platform.background.sections import BackgroundFacts, VerificationSection
from c360.platform.verification.judgment import authenticity_of, checks_of
from c360.platform.verification.state import states_of


def _iso(moment: Any) -> str | None:
    if not isinstance(moment, datetime):
        return None if moment is None else str(moment)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat()


def stored_verification(
    conn: Connection, customer_id: int, facts: BackgroundFacts
) -> VerificationSection:
    """The verification section of ``customer_id`` as stored."""
    checks = checks_of(conn, [customer_id]).get(customer_id, {})
    states = states_of(conn, [customer_id]).get(customer_id, {})
    judged = authenticity_of(conn, [customer_id]).get(customer_id)
    if not checks and not states and judged is None:
        return VerificationSection(available=False)
    return VerificationSection(
        available=True,
        checks=tuple(
            {
                "attribute": attribute,
                "value": facts.value(attribute),
                "outcome": row.get("outcome"),
                "checks": list(row.get("checks") or ()),
                "facts": dict(row.get("facts") or {}),
                "checked_at": _iso(row.get("checked_at")),
            }
            for attribute, row in sorted(checks.items())
        ),
        states=tuple(
            {
                "attribute": attribute,
                "state": row.get("status"),
                "verified_by": row.get("verified_by"),
                "verified_at": _iso(row.get("verified_at")),
                "method": row.get("method"),
                "evidence": row.get("evidence"),
                "due_at": _iso(row.get("due_at")),
            }
            for attribute, row in sorted(states.items())
        ),
        consistency=tuple(
            {
                "aspect": item.get("aspect"),
                "left": item.get("left"),
                "right": item.get("right"),
                "outcome": item.get("verdict"),
                "detail": item.get("detail"),
            }
            for item in (judged or {}).get("consistency") or ()
        ),
        score=(
            {
                "score": judged.get("score"),
                "band": judged.get("band"),
                "policy_version": judged.get("policy_version"),
                "reasons": list(judged.get("reasons") or ()),
                "computed_at": _iso(judged.get("computed_at")),
            }
            if judged is not None
            else None
        ),
        flags=tuple(
            {
                "code": item.get("flag"),
                "severity": item.get("severity"),
                "detail": item.get("text"),
            }
            for item in (judged or {}).get("flags") or ()
        ),
        note="computed" if judged is not None else "not scored yet",
    )


__all__ = ["stored_verification"]
