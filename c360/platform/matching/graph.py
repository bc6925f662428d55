"""The relationship graph: edges between customers, derived from their records.

* ``works_at`` — a person record names a company whose core name is an
  organization's (``华信科技`` at ``北京华信科技有限公司``);
* ``legal_representative_of`` — an organization names its legal representative
  and a person of that name works there or shares its phone (or is the only
  person of that name);
* ``shares_phone`` / ``shares_email`` / ``shares_address`` / ``shares_device`` —
  two customers' records carry the same identifier, as long as few customers
  share it (more is a *shared identifier*, flagged instead);
* ``referred_by`` — a person record names who referred them (a phone or e-mail
  of exactly one customer).

An edge joins two source records (its provenance) and is stored with the basis
it rests on; the customers at either end are whoever those records belong to
now, so edges follow merges and splits. Edges of a record are re-derived each
time it is resolved, in the same batch queries; a steward's merge or split, which
changes customers without resolving anything, re-derives the shared-identifier
edges of the customers it touched (:func:`refresh_shared_edges`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence, Set
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import delete, or_

from c360.platform.bulk import bulk_insert
from c360.platform.matching.blocking import blocking_key, value_key
from c360.platform.matching.features import Features, record_features
from c360.platform.matching.tables import edge, match_key, match_key_count
from c360.platform.models import utcnow
from c360.platform.normalize import NormalizationError, normalize_email, normalize_phone
from c360.platform.sealed_attributes import open_any_stored
from c360.platform.sql import fetch_in

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from c360.platform.matching.model import MatchModel
    from c360.platform.matching.settings import MatchSettings


class RecordKeys(Protocol):
    """The relation keys of one batch record."""

    @property
    def features(self) -> Features:
        """the record's features"""

    @property
    def values(self) -> Mapping[int, tuple[str, str]]:
        """key -> (feature, value) of the record's own values"""

    @property
    def wanted(self) -> Mapping[int, str]:
        """key -> feature of the keys whose holders it would relate to"""


class LinkedBatch(Protocol):
    """What the graph reads from a resolver's batch once it has linked its
    records: the resolver's own state, seen through what edges need (so the
    graph does not depend on the resolver that calls it)."""

    @property
    def model(self) -> MatchModel: ...
    @property
    def keys(self) -> Mapping[int, RecordKeys]: ...
    @property
    def counts(self) -> Mapping[int, int]: ...
    @property
    def stored_rows(self) -> Mapping[int, list[int]]: ...
    @property
    def features(self) -> Mapping[int, tuple[str, Features]]: ...
    @property
    def customer_of(self) -> Mapping[int, int]: ...
    @property
    def linked(self) -> Sequence[int]: ...
    @property
    def fresh(self) -> Set[int]: ...


SHARED_EDGE = {
    "phone": "shares_phone",
    "email": "shares_email",
    "address": "shares_address",
    "device_id": "shares_device",
}
_OTHER_KIND = {"person": "organization", "organization": "person"}


def value_keys(kind: str, features: Features) -> dict[int, tuple[str, str]]:
    """Keys a record is *found* by when another record looks for relations."""
    found: dict[int, tuple[str, str]] = {}
    secret = blocking_key()
    names = (
        ("company", "name_pinyin", "phone", "email")
        if kind == "person"
        else ("org_name", "legal_representative_pinyin", "phone", "email")
    )
    for feature in names:
        value = features.get(feature)
        if value:
            found[value_key(kind, feature, value, secret=secret)] = (feature, value)
    return found


def _referrer_keys(value: str, secret: bytes) -> list[int]:
    keys = []
    for feature, normalize in (("phone", normalize_phone), ("email", normalize_email)):
        try:
            keys.append(value_key("person", feature, normalize(value), secret=secret))
        except NormalizationError:
            continue
    return keys


def wanted(kind: str, features: Features, shared: list[str]) -> dict[int, str]:
    """Keys to look up for a record's relations: key -> purpose."""
    wanted: dict[int, str] = {}
    secret = blocking_key()
    if kind == "person":
        if features.get("company"):
            wanted[value_key("organization", "org_name", features["company"], secret=secret)] = (
                "works_at"
            )
        if features.get("name_pinyin"):
            wanted[
                value_key(
                    "organization",
                    "legal_representative_pinyin",
                    features["name_pinyin"],
                    secret=secret,
                )
            ] = "represents"
        referrer = features.get("referred_by") or features.get("referrer")
        if referrer:
            for key in _referrer_keys(referrer, secret):
                wanted[key] = "referred_by"
    else:
        if features.get("org_name"):
            wanted[value_key("person", "company", features["org_name"], secret=secret)] = "employee"
        if features.get("legal_representative_pinyin"):
            reading = features["legal_representative_pinyin"]
            wanted[value_key("person", "name_pinyin", reading, secret=secret)] = "representative"
    for feature in shared:
        value = features.get(feature)
        if value:
            for other in (kind, _OTHER_KIND[kind]):
                wanted[value_key(other, feature, value, secret=secret)] = f"shares:{feature}"
    return wanted


def lookup_keys(batch: LinkedBatch, cap: int) -> set[int]:
    """The relation keys of the batch whose stored records are worth reading."""
    keys: set[int] = set()
    for rk in batch.keys.values():
        for key in rk.wanted:
            if 0 < batch.counts.get(key, 0) <= cap:
                keys.add(key)
    return keys


def wanted_keys(batch: LinkedBatch) -> set[int]:
    """Every relation key of the batch (their counts are read with the rest)."""
    return {k for rk in batch.keys.values() for k in rk.wanted}


def update_edges(conn: Connection, batch: LinkedBatch) -> None:
    """Re-derive the edges of the records the batch linked."""
    linked = batch.linked
    if not linked:
        return
    known = [rid for rid in linked if rid not in batch.fresh]  # new ones have no edges
    for i in range(0, len(known), 2000):
        chunk = known[i : i + 2000]
        conn.execute(
            delete(edge).where(or_(edge.c.record_id.in_(chunk), edge.c.other_record_id.in_(chunk)))
        )
    settings = batch.model.settings
    limit = settings.shared_identifier_customers
    cap = settings.max_candidates_per_key
    in_batch: dict[int, list[int]] = defaultdict(list)
    for rid in linked:
        for key in batch.keys[rid].values:
            in_batch[key].append(rid)
    found: dict[tuple[int, int, str], dict[str, Any]] = {}

    def add(kind: str, a: int, b: int, detail: dict[str, Any]) -> None:
        if a == b:
            return
        found.setdefault((a, b, kind), detail)

    for rid in linked:
        rk = batch.keys[rid]
        own = batch.customer_of.get(rid)
        for key, purpose in rk.wanted.items():
            if batch.counts.get(key, 0) > cap:
                continue
            partners = [
                p
                for p in {*batch.stored_rows.get(key, ()), *in_batch.get(key, ())}
                if p != rid and p in batch.features
            ]
            if not partners:
                continue
            if purpose == "works_at":
                for p in partners:
                    add(
                        "works_at",
                        rid,
                        p,
                        {"basis": "company name", "company": rk.features["company"]},
                    )
            elif purpose == "employee":
                for p in partners:
                    add(
                        "works_at",
                        p,
                        rid,
                        {"basis": "company name", "company": rk.features["org_name"]},
                    )
            elif purpose == "represents":
                name_key = value_key("person", "name_pinyin", rk.features["name_pinyin"])
                alone = batch.counts.get(name_key, 0) <= 1
                for p in partners:
                    _representatives(batch, p, [rid], add, alone_ok=alone)
            elif purpose == "representative":
                _representatives(batch, rid, partners, add)
            elif purpose == "referred_by":
                customers = {batch.customer_of.get(p) for p in partners} - {own}
                if len(customers) == 1:
                    add("referred_by", rid, min(partners), {"basis": "referrer's identifier"})
            else:
                feature = purpose.split(":", 1)[1]
                customers = {batch.customer_of.get(p) for p in partners} | {own}
                if len(customers) > limit:
                    continue
                for p in partners:
                    if batch.customer_of.get(p) != own:
                        a, b = min(rid, p), max(rid, p)
                        add(SHARED_EDGE.get(feature, f"shares_{feature}"), a, b, {"basis": feature})
    _insert_edges(conn, found)


def _insert_edges(conn: Connection, found: dict[tuple[int, int, str], dict[str, Any]]) -> None:
    """Store the edges ``(record, other record, kind) -> detail``, stamped now."""
    now = utcnow()
    bulk_insert(
        conn,
        edge,
        [
            {
                "kind": kind,
                "record_id": a,
                "other_record_id": b,
                "detail": detail,
                "created_at": now,
            }
            for (a, b, kind), detail in sorted(found.items())
        ],
    )


def _representatives(
    batch: LinkedBatch, org: int, people: list[int], add: Any, *, alone_ok: bool = True
) -> None:
    """Edges from the people named as ``org``'s legal representative: those tied to
    it by more than the name, else the only person of that name."""
    org_features = batch.features[org][1]
    strong = []
    for p in people:
        features = batch.features[p][1]
        if features.get("company") and features["company"] == org_features.get("org_name"):
            strong.append((p, "works there"))
        elif features.get("phone") and features["phone"] == org_features.get("phone"):
            strong.append((p, "same phone"))
    if strong:
        for p, basis in strong:
            add("legal_representative_of", p, org, {"basis": f"name and {basis}"})
        return
    customers = {batch.customer_of.get(p) for p in people}
    if alone_ok and len(customers) == 1 and people:
        add("legal_representative_of", min(people), org, {"basis": "only person of that name"})


def refresh_shared_edges(conn: Connection, customer_ids: list[int], settings: MatchSettings) -> int:
    """Re-derive the shared-identifier edges (``shares_phone``...) through every
    identifier the records of these customers carry, from who holds which record
    now; returns how many such edges there are afterwards.

    Called after a manual split or merge, which move records between customers
    without resolving them: two records split apart that carry one phone now
    relate two customers; an identifier the split spreads over more than
    ``shared_identifier_customers`` customers relates no one any more (not even
    the other customers that carry it); and no edge is left between customers
    that no longer hold the identifier. The rule per record is
    :func:`update_edges`' own."""
    kinds = sorted({SHARED_EDGE.get(f, f"shares_{f}") for f in settings.shared_features})
    records = fetch_in(
        conn,
        "SELECT rl.record_id, sr.kind, sr.attributes FROM record_link rl "
        "JOIN source_record sr ON sr.id = rl.record_id WHERE {cond} AND sr.status = 'accepted'",
        "rl.customer_id",
        sorted(set(customer_ids)),
    )
    mine = sorted({int(r[0]) for r in records})
    # the identifiers these records carry, and the value keys (one per kind of
    # record: a person and a company on one phone) their holders are found by
    values: set[tuple[str, str]] = set()
    for _rid, kind, attributes in records:
        if kind in _OTHER_KIND:
            features = record_features(kind, _as_dict(attributes))
            values.update((f, features[f]) for f in settings.shared_features if features.get(f))
    key_of = {
        value_key(kind, feature, value): (kind, feature, value)
        for feature, value in values
        for kind in _OTHER_KIND
    }
    counts = {
        int(k): int(n)
        for k, n in fetch_in(
            conn,
            f'SELECT "key", records FROM {match_key_count.name} WHERE {{cond}}',
            '"key"',
            sorted(key_of),
        )
    }
    cap = settings.max_candidates_per_key
    holders: dict[int, list[int]] = defaultdict(list)
    owner: dict[int, int] = {}
    for key, rid, cid in fetch_in(
        conn,
        f'SELECT mk."key", mk.record_id, rl.customer_id FROM {match_key.name} mk '
        "JOIN record_link rl ON rl.record_id = mk.record_id WHERE {cond}",
        'mk."key"',
        sorted(k for k in key_of if 0 < counts.get(k, 0) <= cap),
    ):
        holders[int(key)].append(int(rid))
        owner[int(rid)] = int(cid)
    # forget every such edge of these records, and those among the holders of
    # each identifier, then derive them again
    for i in range(0, len(mine), 2000):
        chunk = mine[i : i + 2000]
        conn.execute(
            delete(edge).where(
                edge.c.kind.in_(kinds),
                or_(edge.c.record_id.in_(chunk), edge.c.other_record_id.in_(chunk)),
            )
        )
    by_value: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(dict)
    for key, (kind, feature, value) in key_of.items():
        by_value[(feature, value)][kind] = holders.get(key, [])
    limit = settings.shared_identifier_customers
    found: dict[tuple[int, int, str], dict[str, Any]] = {}
    for (feature, _value), by_kind in sorted(by_value.items()):
        kind_of_edge = SHARED_EDGE.get(feature, f"shares_{feature}")
        everyone = sorted({r for group in by_kind.values() for r in group})
        for i in range(0, len(everyone), 2000):
            chunk = everyone[i : i + 2000]
            conn.execute(
                delete(edge).where(
                    edge.c.kind == kind_of_edge,
                    edge.c.record_id.in_(chunk),
                    edge.c.other_record_id.in_(everyone),
                )
            )
        for kind, group in by_kind.items():
            for rid in group:
                own = owner[rid]
                for other_kind in (kind, _OTHER_KIND[kind]):
                    partners = [p for p in by_kind.get(other_kind, ()) if p != rid]
                    customers = {owner[p] for p in partners} | {own}
                    if len(customers) > limit:
                        continue
                    for p in partners:
                        if owner[p] != own:
                            pair = (min(rid, p), max(rid, p), kind_of_edge)
                            found.setdefault(pair, {"basis": feature})
    _insert_edges(conn, found)
    return len(found)


def _as_dict(value: Any) -> dict[str, Any]:
    """A record's attributes as read through the driver (JSON text, sensitive
    values possibly sealed), opened."""
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, dict):
        return {}
    return dict(open_any_stored("source_record.attributes", value))


__all__ = [
    "SHARED_EDGE",
    "lookup_keys",
    "refresh_shared_edges",
    "update_edges",
    "value_keys",
    "wanted",
    "wanted_keys",
]
