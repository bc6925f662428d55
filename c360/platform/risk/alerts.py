"""Alerts: the changes in a customer's credit standing that staff must look at.

:func:`watch` compares what it sees now — the latest bureau answer, the overdue
events on our books, the grade — with what it saw last (:class:`~.models.CreditWatch`)
and raises, once each:

``court_listing``        a new court enforcement (被执行人) or dishonest-debtor (失信) listing
``registration_status``  the business registration turned 注销 / 吊销 (cancelled, revoked)
``score_drop``           the bureau score fell by ``SCORE_DROP`` points or more
``new_overdue``          new overdue events
``grade_change``         our grade changed

The first look at a customer sets the baseline: listings and a closed registration
are raised then too (they matter whenever they are first seen), the rest need a
before. Each alert has a dedupe key, so recomputing never raises it twice, and is
recorded as a ``credit.alert`` business event in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from c360.platform.audit import AuditEntry, append
from c360.platform.bureau import latest_results, registration_closed
from c360.platform.business_events import record_event
from c360.platform.models import utcnow
from c360.platform.risk.models import credit_alert, credit_watch
from c360.platform.risk.outcomes import behaviour_of

SCORE_DROP = 50
"""A bureau score fall, in the bureau's points, that raises an alert."""
ALERT_KINDS = ("court_listing", "registration_status", "score_drop", "new_overdue", "grade_change")
_GRADE_ORDER = "ABCDE"


def listing_keys(result: Mapping[str, Any] | None) -> list[str]:
    """A stable key per court listing (its case number, else a digest of it)."""
    keys = []
    for kind in ("enforcements", "dishonest"):
        for item in (result or {}).get(kind) or []:
            ref = item.get("case_no") if isinstance(item, dict) else None
            if not ref:
                ref = hashlib.sha256(
                    json.dumps(item, sort_keys=True, ensure_ascii=False).encode()
                ).hexdigest()[:16]
            keys.append(f"{kind}:{ref}")
    return sorted(set(keys))


def raise_alert(
    conn: Connection,
    customer_id: int,
    kind: str,
    severity: str,
    message: str,
    detail: Mapping[str, Any],
    dedupe_key: str,
    *,
    at: datetime | None = None,
) -> int | None:
    """Store an alert unless one with ``dedupe_key`` exists; its id, or ``None``."""
    exists = conn.execute(
        select(credit_alert.c.id).where(credit_alert.c.dedupe_key == dedupe_key)
    ).first()
    if exists is not None:
        return None
    at = at or utcnow()
    alert_id = int(
        conn.execute(
            insert(credit_alert)
            .values(
                customer_id=customer_id,
                kind=kind,
                severity=severity,
                message=message[:512],
                detail=dict(detail),
                dedupe_key=dedupe_key[:160],
                raised_at=at,
            )
            .returning(credit_alert.c.id)
        ).scalar_one()
    )
    record_event(
        conn,
        "credit.alert",
        customer_id,
        {"alert_id": alert_id, "kind": kind, "severity": severity},
        at=at,
    )
    return alert_id


def watch(
    conn: Connection,
    customer_ids: Collection[int],
    grades: Mapping[int, str | None],
    *,
    now: datetime,
) -> list[int]:
    """Compare each customer with what was last seen, raise what changed, remember
    the new state; returns the ids of the alerts raised."""
    ids = sorted({int(c) for c in customer_ids})
    if not ids:
        return []
    seen = {
        r["customer_id"]: dict(r)
        for r in conn.execute(
            select(credit_watch).where(credit_watch.c.customer_id.in_(ids))
        ).mappings()
    }
    bureau = latest_results(conn, ids)
    behaviour = behaviour_of(conn, ids, now=now)
    raised: list[int] = []
    for cid in ids:
        before = seen.get(cid)
        result = bureau.get(cid)
        listings = listing_keys(result)
        status = ((result or {}).get("registration") or {}).get("status")
        score = (result or {}).get("score")
        overdue = behaviour[cid].overdue
        grade = grades.get(cid)

        def alert(
            kind: str, severity: str, message: str, key: str, cid: int = cid, **detail: Any
        ) -> None:
            found = raise_alert(
                conn, cid, kind, severity, message, detail, f"{cid}:{kind}:{key}", at=now
            )
            if found is not None:
                raised.append(found)

        old_listings = set(before["listings"]) if before else set()
        for key in listings:
            if key not in old_listings:
                kind = "dishonest-debtor" if key.startswith("dishonest") else "court enforcement"
                alert(
                    "court_listing",
                    "high",
                    f"new {kind} listing at the bureau",
                    key,
                    listing=key.split(":", 1)[0],
                    result_id=result["id"] if result else None,
                )
        closed = registration_closed(status)
        was_closed = registration_closed((before or {}).get("registration_status"))
        if closed and not was_closed:
            alert(
                "registration_status",
                "high",
                f"business registration is now {status}",
                f"{status}:{result['id'] if result else ''}",
                status=str(status),
            )
        if before is not None:
            old_score = before["bureau_score"]
            if old_score is not None and score is not None and old_score - score >= SCORE_DROP:
                alert(
                    "score_drop",
                    "medium",
                    f"bureau score fell from {old_score} to {score}",
                    f"{result['id'] if result else ''}",
                    before=old_score,
                    after=score,
                )
            if overdue > before["overdue_events"]:
                alert(
                    "new_overdue",
                    "medium",
                    f"{overdue - before['overdue_events']} new overdue event(s)",
                    str(overdue),
                    before=before["overdue_events"],
                    after=overdue,
                )
            if grade is not None and before["grade"] is not None and grade != before["grade"]:
                worse = _GRADE_ORDER.index(grade) > _GRADE_ORDER.index(before["grade"])
                alert(
                    "grade_change",
                    "medium" if worse else "low",
                    f"credit grade {'fell' if worse else 'rose'} from {before['grade']} to {grade}",
                    f"{before['grade']}>{grade}:{now.isoformat()}",
                    before=before["grade"],
                    after=grade,
                )
        state = {
            "bureau_result_id": result["id"] if result else None,
            "bureau_score": score,
            "listings": listings,
            "registration_status": str(status)[:32] if status else None,
            "overdue_events": overdue,
            "grade": grade if grade is not None else (before or {}).get("grade"),
            "seen_at": now,
        }
        if before is None:
            conn.execute(insert(credit_watch).values(customer_id=cid, **state))
        elif any(before[k] != v for k, v in state.items() if k != "seen_at"):
            conn.execute(
                update(credit_watch).where(credit_watch.c.customer_id == cid).values(**state)
            )
    return raised


ALERT_STATES = ("open", "acknowledged", "all")


def _alert_conditions(
    state: str, customer_ids: Collection[int] | None, kind: str | None
) -> list[Any]:
    if kind is not None and kind not in ALERT_KINDS:
        raise ValueError(f"kind: {kind!r} is not one of {', '.join(ALERT_KINDS)}")
    if state not in ALERT_STATES:
        raise ValueError(f"state: {state!r} is not one of {', '.join(ALERT_STATES)}")
    where: list[Any] = []
    if state == "open":
        where.append(credit_alert.c.acknowledged_at.is_(None))
    elif state == "acknowledged":
        where.append(credit_alert.c.acknowledged_at.is_not(None))
    if customer_ids is not None:
        where.append(credit_alert.c.customer_id.in_(sorted(customer_ids)))
    if kind is not None:
        where.append(credit_alert.c.kind == kind)
    return where


def list_alerts(
    conn: Connection,
    *,
    open_only: bool = True,
    customer_id: int | None = None,
    kind: str | None = None,
    limit: int = 100,
    state: str | None = None,
    customer_ids: Collection[int] | None = None,
    before_id: int | None = None,
) -> list[dict[str, Any]]:
    """Alerts, newest first: ``state`` open / acknowledged / all (default: open
    when ``open_only``), of one customer or of ``customer_ids`` (a customer and
    the ids merged into it), of one ``kind``; ``before_id`` pages on."""
    if customer_id is not None:
        customer_ids = [customer_id, *(customer_ids or ())]
    where = _alert_conditions(state or ("open" if open_only else "all"), customer_ids, kind)
    if before_id is not None:
        where.append(credit_alert.c.id < before_id)
    query = select(credit_alert).where(*where).order_by(credit_alert.c.id.desc()).limit(limit)
    return [dict(r) for r in conn.execute(query).mappings()]


def count_alerts(
    conn: Connection,
    *,
    state: str = "open",
    customer_ids: Collection[int] | None = None,
    kind: str | None = None,
) -> int:
    """How many alerts :func:`list_alerts` would list over every page."""
    where = _alert_conditions(state, customer_ids, kind)
    return int(
        conn.execute(select(func.count()).select_from(credit_alert).where(*where)).scalar_one()
    )


def get_alert(conn: Connection, alert_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(credit_alert).where(credit_alert.c.id == alert_id)).mappings().first()
    return dict(row) if row is not None else None


def count_open(conn: Connection) -> int:
    return int(
        conn.execute(
            select(func.count()).where(credit_alert.c.acknowledged_at.is_(None))
        ).scalar_one()
    )


def acknowledge(
    conn: Connection, alert_id: int, *, actor: str, note: str = "", purpose: str = "risk_control"
) -> dict[str, Any]:
    """Mark an alert as seen by staff (once; a second time is an error naming who did)."""
    row = conn.execute(select(credit_alert).where(credit_alert.c.id == alert_id)).mappings().first()
    if row is None:
        raise LookupError(f"no credit alert with id {alert_id}")
    if row["acknowledged_at"] is not None:
        raise ValueError(
            f"alert {alert_id} was already acknowledged by {row['acknowledged_by']} "
            f"at {row['acknowledged_at']:%Y-%m-%d %H:%M}"
        )
    at = utcnow()
    conn.execute(
        update(credit_alert)
        .where(credit_alert.c.id == alert_id)
        .values(acknowledged_at=at, acknowledged_by=actor[:256], acknowledgement=note[:512])
    )
    append(
        conn,
        [
            AuditEntry(
                principal=actor,
                action="credit.alert.acknowledge",
                purpose=purpose,
                customer_id=row["customer_id"],
                detail={"alert_id": alert_id, "kind": row["kind"]},
            )
        ],
    )
    return {**dict(row), "acknowledged_at": at, "acknowledged_by": actor, "acknowledgement": note}
