"""Why are these records one customer? Why are these customers related?

:func:`explain_customer` reads each link's stored evidence: the rule that made
it, or the model version, the record it matched and every comparison's level
and weight (bits) — the prior plus the weights is the match weight, whose
probability is the link's stored score. Values shown beside each comparison are
read from the two records now (the evidence itself stores no personal data).

:func:`related_customers` reads the relationship graph around a customer.
Both follow merge redirects: ask with any id ever handed out.

Values are returned in clear; callers that serve people (GraphQL) apply their
own field policy and masking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, or_, select

from c360.platform import tables as t
from c360.platform.matching.features import Features, record_features
from c360.platform.matching.model import PairScore
from c360.platform.matching.store import load_model
from c360.platform.matching.tables import constraint, edge, flag


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


@dataclass(frozen=True, slots=True)
class Edge:
    """A relationship of ``customer_id`` with ``other_customer_id``.

    ``direction`` is ``out`` when ``customer_id`` is the subject (``works_at``,
    ``legal_representative_of``, ``referred_by``: the person works at / represents
    / was referred by the other), ``in`` when the other is, ``both`` for shared
    identifiers."""

    kind: str
    customer_id: int
    other_customer_id: int
    direction: str
    record_id: int
    other_record_id: int
    detail: dict[str, Any]
    created_at: datetime | None = None


class UnknownCustomerError(LookupError):
    """No customer has this id."""


def _active(conn: Connection, customer_id: int) -> int:
    cu = t.customer
    row = conn.execute(select(cu.c.id, cu.c.merged_into).where(cu.c.id == customer_id)).first()
    if row is None:
        raise UnknownCustomerError(f"no customer {customer_id}")
    return int(row.merged_into or row.id)


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
    sr, rl, cu = t.source_record, t.record_link, t.customer
    with engine.connect() as conn:
        active = _active(conn, customer_id)
        merged = tuple(
            int(c)
            for c in conn.execute(
                select(cu.c.id).where(cu.c.merged_into == active).order_by(cu.c.id)
            ).scalars()
        )
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


DIRECTED_EDGES = frozenset({"works_at", "legal_representative_of", "referred_by"})
"""Edge kinds that point from one customer to the other."""


def related_customers(engine: Engine, customer_id: int) -> list[Edge]:
    """The customers related to this one (any id, redirects followed), each edge
    with the two records it rests on and its basis; strongest kinds first."""
    rl = t.record_link
    with engine.connect() as conn:
        active = _active(conn, customer_id)
        mine = [
            int(r)
            for r in conn.execute(
                select(rl.c.record_id).where(rl.c.customer_id == active)
            ).scalars()
        ]
        if not mine:
            return []
        rows = conn.execute(
            select(
                edge.c.kind,
                edge.c.record_id,
                edge.c.other_record_id,
                edge.c.detail,
                edge.c.created_at,
            ).where(or_(edge.c.record_id.in_(mine), edge.c.other_record_id.in_(mine)))
        ).all()
        ends = {r.record_id for r in rows} | {r.other_record_id for r in rows}
        owner = dict(
            conn.execute(
                select(rl.c.record_id, rl.c.customer_id).where(rl.c.record_id.in_(ends))
            ).all()
        )
    own = set(mine)
    found: list[Edge] = []
    for row in rows:
        outgoing = row.record_id in own
        mine_end, other_end = (
            (row.record_id, row.other_record_id)
            if outgoing
            else (row.other_record_id, row.record_id)
        )
        other = owner.get(other_end)
        if other is None or other == active:
            continue
        direction = ("out" if outgoing else "in") if row.kind in DIRECTED_EDGES else "both"
        found.append(
            Edge(
                kind=row.kind,
                customer_id=active,
                other_customer_id=int(other),
                direction=direction,
                record_id=mine_end,
                other_record_id=other_end,
                detail=dict(row.detail or {}),
                created_at=row.created_at,
            )
        )
    order = {"legal_representative_of": 0, "works_at": 1, "referred_by": 2}
    found.sort(key=lambda e: (order.get(e.kind, 3), e.kind, e.other_customer_id, e.record_id))
    return found


__all__ = [
    "ComparisonWeight",
    "Edge",
    "Explanation",
    "LinkExplanation",
    "UnknownCustomerError",
    "explain_customer",
    "explain_pair",
    "related_customers",
]
