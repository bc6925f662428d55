"""Stored bureau answers: the cache a lookup answers from, and storing a fresh
answer — the result with its expiry, an organization's shareholders and its
business registration (ingested as a record), the ledger row settled and an
audit entry, all in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update

from c360.connectors.credit.bureau import BureauAnswer, registration_record
from c360.connectors.credit.config import CreditConfig
from c360.connectors.credit.ledger import LEDGER
from c360.connectors.credit.subjects import masked, subject_hash
from c360.platform.audit import AuditEntry, append
from c360.platform.connector_tables import CreditResult, OrgShareholder
from c360.platform.ingest import Ingestor
from c360.platform.locks import write_transaction
from c360.platform.normalize import NormalizationError, normalize_uscc
from c360.platform.source_events import attach_orphan_events
from c360.platform.tables import table_of

RESULTS = table_of(CreditResult)
SHAREHOLDERS = table_of(OrgShareholder)
RESULT_FIELDS = ["credit_score", "credit_band", "court_listings"]
"""The fields of a bureau answer, as the audit log names them."""


@dataclass(slots=True)
class LookupOutcome:
    """What a lookup gave: a fresh or cached result row."""

    outcome: str  # charged | cached
    result: dict[str, Any]
    shareholders: list[dict[str, Any]]
    customer_id: int | None
    cost: float


def cached_result(
    engine: Engine, digest: str, purpose: str, now: datetime
) -> dict[str, Any] | None:
    """The newest unexpired result for this subject digest and purpose, if any."""
    with engine.connect() as conn:
        row = (
            conn.execute(
                select(RESULTS)
                .where(
                    RESULTS.c.subject_hash == digest,
                    RESULTS.c.purpose == purpose,
                    RESULTS.c.expires_at > now,
                )
                .order_by(RESULTS.c.retrieved_at.desc(), RESULTS.c.id.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
    return dict(row) if row is not None else None


def shareholders_of(engine: Engine, result_id: int) -> list[dict[str, Any]]:
    """The shareholders stored with a result, in the order the bureau gave them."""
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                select(SHAREHOLDERS)
                .where(SHAREHOLDERS.c.result_id == result_id)
                .order_by(SHAREHOLDERS.c.id)
            ).mappings()
        ]


def _shareholder_row(item: dict[str, Any]) -> dict[str, Any] | None:
    name = str(item.get("name") or "").strip()
    if not name:
        return None
    kind = str(item.get("type") or "person").lower()
    kind = "organization" if kind in {"enterprise", "organization", "company", "企业"} else "person"
    code = None
    if kind == "organization" and item.get("uscc"):
        try:
            code = normalize_uscc(item["uscc"])
        except NormalizationError:
            code = None
    ratio = item.get("ratio")
    return {
        "shareholder_name": name[:256],
        "shareholder_kind": kind,
        "shareholder_uscc": code,
        "share_ratio": float(ratio) if isinstance(ratio, int | float) else None,
        "subscribed_capital": str(item["subscribed"])[:64] if item.get("subscribed") else None,
    }


def store_answer(
    engine: Engine,
    name: str,
    config: CreditConfig,
    answer: BureauAnswer,
    purpose: str,
    actor: str,
    customer_id: int | None,
    now: datetime,
    reservation: int,
    cost: float,
) -> LookupOutcome:
    """Store a fresh answer and settle its ``reservation`` in the ledger at ``cost``
    (see the module docstring)."""
    ttl = config.ttl_s if answer.found else config.not_found_ttl_s
    row = {
        "source_name": name,
        "provider": config.provider,
        "customer_id": customer_id,
        "subject_kind": answer.subject_kind,
        "subject_hash": subject_hash(answer.subject_kind, answer.subject_id),
        "subject_ref": masked(answer.subject_kind, answer.subject_id),
        "purpose": purpose[:64],
        "found": answer.found,
        "score": answer.score,
        "band": answer.band,
        "overdue_count": answer.overdue_count,
        "overdue_amount": answer.overdue_amount,
        "default_count": answer.default_count,
        "enforcements": answer.enforcements,
        "dishonest": answer.dishonest,
        "registration": answer.registration,
        "request_id": answer.request_id,
        "cost": cost,
        "retrieved_at": now,
        "expires_at": now + timedelta(seconds=ttl),
        "raw": _without_subject(answer.raw),
    }
    record = registration_record(answer)
    with write_transaction(engine) as conn:
        result_id = int(
            conn.execute(insert(RESULTS).values(**row).returning(RESULTS.c.id)).scalar_one()
        )
        holders = [h for h in (_shareholder_row(s) for s in answer.shareholders) if h]
        for holder in holders:
            holder.update(
                result_id=result_id,
                org_uscc=answer.subject_id,
                source_name=name,
                provider=config.provider,
                retrieved_at=now,
            )
        if holders:
            conn.execute(insert(SHAREHOLDERS), holders)
        if record is not None:
            Ingestor(name).ingest(conn, [record])
            attach_orphan_events(conn, name)
        conn.execute(
            update(LEDGER).where(LEDGER.c.id == reservation).values(result_id=result_id, cost=cost)
        )
        append(
            conn,
            [
                AuditEntry(
                    principal=actor,
                    action="credit.lookup",
                    purpose=purpose,
                    customer_id=customer_id,
                    fields=RESULT_FIELDS
                    + (["business_registration"] if answer.registration else []),
                    detail={"source": name, "result_id": result_id, "found": answer.found},
                ),
            ],
        )
    row["id"] = result_id
    return LookupOutcome("charged", row, holders, customer_id, cost)


def _without_subject(raw: dict[str, Any]) -> dict[str, Any]:
    """The bureau's answer without the clear resident id (kept masked elsewhere)."""
    cleaned = dict(raw)
    subject = cleaned.get("subject")
    if isinstance(subject, dict) and "id_number" in subject:
        subject = dict(subject)
        subject.pop("id_number")
        cleaned["subject"] = subject
    return cleaned
