"""Verification state per attribute of a customer, kept current:

``unverified``       nobody has vouched for the value (no row is stored: the
                     absence of a row is ``unverified``)
``verified_source``  a source vouches for it (``IncomingRecord.verified_fields``:
                     a phone confirmed by SMS, an id checked by the bureau)
``verified_staff``   a staff member verified it: who, when, how (``method``)
                     and a reference to the evidence
``failed``           its checks fail, or staff found it false

Each verified state is due for re-verification after the policy's interval for
its attribute (``reverify_days``). A state applies to one value (by digest): when
the golden value changes, the state starts again from the new value's checks.

:func:`verify_attribute` is the staff action (GraphQL ``verifyAttribute``, ``c360
verify attribute``), audited and recorded as a ``verification.changed`` business
event; :func:`overdue_verifications` lists verifications past due and customers
whose credit-bureau answer has expired (what the scheduler refreshes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, select

from c360.platform import tables as t
from c360.platform.audit import append
from c360.platform.business_events import record_event
from c360.platform.connector_tables import CreditResult
from c360.platform.customers.ids import survivor_of
from c360.platform.golden import queue_for_index
from c360.platform.models import utcnow
from c360.platform.stewardship import Actor
from c360.platform.tables import table_of
from c360.platform.verification.checks import CheckedValue
from c360.platform.verification.models import verification_state
from c360.platform.verification.policy import VerificationPolicy, load_policy

STATUSES = ("unverified", "verified_source", "verified_staff", "failed")
VERIFIABLE: tuple[str, ...] = (
    "name",
    "id_number",
    "uscc",
    "phone",
    "email",
    "address",
    "birth_date",
    "legal_representative",
)
"""Attributes that carry a verification state."""
METHODS: tuple[str, ...] = (
    "document_seen",
    "video_call",
    "callback",
    "sms_code",
    "bank_card",
    "registry_lookup",
    "site_visit",
    "other",
)
"""How staff verify (``--how``)."""
MAX_EVIDENCE = 512
SYSTEM_ACTOR = "c360-checks"
"""Who a state failed by its own checks names (``verified_by``)."""
RESULTS = table_of(CreditResult)


class VerificationError(ValueError):
    """A staff verification that cannot be recorded; ``argument`` names the input."""

    def __init__(self, argument: str, reason: str) -> None:
        super().__init__(f"{argument}: {reason}")
        self.argument = argument
        self.reason = reason


def value_digest(value: Any) -> str:
    """sha256 of a value as text: what a state is tied to (not the value)."""
    return hashlib.sha256(str(value).encode("utf-8")).hexdigest()


def _aware(at: datetime | None) -> datetime | None:
    if at is None or at.tzinfo is not None:
        return at
    return at.replace(tzinfo=UTC)  # SQLite gives naive UTC back


def _source_of(item: Mapping[str, Any]) -> str | None:
    for entry in item.get("lineage") or ():
        if entry.get("verified"):
            return str(entry.get("source") or entry.get("source_name") or "") or None
    return None


def next_states(
    customer_id: int,
    golden: Mapping[str, Any],
    checks: Mapping[str, CheckedValue],
    existing: Mapping[str, Mapping[str, Any]],
    *,
    now: datetime,
    policy: VerificationPolicy,
) -> list[dict[str, Any]]:
    """The state rows of one customer given its golden profile and checks: a
    staff decision on the same value stands; otherwise failed checks → ``failed``,
    a vouching source → ``verified_source`` (its first date kept), else
    ``unverified``. Deterministic in its inputs (idempotent)."""
    rows: list[dict[str, Any]] = []
    for attribute in VERIFIABLE:
        item = golden.get(attribute)
        if not isinstance(item, dict) or item.get("value") in (None, ""):
            continue
        value = item["value"]
        digest = value_digest(value)
        old = existing.get(attribute)
        if (
            old is not None
            and old["value_digest"] == digest
            and (
                old["status"] == "verified_staff"
                or (
                    old["status"] == "failed"
                    and not str(old["verified_by"] or "").startswith("c360")
                )
            )
        ):
            rows.append(dict(old))
            continue
        row: dict[str, Any] = {
            "customer_id": customer_id,
            "attribute": attribute,
            "value_digest": digest,
            "verified_by": None,
            "verified_at": None,
            "method": None,
            "evidence": None,
            "reason": None,
            "due_at": None,
            "updated_at": now,
        }
        checked = checks.get(attribute)
        if checked is not None and checked.outcome == "fail":
            failing = next(c for c in checked.checks if c.outcome == "fail")
            row.update(status="failed", verified_by=SYSTEM_ACTOR, reason=failing.reason[:512])
        elif item.get("verified"):
            source = _source_of(item)
            kept = (
                old is not None
                and old["status"] == "verified_source"
                and old["value_digest"] == digest
            )
            at = _aware(old["verified_at"]) if kept and old is not None else now
            row.update(
                status="verified_source",
                verified_by=f"source:{source}" if source else "source",
                verified_at=at,
                method="source",
                due_at=(at or now) + policy.reverify_after(attribute),
            )
        else:
            row.update(status="unverified")
        if old is not None and all(
            _aware(old.get(k)) == _aware(row.get(k))
            if k in ("verified_at", "due_at")
            else old.get(k) == row.get(k)
            for k in ("status", "value_digest", "verified_by", "verified_at", "reason", "due_at")
        ):
            row["updated_at"] = old["updated_at"]  # unchanged: keep its date
        rows.append(row)
    return rows


def states_of(conn: Connection, customer_ids: list[int]) -> dict[int, dict[str, dict[str, Any]]]:
    """Current state rows by customer and attribute."""
    found: dict[int, dict[str, dict[str, Any]]] = {}
    if not customer_ids:
        return found
    for row in conn.execute(
        select(verification_state).where(verification_state.c.customer_id.in_(customer_ids))
    ).mappings():
        found.setdefault(int(row["customer_id"]), {})[row["attribute"]] = dict(row)
    return found


@dataclass(frozen=True, slots=True)
class StaffVerification:
    """What :func:`verify_attribute` recorded."""

    customer_id: int
    attribute: str
    status: str
    verified_by: str
    verified_at: datetime
    method: str
    evidence: str | None
    due_at: datetime | None


def verify_attribute(
    engine: Engine,
    customer_id: int,
    attribute: str,
    actor: Actor,
    *,
    method: str,
    evidence: str | None = None,
    failed: bool = False,
    reason: str | None = None,
    now: datetime | None = None,
    policy: VerificationPolicy | None = None,
) -> StaffVerification:
    """Record that staff verified (or, with ``failed``, refuted) the current value
    of ``attribute`` of the customer ``customer_id`` means now; audited, queued
    for the index (so the score is recomputed) and told as a business event."""
    if attribute not in VERIFIABLE:
        raise VerificationError("attribute", f"must be one of {', '.join(VERIFIABLE)}")
    if method not in METHODS:
        raise VerificationError("how", f"must be one of {', '.join(METHODS)}")
    if evidence is not None:
        evidence = evidence.strip()
        if len(evidence) > MAX_EVIDENCE:
            raise VerificationError("evidence", f"at most {MAX_EVIDENCE} characters")
        if any(ord(c) < 32 for c in evidence):
            raise VerificationError("evidence", "contains control characters")
        evidence = evidence or None
    if failed and not (reason and reason.strip()):
        raise VerificationError("reason", "a failed verification needs a reason")
    policy = policy or load_policy()
    now = now or utcnow()
    with engine.begin() as conn:
        cid = survivor_of(conn, [customer_id]).get(customer_id)
        if cid is None:
            raise VerificationError("customerId", f"customer {customer_id} does not exist")
        attrs = conn.execute(
            select(t.golden_profile.c.attributes).where(t.golden_profile.c.customer_id == cid)
        ).scalar()
        item = (attrs or {}).get(attribute)
        value = item.get("value") if isinstance(item, dict) else None
        if value in (None, ""):
            raise VerificationError("attribute", f"customer {cid} has no {attribute} to verify")
        status = "failed" if failed else "verified_staff"
        due = None if failed else now + policy.reverify_after(attribute)
        row = {
            "customer_id": cid,
            "attribute": attribute,
            "status": status,
            "value_digest": value_digest(value),
            "verified_by": actor.subject[:256],
            "verified_at": now,
            "method": method,
            "evidence": evidence,
            "reason": reason.strip()[:512] if reason else None,
            "due_at": due,
            "updated_at": now,
        }
        conn.execute(
            delete(verification_state).where(
                verification_state.c.customer_id == cid, verification_state.c.attribute == attribute
            )
        )
        conn.execute(insert(verification_state).values(**row))
        append(
            conn,
            [
                actor.entry(
                    "verify",
                    cid,
                    attribute=attribute,
                    method=method,
                    status=status,
                    evidence=evidence,
                )
            ],
        )
        record_event(
            conn,
            "verification.changed",
            cid,
            {"attribute": attribute, "status": status, "method": method},
        )
        queue_for_index(conn, [cid])
    return StaffVerification(cid, attribute, status, actor.subject, now, method, evidence, due)


@dataclass(frozen=True, slots=True)
class Overdue:
    """A verification past due, or a customer whose bureau answer expired."""

    customer_id: int
    attribute: str
    """the attribute, or ``credit_result`` for a stale bureau answer"""
    status: str
    due_at: datetime
    reason: str


def overdue_verifications(
    conn: Connection, *, now: datetime | None = None, limit: int = 1000
) -> list[Overdue]:
    """Verifications past their due date, then customers whose newest bureau
    answer has expired (stale: the scheduler refreshes them), oldest first;
    merged-away customers left out."""
    now = now or utcnow()
    vs, cu = verification_state, t.customer
    found: list[Overdue] = []
    for row in conn.execute(
        select(vs.c.customer_id, vs.c.attribute, vs.c.status, vs.c.due_at)
        .join(cu, cu.c.id == vs.c.customer_id)
        .where(vs.c.due_at.is_not(None), vs.c.due_at < now, cu.c.merged_into.is_(None))
        .order_by(vs.c.due_at, vs.c.customer_id)
        .limit(limit)
    ):
        found.append(
            Overdue(
                int(row.customer_id),
                row.attribute,
                row.status,
                _aware(row.due_at) or now,
                "verification overdue",
            )
        )
    newest = (
        select(RESULTS.c.customer_id, func.max(RESULTS.c.id).label("id"))
        .where(RESULTS.c.customer_id.is_not(None))
        .group_by(RESULTS.c.customer_id)
        .subquery()
    )
    for stale in conn.execute(
        select(RESULTS.c.customer_id, RESULTS.c.expires_at)
        .join(newest, and_(newest.c.id == RESULTS.c.id))
        .join(cu, cu.c.id == RESULTS.c.customer_id)
        .where(RESULTS.c.expires_at < now, cu.c.merged_into.is_(None))
        .order_by(RESULTS.c.expires_at, RESULTS.c.customer_id)
        .limit(max(0, limit - len(found)))
    ):
        found.append(
            Overdue(
                int(stale.customer_id),
                "credit_result",
                "stale",
                _aware(stale.expires_at) or now,
                "credit result stale",
            )
        )
    return found
