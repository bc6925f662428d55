"""Identity resolution: which customer a source record belongs to.

The :class:`Resolver` protocol is the seam; :class:`DeterministicResolver` links
on strong identifiers only, by the deterministic rules of
:mod:`c360.platform.identity_rules` (valid resident id number, USCC, normalized
e-mail, phone together with the same name reading, WeChat id...). The
probabilistic resolver implements the same protocol, with the rules of the
match settings in force.

Invariants kept here: a merge keeps the older (smaller) customer id and leaves
the absorbed one redirecting to it; two different valid id numbers never merge
(cannot-link); every link stores its evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection, delete, func, insert, select

from c360.platform import tables as t
from c360.platform.bulk import bulk_insert
from c360.platform.customers.ids import merge_customers, survivor_of
from c360.platform.hard_identifiers import HardIdentifiers, hard_conflict
from c360.platform.identity_rules import (
    DEFAULT_RULES,
    HARD_KEYS,
    DeterministicRule,
    identity_keys,
    key_tag,
)
from c360.platform.models import utcnow
from c360.platform.sql import chunks, fetch_in


@dataclass(slots=True)
class ResolvableRecord:
    """An accepted person or organization record waiting for its customer."""

    record_id: int
    kind: str
    source_name: str
    attributes: dict[str, Any]
    previous_customer_id: int | None = None
    new: bool = False
    """Never resolved before (just inserted, or its keys and links were cleared):
    there is nothing of it to read back or remove."""


@dataclass(slots=True)
class ResolutionOutcome:
    """What a resolution pass changed."""

    links: dict[int, int] = field(default_factory=dict)
    """record id -> customer id"""
    touched_customers: set[int] = field(default_factory=set)
    """customers whose golden profile must be rebuilt"""
    new_customers: int = 0
    created: set[int] = field(default_factory=set)
    """customers this pass created: every record they hold was in the pass (a
    stored customer is always older, so it survives any merge with one)"""
    merges: list[tuple[int, int]] = field(default_factory=list)
    """(survivor, absorbed) pairs"""


@dataclass(slots=True)
class Candidate:
    """A customer a record may join, found by something other than the rules."""

    probability: float
    evidence: dict[str, Any] = field(default_factory=dict)
    manual: bool = False
    """A steward's must-link: joins whatever the scores say."""


class Resolver(Protocol):
    """Links records to customers, creating and merging customers as needed."""

    def resolve(self, conn: Connection, records: Sequence[ResolvableRecord]) -> ResolutionOutcome:
        """Link every record (inside the caller's transaction) and report the changes."""
        ...


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


class DeterministicResolver:
    """Links on strong identifiers; merges customers a record bridges, unless
    they carry different valid id numbers (or USCCs)."""

    def resolve(self, conn: Connection, records: Sequence[ResolvableRecord]) -> ResolutionOutcome:
        outcome = ResolutionOutcome()
        if not records:
            return outcome
        rules = self._rules(conn)
        rank = {rule.key: index for index, rule in enumerate(rules)}
        rule_of = {rule.key: rule for rule in rules}
        record_ids = [r.record_id for r in records if not r.new]
        previous_keys: dict[int, set[str]] = defaultdict(set)
        for rid, key in fetch_in(
            conn, "SELECT record_id, key FROM identity_key WHERE {cond}", "record_id", record_ids
        ):
            previous_keys[rid].add(key)
        keys_of = {r.record_id: identity_keys(r.kind, r.attributes, rules) for r in records}
        all_keys = sorted({k for ks in keys_of.values() for k in ks})
        key_owner: dict[str, set[int]] = defaultdict(set)
        for key, cid in fetch_in(
            conn, "SELECT DISTINCT key, customer_id FROM identity_key WHERE {cond}", "key", all_keys
        ):
            key_owner[key].add(cid)
        # Now forget what these records said before (they are new or changed). The
        # owners above were read first, so a key that moves to another record in
        # this batch (a re-export shifting rows) still finds its customer.
        for chunk in chunks(record_ids):
            conn.execute(delete(t.identity_key).where(t.identity_key.c.record_id.in_(chunk)))
            conn.execute(delete(t.record_link).where(t.record_link.c.record_id.in_(chunk)))
        self._prepare(conn, records)
        hard_ids = self._hard_identifiers(conn)
        hard_ids.prefetch(
            {cid for owners in key_owner.values() for cid in owners} | self._known_customers()
        )
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
            for key in sorted(keys, key=lambda k: rank[key_tag(k)]):
                owners = key_owner.get(key, set())
                rule = rule_of[key_tag(key)]
                if rule.only_without and any(rec.attributes.get(a) for a in rule.only_without):
                    continue
                if rule.unique_owner and len(owners) != 1:
                    continue
                for cid in owners:
                    matched.setdefault(cid, rule.key)
            own_hard = {k for k in keys if key_tag(k) in HARD_KEYS}
            scored = self._candidates(rec, set(matched))
            refused = self._refused(rec)
            pool = set(matched) | set(scored)
            compatible = [
                cid for cid in pool if cid not in refused and not hard_ids.conflicts(cid, own_hard)
            ]

            compatible.sort(key=lambda c: _strength(c, matched, scored, rank))
            if compatible:
                # Merge the compatible candidates, strongest first, into the oldest
                # of them, as long as no two of them conflict either.
                group = [compatible[0]]
                # The group's id numbers grow as members join, so no two members
                # with different id numbers can both join (cannot-link holds).
                group_hard = set(hard_ids.of(compatible[0])) | own_hard
                for cid in compatible[1:]:
                    automatic = cid not in matched and not scored[cid].manual
                    if hard_conflict(group_hard, hard_ids.of(cid)):
                        continue
                    if not self._may_merge(group, cid, automatic=automatic):
                        continue
                    group.append(cid)
                    group_hard |= hard_ids.of(cid)
                survivor = min(group, key=_age)
                for absorbed in sorted(group, key=_age):
                    if absorbed == survivor:
                        continue
                    if absorbed < 0:  # created in this batch: nothing stored yet
                        pending.absorb(survivor, absorbed)
                    else:
                        merge_customers(conn, survivor, absorbed)
                        outcome.merges.append((survivor, absorbed))
                    _rehome_keys(key_owner, hard_ids, survivor, absorbed)
                    self._merged(survivor, absorbed)
                    outcome.touched_customers.discard(absorbed)
                customer_id = survivor
                hard_members = [c for c in group if c in matched]
                evidence: dict[str, Any]
                if any(c in scored and scored[c].manual for c in group):
                    method = "manual:must_link"
                    score = 1.0
                    evidence = {"rule": "manual merge (must-link)"}
                elif hard_members:
                    tag = matched[min(hard_members, key=lambda c: rank[matched[c]])]
                    method = f"rule:{rule_of[tag].name}"
                    score = 1.0
                    evidence = {"rule": rule_of[tag].name}
                else:
                    method, score, evidence = self._describe(rec, group, scored)
                evidence.update(
                    matched_customers=sorted(group),
                    keys=sorted({key_tag(k) for k in keys if key_owner.get(k)}),
                )
                if any(c in scored and not scored[c].manual for c in group):
                    evidence["probabilistic"] = {
                        str(c): round(scored[c].probability, 6)
                        for c in sorted(group)
                        if c in scored and not scored[c].manual
                    }
            else:
                previous = rec.previous_customer_id
                before = previous_keys.get(rec.record_id, set())
                same_subject = not before or not keys or bool(before & set(keys))
                if previous is not None and still_linked.get(previous, 0) == 0 and same_subject:
                    # The record was its customer's only one and still describes the
                    # same subject, or says nothing that could contradict it (it was
                    # quarantined, or its identifying values were refused): it keeps
                    # the id.
                    customer_id = previous
                    still_linked[previous] = 1
                else:
                    customer_id = pending.create(rec)
                    hard_ids.known_empty(customer_id)
                method = "new"
                score = 1.0
                evidence = {
                    "rule": "no strong identifier matched",
                    "blocked_by": sorted({rule_of[matched[c]].name for c in matched}),
                }
                if pool:
                    evidence["cannot_link"] = sorted(pool)
            self._linked(rec, customer_id)
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
                    "score": score,
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
        hard_ids.settle(real)
        outcome.new_customers = len(real)
        outcome.created = set(real.values())
        redirect = survivor_of(
            conn, {pending.final(cid, real) for cid in {link["customer_id"] for link in links}}
        )

        def final(cid: int) -> int:
            cid = pending.final(cid, real)
            return redirect.get(cid, cid)

        for link in links:
            link["customer_id"] = final(link["customer_id"])
            outcome.links[link["record_id"]] = link["customer_id"]
            ev = link["evidence"]
            for name in ("matched_customers", "cannot_link"):
                if name in ev:
                    ev[name] = sorted({final(c) for c in ev[name]})
            if "probabilistic" in ev:
                ev["probabilistic"] = {
                    str(final(int(c))): p for c, p in ev["probabilistic"].items()
                }
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
        self._finish(conn, final, outcome)
        return outcome

    # Extension points: the probabilistic resolver (``c360.platform.matching``)
    # adds scored candidates, human constraints and its own bookkeeping here; the
    # deterministic resolver needs none of them.

    def _rules(self, conn: Connection) -> Sequence[DeterministicRule]:
        """The deterministic rules in force, strongest first."""
        return DEFAULT_RULES

    def _prepare(self, conn: Connection, records: Sequence[ResolvableRecord]) -> None:
        """Batch look-ups before the records are linked one by one."""

    def _known_customers(self) -> set[int]:
        """Customers :meth:`_candidates` may name (their id numbers are prefetched)."""
        return set()

    def _hard_identifiers(self, conn: Connection) -> HardIdentifiers:
        """The customers' id numbers / USCCs, as far as this pass needs them."""
        return HardIdentifiers(conn)

    def _candidates(self, rec: ResolvableRecord, matched: set[int]) -> dict[int, Candidate]:
        """Customers (beyond ``matched``, found by the strong-identifier rules) the
        record may join."""
        return {}

    def _refused(self, rec: ResolvableRecord) -> set[int]:
        """Customers the record must not join (a steward split it from them)."""
        return set()

    def _may_merge(self, group: list[int], customer_id: int, *, automatic: bool) -> bool:
        """Whether ``customer_id`` may join the customers in ``group``."""
        return True

    def _describe(
        self, rec: ResolvableRecord, group: list[int], scored: dict[int, Candidate]
    ) -> tuple[str, float, dict[str, Any]]:
        """Method, score and evidence of a link made by :meth:`_candidates` alone."""
        best = max((scored[c] for c in group if c in scored), key=lambda c: c.probability)
        return "probabilistic", best.probability, dict(best.evidence)

    def _linked(self, rec: ResolvableRecord, customer_id: int) -> None:
        """The record now belongs to ``customer_id`` (maybe a placeholder)."""

    def _merged(self, survivor: int, absorbed: int) -> None:
        """``absorbed`` (maybe a placeholder) was folded into ``survivor``."""

    def _finish(
        self, conn: Connection, final: Callable[[int], int], outcome: ResolutionOutcome
    ) -> None:
        """After the links are stored; ``final`` maps placeholders to stored ids."""


def _strength(
    cid: int, matched: dict[int, str], scored: dict[int, Candidate], rank: dict[str, int]
) -> tuple[int, float, tuple[int, int]]:
    """Sort key, strongest candidate first: a steward's must-link, then the rules
    in their order, then the match probability; older customers first on ties."""
    if cid in scored and scored[cid].manual:
        return (-1, 0.0, _age(cid))
    if cid in matched:
        return (rank[matched[cid]], 0.0, _age(cid))
    return (len(rank), -scored[cid].probability, _age(cid))


def _age(customer_id: int) -> tuple[int, int]:
    """Sort key, oldest first: stored customers (positive ids) before those created
    in this batch (negative placeholders, in creation order)."""
    return (0, customer_id) if customer_id > 0 else (1, -customer_id)


def _rehome_keys(
    key_owner: dict[str, set[int]], hard_ids: HardIdentifiers, survivor: int, absorbed: int
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
        if conn.dialect.name == "sqlite":
            # SQLite hands out max(id) + 1, and this transaction holds the write
            # lock: the ids are known, and one multi-row insert beats a RETURNING
            # round trip per row
            start = int(conn.execute(select(func.max(t.customer.c.id))).scalar() or 0)
            for offset, row in enumerate(rows, start=1):
                row["id"] = start + offset
            bulk_insert(conn, t.customer, rows)
            return {p: row["id"] for (p, _, _), row in zip(survivors, rows, strict=True)}
        result = conn.execute(
            insert(t.customer).returning(t.customer.c.id, sort_by_parameter_order=True), rows
        )
        return {p: int(i) for (p, _, _), i in zip(survivors, result.scalars(), strict=True)}

    def final(self, cid: int, real: dict[int, int]) -> int:
        """The stored id for ``cid`` (a real id, or a placeholder now inserted)."""
        if cid > 0:
            return cid
        return real[self._canonical(cid)] if self._canonical(cid) < 0 else self._canonical(cid)


__all__ = [
    "Candidate",
    "DeterministicResolver",
    "ResolutionOutcome",
    "ResolvableRecord",
    "Resolver",
    "identity_keys",
]
