"""Data for the credit tests: a synthetic population whose defaults follow its
features (so a scorecard can learn them), and customers in a real database."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert

from c360.platform import tables as t
from c360.platform.models import utcnow
from c360.platform.risk.features import feature_names


def population(n: int = 1500, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    """Every built-in feature; defaults driven by age, overdue notices, payment
    delay, bureau score, court listings and authenticity, with noise."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: np.full(n, np.nan) for name in feature_names()})
    org = rng.random(n) < 0.3
    frame["is_organization"] = org.astype(float)
    frame.loc[~org, "age_years"] = rng.uniform(20, 70, (~org).sum()).round(1)
    frame.loc[org, "years_in_business"] = rng.uniform(0, 30, org.sum()).round(1)
    frame.loc[org, "registered_capital_wan"] = np.round(10 ** rng.uniform(1, 4, org.sum()), 1)
    frame["known_attributes"] = rng.integers(2, 12, n).astype(float)
    frame["verified_attributes"] = rng.integers(0, 4, n).astype(float)
    has_bureau = rng.random(n) < 0.6
    frame.loc[has_bureau, "bureau_score"] = rng.integers(350, 900, has_bureau.sum())
    frame.loc[has_bureau, "bureau_overdue"] = rng.poisson(0.5, has_bureau.sum())
    frame.loc[has_bureau, "bureau_defaults"] = rng.poisson(0.1, has_bureau.sum())
    frame.loc[has_bureau, "court_listings"] = (rng.random(has_bureau.sum()) < 0.08).astype(float)
    frame["orders_12m"] = rng.poisson(4, n).astype(float)
    frame["order_value_12m"] = np.round(rng.gamma(2, 3000, n), 2)
    frame["invoices"] = rng.integers(1, 13, n).astype(float)
    frame["overdue_events"] = rng.poisson(0.6, n).astype(float)
    frame["payment_delay_days"] = np.round(rng.gamma(2, 6, n), 1)
    # its own stream: the other features draw as they did before it was added
    frame["authenticity_score"] = np.random.default_rng(seed + 1).integers(20, 100, n) * 1.0
    logit = (
        -2.4
        + 0.55 * frame["overdue_events"]
        + 0.05 * (frame["payment_delay_days"] - 12)
        + 0.03 * np.maximum(0, 35 - frame["age_years"].fillna(40))
        - 0.004 * (frame["bureau_score"].fillna(620) - 620)
        + 1.2 * frame["court_listings"].fillna(0)
        - 0.02 * (frame["authenticity_score"] - 60)
        + rng.normal(0, 0.5, n)
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, y


def customer(engine: Engine, kind: str, **attributes: Any) -> int:
    """A customer with a golden profile holding ``attributes``."""
    with engine.begin() as conn:
        cid = conn.execute(
            insert(t.customer)
            .values(kind=kind, created_at=utcnow(), updated_at=utcnow())
            .returning(t.customer.c.id)
        ).scalar_one()
        conn.execute(
            insert(t.golden_profile).values(
                customer_id=cid,
                updated_at=utcnow(),
                conflicting=False,
                attributes={k: {"value": v} for k, v in attributes.items()},
            )
        )
    return int(cid)
