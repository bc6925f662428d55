"""Training from the database, and the batch rebuild (``c360 resolve --rebuild``).

A rebuild re-resolves every accepted person and organization record from
scratch — with the model in force, or one retrained on the data first (kept only
if the training guard finds it no worse, :mod:`.guard`) — through
the same resolver ingest uses, oldest record first, in one transaction under the
ingest write lock. What it keeps:

* **ids**: each record offers its old customer id; the first record of an old
  cluster to need a new customer takes the old id back, so a cluster that still
  exists keeps its id; clusters that now join merge into the oldest id (the other
  redirects); a record that left its old cluster gets a new id;
* **human constraints**: must-link / cannot-link records are honoured as in ingest;
* **every id ever handed out still resolves**: nothing is deleted; an old id left
  without records stays, empty, or redirects to where its records went.

Derived data — identity and blocking keys, key counts, flags and graph edges —
is rebuilt with the links; timelines are re-attached; golden profiles recomputed.
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update

from c360.platform import tables as t
from c360.platform.backlog import clear_for_rebuild
from c360.platform.customers.ids import merge_customers, survivor_of
from c360.platform.golden import Evidence, rebuild_golden
from c360.platform.locks import write_transaction
from c360.platform.matching.features import Features, record_features
from c360.platform.matching.guard import TrainingVerdict, judge_training
from c360.platform.matching.memory import RebuildMemory
from c360.platform.matching.model import MatchModel
from c360.platform.matching.resolver import MATCH_KINDS, Resolver
from c360.platform.matching.settings import MatchSettings
from c360.platform.matching.store import load_model, save_model
from c360.platform.matching.tables import edge, flag, match_key, match_key_count
from c360.platform.matching.training import train_model
from c360.platform.resolution import ResolvableRecord
from c360.platform.source_events import attach_orphan_events

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class RebuildReport:
    """What a rebuild did."""

    records: int = 0
    backlog: int = 0  # landed records that were waiting for resolution
    customers_before: int = 0
    customers_after: int = 0
    kept_ids: int = 0
    new_customers: int = 0
    merges: int = 0
    model_version: int | None = None
    seconds: float = 0.0
    train_seconds: float = 0.0
    training: dict[str, object] = field(default_factory=dict)
    training_verdict: TrainingVerdict | None = None
    """None when the rebuild did not train"""


def training_records(conn: Connection) -> dict[str, list[Features]]:
    """Features of every accepted person and organization record, per kind."""
    sr = t.source_record
    found: dict[str, list[Features]] = {kind: [] for kind in MATCH_KINDS}
    rows = conn.execute(
        select(sr.c.kind, sr.c.attributes)
        .where(sr.c.status == "accepted", sr.c.kind.in_(MATCH_KINDS))
        .order_by(sr.c.id)
    )
    for kind, attributes in rows:
        found[kind].append(record_features(kind, attributes or {}))
    return found


@dataclass(slots=True)
class TrainingOutcome:
    """What training did: the model in force afterwards, the model it learned,
    and the guard's verdict (when refused, the model in force is unchanged)."""

    model: MatchModel
    trained: MatchModel
    verdict: TrainingVerdict

    @property
    def stored(self) -> bool:
        return self.model is self.trained


def train(
    engine: Engine,
    settings: MatchSettings | None = None,
    *,
    seed: int = 0,
    created_by: str = "c360 resolve --train",
    force: bool = False,
) -> TrainingOutcome:
    """Learn a new model version from the records in the database (no labels) and
    put it in force — unless :func:`~c360.platform.matching.guard.judge_training`
    finds it worse than the model in force (``force`` stores it anyway).
    ``settings`` default to those of the model in force."""
    with engine.connect() as conn:
        current = load_model(conn)
        records = training_records(conn)
    chosen = settings or current.settings
    start = current if settings is None else None
    model = train_model(chosen, records, seed=seed, start=start)
    verdict = judge_training(current, model, records, seed=seed)
    model.training["guard"] = verdict.as_json()
    if not (verdict.accepted or force):
        return TrainingOutcome(model=current, trained=model, verdict=verdict)
    with write_transaction(engine) as conn:
        save_model(conn, model, created_by=created_by)
    return TrainingOutcome(model=model, trained=model, verdict=verdict)


def _active_customers(conn: Connection) -> int:
    cu = t.customer
    return len(
        conn.execute(
            select(cu.c.id).where(cu.c.merged_into.is_(None), cu.c.kind.in_(MATCH_KINDS))
        ).all()
    )


def rebuild(
    engine: Engine,
    *,
    retrain: bool = True,
    settings: MatchSettings | None = None,
    batch_size: int = 2000,
    seed: int = 0,
    progress: Progress | None = None,
    force: bool = False,
) -> RebuildReport:
    """Re-resolve every person and organization record (see the module docstring)."""
    started = time.perf_counter()
    report = RebuildReport()
    if retrain:
        outcome = train(
            engine, settings, seed=seed, created_by="c360 resolve --rebuild", force=force
        )
        report.training = outcome.trained.training
        report.training_verdict = outcome.verdict
        report.train_seconds = time.perf_counter() - started
    sr, rl = t.source_record, t.record_link
    with write_transaction(engine) as conn:
        report.backlog = clear_for_rebuild(conn)  # the rebuild links those records too
        memory = RebuildMemory()
        resolver = Resolver(memory=memory)
        report.model_version = resolver.model(conn).version
        report.customers_before = _active_customers(conn)
        old: dict[int, int] = dict(conn.execute(select(rl.c.record_id, rl.c.customer_id)).all())
        records = conn.execute(
            select(
                sr.c.id,
                sr.c.kind,
                sr.c.source_name,
                sr.c.attributes,
                sr.c.stream,
                sr.c.external_id,
                sr.c.verified_fields,
                sr.c.observed_at,
                sr.c.updated_at,
            )
            .where(sr.c.status == "accepted", sr.c.kind.in_(MATCH_KINDS))
            .order_by(sr.c.id)
        ).all()
        report.records = len(records)
        for table in (t.identity_key, match_key, match_key_count, edge, flag):
            conn.execute(delete(table))
        conn.execute(delete(rl))
        touched: set[int] = set(old.values())
        with _settled_objects_spared():
            _resolve_all(resolver, conn, records, old, batch_size, touched, report, progress)
        memory.flush(conn)
        del memory, resolver  # the keys are stored; their copy in memory is large
        # timelines: re-attach every event by its subject
        active = set(survivor_of(conn, touched).values())
        conn.execute(update(t.event).values(customer_id=None))
        for (source,) in conn.execute(select(t.event.c.source_name).distinct()).all():
            attach_orphan_events(conn, source)
        new_links = dict(conn.execute(select(rl.c.record_id, rl.c.customer_id)).all())
        evidence = _evidence(conn, records, new_links, active)
        with _settled_objects_spared():
            rebuild_golden(conn, active, evidence)
        del evidence
        report.kept_ids = len({cid for rid, cid in new_links.items() if old.get(rid) == cid})
        _redirect_emptied(conn, old, new_links)
        report.customers_after = _active_customers(conn)
    report.seconds = time.perf_counter() - started
    return report


def _resolve_all(
    resolver: Resolver,
    conn: Connection,
    records: Sequence[Any],
    old: dict[int, int],
    batch_size: int,
    touched: set[int],
    report: RebuildReport,
    progress: Progress | None,
) -> None:
    """Every record through the resolver, oldest first, ``batch_size`` at a time."""
    for i in range(0, len(records), batch_size):
        batch = [
            ResolvableRecord(
                record_id=row.id,
                kind=row.kind,
                source_name=row.source_name,
                attributes=row.attributes or {},
                previous_customer_id=old.get(row.id),
                new=True,  # every key and link was cleared before
            )
            for row in records[i : i + batch_size]
        ]
        outcome = resolver.resolve(conn, batch)
        touched |= outcome.touched_customers
        report.new_customers += outcome.new_customers
        report.merges += len(outcome.merges)
        gc.freeze()  # see _settled_objects_spared
        if progress is not None:
            progress(min(i + batch_size, len(records)), len(records))


@contextmanager
def _settled_objects_spared() -> Iterator[None]:
    """Python's cycle collector walks every live container on each full pass; a
    rebuild holds millions (its records, its key memory), so passes grow with the
    data and come as often. Objects alive after a batch are moved out of its
    reach (``gc.freeze``) until the rebuild is done; reference counting still
    frees everything that is not a cycle."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _evidence(
    conn: Connection, records: Sequence[Any], links: dict[int, int], active: set[int]
) -> dict[int, list[Evidence]]:
    """Every active customer's evidence, from the records in hand: they are all of
    the accepted people and organizations, and nothing else is linked."""
    trust = dict(conn.execute(select(t.source.c.name, t.source.c.trust)).all())
    found: dict[int, list[Evidence]] = {cid: [] for cid in active}
    for row in records:
        cid = links.get(row.id)
        if cid is None or cid not in found:
            continue
        found[cid].append(
            Evidence(
                record_id=row.id,
                source=row.source_name,
                stream=row.stream,
                external_id=row.external_id,
                trust=trust[row.source_name],
                verified_fields=frozenset(row.verified_fields or ()),
                observed_at=row.observed_at,
                updated_at=row.updated_at,
                attributes=row.attributes or {},
            )
        )
    return found


def _redirect_emptied(conn: Connection, old: dict[int, int], new: dict[int, int]) -> None:
    """An old id left without records redirects to the customer that now holds most
    of its records, when that customer is older (the older id always survives);
    otherwise it stays, empty, and still resolves."""
    holding = set(new.values())
    went: dict[int, Counter[int]] = {}
    for rid, before in old.items():
        if before not in holding and rid in new:
            went.setdefault(before, Counter())[new[rid]] += 1
    if not went:
        return
    cu = t.customer
    merged = dict(
        conn.execute(select(cu.c.id, cu.c.merged_into).where(cu.c.id.in_(sorted(went)))).all()
    )
    for before, targets in sorted(went.items()):
        if merged.get(before) is not None:
            continue
        target = targets.most_common(1)[0][0]
        if target < before:
            merge_customers(conn, target, before)


__all__ = ["RebuildReport", "TrainingOutcome", "rebuild", "train", "training_records"]
