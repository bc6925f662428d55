"""The scheduled refresh of a credit source: the customers whose latest result
for a purpose has expired, and the watchlist's organizations, looked up again
under the daily budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from c360.connectors.base import SourceConfigError, TransientSourceError
from c360.connectors.credit.enrich import (
    BudgetExhausted,
    EnrichmentRefused,
    credit_source,
    enrich_customer,
    lookup,
)
from c360.connectors.credit.results import RESULTS
from c360.connectors.http import RemoteApiError
from c360.platform.models import utcnow


@dataclass(slots=True)
class RefreshReport:
    """What one scheduled refresh of a credit source did."""

    source: str
    looked_up: int = 0
    cached: int = 0
    refused: int = 0
    failed: int = 0
    reasons: list[str] = field(default_factory=list)


def refresh_stale(
    engine: Engine,
    source_name: str,
    *,
    now: datetime | None = None,
    limit: int = 100,
    actor: str = "c360-scheduler",
) -> RefreshReport:
    """Look up again the customers whose latest result for a purpose has expired
    (their legal basis is checked again; refused ones are counted, not retried),
    and the watchlist's organizations; stops at the daily budget."""
    now = now or utcnow()
    name, config = credit_source(engine, source_name)
    report = RefreshReport(source=name)
    latest = (
        select(
            RESULTS.c.customer_id,
            RESULTS.c.subject_kind,
            RESULTS.c.purpose,
            func.max(RESULTS.c.expires_at).label("expires_at"),
        )
        .where(RESULTS.c.source_name == name, RESULTS.c.customer_id.is_not(None))
        .group_by(RESULTS.c.customer_id, RESULTS.c.subject_kind, RESULTS.c.purpose)
        .subquery()
    )
    with engine.connect() as conn:
        stale = conn.execute(
            select(latest.c.customer_id, latest.c.purpose)
            .where(latest.c.expires_at <= now)
            .order_by(latest.c.expires_at)
            .limit(limit)
        ).all()
    jobs: list[tuple[str, Any, str]] = [("customer", cid, purpose) for cid, purpose in stale]
    jobs += [("watch", code, config.watch_purpose) for code in config.watchlist]
    for what, subject, purpose in jobs[:limit]:
        try:
            if what == "customer":
                outcome = enrich_customer(
                    engine, subject, purpose=purpose, actor=actor, source_name=name, now=now
                )
            else:
                outcome = lookup(
                    engine,
                    "organization",
                    subject,
                    purpose=purpose,
                    actor=actor,
                    source_name=name,
                    now=now,
                )
        except BudgetExhausted as exc:
            report.refused += 1
            report.reasons.append(str(exc))
            break
        except EnrichmentRefused as exc:
            report.refused += 1
            report.reasons.append(str(exc))
            continue
        except (RemoteApiError, TransientSourceError, SourceConfigError) as exc:
            report.failed += 1
            report.reasons.append(str(exc))
            continue
        if outcome.outcome == "cached":
            report.cached += 1
        else:
            report.looked_up += 1
    return report
