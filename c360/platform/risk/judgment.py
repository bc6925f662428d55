"""The credit judgment kept current: score, grade, decision and alerts for the
customers of each indexer batch (registered in
:data:`c360.platform.judgments.REFRESHERS`), for every customer
(``c360 credit score --all``) and for those with new bureau answers (the
scheduler tick).

Idempotent: the same inputs give the same score row, no new recommendation and
no new alert.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, delete, func, insert, select

from c360.platform.connector_tables import CreditResult
from c360.platform.customers.ids import for_every_live_customer
from c360.platform.models import utcnow
from c360.platform.risk.alerts import watch
from c360.platform.risk.decisions import Policy, load_policy, record_recommendation
from c360.platform.risk.features import feature, features_of
from c360.platform.risk.model_store import load_model
from c360.platform.risk.models import credit_score, credit_watch
from c360.platform.risk.scorecard import REASONS_SHOWN, score_frame
from c360.platform.sql import chunks
from c360.platform.tables import table_of

RESULTS = table_of(CreditResult)
SYSTEM_ACTOR = "c360-credit"


def factors_of(
    names: list[str], values: Mapping[str, Any], points: np.ndarray, bins: list[str]
) -> list[dict[str, Any]]:
    """Every factor of one customer, the costliest first, in words staff can read out."""
    out = []
    for j, name in enumerate(names):
        value = values.get(name)
        p = float(points[j])
        out.append(
            {
                "feature": name,
                "value": None
                if value is None or (isinstance(value, float) and math.isnan(value))
                else value,
                "bin": bins[j],
                "points": p,
                "text": f"{feature(name).say(value)} ({p:+.1f} points)",
            }
        )
    out.sort(key=lambda f: (f["points"], f["feature"]))
    return out


def reasons(factors: list[dict[str, Any]], limit: int = REASONS_SHOWN) -> list[dict[str, Any]]:
    """The reason codes: the factors that cost a point or more, the costliest first."""
    return [f for f in factors if f["points"] <= -1.0][:limit]


def refresh_credit(
    conn: Connection,
    customer_ids: Collection[int],
    *,
    now: datetime | None = None,
    policy: Policy | None = None,
    actor: str = SYSTEM_ACTOR,
    recommend: bool = True,
) -> dict[int, str | None]:
    """Score, decide (unless ``recommend`` is false) and watch these customers;
    returns their grades."""
    now = now or utcnow()
    ids = sorted({int(c) for c in customer_ids})
    if not ids:
        return {}
    features, behaviour = features_of(conn, ids, now=now)
    gone = [c for c in ids if c not in features]
    if gone:  # merged away or unknown: their judgment goes with them
        conn.execute(delete(credit_score).where(credit_score.c.customer_id.in_(gone)))
        conn.execute(delete(credit_watch).where(credit_watch.c.customer_id.in_(gone)))
    model = load_model(conn)
    live = sorted(features)
    grades: dict[int, str | None] = dict.fromkeys(live)
    rows: list[dict[str, Any]] = []
    if model is None:
        rows = [
            {
                "customer_id": c,
                "model_version": None,
                "status": "no_model",
                "features": _jsonable(features[c]),
                "factors": [],
                "computed_at": now,
            }
            for c in live
        ]
    elif live:
        spec = model["spec"]
        # Loaded with the first customer scored, not by every process that
        # imports the credit judgment (pandas costs a third of a second).
        import pandas as pd

        frame = pd.DataFrame([features[c] for c in live], index=live)
        for entry in spec["features"]:
            if entry["name"] not in frame:
                frame[entry["name"]] = math.nan
        scored = score_frame(spec, frame)
        policy = policy or load_policy()
        labels = [e["bins"] for e in spec["features"]]
        for i, cid in enumerate(live):
            bins = [
                labels[j][scored.bins[i, j]]
                if 0 <= scored.bins[i, j] < len(labels[j])
                else "unseen"
                for j in range(len(labels))
            ]
            grade = str(scored.grades[i])
            grades[cid] = grade
            points = float(scored.points[i])
            rows.append(
                {
                    "customer_id": cid,
                    "model_version": model["version"],
                    "status": "scored",
                    "points": points,
                    "grade": grade,
                    "pd": round(float(scored.pd[i]), 6),
                    "base_points": scored.base_points,
                    "factors": factors_of(
                        scored.names, features[cid], scored.factor_points[i], bins
                    ),
                    "features": _jsonable(features[cid]),
                    "computed_at": now,
                }
            )
            if not recommend:
                continue
            f = features[cid]
            rec = policy.recommend(
                grade,
                points,
                spec["grade_cuts"],
                kind="organization" if f["is_organization"] == 1.0 else "person",
                capital_wan=f.get("registered_capital_wan"),
                exposure=behaviour[cid].exposure,
            )
            record_recommendation(
                conn,
                cid,
                rec,
                model_version=model["version"],
                policy_version=policy.version,
                points=points,
                exposure=behaviour[cid].exposure,
                decided_by=actor,
                only_if_changed=True,
            )
    if rows:
        conn.execute(delete(credit_score).where(credit_score.c.customer_id.in_(live)))
        conn.execute(insert(credit_score), rows)
    watch(conn, live, grades, now=now)
    return grades


def judgment_refresher(conn: Connection, customer_ids: Collection[int]) -> None:
    """The refresher :mod:`c360.platform.judgments` runs for each indexer batch."""
    refresh_credit(conn, customer_ids)


def score_all(engine: Engine, *, batch: int = 2000, now: datetime | None = None) -> int:
    """Refresh every unmerged customer; returns how many were looked at."""
    return for_every_live_customer(
        engine, lambda conn, part: refresh_credit(conn, part, now=now), batch=batch
    )


def with_new_bureau_answers(conn: Connection) -> list[int]:
    """Customers whose latest bureau answer monitoring has not looked at yet."""
    newest = (
        select(RESULTS.c.customer_id, func.max(RESULTS.c.id).label("result_id"))
        .where(RESULTS.c.customer_id.is_not(None), RESULTS.c.found.is_(True))
        .group_by(RESULTS.c.customer_id)
        .subquery()
    )
    rows = conn.execute(
        select(newest.c.customer_id)
        .outerjoin(credit_watch, credit_watch.c.customer_id == newest.c.customer_id)
        .where(
            (credit_watch.c.bureau_result_id.is_(None))
            | (credit_watch.c.bureau_result_id < newest.c.result_id)
        )
    ).scalars()
    return sorted(int(r) for r in rows)


def monitor(engine: Engine, *, now: datetime | None = None) -> int:
    """The scheduler's pass: refresh the customers with new bureau answers;
    returns how many there were."""
    with engine.connect() as conn:
        ids = with_new_bureau_answers(conn)
    for part in chunks(ids, 2000):
        with engine.begin() as conn:
            refresh_credit(conn, part, now=now)
    return len(ids)


def _jsonable(row: Mapping[str, float]) -> dict[str, float | None]:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}


def current_score(conn: Connection, customer_id: int) -> dict[str, Any] | None:
    row = (
        conn.execute(select(credit_score).where(credit_score.c.customer_id == customer_id))
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def decide(
    conn: Connection,
    customer_id: int,
    *,
    actor: str,
    policy: Policy | None = None,
    exposure: float | None = None,
    now: datetime | None = None,
) -> int:
    """Score the customer now and record the policy's recommendation (always, even
    when it says what the last one said: staff asked); returns the decision id."""
    if exposure is not None and (not math.isfinite(exposure) or exposure < 0):
        raise ValueError("exposure: expected an amount ≥ 0")
    now = now or utcnow()
    refresh_credit(conn, [customer_id], now=now, policy=policy, recommend=False)
    score = current_score(conn, customer_id)
    if score is None:
        raise LookupError(f"no customer with id {customer_id} (or it was merged)")
    policy = policy or load_policy()
    features, behaviour = features_of(conn, [customer_id], now=now)
    f = features[customer_id]
    model = load_model(conn, score["model_version"]) if score["model_version"] else None
    owed = behaviour[customer_id].exposure if exposure is None else exposure
    rec = policy.recommend(
        score["grade"],
        score["points"],
        model["spec"]["grade_cuts"] if model else None,
        kind="organization" if f["is_organization"] == 1.0 else "person",
        capital_wan=f.get("registered_capital_wan"),
        exposure=owed,
    )
    decision_id = record_recommendation(
        conn,
        customer_id,
        rec,
        model_version=score["model_version"],
        policy_version=policy.version,
        points=score["points"],
        exposure=owed,
        decided_by=actor,
    )
    assert decision_id is not None
    return decision_id


def grades_of(conn: Connection, customer_ids: Collection[int]) -> dict[int, str]:
    """The current credit grade of each scored customer (for the search index)."""
    found: dict[int, str] = {}
    for part in chunks(sorted({int(c) for c in customer_ids})):
        for cid, grade in conn.execute(
            select(credit_score.c.customer_id, credit_score.c.grade).where(
                credit_score.c.customer_id.in_(part), credit_score.c.grade.is_not(None)
            )
        ):
            found[int(cid)] = str(grade)
    return found
