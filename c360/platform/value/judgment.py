"""The value judgment kept current: RFM, CLV, tier, stage, tags, satisfaction,
sentiment and loyalty of the customers of each indexer batch (the ``value``
refresher in :data:`c360.platform.judgments.REFRESHERS`), and of everyone after
a refit (``c360 value refresh``).

Incremental: a batch reads only its customers' events and ranks them against
the population cut points stored with the CLV model in force, so a new order
moves one customer's RFM, stage and tier without touching anyone else.

Every tier or stage that changes is written to ``value_change`` (the value
timeline) with the rule and its reason, and — unless it is the customer's first
assignment — recorded as a ``customer.tier_changed`` / ``customer.stage_changed``
business event in the same transaction. Idempotent: scoring the same inputs at
the same time writes the same row and no change.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, delete, insert, select

from c360.platform.business_events import record_event
from c360.platform.customers.ids import for_every_live_customer
from c360.platform.sql import chunks
from c360.platform.value.inputs import active_customers, day_number, read_inputs, value_now
from c360.platform.value.model_store import load_model
from c360.platform.value.models import value_change, value_score
from c360.platform.value.rfm import summarize
from c360.platform.value.rules import Rules, load_rules
from c360.platform.value.scoring import Model, Scores, score
from c360.platform.value.sentiment import mean_sentiment

__all__ = ["refresh_all", "refresh_value", "value_refresher"]

RULE_COLUMNS = (
    "kind",
    "risk_grade",
    "marketing_consent",
    "online_orders",
    "store_orders",
    "previous_stage",
    "province",
    "city",
    "industry",
    "job_title",
)


def _num(value: Any) -> float | None:
    v = float(value)
    return None if math.isnan(v) or math.isinf(v) else round(v, 6)


def _previous(conn: Connection, ids: list[int]) -> dict[int, tuple[str, str]]:
    found: dict[int, tuple[str, str]] = {}
    for part in chunks(ids):
        for cid, stage, tier in conn.execute(
            select(value_score.c.customer_id, value_score.c.stage, value_score.c.tier).where(
                value_score.c.customer_id.in_(part)
            )
        ):
            found[int(cid)] = (str(stage), str(tier))
    return found


def refresh_value(
    conn: Connection,
    customer_ids: Collection[int],
    *,
    now: datetime | None = None,
    rules: Rules | None = None,
    model: Model | None = None,
) -> dict[int, tuple[str, str]]:
    """Score these customers and store the result; returns ``{id: (stage, tier)}``
    for the active ones. Merged-away and unknown ids lose their score."""
    now = now or value_now()
    rules = rules or load_rules()
    live, gone = active_customers(conn, customer_ids)
    for part in chunks(gone):
        conn.execute(delete(value_score).where(value_score.c.customer_id.in_(part)))
    if not live:
        return {}
    model = model or load_model(conn)
    previous = _previous(conn, live)
    inputs = read_inputs(
        conn, live, online_channels=rules.online_channels, previous=previous, now=now
    )
    as_of = day_number(now)
    ids = np.asarray(live, dtype=np.int64)
    full = summarize(
        inputs.order_customer, inputs.order_day, inputs.order_amount, as_of=as_of, customers=ids
    )
    window = summarize(
        inputs.order_customer,
        inputs.order_day,
        inputs.order_amount,
        as_of=as_of,
        customers=ids,
        window_days=rules.window_days,
    )
    csat, csat_n, sentiment, sentiment_n = [], [], [], []
    for cid in live:
        ratings = list(inputs.ratings.get(cid, ()))
        mean, answers = inputs.survey.get(cid, (0.0, 0))
        total = sum(ratings) + mean * answers
        count = len(ratings) + answers
        csat.append(total / count if count else math.nan)
        csat_n.append(count)
        s, n = mean_sentiment(inputs.texts.get(cid, ()))
        sentiment.append(math.nan if s is None else s)
        sentiment_n.append(n)
    extra = {name: inputs.column(name) for name in RULE_COLUMNS}
    extra["csat"] = np.asarray(csat, dtype=np.float64)
    extra["sentiment"] = np.asarray(sentiment, dtype=np.float64)
    cuts = model.cuts.get("rules") or {name: math.nan for name in rules.cuts}
    scored = score(full, window, model, rules, extra, cuts=cuts)
    rows = _rows(live, full, scored, rules, model, inputs, now, csat_n, sentiment_n)
    for part in chunks(live):
        conn.execute(delete(value_score).where(value_score.c.customer_id.in_(part)))
    for batch in chunks(rows, 500):
        conn.execute(insert(value_score), batch)
    _record_changes(conn, rows, previous, rules, now)
    return {row["customer_id"]: (row["stage"], row["tier"]) for row in rows}


def _interests(rules: Rules, texts: list[str]) -> list[str]:
    joined = " ".join(texts).lower()
    return [name for name, words in rules.interests.items() if any(w in joined for w in words)]


def _rows(
    live: list[int],
    full: Any,
    scored: Scores,
    rules: Rules,
    model: Model,
    inputs: Any,
    now: datetime,
    csat_n: list[int],
    sentiment_n: list[int],
) -> list[dict[str, Any]]:
    c = scored.columns
    epoch = datetime(1970, 1, 1, tzinfo=now.tzinfo)
    rows = []
    for i, cid in enumerate(live):
        first = full.first[i]
        last = full.last[i]
        wait = c["next_purchase_days"][i]
        nps_answers = inputs.nps.get(cid, [])
        tier_rule = rules.tiers[int(scored.tier_rule[i])]
        stage_rule = rules.stages[int(scored.stage_rule[i])]
        rows.append(
            {
                "customer_id": cid,
                "model_version": model.version,
                "rules_version": rules.version,
                "as_of": now,
                "window_days": rules.window_days,
                "first_order_at": None if math.isnan(first) else epoch + timedelta(days=first),
                "last_order_at": None if math.isnan(last) else epoch + timedelta(days=last),
                "recency_days": _num(c["recency_days"][i]),
                "frequency": int(c["frequency"][i]),
                "monetary": round(float(c["monetary"][i]), 2),
                "r_score": int(c["r_score"][i]),
                "f_score": int(c["f_score"][i]),
                "m_score": int(c["m_score"][i]),
                "p_alive": _num(c["p_alive"][i]),
                "expected_purchases_90d": _num(c["expected_purchases_90d"][i]),
                "next_purchase_at": None
                if math.isnan(wait) or math.isnan(last)
                else now + timedelta(days=float(wait)),
                "expected_order_value": _num(c["expected_order_value"][i]),
                "clv_12m": _num(c["clv_12m"][i]),
                "tier": str(scored.tier[i]),
                "stage": str(scored.stage[i]),
                "tags": scored.tags_of(i),
                "interests": _interests(
                    rules, inputs.order_texts.get(cid, []) + inputs.texts.get(cid, [])
                ),
                "csat": _num(c["csat"][i]),
                "csat_answers": csat_n[i],
                "nps": round(sum(nps_answers) / len(nps_answers), 3) if nps_answers else None,
                "nps_answers": len(nps_answers),
                "sentiment": _num(c["sentiment"][i]),
                "sentiment_texts": sentiment_n[i],
                "repeat_rate": _num(c["repeat_rate"][i]),
                "tenure_days": _num(c["tenure_days"][i]),
                "reasons": {
                    "tier": {"rule": tier_rule["name"], "reason": tier_rule["reason"]},
                    "stage": {"rule": stage_rule["name"], "reason": stage_rule["reason"]},
                },
                "computed_at": now,
            }
        )
    return rows


def _record_changes(
    conn: Connection,
    rows: list[dict[str, Any]],
    previous: dict[int, tuple[str, str]],
    rules: Rules,
    now: datetime,
) -> None:
    changes = []
    for row in rows:
        before = previous.get(row["customer_id"])
        for kind, index in (("stage", 0), ("tier", 1)):
            old = before[index] if before else None
            if old == row[kind]:
                continue
            why = row["reasons"][kind]
            changes.append(
                {
                    "customer_id": row["customer_id"],
                    "kind": kind,
                    "from_value": old,
                    "to_value": row[kind],
                    "rule": why["rule"],
                    "reason": why["reason"],
                    "rules_version": rules.version,
                    "at": now,
                }
            )
            if old is not None:  # a first assignment is on the timeline, not a webhook
                record_event(
                    conn,
                    f"customer.{kind}_changed",
                    row["customer_id"],
                    {"from": old, "to": row[kind], "rule": why["rule"]},
                    at=now,
                )
    for part in chunks(changes, 500):
        conn.execute(insert(value_change), part)


def value_refresher(conn: Connection, customer_ids: Collection[int]) -> None:
    """The ``value`` refresher the indexer calls before reading documents."""
    refresh_value(conn, customer_ids)


def refresh_all(
    engine: Engine, *, now: datetime | None = None, batch: int = 2000, rules: Rules | None = None
) -> int:
    """Rescore every active customer under the model in force, ``batch`` customers
    per transaction, as of ``now`` (default :func:`~.inputs.value_now`); returns how many."""
    with engine.connect() as conn:
        model = load_model(conn)
    in_force = rules or load_rules()
    return for_every_live_customer(
        engine,
        lambda conn, part: refresh_value(conn, part, now=now, rules=in_force, model=model),
        batch=batch,
    )
