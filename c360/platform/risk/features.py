"""The scorecard's inputs, one row of numbers per customer.

Three families, each read in bulk for a batch of customers:

* **profile** (golden attributes): organization or person, age, years in business,
  registered capital, how many attributes are known and verified, and the
  authenticity score (:mod:`c360.platform.verification`: do the sources agree,
  do the documents check out, is anything flagged), whose refresher runs before
  credit's;
* **bureau** (the latest :class:`~c360.platform.connector_tables.CreditResult`):
  score, overdue and default counts, court listings (被执行人 / 失信被执行人),
  registration status (注销 / 吊销 count as closed);
* **behaviour** (:mod:`.outcomes`): orders and their value over the last year,
  invoices, overdue notices, payment delay.

A value that is not known is ``nan``: the binning gives "missing" its own bin,
so not knowing is scored for what it is worth rather than guessed.

Other judgments join through :data:`EXTRA_FEATURES`: a ``(name, label, reader)``
whose reader returns ``{customer_id: value}`` for a batch. A model stores the
feature names it was trained on, so adding one never changes a model in force.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from c360.platform import tables as t
from c360.platform.bureau import latest_results, listing_count, registration_closed
from c360.platform.normalize import NormalizationError
from c360.platform.normalize.amounts import normalize_amount
from c360.platform.risk.outcomes import Behaviour, behaviour_of
from c360.platform.sql import chunks
from c360.platform.verification.models import authenticity_score


@dataclass(frozen=True, slots=True)
class Feature:
    """One input: its name, how staff read it, and how its value is said."""

    name: str
    label: str
    unit: str = ""
    words: tuple[str, ...] = ()
    """for a 0/1 feature, what 0 and 1 mean"""

    def say(self, value: float | str | None) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return f"{self.label}: not known"
        if self.words and isinstance(value, int | float) and value in (0, 1):
            return f"{self.label}: {self.words[int(value)]}"
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, float):
            value = round(value, 1)
        return f"{self.label}: {value}{self.unit}"


FEATURES: tuple[Feature, ...] = (
    Feature("is_organization", "customer kind", words=("person", "organization")),
    Feature("age_years", "age", " years"),
    Feature("years_in_business", "years in business", " years"),
    Feature("registered_capital_wan", "registered capital", " 万元"),
    Feature("known_attributes", "profile attributes on record"),
    Feature("verified_attributes", "verified profile attributes"),
    Feature("authenticity_score", "authenticity score (0-100)"),
    Feature("bureau_score", "bureau credit score"),
    Feature("bureau_overdue", "overdue accounts at the bureau"),
    Feature("bureau_defaults", "defaults at the bureau"),
    Feature("court_listings", "court enforcement / dishonest-debtor listings"),
    Feature(
        "registration_closed",
        "business registration",
        words=("in business (存续)", "cancelled or revoked (注销/吊销)"),
    ),
    Feature("orders_12m", "orders in the last 12 months"),
    Feature("order_value_12m", "order value in the last 12 months", " 元"),
    Feature("invoices", "invoices issued"),
    Feature("overdue_events", "overdue notices on our books"),
    Feature("payment_delay_days", "average days from invoice to payment", " days"),
)
"""The built-in features, in model order."""

Reader = Callable[[Connection, Collection[int]], Mapping[int, float]]
EXTRA_FEATURES: list[tuple[Feature, Reader]] = []
"""Features other judgments contribute (see the module docstring)."""


def feature(name: str) -> Feature:
    for f in (*FEATURES, *(f for f, _ in EXTRA_FEATURES)):
        if f.name == name:
            return f
    return Feature(name, name.replace("_", " "))


def feature_names() -> list[str]:
    return [f.name for f in FEATURES] + [f.name for f, _ in EXTRA_FEATURES]


def features_of(
    conn: Connection, customer_ids: Collection[int], *, now: datetime
) -> tuple[dict[int, dict[str, float]], dict[int, Behaviour]]:
    """Each (unmerged, existing) customer's features, and their behaviour (whose
    ``bad`` is the outcome a model learns)."""
    cu, gp = t.customer, t.golden_profile
    rows: dict[int, dict[str, float]] = {}
    kinds: dict[int, str] = {}
    profiles: dict[int, dict[str, Any]] = {}
    ids = sorted({int(c) for c in customer_ids})
    for part in chunks(ids):
        for cid, kind, attrs in conn.execute(
            select(cu.c.id, cu.c.kind, gp.c.attributes)
            .outerjoin(gp, gp.c.customer_id == cu.c.id)
            .where(cu.c.id.in_(part), cu.c.merged_into.is_(None))
        ):
            kinds[cid] = kind
            profiles[cid] = attrs or {}
    bureau = latest_results(conn, kinds)
    authenticity = _authenticity_scores(conn, list(kinds))
    behaviour = behaviour_of(conn, list(kinds), now=now)
    today = now.date()
    for cid, kind in kinds.items():
        attrs = profiles[cid]
        b = behaviour[cid]
        result = bureau.get(cid)
        registration = (result or {}).get("registration") or {}
        row = {
            "is_organization": 1.0 if kind == "organization" else 0.0,
            "age_years": _years_since(_value(attrs, "birth_date"), today)
            if kind == "person"
            else math.nan,
            "years_in_business": _years_since(
                registration.get("established") or _value(attrs, "established"), today
            )
            if kind == "organization"
            else math.nan,
            "registered_capital_wan": capital_wan(
                registration.get("registered_capital") or _value(attrs, "registered_capital")
            ),
            "known_attributes": float(sum(1 for v in attrs.values() if v.get("value"))),
            "verified_attributes": float(sum(1 for v in attrs.values() if v.get("verified"))),
            "authenticity_score": authenticity.get(cid, math.nan),
            "bureau_score": _num((result or {}).get("score")),
            "bureau_overdue": _num((result or {}).get("overdue_count")),
            "bureau_defaults": _num((result or {}).get("default_count")),
            "court_listings": float(listing_count(result)) if result else math.nan,
            "registration_closed": _closed(registration.get("status")),
            "orders_12m": float(b.orders_12m),
            "order_value_12m": round(b.order_value_12m, 2),
            "invoices": float(b.invoices),
            "overdue_events": float(b.overdue),
            "payment_delay_days": math.nan
            if b.payment_delay_days is None
            else round(b.payment_delay_days, 2),
        }
        rows[cid] = row
    for extra, read in EXTRA_FEATURES:
        values = read(conn, list(rows))
        for cid, row in rows.items():
            row[extra.name] = float(values.get(cid, math.nan))
    return rows, {cid: behaviour[cid] for cid in rows}


def _authenticity_scores(conn: Connection, ids: list[int]) -> dict[int, float]:
    """The stored authenticity score of each customer judged (none: ``nan``)."""
    found: dict[int, float] = {}
    for part in chunks(sorted(ids)):
        for cid, score in conn.execute(
            select(authenticity_score.c.customer_id, authenticity_score.c.score).where(
                authenticity_score.c.customer_id.in_(part)
            )
        ):
            found[int(cid)] = float(score)
    return found


def _value(attrs: Mapping[str, Any], name: str) -> Any:
    item = attrs.get(name)
    return item.get("value") if isinstance(item, dict) else None


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def _years_since(value: Any, today: date) -> float:
    if value is None:
        return math.nan
    match = _DATE.search(str(value))
    if not match:
        return math.nan
    try:
        then = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return math.nan
    years = (today - then).days / 365.25
    return round(years, 1) if years >= 0 else math.nan


def capital_wan(value: Any) -> float:
    """Registered capital in 万元 (``500万元``, ``5000000``, ``1.2亿``)."""
    if value is None or value == "":
        return math.nan
    try:
        return round(normalize_amount(value) / 10_000, 2)
    except NormalizationError:
        return math.nan


def _closed(status: Any) -> float:
    if not status:
        return math.nan
    return 1.0 if registration_closed(status) else 0.0
