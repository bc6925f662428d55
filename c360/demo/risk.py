"""The demo's repayment histories and its first credit model.

An accounts-receivable system (the ``ledger`` source, 应收账款) knows a share of
the demo's people and companies as its own customer records — with the id
number or USCC, name and phone, so identity resolution links them to the
customers already there — and their invoices, payments, overdue notices and
defaults as events. Whether someone defaults depends on who they are: younger
people, people without an e-mail address, companies with little registered
capital or few years of trading pay later and default more, with noise, so a
scorecard has something real to learn and cannot learn it perfectly.

:func:`prepare_credit` lands the histories and trains and activates a model;
the indexer then scores every customer (the credit judgment); :func:`credit_figures`
reports what came out.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from c360.platform import tables as t
from c360.platform.ingest import Ingestor
from c360.platform.records import IncomingRecord
from c360.platform.risk.features import capital_wan
from c360.platform.risk.models import credit_decision, credit_score
from c360.platform.risk.scorecard import ModelRefused
from c360.platform.risk.training import train_from_outcomes
from c360.platform.sources import save_source

LEDGER = "ledger"
SHARE = 0.8
"""The share of customers the receivables system knows."""


def _years(text: Any, today: datetime) -> float | None:
    try:
        born = datetime.fromisoformat(str(text)[:10]).replace(tzinfo=UTC)
    except ValueError:
        return None
    return (today - born).days / 365.25


def risk_logit(kind: str, attributes: dict[str, Any], rng: random.Random, now: datetime) -> float:
    """The hidden log-odds of defaulting within the history, from attributes + noise."""
    logit = -2.3 + rng.gauss(0.0, 0.3)
    if kind == "person":
        age = _years(attributes.get("birth_date"), now)
        if age is not None:
            logit += max(0.0, 35 - age) * 0.12 - max(0.0, age - 60) * 0.02
        if not attributes.get("email"):
            logit += 1.0
        if not attributes.get("address"):
            logit += 0.3
    else:
        capital = attributes.get("registered_capital_wan")
        if capital is not None:
            logit += 0.9 - 0.35 * math.log10(max(capital, 1.0))
        else:
            logit += 0.5
    return logit


def repayment_events(
    subject: str, logit: float, rng: random.Random, now: datetime, months: int = 12
) -> list[IncomingRecord]:
    """A monthly invoicing history whose payment delays and default follow ``logit``."""
    p_default = 1 / (1 + math.exp(-logit))
    monthly_default = 1 - (1 - p_default) ** (1 / months)
    records: list[IncomingRecord] = []
    start = now - timedelta(days=30 * months)
    amount_scale = rng.lognormvariate(8.5, 0.8)
    for month in range(months):
        issued = start + timedelta(days=30 * month, hours=rng.randrange(0, 72))
        amount = round(amount_scale * rng.uniform(0.6, 1.4), 2)
        n = len(records)

        def event(kind: str, at: datetime, value: float | None, n: int = n) -> IncomingRecord:
            fields: dict[str, Any] = {
                "event_type": kind,
                "occurred_at": at.isoformat(),
                "subject_external_id": subject,
                "subject_stream": "accounts",
                "channel": "receivables",
            }
            if value is not None:
                fields["amount"] = value
                fields["currency"] = "CNY"
            return IncomingRecord(
                stream="receivables",
                external_id=f"{subject}-{n:03d}-{kind}",
                kind="event",
                fields=fields,
                raw=dict(fields),
            )

        records.append(event("invoice", issued, amount))
        if issued > now - timedelta(days=5):
            break
        if rng.random() < monthly_default:
            records.append(event("overdue", issued + timedelta(days=31), amount))
            records.append(event("default", issued + timedelta(days=91), amount))
            break
        delay = rng.expovariate(1 / max(3.0, 12 + 9 * logit + 6))
        if delay > 30:
            records.append(event("overdue", issued + timedelta(days=31), amount))
        paid_at = issued + timedelta(days=delay)
        if paid_at < now:
            records.append(event("payment", paid_at, amount))
    return records


def ledger_records(engine: Engine, seed: int, now: datetime) -> list[IncomingRecord]:
    """The receivables system's customers and their events."""
    rng = random.Random(seed * 7919 + 17)
    cu, gp = t.customer, t.golden_profile
    with engine.connect() as conn:
        rows = conn.execute(
            select(cu.c.id, cu.c.kind, gp.c.attributes)
            .join(gp, gp.c.customer_id == cu.c.id)
            .where(cu.c.merged_into.is_(None))
            .order_by(cu.c.id)
        ).all()
    records: list[IncomingRecord] = []
    for cid, kind, attrs in rows:
        values = {k: v.get("value") for k, v in (attrs or {}).items()}
        key = "id_number" if kind == "person" else "uscc"
        if not values.get("name") or not (values.get(key) or values.get("phone")):
            continue
        if rng.random() > SHARE:
            continue
        subject = f"AR{cid:06d}"
        fields = {k: values[k] for k in ("name", key, "phone") if values.get(k)}
        records.append(
            IncomingRecord(
                stream="accounts", external_id=subject, kind=kind, fields=fields, raw=dict(fields)
            )
        )
        features = dict(values)
        capital = capital_wan(values.get("registered_capital"))
        features["registered_capital_wan"] = None if math.isnan(capital) else capital
        records.extend(repayment_events(subject, risk_logit(kind, features, rng, now), rng, now))
    return records


def prepare_credit(engine: Engine, seed: int, *, now: datetime | None = None) -> list[str]:
    """Land the receivables histories, train a model on them and put it in force;
    lines for the demo's output."""
    now = now or datetime.now(UTC)
    save_source(engine, LEDGER, "offline", {}, trust=70)
    records = ledger_records(engine, seed, now)
    with engine.begin() as conn:
        counts = Ingestor(LEDGER).ingest(conn, records)
    lines = [
        f"receivables: {sum(1 for r in records if r.kind != 'event'):,} accounts, "
        f"{sum(1 for r in records if r.kind == 'event'):,} events landed ({counts.new:,} new)"
    ]
    try:
        version, validation, _ = train_from_outcomes(
            engine, actor="c360-demo", activate_it=True, note="demo receivables", now=now
        )
    except ModelRefused as refused:
        lines.append(f"credit model not trained: {refused}")
        return lines
    lines.append(
        f"credit model v{version}: auc={validation.auc:.3f} auc_std={validation.auc_std:.3f} "
        f"ks={validation.ks:.3f} ({validation.folds}-fold, active)"
    )
    return lines


def credit_figures(engine: Engine) -> list[str]:
    """Scores, the grade distribution and the limits the policy gives."""
    with engine.connect() as conn:
        grades: Counter[str] = Counter(
            dict(
                conn.execute(
                    select(credit_score.c.grade, func.count())
                    .where(credit_score.c.status == "scored")
                    .group_by(credit_score.c.grade)
                ).all()
            )
        )
        latest = (
            select(func.max(credit_decision.c.id))
            .group_by(credit_decision.c.customer_id)
            .scalar_subquery()
        )
        limits = conn.execute(
            select(
                credit_decision.c.grade,
                func.count(),
                func.sum(credit_decision.c.credit_limit),
                func.sum(func.cast(credit_decision.c.manual_review, t.customer.c.id.type)),
            )
            .where(credit_decision.c.id.in_(latest))
            .group_by(credit_decision.c.grade)
            .order_by(credit_decision.c.grade)
        ).all()
    scored = sum(grades.values())
    lines = [
        f"credit: {scored:,} customers scored; grades "
        + " ".join(f"{g}={grades.get(g, 0):,}" for g in "ABCDE")
    ]
    for grade, n, total, review in limits:
        lines.append(
            f"  grade {grade}: {n:,} decisions, limits total {float(total or 0):,.0f} CNY, "
            f"{int(review or 0):,} for manual review"
        )
    return lines
