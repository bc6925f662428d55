"""The CLV model as versioned data: fitted on every customer's orders, stored
with its parameters and the population cut points, never replaced silently —
a refit is a new version, the old one is retired and kept, and each score
names the version it came from.

:func:`refit` is what the scheduler tick calls when the model in force is older
than ``rules.clv.refit_every_hours`` (or there is none), and what ``c360 value
refit`` runs. Too few repeat buyers for a fit (``rules.clv.min_repeat_customers``)
still stores a version: without BG/NBD parameters, but with the RFM and rule cut
points, so tiers rank customers against the population from the start.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, func, insert, select, update

from c360.platform import tables as t
from c360.platform.customers.ids import live_customer_ids
from c360.platform.models import utcnow
from c360.platform.value.bgnbd import BgNbd, fit_bgnbd
from c360.platform.value.gamma_gamma import GammaGamma, fit_gamma_gamma
from c360.platform.value.inputs import ORDER_TYPES, day_number, value_now
from c360.platform.value.models import value_model
from c360.platform.value.rfm import History, summarize
from c360.platform.value.rules import Rules, load_rules
from c360.platform.value.scoring import Model, population_cuts, rfm_cuts, score

__all__ = ["fit_population", "load_model", "model_due", "population_histories", "refit"]

NO_MODEL = Model(version=None, bgnbd=None, spend=None, cuts={})


def load_model(conn: Connection) -> Model:
    """The active model (the newest), or one with nothing fitted."""
    row = conn.execute(
        select(value_model)
        .where(value_model.c.status == "active")
        .order_by(value_model.c.version.desc())
        .limit(1)
    ).first()
    if row is None:
        return NO_MODEL
    params = row.params or {}
    bg = params.get("bgnbd")
    gg = params.get("gamma_gamma")
    return Model(
        version=int(row.version),
        bgnbd=BgNbd(**bg) if bg else None,
        spend=GammaGamma(**gg) if gg else None,
        cuts=_loaded_cuts(params.get("cuts") or {}),
    )


def _loaded_cuts(cuts: dict[str, Any]) -> dict[str, Any]:
    """Cut points as stored, with JSON's null (no buyers) back as NaN."""
    rules = {k: (math.nan if v is None else float(v)) for k, v in (cuts.get("rules") or {}).items()}
    return {**cuts, "rules": rules}


def model_due(conn: Connection, now: datetime, rules: Rules | None = None) -> bool:
    """Whether the model in force is missing or older than the refit interval."""
    rules = rules or load_rules()
    newest = conn.execute(
        select(func.max(value_model.c.fitted_at)).where(value_model.c.status == "active")
    ).scalar()
    if newest is None:
        return True
    if newest.tzinfo is None:
        newest = newest.replace(tzinfo=now.tzinfo)
    return now - newest >= timedelta(hours=float(rules.clv.get("refit_every_hours", 24)))


def repeat_buyers(conn: Connection) -> int:
    """How many customers have two or more order events (an upper bound of the
    repeat customers a fit would see: orders on one day count once there)."""
    ev = t.event
    per_customer = (
        select(ev.c.customer_id)
        .where(ev.c.event_type.in_(ORDER_TYPES), ev.c.customer_id.is_not(None))
        .group_by(ev.c.customer_id)
        .having(func.count() >= 2)
        .subquery()
    )
    return int(conn.execute(select(func.count()).select_from(per_customer)).scalar() or 0)


def population_histories(
    conn: Connection, now: datetime, rules: Rules
) -> tuple[History, History, int]:
    """Every active customer's full and windowed purchase history, and how many
    customers there are (buyers or not)."""
    cu, ev = t.customer, t.event
    owner = func.coalesce(cu.c.merged_into, cu.c.id)
    customer, day, amount = [], [], []
    for who, at, value in conn.execute(
        select(owner, ev.c.occurred_at, ev.c.amount)
        .join(cu, cu.c.id == ev.c.customer_id)
        .where(ev.c.event_type.in_(ORDER_TYPES), ev.c.occurred_at.is_not(None))
    ):
        customer.append(int(who))
        day.append(day_number(at))
        amount.append(float(value) if value is not None else 0.0)
    ids = np.asarray(live_customer_ids(conn), dtype=np.int64)
    as_of = day_number(now)
    full = summarize(customer, day, amount, as_of=as_of, customers=ids)
    window = summarize(
        customer, day, amount, as_of=as_of, customers=ids, window_days=rules.window_days
    )
    return full, window, int(ids.size)


def _clean(values: dict[str, float]) -> dict[str, float | None]:
    return {k: (None if math.isnan(v) else v) for k, v in values.items()}


def fit_population(full: History, window: History, rules: Rules) -> dict[str, Any]:
    """Fit the two models on these histories and compute the cut points: the
    ``params`` of a :class:`~.models.ValueModel` row."""
    buyers = full.occasions > 0
    repeaters = int((full.repeats > 0).sum())
    minimum = int(rules.clv.get("min_repeat_customers", 20))
    bg: BgNbd | None = None
    gg: GammaGamma | None = None
    notes = []
    if repeaters >= minimum:
        bg = fit_bgnbd(full.repeats[buyers], full.t_x[buyers], full.age[buyers])
        try:
            gg = fit_gamma_gamma(full.repeats[buyers], full.repeat_value[buyers])
        except ValueError as error:
            notes.append(f"gamma-gamma not fitted: {error}")
    else:
        notes.append(f"{repeaters} repeat customers, fewer than {minimum}: no CLV fit")
    recency = np.where(buyers, full.recency_days, np.nan)
    rfm = rfm_cuts(window, recency)
    model = Model(version=None, bgnbd=bg, spend=gg, cuts={"rfm": rfm})
    n = full.customers.size
    empty = np.zeros(n)
    extra = {
        "kind": np.full(n, "person", dtype=object),
        "risk_grade": np.full(n, "", dtype=object),
        "marketing_consent": np.zeros(n, dtype=bool),
        "online_orders": empty,
        "store_orders": empty,
        "previous_stage": np.full(n, "", dtype=object),
        "csat": np.full(n, np.nan),
        "sentiment": np.full(n, np.nan),
        **{name: np.full(n, "", dtype=object) for name in ("province", "city", "industry")},
        "job_title": np.full(n, "", dtype=object),
    }
    no_cuts = {k: math.nan for k in rules.cuts}
    scored = score(full, window, model, rules, extra, cuts=no_cuts)
    expected = np.asarray(scored.columns["expected_purchases_90d"], dtype=np.float64)[buyers]
    if bg is not None and not np.isfinite(expected).all():
        # Buyers too alike (one purchase rhythm for all) send the fit to the edge
        # of its range, where the expectations overflow: no CLV beats a NaN one.
        unusable = int((~np.isfinite(expected)).sum())
        notes.append(
            f"BG/NBD fit unusable: no finite expected purchases for {unusable} of "
            f"{expected.size} buyers (their purchase histories too alike to tell "
            "customers apart); no CLV fit"
        )
        bg = None
        model = Model(version=None, bgnbd=None, spend=gg, cuts={"rfm": rfm})
        scored = score(full, window, model, rules, extra, cuts=no_cuts)
    cuts = population_cuts(scored.columns, rules)
    return {
        "bgnbd": bg.as_dict() if bg else None,
        "gamma_gamma": gg.as_dict() if gg else None,
        "cuts": {"rfm": rfm, "rules": _clean(cuts)},
        "rules_version": rules.version,
        "notes": notes,
        "buyers": int(buyers.sum()),
        "repeat_customers": repeaters,
    }


def refit(
    engine: Engine,
    *,
    now: datetime | None = None,
    actor: str = "c360-value",
    rules: Rules | None = None,
) -> int:
    """Fit a new model version on everyone's orders as of ``now`` (default
    :func:`~.inputs.value_now`) and make it the active one; returns its version.
    ``fitted_at`` is the real time, so the refit schedule follows the clock."""
    now = now or value_now()
    rules = rules or load_rules()
    with engine.connect() as conn:
        full, window, customers = population_histories(conn, now, rules)
    params = fit_population(full, window, rules)
    params["as_of"] = now.isoformat()
    with engine.begin() as conn:
        version = (
            int(
                conn.execute(select(func.coalesce(func.max(value_model.c.version), 0))).scalar()
                or 0
            )
            + 1
        )
        conn.execute(
            update(value_model).where(value_model.c.status == "active").values(status="retired")
        )
        conn.execute(
            insert(value_model).values(
                version=version,
                status="active",
                fitted_at=utcnow(),
                fitted_by=actor,
                customers=customers,
                repeat_customers=params["repeat_customers"],
                params=params,
            )
        )
    return version
