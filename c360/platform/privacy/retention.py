"""Retention and destruction (GB/T 35273-2020 §6.1, PIPL art. 19): rules say how
long a source's records, or one attribute of them, are kept; a sweep destroys
what has expired and writes a destruction record (rule, cutoff, counts, times —
never a value).

A whole-record rule deletes the expired records and every row that hangs off
them (the ``record`` steps of :data:`~c360.platform.privacy.erasure.ERASURE`);
an attribute rule removes that attribute from the records and their payload as
received (the raw payload is past retention once a value in it is). Either way
the customers touched get their golden profiles rebuilt, and an attribute's
strong identity keys (which hold normalized values) are recomputed without it.
A purpose rule (``purpose`` from the catalogue, no attribute) destroys what was
fetched for that purpose — the bureau answers of ``credit_result`` and the
shareholders hanging off them — counted from when it was retrieved. Nothing is
put on the suppression list: an expired record may lawfully arrive again.

A sweep works in batches, each its own transaction that also moves the
destruction record's ``last_record_id``; a sweep that dies resumes from there.
It runs on demand (``c360 retention sweep``) and on the scheduler's tick when
:func:`sweep_due` says so (``c360.connectors.retention_schedule``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from c360.platform import tables as t
from c360.platform.audit import AuditEntry, append
from c360.platform.connector_tables import CreditResult, OrgShareholder
from c360.platform.golden import rebuild_golden
from c360.platform.identity_rules import identity_keys
from c360.platform.locks import write_transaction
from c360.platform.models import utcnow
from c360.platform.privacy.erasure import ERASURE, _run
from c360.platform.privacy.models import Destruction, RetentionRule
from c360.platform.privacy.purposes import UnknownPurpose, check_purpose
from c360.platform.records import ORGANIZATION_ATTRIBUTES, PERSON_ATTRIBUTES
from c360.platform.tables import table_of

RULES = table_of(RetentionRule)
CREDIT_RESULTS = table_of(CreditResult)
SHAREHOLDERS = table_of(OrgShareholder)
DESTRUCTIONS = table_of(Destruction)
BATCH = 500


class RetentionError(ValueError):
    """A rule that cannot be recorded; the message names the field."""


def add_rule(
    engine: Engine,
    *,
    days: int,
    created_by: str,
    source_name: str | None = None,
    attribute: str | None = None,
    purpose: str | None = None,
) -> int:
    """Record a retention rule; returns its id."""
    if days < 1:
        raise RetentionError(f"days: must be at least 1, got {days}")
    known = set(PERSON_ATTRIBUTES) | set(ORGANIZATION_ATTRIBUTES)
    if attribute is not None and attribute not in known:
        raise RetentionError(f"attribute: {attribute!r} is not a canonical attribute")
    if purpose is not None:
        try:
            check_purpose(purpose)
        except UnknownPurpose as exc:
            raise RetentionError(f"purpose: {exc}") from None
        if attribute is not None:
            raise RetentionError(
                "purpose: a purpose rule destroys what was fetched for that purpose; "
                "it cannot also name an attribute"
            )
    with write_transaction(engine) as conn:
        if source_name is not None:
            found = conn.execute(select(t.source.c.name).where(t.source.c.name == source_name))
            if found.first() is None:
                raise RetentionError(f"source: no source named {source_name!r}")
        rule_id = conn.execute(
            insert(RULES)
            .values(
                source_name=source_name,
                attribute=attribute,
                days=days,
                purpose=purpose,
                created_by=created_by[:256],
                created_at=utcnow(),
            )
            .returning(RULES.c.id)
        ).scalar_one()
    return int(rule_id)


def list_rules(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(RULES).order_by(RULES.c.id)).mappings()]


def list_destructions(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        stmt = select(DESTRUCTIONS).order_by(DESTRUCTIONS.c.id)
        return [dict(r) for r in conn.execute(stmt).mappings()]


def sweep(
    engine: Engine,
    *,
    actor: str,
    now: datetime | None = None,
    batch: int = BATCH,
    max_batches: int | None = None,
) -> list[dict[str, Any]]:
    """Apply every rule; returns the destruction records written or finished.
    ``max_batches`` stops early (what a crash does), leaving a record to resume."""
    at = now or utcnow()
    done: list[dict[str, Any]] = []
    batches = 0
    for rule in list_rules(engine):
        record = _running(engine, rule, at)
        while record["status"] == "running":
            if max_batches is not None and batches >= max_batches:
                return done
            record = _batch(engine, rule, record, batch, actor)
            batches += 1
        done.append(record)
    return done


def sweep_due(engine: Engine, now: datetime, every: timedelta) -> bool:
    """Whether a scheduled sweep should run: there are rules, and a sweep is
    unfinished (a crash) or none started within ``every``."""
    with engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(RULES)).scalar_one() == 0:
            return False
        unfinished = conn.execute(
            select(func.count()).select_from(DESTRUCTIONS).where(DESTRUCTIONS.c.status == "running")
        ).scalar_one()
        latest = conn.execute(select(func.max(DESTRUCTIONS.c.started_at))).scalar()
    if unfinished or latest is None:
        return True
    if latest.tzinfo is None:  # SQLite keeps no zone: stored as UTC
        latest = latest.replace(tzinfo=now.tzinfo)
    return bool(now - latest >= every)


def _running(engine: Engine, rule: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The rule's unfinished destruction record, else a new one."""
    with write_transaction(engine) as conn:
        found = (
            conn.execute(
                select(DESTRUCTIONS).where(
                    DESTRUCTIONS.c.rule_id == rule["id"], DESTRUCTIONS.c.status == "running"
                )
            )
            .mappings()
            .first()
        )
        if found is not None:
            return dict(found)
        values = {
            "rule_id": rule["id"],
            "status": "running",
            "cutoff": at - timedelta(days=rule["days"]),
            "started_at": utcnow(),
            "last_record_id": 0,
            "counts": {},
        }
        new_id = conn.execute(insert(DESTRUCTIONS).values(**values).returning(DESTRUCTIONS.c.id))
        return {"id": new_id.scalar_one(), **values}


def _batch(
    engine: Engine, rule: dict[str, Any], record: dict[str, Any], size: int, actor: str
) -> dict[str, Any]:
    with write_transaction(engine) as conn:
        conn.info.pop("c360_erasure_columns", None)  # read the schema afresh (erasure)
        if rule["purpose"] is not None:
            ids, counts = _purpose_batch(conn, rule, record, size)
        else:
            ids, counts = _record_batch(conn, rule, record, size)
        finished = len(ids) < size
        values: dict[str, Any] = {
            "last_record_id": ids[-1] if ids else record["last_record_id"],
            "counts": counts,
        }
        if finished:
            values.update(status="done", finished_at=utcnow())
            append(
                conn,
                [
                    AuditEntry(
                        principal=actor,
                        action="retention.destroy",
                        detail={"rule_id": str(rule["id"]), "destruction_id": str(record["id"])},
                        fields=sorted(counts),
                    )
                ],
            )
        conn.execute(update(DESTRUCTIONS).where(DESTRUCTIONS.c.id == record["id"]).values(**values))
    return {**record, **values}


def _purpose_batch(
    conn: Connection, rule: dict[str, Any], record: dict[str, Any], size: int
) -> tuple[list[int], dict[str, int]]:
    """Destroy the next ``size`` expired bureau answers fetched for the rule's purpose."""
    results = CREDIT_RESULTS
    stmt = (
        select(results.c.id)
        .where(
            results.c.id > record["last_record_id"],
            results.c.purpose == rule["purpose"],
            results.c.retrieved_at < record["cutoff"],
        )
        .order_by(results.c.id)
        .limit(size)
    )
    if rule["source_name"] is not None:
        stmt = stmt.where(results.c.source_name == rule["source_name"])
    ids = [int(i) for i in conn.execute(stmt).scalars()]
    counts = dict(record["counts"])
    if ids:
        shareholders = SHAREHOLDERS
        removed = conn.execute(
            delete(shareholders).where(shareholders.c.result_id.in_(ids))
        ).rowcount
        if removed:
            counts["org_shareholder"] = counts.get("org_shareholder", 0) + removed
        removed = conn.execute(delete(results).where(results.c.id.in_(ids))).rowcount
        counts["credit_result"] = counts.get("credit_result", 0) + removed
    return ids, counts


def _record_batch(
    conn: Connection, rule: dict[str, Any], record: dict[str, Any], size: int
) -> tuple[list[int], dict[str, int]]:
    """Destroy the next ``size`` expired source records, or the rule's attribute of them."""
    sr = t.source_record
    stmt = (
        select(sr.c.id, sr.c.kind, sr.c.attributes, sr.c.raw)
        .where(sr.c.id > record["last_record_id"], sr.c.updated_at < record["cutoff"])
        .order_by(sr.c.id)
        .limit(size)
    )
    if rule["source_name"] is not None:
        stmt = stmt.where(sr.c.source_name == rule["source_name"])
    rows = conn.execute(stmt).all()
    ids = [int(r.id) for r in rows]
    customers = _customers(conn, ids)
    counts = dict(record["counts"])
    if rule["attribute"] is None:
        for step in ERASURE:
            if step.by == "record" and step.parent is None:
                removed = _run(conn, step, {"record": ids, "customer": []})
                if removed:
                    counts[step.table] = counts.get(step.table, 0) + removed
    else:
        held = [r for r in rows if rule["attribute"] in (r.attributes or {})]
        for r in held:
            kept = {k: v for k, v in r.attributes.items() if k != rule["attribute"]}
            conn.execute(update(sr).where(sr.c.id == r.id).values(attributes=kept, raw={}))
            _rekey(conn, r.id, r.kind, kept)
        if held:
            name = f"{rule['attribute']}_values"
            counts[name] = counts.get(name, 0) + len(held)
    if customers:
        rebuild_golden(conn, customers)
    return ids, counts


def _rekey(conn: Connection, record_id: int, kind: str, attributes: dict[str, Any]) -> None:
    """The record's strong identity keys (``p:email:<value>``...) without the
    destroyed attribute: the old keys hold its normalized value."""
    keys = t.identity_key
    owner = conn.execute(
        select(keys.c.customer_id).where(keys.c.record_id == record_id).limit(1)
    ).scalar_one_or_none()
    conn.execute(delete(keys).where(keys.c.record_id == record_id))
    if owner is None:
        return
    wanted = identity_keys(kind, attributes)
    if wanted:
        conn.execute(
            insert(keys),
            [{"key": k, "record_id": record_id, "customer_id": owner} for k in wanted],
        )


def _customers(conn: Connection, record_ids: list[int]) -> list[int]:
    if not record_ids:
        return []
    rows = conn.execute(
        select(t.record_link.c.customer_id).where(t.record_link.c.record_id.in_(record_ids))
    ).scalars()
    return sorted(set(int(c) for c in rows))
