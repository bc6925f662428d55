"""Who a campaign export may include, and the rows it carries.

A customer is in a campaign export only when all hold, checked at export time:

- the purpose ``marketing`` is covered for them now
  (:func:`c360.platform.privacy.consent.covered_customers`: a recorded consent,
  neither expired nor revoked);
- none of their identifiers (phone, e-mail, resident id of the golden profile)
  is on the suppression list (:mod:`c360.platform.privacy.suppression`'s blind
  indexes, under its key);
- their processing is not restricted (an open restriction request,
  :func:`c360.platform.privacy.requests.restricted_customers`).

The rows hold values in clear; masking per the caller's role is the
presentation's job (``c360 segments export`` masks through the policy table
before writing a cell).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from c360.platform import tables as t
from c360.platform.privacy.consent import covered_customers
from c360.platform.privacy.requests import restricted_customers
from c360.platform.privacy.suppression import (
    SUPPRESSION_KEY,
    SUPPRESSIONS,
    any_listed,
    identifier_indexes,
)
from c360.platform.secret_keys import load_key
from c360.platform.sql import chunks
from c360.platform.value.reading import values_of

__all__ = ["EXPORT_COLUMNS", "Audience", "campaign_audience", "export_rows", "suppressed_among"]

CAMPAIGN_PURPOSE = "marketing"

EXPORT_COLUMNS = (
    ("customer_id", "public"),  # an id is a reference, not a personal value
    ("name", "name"),
    ("phone", "phone"),
    ("email", "email"),
    ("province", "public"),
    ("city", "public"),
    ("tier", "public"),
    ("stage", "public"),
    ("rfm", "value_rfm"),
    ("monetary", "value_rfm"),
    ("clv_12m", "value_clv"),
    ("p_alive", "value_clv"),
)
"""Export columns and the policy field each is read under."""


@dataclass(slots=True)
class Audience:
    included: list[int]
    excluded: dict[str, int] = field(default_factory=dict)
    """how many were left out, by reason: no_marketing_consent, suppressed, restricted"""


def _profiles(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    gp = t.golden_profile
    found: dict[int, dict[str, Any]] = {}
    for part in chunks(ids):
        for cid, attributes in conn.execute(
            select(gp.c.customer_id, gp.c.attributes).where(gp.c.customer_id.in_(part))
        ):
            found[int(cid)] = {k: (v or {}).get("value") for k, v in (attributes or {}).items()}
    return found


def suppressed_among(conn: Connection, customer_ids: Collection[int]) -> set[int]:
    """The customers among these one of whose identifiers is on the suppression list."""
    ids = sorted({int(c) for c in customer_ids})
    if not ids or not any_listed(conn):
        return set()
    key = load_key(SUPPRESSION_KEY)
    owners: dict[str, set[int]] = {}
    for cid, attributes in _profiles(conn, ids).items():
        for _, digest in identifier_indexes(attributes, key=key):
            owners.setdefault(digest, set()).add(cid)
    hit: set[int] = set()
    for part in chunks(sorted(owners)):
        for digest in conn.execute(
            select(SUPPRESSIONS.c.digest).where(SUPPRESSIONS.c.digest.in_(part))
        ).scalars():
            hit |= owners[str(digest)]
    return hit


def campaign_audience(engine: Engine, customer_ids: Collection[int], now: datetime) -> Audience:
    """Which of these customers a marketing export may include, and why not the others."""
    ids = sorted({int(c) for c in customer_ids})
    with engine.connect() as conn:
        covered = covered_customers(conn, ids, CAMPAIGN_PURPOSE, now)
        suppressed = suppressed_among(conn, covered)
    restricted = restricted_customers(engine) & (covered - suppressed)
    included = sorted(covered - suppressed - restricted)
    return Audience(
        included=included,
        excluded={
            "no_marketing_consent": len(ids) - len(covered),
            "suppressed": len(suppressed),
            "restricted": len(restricted),
        },
    )


def export_rows(conn: Connection, customer_ids: Collection[int]) -> list[dict[str, Any]]:
    """One row per customer, in clear, with :data:`EXPORT_COLUMNS` and the
    customer's kind (for the policy's person/organization distinction)."""
    ids = sorted({int(c) for c in customer_ids})
    profiles = _profiles(conn, ids)
    values = values_of(conn, ids)
    kinds = {
        int(c): str(k)
        for part in chunks(ids)
        for c, k in conn.execute(
            select(t.customer.c.id, t.customer.c.kind).where(t.customer.c.id.in_(part))
        )
    }
    rows = []
    for cid in ids:
        p = profiles.get(cid, {})
        v = values.get(cid, {})
        rows.append(
            {
                "customer_id": cid,
                "kind": kinds.get(cid, "person"),
                "name": p.get("name"),
                "phone": p.get("phone"),
                "email": p.get("email"),
                "province": p.get("province"),
                "city": p.get("city"),
                "tier": v.get("tier"),
                "stage": v.get("stage"),
                "rfm": f"{v['r_score']}{v['f_score']}{v['m_score']}" if v else None,
                "monetary": v.get("monetary"),
                "clv_12m": v.get("clv_12m"),
                "p_alive": v.get("p_alive"),
            }
        )
    return rows
