"""Why are these records one customer?

:func:`explain_customer` reads each link's stored evidence: the rule that made
it, or the model version, the record it matched and every comparison's level
and weight (bits) — the prior plus the weights is the match weight, whose
probability is the link's stored score. Values shown beside each comparison are
read from the two records now (the evidence itself stores no personal data).

It follows merge redirects: ask with any id ever handed out. How customers are
related is :mod:`c360.platform.customers.relationships`' to say.

Values are returned in clear; callers that serve people (GraphQL) apply their
own field policy and masking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, or_, select

from c360.platform import tables as t
from c360.platform.customers.ids import UnknownCustomerError, absorbed_by, survivor
from c360.platform.matching.features import Features, record_features
from c360.platform.matching.model import PairScore
from c360.platform.matching.store import load_model
from c360.platform.matching.tables import constraint, flag


@dataclass(frozen=True, slots=True)
class ComparisonWeight:
    """One comparison of a scored link."""

    comparison: str
    level: str
    weight: float
    """bits of evidence, term-frequency adjustment included"""
    tf_adjustment: float = 0.0
    values: tuple[str | None, str | None] = (None, None)
    """the compared values: this record's, the matched record's"""


@dataclass(frozen=True, slots=True)
class LinkExplanation:
    """Why one source record belongs to the customer."""

    record_id: int
    source: str
    stream: str
    external_id: str
    method: str
    """``rule:<name>``, ``probabilistic``, ``manual:…``, or ``new`` (it started the customer)"""
    rule: str | None
    probability: float
    """the stored score: 1.0 for rules and manual links"""
    match_weight: float | None = None
    prior_weight: float | None = None
    comparisons: tuple[ComparisonWeight, ...] = ()
    matched_record_id: int | None = None
    model_version: int | None = None
    linked_at: datetime | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    """the stored evidence as is"""


@dataclass(frozen=True, slots=True)
class Explanation:
    """Every link of a customer, the ids merged into it, its constraints and flags."""

    customer_id: int
    requested_id: int
    merged_ids: tuple[int, ...]
    links: tuple[LinkExplanation, ...]
    constraints: tuple[dict[str, Any], ...] = ()
    flags: tuple[dict[str, Any], ...] = ()


def _values(
    features: Features, other: Features | None, comparison: str, settings: Any
) -> tuple[str | None, str | None]:
    for c in settings.comparisons:
        if c.name == comparison:
            names = [c.feature] + [lv.feature for lv in c.levels if lv.feature]
            names += [lv.other_feature for lv in c.levels if lv.other_feature]
            mine = next((features[n] for n in names if n in features), None)
            theirs = next((other[n] for n in names if other and n in other), None)
            return mine, theirs
    return None, None


def explain_customer(engine: Engine, customer_id: int) -> Explanation:
    """The evidence for every record of a customer (any id, redirects followed)."""
    sr, rl = t.source_record, t.record_link
    with engine.connect() as conn:
        active = survivor(conn, customer_id)
        merged = tuple(absorbed_by(conn, [active])[active])
        rows = conn.execute(
            select(
                sr.c.id,
                sr.c.kind,
                sr.c.source_name,
                sr.c.stream,
                sr.c.external_id,
                sr.c.attributes,
                rl.c.method,
                rl.c.score,
                rl.c.evidence,
                rl.c.linked_at,
            )
            .join(rl, rl.c.record_id == sr.c.id)
            .where(rl.c.customer_id == active)
            .order_by(sr.c.id)
        ).all()
        matched_ids = {
            int(r.evidence["matched_record_id"])
            for r in rows
            if (r.evidence or {}).get("matched_record_id") is not None
        }
        others = {
            rid: record_features(kind, attributes or {})
            for rid, kind, attributes in conn.execute(
                select(sr.c.id, sr.c.kind, sr.c.attributes).where(sr.c.id.in_(matched_ids))
            )
        }
        versions = {
            (r.evidence or {}).get("model_version")
            for r in rows
            if (r.evidence or {}).get("comparisons")
        }
        models = {v: load_model(conn, v) for v in versions}
        record_ids = [r.id for r in rows]
        constraints = tuple(
            dict(row._mapping)
            for row in conn.execute(
                select(
                    constraint.c.kind,
                    constraint.c.record_id,
                    constraint.c.other_record_id,
                    constraint.c.reason,
                    constraint.c.decided_by,
                    constraint.c.decided_at,
                ).where(
                    or_(
                        constraint.c.record_id.in_(record_ids),
                        constraint.c.other_record_id.in_(record_ids),
                    )
                )
            )
        )
        flags = tuple(
            dict(row._mapping)
            for row in conn.execute(
                select(flag.c.kind, flag.c.detail, flag.c.created_at).where(
                    flag.c.customer_id.in_([active, *merged])
                )
            )
        )
    links = []
    for r in rows:
        evidence = dict(r.evidence or {})
        features = record_features(r.kind, r.attributes or {})
        matched = evidence.get("matched_record_id")
        model = models.get(evidence.get("model_version"))
        comparisons = tuple(
            ComparisonWeight(
                comparison=c["comparison"],
                level=c["level"],
                weight=float(c["weight"]),
                tf_adjustment=float(c.get("tf_adjustment", 0.0)),
                values=_values(features, others.get(matched), c["comparison"], model.settings)
                if model is not None
                else (None, None),
            )
            for c in evidence.get("comparisons", ())
        )
        links.append(
            LinkExplanation(
                record_id=r.id,
                source=r.source_name,
                stream=r.stream,
                external_id=r.external_id,
                method=r.method,
                rule=evidence.get("rule"),
                probability=float(r.score),
                match_weight=evidence.get("match_weight"),
                prior_weight=evidence.get("prior_weight"),
                comparisons=comparisons,
                matched_record_id=matched,
                model_version=evidence.get("model_version"),
                linked_at=r.linked_at,
                evidence=evidence,
            )
        )
    return Explanation(
        customer_id=active,
        requested_id=customer_id,
        merged_ids=merged,
        links=tuple(links),
        constraints=constraints,
        flags=flags,
    )


def explain_pair(engine: Engine, record_id: int, other_record_id: int) -> PairScore:
    """Score two records with the model in force, comparison by comparison."""
    sr = t.source_record
    with engine.connect() as conn:
        model = load_model(conn)
        rows = {
            rid: (kind, attributes)
            for rid, kind, attributes in conn.execute(
                select(sr.c.id, sr.c.kind, sr.c.attributes).where(
                    sr.c.id.in_([record_id, other_record_id])
                )
            )
        }
    if record_id not in rows or other_record_id not in rows:
        raise LookupError(f"no record {record_id if record_id not in rows else other_record_id}")
    kind, attributes = rows[record_id]
    other_kind, other_attributes = rows[other_record_id]
    if kind != other_kind:
        raise ValueError(f"record {record_id} is a {kind}, {other_record_id} a {other_kind}")
    return model.score(
        kind,
        record_features(kind, attributes or {}),
        record_features(other_kind, other_attributes or {}),
        prior_weight=model.prior_weight(kind),
    )


__all__ = [
    "ComparisonWeight",
    "Explanation",
    "LinkExplanation",
    "UnknownCustomerError",
    "explain_customer",
    "explain_pair",
]
