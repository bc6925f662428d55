"""Data-subject requests (PIPL arts. 44-47): each export, erasure and restriction
is a ``privacy_request`` row with its deadline, carried out here and audited.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update

from c360.platform import tables as t
from c360.platform.audit import AuditEntry, append
from c360.platform.golden import queue_for_index
from c360.platform.locks import write_transaction
from c360.platform.models import utcnow
from c360.platform.privacy.erasure import ErasureError, erase
from c360.platform.privacy.models import PrivacyRequest
from c360.platform.tables import table_of

REQUESTS = table_of(PrivacyRequest)
KINDS = ("export", "erasure", "restriction")
DEADLINE = timedelta(days=15)
"""How long a request may stay open (GB/T 35273-2020 §8.7: within 15 working
days at most; calendar days here, the stricter reading)."""


def open_request(
    engine: Engine, customer_id: int, kind: str, *, requested_by: str, reason: str | None = None
) -> int:
    """Record a request received now; returns its id."""
    if kind not in KINDS:
        raise ErasureError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    with write_transaction(engine) as conn:
        if (
            conn.execute(select(t.customer.c.id).where(t.customer.c.id == customer_id)).first()
            is None
        ):
            raise ErasureError(f"customer_id: no customer {customer_id}")
        now = utcnow()
        request_id = conn.execute(
            insert(REQUESTS)
            .values(
                customer_id=customer_id,
                kind=kind,
                status="open",
                received_at=now,
                due_at=now + DEADLINE,
                requested_by=requested_by[:256],
                reason=(reason or None) and reason[:512],
                counts={},
            )
            .returning(REQUESTS.c.id)
        ).scalar_one()
        append(
            conn,
            [
                AuditEntry(
                    principal=requested_by,
                    action=f"privacy.{kind}.request",
                    purpose="legal_obligation",
                    customer_id=customer_id,
                    detail={"request_id": str(request_id)},
                )
            ],
        )
        if kind == "restriction":  # in force at once: out of the index too
            queue_for_index(conn, [customer_id])
    return int(request_id)


def request_to_fulfil(
    engine: Engine,
    customer_id: int,
    kind: str,
    request_id: int | None,
    *,
    requested_by: str,
    reason: str | None = None,
) -> int:
    """The request an export or erasure carries out: ``request_id``, a request
    received earlier (it must be open, of this ``kind`` and for this customer),
    or — without one — a new request received now. Carrying out the request
    the customer made closes it, so its deadline is not left running."""
    if request_id is None:
        return open_request(engine, customer_id, kind, requested_by=requested_by, reason=reason)
    with engine.connect() as conn:
        row = conn.execute(select(REQUESTS).where(REQUESTS.c.id == request_id)).first()
    if row is None:
        raise ErasureError(f"request_id: no privacy request {request_id}")
    if row.kind != kind or row.customer_id != customer_id:
        raise ErasureError(
            f"request_id: request {request_id} asks for {row.kind} of customer "
            f"{row.customer_id}, not {kind} of customer {customer_id}"
        )
    if row.status != "open":
        raise ErasureError(f"request_id: request {request_id} is {row.status} already")
    return request_id


def complete(engine: Engine, request_id: int, counts: dict[str, Any]) -> None:
    with write_transaction(engine) as conn:
        conn.execute(
            update(REQUESTS)
            .where(REQUESTS.c.id == request_id)
            .values(status="done", completed_at=utcnow(), counts=counts)
        )


def erase_person(
    engine: Engine,
    customer_id: int,
    *,
    actor: str,
    reason: str | None = None,
    request_id: int | None = None,
) -> tuple[int, dict[str, int]]:
    """Carry out an erasure request — ``request_id``, received earlier, or one
    received now (:func:`request_to_fulfil`); returns its id and counts."""
    request_id = request_to_fulfil(
        engine, customer_id, "erasure", request_id, requested_by=actor, reason=reason
    )
    with write_transaction(engine) as conn:
        counts = erase(
            conn, customer_id, actor=actor, purpose="legal_obligation", request_id=request_id
        )
        conn.execute(
            update(REQUESTS)
            .where(REQUESTS.c.id == request_id)
            .values(status="done", completed_at=utcnow(), counts=counts)
        )
    return request_id, counts


def list_requests(engine: Engine, *, open_only: bool = False) -> list[dict[str, Any]]:
    """Requests, oldest deadline first, with ``overdue`` worked out now."""
    stmt = select(REQUESTS).order_by(REQUESTS.c.due_at, REQUESTS.c.id)
    if open_only:
        stmt = stmt.where(REQUESTS.c.status == "open")
    now = utcnow()
    with engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(stmt).mappings()]
    for row in rows:
        due = row["due_at"]
        if due.tzinfo is None:
            due = due.replace(tzinfo=now.tzinfo)
        row["overdue"] = row["status"] == "open" and due < now
    return rows


def restricted_customers(engine: Engine) -> set[int]:
    """Customers under an open restriction (PIPL art. 47: storage only)."""
    with engine.connect() as conn:
        return set(
            conn.execute(
                select(REQUESTS.c.customer_id).where(
                    REQUESTS.c.kind == "restriction", REQUESTS.c.status == "open"
                )
            ).scalars()
        )
