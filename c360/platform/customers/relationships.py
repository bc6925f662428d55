"""How customers are related: the one reader of the relationship graph, used by
``c360 explain`` and by GraphQL.

A relationship is either a stored graph edge between two source records
(``works_at``, ``legal_representative_of``, ``referred_by``, ``shares_phone`` /
``_email`` / ``_address`` / ``_device``; stored between records, so it follows
every merge and split) or ``shares_identifier``: a strong identifier (resident
id, USCC, WeChat id) that two customers both hold without being one customer —
a finding in itself, such as an id number kept apart by a cannot-link decision.

Values are returned as stored (clear); callers that serve people apply their
own field policy and masking.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, and_, bindparam, or_, select

from c360.platform import tables as t
from c360.platform.customers.ids import survivor
from c360.platform.matching.graph import SHARED_EDGE
from c360.platform.matching.tables import edge
from c360.platform.sql import chunks

DIRECTED_EDGES = frozenset({"works_at", "legal_representative_of", "referred_by"})
"""Edge kinds that point from one customer to the other."""

SHARES_IDENTIFIER = "shares_identifier"

SHARED_IDENTIFIER_PREFIXES = {
    "p:ric:": "id_number",
    "o:uscc:": "uscc",
    "p:wechat:": "wechat_id",
}
"""Identity keys so strong that two customers sharing one are a finding in
themselves. Shared phones, e-mails, addresses and devices come from the stored
graph edges instead, which leave out identifiers shared by too many customers to
mean anything."""

EDGE_ATTRIBUTE = {
    **{kind: feature for feature, kind in SHARED_EDGE.items()},
    "works_at": "company",
    "legal_representative_of": "legal_representative",
    "referred_by": "referrer",
}
"""The attribute each kind of stored edge rests on."""

_KIND_ORDER = {"legal_representative_of": 0, "works_at": 1, "referred_by": 2}
"""Strongest kinds first; every other kind after them, by name."""


@dataclass(frozen=True, slots=True)
class Relationship:
    """``customer_id`` is related to ``other_customer_id`` through the records
    ``record_id`` (its own) and ``other_record_id``."""

    kind: str
    """A stored edge kind (``works_at``, ``shares_phone``…) or ``shares_identifier``."""
    customer_id: int
    other_customer_id: int
    direction: str
    """``outgoing`` (this customer works at / represents / was referred by the
    other), ``incoming`` (the reverse) or ``mutual`` (shared values)."""
    attribute: str
    """The attribute it rests on (``phone``, ``company``, ``id_number``…)."""
    value: str | None
    """The value it rests on, as stored, if any."""
    record_id: int
    other_record_id: int
    basis: str = ""
    """How the edge was found (``company name``, ``name and same phone``…)."""
    detail: dict[str, Any] = field(default_factory=dict)
    """The stored edge's evidence as is (for a shared identifier: ``via``)."""
    created_at: datetime | None = None


def _shared_identifiers() -> Select[Any]:
    mine, theirs = t.identity_key.alias("mine"), t.identity_key.alias("theirs")
    return (
        select(
            mine.c.customer_id,
            theirs.c.customer_id.label("other"),
            mine.c.key,
            mine.c.record_id,
            theirs.c.record_id.label("other_record_id"),
        )
        .join(theirs, and_(theirs.c.key == mine.c.key, theirs.c.customer_id != mine.c.customer_id))
        .where(
            mine.c.customer_id.in_(bindparam("ids", expanding=True)),
            or_(*(mine.c.key.startswith(prefix) for prefix in SHARED_IDENTIFIER_PREFIXES)),
        )
        .distinct()
    )


def _edges(outgoing: bool) -> Select[Any]:
    """Edges whose ``record_id`` (outgoing) or ``other_record_id`` end is a record
    of the customers asked for, with the customer at the other end."""
    mine, theirs = t.record_link.alias("mine"), t.record_link.alias("theirs")
    near, far = (
        (edge.c.record_id, edge.c.other_record_id)
        if outgoing
        else (edge.c.other_record_id, edge.c.record_id)
    )
    return (
        select(
            mine.c.customer_id,
            theirs.c.customer_id.label("other"),
            edge.c.kind,
            edge.c.detail,
            edge.c.created_at,
            near.label("near"),
            far.label("far"),
        )
        .select_from(edge)
        .join(mine, mine.c.record_id == near)
        .join(theirs, theirs.c.record_id == far)
        .where(
            mine.c.customer_id.in_(bindparam("ids", expanding=True)),
            theirs.c.customer_id != mine.c.customer_id,
        )
    )


_SHARED = _shared_identifiers()
_OUT, _IN = _edges(outgoing=True), _edges(outgoing=False)


def _edge_value(
    kind: str, detail: dict[str, Any], near: dict[str, Any], far: dict[str, Any], outgoing: bool
) -> str | None:
    """The value an edge rests on, from the records at its two ends."""
    if kind.startswith("shares_"):
        value = near.get(EDGE_ATTRIBUTE.get(kind, kind.removeprefix("shares_")))
    elif kind == "works_at":  # the company as the person's record names it
        value = (near if outgoing else far).get("company") or detail.get("company")
    elif kind == "legal_representative_of":
        value = (near if outgoing else far).get("name")  # the person's name
    else:
        value = None
    return None if value is None else str(value)


def related(conn: Connection, customer_ids: Sequence[int]) -> dict[int, list[Relationship]]:
    """Each customer's relationships (ids as they are: callers follow merges
    first), strongest kinds first; a customer with none is absent. Four queries
    per chunk of customers, whatever their number of records."""
    found: dict[int, list[Relationship]] = defaultdict(list)
    edges: list[tuple[Any, bool]] = []
    shared: list[Any] = []
    for chunk in chunks(sorted(set(customer_ids))):
        shared += conn.execute(_SHARED, {"ids": chunk}).all()
        for statement, outgoing in ((_OUT, True), (_IN, False)):
            edges += [(row, outgoing) for row in conn.execute(statement, {"ids": chunk})]
    # values are read from the records, not the keys: a key may be a blind index
    ends = sorted(
        {r.near for r, _ in edges} | {r.far for r, _ in edges} | {r.record_id for r in shared}
    )
    attributes: dict[int, dict[str, Any]] = {}
    for chunk in chunks(ends):
        for record_id, values in conn.execute(
            select(t.source_record.c.id, t.source_record.c.attributes).where(
                t.source_record.c.id.in_(chunk)
            )
        ):
            attributes[record_id] = dict(values or {})
    for row in shared:
        prefix = next(p for p in SHARED_IDENTIFIER_PREFIXES if row.key.startswith(p))
        attribute = SHARED_IDENTIFIER_PREFIXES[prefix]
        value = attributes.get(row.record_id, {}).get(attribute)
        found[row.customer_id].append(
            Relationship(
                kind=SHARES_IDENTIFIER,
                customer_id=row.customer_id,
                other_customer_id=row.other,
                direction="mutual",
                attribute=attribute,
                value=None if value is None else str(value),
                record_id=row.record_id,
                other_record_id=row.other_record_id,
                detail={"via": attribute},
            )
        )
    for row, outgoing in edges:
        detail = dict(row.detail or {})
        directed = row.kind in DIRECTED_EDGES
        found[row.customer_id].append(
            Relationship(
                kind=row.kind,
                customer_id=row.customer_id,
                other_customer_id=row.other,
                direction=("outgoing" if outgoing else "incoming") if directed else "mutual",
                attribute=EDGE_ATTRIBUTE.get(row.kind, row.kind),
                value=_edge_value(
                    row.kind,
                    detail,
                    attributes.get(row.near, {}),
                    attributes.get(row.far, {}),
                    outgoing,
                ),
                record_id=row.near,
                other_record_id=row.far,
                basis=str(detail.get("basis") or ""),
                detail=detail,
                created_at=row.created_at,
            )
        )
    for relationships in found.values():
        relationships.sort(
            key=lambda r: (
                _KIND_ORDER.get(r.kind, 3),
                r.kind,
                r.attribute,
                r.other_customer_id,
                r.record_id,
                r.other_record_id,
            )
        )
    return dict(found)


def related_customers(engine: Engine, customer_id: int) -> list[Relationship]:
    """The relationships of the customer ``customer_id`` resolves to (any id ever
    handed out), strongest kinds first; :class:`~c360.platform.customers.ids.
    UnknownCustomerError` when there is none."""
    with engine.connect() as conn:
        active = survivor(conn, customer_id)
        return related(conn, [active]).get(active, [])


__all__ = [
    "DIRECTED_EDGES",
    "EDGE_ATTRIBUTE",
    "SHARED_IDENTIFIER_PREFIXES",
    "SHARES_IDENTIFIER",
    "Relationship",
    "related",
    "related_customers",
]
