"""Link one record of a batch, and settle the batch's customers afterwards.

:func:`link` joins the record to the oldest customer of its merge group
(merging the rest into it: a stored absorbed customer redirects to the
survivor; one created in this batch simply never gets stored), or keeps its
previous id when it was that customer's only record and still describes the
same subject, or creates a customer. Every link carries its evidence: the rule,
a steward's must-link, or the match probabilities, with the customers it
matched and the keys it shared.

:func:`settle` stores the customers the batch created in one statement, maps
every placeholder and redirected id to the stored survivor, and lets a customer
the batch emptied redirect to where its record went when that one is older.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from c360.platform.customers.ids import merge_customers, survivor_of
from c360.platform.identity_rules import key_tag
from c360.platform.matching.batch import ResolutionBatch
from c360.platform.matching.candidates import RecordCandidates
from c360.platform.matching.guards import Admission, age
from c360.platform.resolution import ResolvableRecord


def link(
    conn: Connection,
    batch: ResolutionBatch,
    rec: ResolvableRecord,
    admission: Admission,
    matched: dict[int, str],
    found: RecordCandidates,
) -> None:
    """Link ``rec`` as admitted, merging its group, and note the link's rows."""
    outcome = batch.outcome
    keys = batch.identity_keys[rec.record_id]
    if admission.group:
        customer_id = _merge_group(conn, batch, admission.group)
        method, score, evidence = _link_evidence(batch, admission.group, matched, found, keys)
    else:
        customer_id = _keep_or_create(batch, rec, keys)
        method, score = "new", 1.0
        evidence = {
            "rule": "no strong identifier matched",
            "blocked_by": sorted({batch.rule_of[matched[c]].name for c in matched}),
        }
        if admission.pool:
            evidence["cannot_link"] = sorted(admission.pool)
    _note_linked(batch, rec, customer_id)
    for key in keys:
        batch.key_owner[key].add(customer_id)
        batch.identity_key_rows.append(
            {"key": key, "record_id": rec.record_id, "customer_id": customer_id}
        )
    batch.hard.add(customer_id, admission.own_hard)
    batch.link_rows.append(
        {
            "record_id": rec.record_id,
            "customer_id": customer_id,
            "method": method,
            "score": score,
            "evidence": evidence,
            "linked_at": batch.now,
        }
    )
    outcome.links[rec.record_id] = customer_id
    outcome.touched_customers.add(customer_id)
    if rec.previous_customer_id is not None:
        outcome.touched_customers.add(rec.previous_customer_id)


def _merge_group(conn: Connection, batch: ResolutionBatch, group: list[int]) -> int:
    """Fold the group into its oldest customer; returns that survivor."""
    survivor = min(group, key=age)
    for absorbed in sorted(group, key=age):
        if absorbed == survivor:
            continue
        if absorbed < 0:  # created in this batch: nothing stored yet
            batch.pending.absorb(survivor, absorbed)
        else:
            merge_customers(conn, survivor, absorbed)
            batch.outcome.merges.append((survivor, absorbed))
        _rehome(conn, batch, survivor, absorbed)
        batch.outcome.touched_customers.discard(absorbed)
    return survivor


def _rehome(conn: Connection, batch: ResolutionBatch, survivor: int, absorbed: int) -> None:
    """``absorbed`` (maybe a placeholder) was folded into ``survivor``: its
    identity keys, id numbers, records and size follow."""
    for owners in batch.key_owner.values():
        if absorbed in owners:
            owners.discard(absorbed)
            owners.add(survivor)
    batch.hard.absorb(survivor, absorbed)
    for rid, cid in batch.customer_of.items():
        if cid == absorbed:
            batch.customer_of[rid] = survivor
    if absorbed in batch.sizes or survivor in batch.sizes:
        batch.sizes[survivor] = batch.size(conn, survivor) + batch.size(conn, absorbed)
        batch.sizes.pop(absorbed, None)


def _link_evidence(
    batch: ResolutionBatch,
    group: list[int],
    matched: dict[int, str],
    found: RecordCandidates,
    keys: list[str],
) -> tuple[str, float, dict[str, Any]]:
    """Method, score and evidence of a link to (and merge of) ``group``."""
    scored = found.scored
    by_rule = [c for c in group if c in matched]
    evidence: dict[str, Any]
    if any(c in scored and scored[c].manual for c in group):
        method, score = "manual:must_link", 1.0
        evidence = {"rule": "manual merge (must-link)"}
    elif by_rule:
        rank = batch.rule_rank
        rule = batch.rule_of[matched[min(by_rule, key=lambda c: rank[matched[c]])]]
        method, score = f"rule:{rule.name}", 1.0
        evidence = {"rule": rule.name}
    else:
        best = max((scored[c] for c in group if c in scored), key=lambda c: c.probability)
        method, score, evidence = "probabilistic", best.probability, dict(best.evidence)
    evidence.update(
        matched_customers=sorted(group),
        keys=sorted({key_tag(k) for k in keys if batch.key_owner.get(k)}),
    )
    probabilistic = {
        str(c): round(scored[c].probability, 6)
        for c in sorted(group)
        if c in scored and not scored[c].manual
    }
    if probabilistic:
        evidence["probabilistic"] = probabilistic
    return method, score, evidence


def _keep_or_create(batch: ResolutionBatch, rec: ResolvableRecord, keys: list[str]) -> int:
    """The customer of a record that joins nobody."""
    previous = rec.previous_customer_id
    before = batch.previous_identity_keys.get(rec.record_id, set())
    same_subject = not before or not keys or bool(before & set(keys))
    if previous is not None and batch.still_linked.get(previous, 0) == 0 and same_subject:
        # The record was its customer's only one and still describes the same
        # subject, or says nothing that could contradict it (it was quarantined,
        # or its identifying values were refused): it keeps the id.
        batch.still_linked[previous] = 1
        return previous
    customer_id = batch.pending.create(rec)
    batch.hard.known_empty(customer_id)
    return customer_id


def _note_linked(batch: ResolutionBatch, rec: ResolvableRecord, customer_id: int) -> None:
    """The record now belongs to ``customer_id`` (maybe a placeholder): later
    records of the batch find it as a candidate behind its blocking keys."""
    batch.customer_of[rec.record_id] = customer_id
    if customer_id < 0 or customer_id in batch.sizes:
        batch.sizes[customer_id] = batch.sizes.get(customer_id, 0) + 1
    mine = batch.keys.get(rec.record_id)
    if mine is None:
        return
    batch.linked.append(rec.record_id)
    for key in mine.blocking:
        batch.batch_rows[key].append(rec.record_id)
    for key in mine.all_keys():
        batch.counts[key] += 1


def settle(conn: Connection, batch: ResolutionBatch) -> Callable[[int], int]:
    """Store the batch's new customers and map every id the batch handed out to
    the stored customer it ended as; returns that mapping."""
    outcome = batch.outcome
    pending = batch.pending
    real = pending.insert(conn, batch.now)
    batch.hard.settle(real)
    outcome.new_customers = len(real)
    outcome.created = set(real.values())
    # a merge later in the batch may have absorbed a customer linked earlier
    redirect = survivor_of(
        conn, {pending.final(row["customer_id"], real) for row in batch.link_rows}
    )

    def final(cid: int) -> int:
        cid = pending.final(cid, real)
        return redirect.get(cid, cid)

    for row in batch.link_rows:
        row["customer_id"] = final(row["customer_id"])
        outcome.links[row["record_id"]] = row["customer_id"]
        ev = row["evidence"]
        for name in ("matched_customers", "cannot_link"):
            if name in ev:
                ev[name] = sorted({final(c) for c in ev[name]})
        if "probabilistic" in ev:
            ev["probabilistic"] = {str(final(int(c))): p for c, p in ev["probabilistic"].items()}
    for key_row in batch.identity_key_rows:
        key_row["customer_id"] = final(key_row["customer_id"])
    outcome.touched_customers = {final(c) for c in outcome.touched_customers}
    # A customer left without records by this batch redirects to where its
    # record went when that customer is younger (the older id survives);
    # otherwise it stays, empty, and still resolves.
    for rec in batch.records:
        prev = rec.previous_customer_id
        if prev is not None and batch.still_linked.get(prev, 0) == 0:
            target = outcome.links[rec.record_id]
            same = batch.previous_identity_keys.get(rec.record_id, set()) & set(
                batch.identity_keys[rec.record_id]
            )
            if target != prev and same and age(prev) > age(target):
                merge_customers(conn, target, prev)
                batch.still_linked[prev] = -1
    return final


__all__ = ["link", "settle"]
