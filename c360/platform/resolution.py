"""Identity resolution: which customer a source record belongs to.

The :class:`Resolver` protocol is the seam; :class:`DeterministicResolver` links
on strong identifiers only (valid resident id number, USCC, normalized e-mail,
phone together with the same name reading, WeChat id). The probabilistic resolver
of a later issue implements the same protocol.

Invariants kept here: a merge keeps the older (smaller) customer id and leaves
the absorbed one redirecting to it; two different valid id numbers never merge
(cannot-link); every link stores its evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection, delete, func, insert, select, update

from c360.platform import tables as t
from c360.platform.bulk import bulk_insert
from c360.platform.golden import queue_for_index
from c360.platform.models import utcnow

IN_CHUNK = 2000


@dataclass(slots=True)
class ResolvableRecord:
    """An accepted person or organization record waiting for its customer."""

    record_id: int
    kind: str
    source_name: str
    attributes: dict[str, Any]
    previous_customer_id: int | None = None


@dataclass(slots=True)
class ResolutionOutcome:
    """What a resolution pass changed."""

    links: dict[int, int] = field(default_factory=dict)
    """record id -> customer id"""
    touched_customers: set[int] = field(default_factory=set)
    """customers whose golden profile must be rebuilt"""
    new_customers: int = 0
    merges: list[tuple[int, int]] = field(default_factory=list)
    """(survivor, absorbed) pairs"""


class Resolver(Protocol):
    """Links records to customers, creating and merging customers as needed."""

    def resolve(self, conn: Connection, records: Sequence[ResolvableRecord]) -> ResolutionOutcome:
        """Link every record (inside the caller's transaction) and report the changes."""
        ...


# Rules in the order of strength; the first that matches names the link.
RULES: tuple[tuple[str, str], ...] = (
    ("id_number", "ric"),
    ("uscc", "uscc"),
    ("email", "email"),
    ("phone+name", "phone"),
    ("wechat_id", "wechat"),
    ("name+birth_date", "namedob"),
    ("phone (record has no name)", "phoneany"),
    ("company_name", "orgname"),
)
_RULE_OF_PREFIX = {prefix: rule for rule, prefix in RULES}
_RULE_RANK = {prefix: rank for rank, (_, prefix) in enumerate(RULES)}


def identity_keys(kind: str, attributes: dict[str, Any]) -> list[str]:
    """The strong identifiers of a record, as ``<kind>:<rule>:<value>`` keys."""
    keys: list[str] = []
    k = "p" if kind == "person" else "o"
    if kind == "person":
        if attributes.get("id_number"):
            keys.append(f"p:ric:{attributes['id_number']}")
        if attributes.get("email"):
            keys.append(f"p:email:{attributes['email']}")
        if attributes.get("phone") and attributes.get("name_pinyin"):
            keys.append(f"p:phone:{attributes['phone']}|{attributes['name_pinyin']}")
        if attributes.get("wechat_id"):
            keys.append(f"p:wechat:{str(attributes['wechat_id']).casefold()}")
        if attributes.get("name") and attributes.get("birth_date"):
            keys.append(f"p:namedob:{attributes['name']}|{attributes['birth_date']}")
        if attributes.get("phone"):
            # Stored for every record; matched only by records that carry no name,
            # and only when one customer owns the phone (see DeterministicResolver).
            keys.append(f"p:phoneany:{attributes['phone']}")
    else:
        if attributes.get("uscc"):
            keys.append(f"o:uscc:{attributes['uscc']}")
        if attributes.get("name"):
            keys.append(f"o:orgname:{str(attributes['name']).casefold()}")
        if attributes.get("email"):
            keys.append(f"{k}:email:{attributes['email']}")
    return keys


def _linked_counts(conn: Connection, customer_ids: set[int]) -> dict[int, int]:
    """How many records each customer still has linked."""
    if not customer_ids:
        return {}
    rl = t.record_link
    rows = conn.execute(
        select(rl.c.customer_id, func.count())
        .where(rl.c.customer_id.in_(sorted(customer_ids)))
        .group_by(rl.c.customer_id)
    )
    return {cid: n for cid, n in rows}


def _prefix(key: str) -> str:
    return key.split(":", 2)[1]


class DeterministicResolver:
    """Links on strong identifiers; merges customers a record bridges, unless
    they carry different valid id numbers (or USCCs)."""

    def resolve(self, conn: Connection, records: Sequence[ResolvableRecord]) -> ResolutionOutcome:
        outcome = ResolutionOutcome()
        if not records:
            return outcome
        record_ids = [r.record_id for r in records]
        previous_keys: dict[int, set[str]] = defaultdict(set)
        for i in range(0, len(record_ids), IN_CHUNK):
            for rid, key in conn.execute(
                select(t.identity_key.c.record_id, t.identity_key.c.key).where(
                    t.identity_key.c.record_id.in_(record_ids[i : i + IN_CHUNK])
                )
            ):
                previous_keys[rid].add(key)
        keys_of = {r.record_id: identity_keys(r.kind, r.attributes) for r in records}
        all_keys = sorted({k for ks in keys_of.values() for k in ks})
        key_owner: dict[str, set[int]] = defaultdict(set)
        for i in range(0, len(all_keys), IN_CHUNK):
            key_chunk = all_keys[i : i + IN_CHUNK]
            for key, cid in conn.execute(
                select(t.identity_key.c.key, t.identity_key.c.customer_id)
                .where(t.identity_key.c.key.in_(key_chunk))
                .distinct()
            ):
                key_owner[key].add(cid)
        # Now forget what these records said before (they are new or changed). The
        # owners above were read first, so a key that moves to another record in
        # this batch (a re-export shifting rows) still finds its customer.
        for i in range(0, len(record_ids), IN_CHUNK):
            chunk = record_ids[i : i + IN_CHUNK]
            conn.execute(delete(t.identity_key).where(t.identity_key.c.record_id.in_(chunk)))
            conn.execute(delete(t.record_link).where(t.record_link.c.record_id.in_(chunk)))
        hard_ids = _HardIdentifiers(conn)
        hard_ids.prefetch({cid for owners in key_owner.values() for cid in owners})
        pending = _PendingCustomers()
        still_linked = _linked_counts(
            conn, {r.previous_customer_id for r in records if r.previous_customer_id is not None}
        )
        links: list[dict[str, Any]] = []
        new_keys: list[dict[str, Any]] = []
        now = utcnow()
        for rec in records:
            keys = keys_of[rec.record_id]
            # Candidates by rule strength.
            matched: dict[int, str] = {}
            nameless = not rec.attributes.get("name")
            for key in sorted(keys, key=lambda k: _RULE_RANK[_prefix(k)]):
                owners = key_owner.get(key, set())
                if _prefix(key) == "phoneany" and (not nameless or len(owners) != 1):
                    continue
                for cid in owners:
                    matched.setdefault(cid, _prefix(key))
            own_hard = {k for k in keys if _prefix(k) in ("ric", "uscc")}
            compatible = [cid for cid in matched if not hard_ids.conflicts(cid, own_hard)]
            compatible.sort(key=lambda c: (_RULE_RANK[matched[c]], c))
            if compatible:
                # Merge every compatible candidate into the oldest one, as long as
                # the candidates do not conflict with each other either.
                survivor = min(compatible, key=_age)
                group = [survivor]
                # The group's id numbers grow as members join, so no two members
                # with different id numbers can both join (cannot-link holds).
                group_hard = set(hard_ids.of(survivor)) | own_hard
                for cid in sorted(compatible, key=_age):
                    if cid == survivor:
                        continue
                    if not _hard_conflict(group_hard, hard_ids.of(cid)):
                        group.append(cid)
                        group_hard |= hard_ids.of(cid)
                for absorbed in group[1:]:
                    if absorbed < 0:  # created in this batch: nothing stored yet
                        pending.absorb(survivor, absorbed)
                    else:
                        merge_customers(conn, survivor, absorbed)
                        outcome.merges.append((survivor, absorbed))
                    _rehome_keys(key_owner, hard_ids, survivor, absorbed)
                    outcome.touched_customers.discard(absorbed)
                customer_id = survivor
                rule = matched[min(group, key=lambda c: _RULE_RANK[matched[c]])]
                method = f"rule:{_RULE_OF_PREFIX[rule]}"
                evidence: dict[str, Any] = {
                    "rule": _RULE_OF_PREFIX[rule],
                    "matched_customers": sorted(group),
                    "keys": sorted({_prefix(k) for k in keys if key_owner.get(k)}),
                }
            else:
                previous = rec.previous_customer_id
                before = previous_keys.get(rec.record_id, set())
                same_subject = not before or bool(before & set(keys))
                if previous is not None and still_linked.get(previous, 0) == 0 and same_subject:
                    # The record was its customer's only one and still describes the
                    # same subject (or was quarantined, so said nothing): it keeps the id.
                    customer_id = previous
                    still_linked[previous] = 1
                else:
                    customer_id = pending.create(rec)
                    hard_ids.known_empty(customer_id)
                method = "new"
                evidence = {
                    "rule": "no strong identifier matched",
                    "blocked_by": sorted({_RULE_OF_PREFIX[matched[c]] for c in matched}),
                }
                if matched:
                    evidence["cannot_link"] = sorted(matched)
            for key in keys:
                key_owner[key].add(customer_id)
                new_keys.append(
                    {"key": key, "record_id": rec.record_id, "customer_id": customer_id}
                )
            hard_ids.add(customer_id, own_hard)
            links.append(
                {
                    "record_id": rec.record_id,
                    "customer_id": customer_id,
                    "method": method,
                    "score": 1.0,
                    "evidence": evidence,
                    "linked_at": now,
                }
            )
            outcome.links[rec.record_id] = customer_id
            outcome.touched_customers.add(customer_id)
            if rec.previous_customer_id is not None:
                outcome.touched_customers.add(rec.previous_customer_id)
        # Store the customers this batch created, in one statement, then replace the
        # placeholders; a merge later in the batch may have absorbed a customer
        # linked earlier, so follow redirects too.
        real = pending.insert(conn, now)
        outcome.new_customers = len(real)
        redirect = self._redirects(
            conn,
            {
                c
                for c in (
                    pending.final(cid, real) for cid in {link["customer_id"] for link in links}
                )
            },
        )

        def final(cid: int) -> int:
            cid = pending.final(cid, real)
            return redirect.get(cid, cid)

        for link in links:
            link["customer_id"] = final(link["customer_id"])
            outcome.links[link["record_id"]] = link["customer_id"]
        for key_row in new_keys:
            key_row["customer_id"] = final(key_row["customer_id"])
        outcome.touched_customers = {final(c) for c in outcome.touched_customers}
        # A customer left without records by this pass redirects to where its
        # record went when that customer is younger (the older id survives);
        # otherwise it stays, empty, and still resolves.
        for rec in records:
            prev = rec.previous_customer_id
            if prev is not None and still_linked.get(prev, 0) == 0:
                target = outcome.links[rec.record_id]
                same = previous_keys.get(rec.record_id, set()) & set(keys_of[rec.record_id])
                if target != prev and same and _age(prev) > _age(target):
                    merge_customers(conn, target, prev)
                    still_linked[prev] = -1
        bulk_insert(conn, t.record_link, links)
        bulk_insert(conn, t.identity_key, new_keys)
        return outcome

    @staticmethod
    def _redirects(conn: Connection, customer_ids: set[int]) -> dict[int, int]:
        if not customer_ids:
            return {}
        ids = sorted(customer_ids)
        found: dict[int, int] = {}
        for i in range(0, len(ids), IN_CHUNK):
            for cid, target in conn.execute(
                select(t.customer.c.id, t.customer.c.merged_into).where(
                    t.customer.c.id.in_(ids[i : i + IN_CHUNK]),
                    t.customer.c.merged_into.is_not(None),
                )
            ):
                found[cid] = target
        return found


def _age(customer_id: int) -> tuple[int, int]:
    """Sort key, oldest first: stored customers (positive ids) before those created
    in this batch (negative placeholders, in creation order)."""
    return (0, customer_id) if customer_id > 0 else (1, -customer_id)


def _rehome_keys(
    key_owner: dict[str, set[int]], hard_ids: _HardIdentifiers, survivor: int, absorbed: int
) -> None:
    for owners in key_owner.values():
        if absorbed in owners:
            owners.discard(absorbed)
            owners.add(survivor)
    hard_ids.absorb(survivor, absorbed)


class _PendingCustomers:
    """Customers created during one batch, under negative placeholder ids until
    they are inserted together."""

    def __init__(self) -> None:
        self._created: list[tuple[int, str, str | None]] = []
        self._absorbed_into: dict[int, int] = {}

    def create(self, rec: ResolvableRecord) -> int:
        placeholder = -(len(self._created) + 1)
        self._created.append((placeholder, rec.kind, rec.attributes.get("name")))
        return placeholder

    def absorb(self, survivor: int, absorbed: int) -> None:
        self._absorbed_into[absorbed] = survivor

    def _canonical(self, cid: int) -> int:
        while cid in self._absorbed_into:
            cid = self._absorbed_into[cid]
        return cid

    def insert(self, conn: Connection, now: Any) -> dict[int, int]:
        """Insert the surviving placeholders; returns placeholder -> real id."""
        survivors = [c for c in self._created if c[0] not in self._absorbed_into]
        if not survivors:
            return {}
        rows = [
            {"kind": kind, "display_name": name, "created_at": now, "updated_at": now}
            for _, kind, name in survivors
        ]
        result = conn.execute(
            insert(t.customer).returning(t.customer.c.id, sort_by_parameter_order=True), rows
        )
        return {p: int(i) for (p, _, _), i in zip(survivors, result.scalars(), strict=True)}

    def final(self, cid: int, real: dict[int, int]) -> int:
        """The stored id for ``cid`` (a real id, or a placeholder now inserted)."""
        if cid > 0:
            return cid
        return real[self._canonical(cid)] if self._canonical(cid) < 0 else self._canonical(cid)


class _HardIdentifiers:
    """Per-batch cache of each customer's id numbers / USCCs (cannot-link evidence)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._known: dict[int, set[str]] = {}

    def of(self, customer_id: int) -> set[str]:
        if customer_id not in self._known:
            ik = t.identity_key
            rows = self._conn.execute(
                select(ik.c.key).where(
                    ik.c.customer_id == customer_id,
                    ik.c.key.like("p:ric:%") | ik.c.key.like("o:uscc:%"),
                )
            )
            self._known[customer_id] = {row.key for row in rows}
        return self._known[customer_id]

    def prefetch(self, customer_ids: set[int]) -> None:
        """Load the id numbers / USCCs of many customers in one query each chunk."""
        ids = sorted(c for c in customer_ids if c > 0 and c not in self._known)
        ik = t.identity_key
        for cid in ids:
            self._known[cid] = set()
        for i in range(0, len(ids), IN_CHUNK):
            rows = self._conn.execute(
                select(ik.c.customer_id, ik.c.key).where(
                    ik.c.customer_id.in_(ids[i : i + IN_CHUNK]),
                    ik.c.key.like("p:ric:%") | ik.c.key.like("o:uscc:%"),
                )
            )
            for cid, key in rows:
                self._known[cid].add(key)

    def known_empty(self, customer_id: int) -> None:
        """A customer created in this batch: nothing stored yet."""
        self._known[customer_id] = set()

    def conflicts(self, customer_id: int, own: set[str]) -> bool:
        """Does the customer carry a different id number / USCC than ``own``?"""
        if not own:
            return False
        return _hard_conflict(own, self.of(customer_id))

    def add(self, customer_id: int, keys: set[str]) -> None:
        self.of(customer_id).update(keys)

    def absorb(self, survivor: int, absorbed: int) -> None:
        self.of(survivor).update(self.of(absorbed))
        self._known.pop(absorbed, None)


def _hard_conflict(ours: set[str], theirs: set[str]) -> bool:
    """Different id numbers (or USCCs) of the same kind, none in common."""
    return bool(ours) and bool(theirs) and not (ours & theirs) and _same_kind(ours, theirs)


def _same_kind(a: set[str], b: set[str]) -> bool:
    return {_prefix(k) for k in a} & {_prefix(k) for k in b} != set()


def merge_customers(conn: Connection, survivor: int, absorbed: int) -> None:
    """Fold ``absorbed`` into ``survivor``: links, keys and events move; the absorbed
    id redirects to the survivor forever (chains are flattened)."""
    if survivor == absorbed:
        return
    now = utcnow()
    conn.execute(
        update(t.record_link)
        .where(t.record_link.c.customer_id == absorbed)
        .values(customer_id=survivor)
    )
    conn.execute(
        update(t.identity_key)
        .where(t.identity_key.c.customer_id == absorbed)
        .values(customer_id=survivor)
    )
    conn.execute(
        update(t.event).where(t.event.c.customer_id == absorbed).values(customer_id=survivor)
    )
    conn.execute(
        update(t.customer).where(t.customer.c.merged_into == absorbed).values(merged_into=survivor)
    )
    conn.execute(
        update(t.customer)
        .where(t.customer.c.id == absorbed)
        .values(merged_into=survivor, updated_at=now)
    )
    conn.execute(delete(t.golden_profile).where(t.golden_profile.c.customer_id == absorbed))
    queue_for_index(conn, [absorbed], op="delete")


__all__ = [
    "DeterministicResolver",
    "ResolutionOutcome",
    "ResolvableRecord",
    "Resolver",
    "identity_keys",
    "merge_customers",
]
