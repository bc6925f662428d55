"""The scheduled CLV refit (the ``value`` plugin's ``c360_scheduler_tick``): with
enough repeat buyers and no model in force, one tick fits a model version,
rescores everyone and reports it; the next tick does nothing (not due); below
the repeat-buyer minimum a tick does nothing at all. A refit never replaces a
version silently: the old one is retired and kept."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select

from c360.connectors.scheduler import run_due
from c360.platform.ingest import Ingestor
from c360.platform.models import utcnow
from c360.platform.records import IncomingRecord
from c360.platform.sources import save_source
from c360.platform.value.judgment import refresh_all
from c360.platform.value.model_store import load_model, refit
from c360.platform.value.models import value_model, value_score
from c360.platform.value.reading import model_summary

NOW = utcnow()
FIXED_NOW = datetime(2026, 6, 1, tzinfo=UTC)


def land(
    engine: Engine, people: int, orders_each: int, regular_days: int = 0, now: datetime = NOW
) -> None:
    records = []
    for i in range(people):
        ext = f"p{i}"
        fields = {"name": f"顾客{i}", "phone": f"1390000{i:04d}"}
        records.append(
            IncomingRecord(stream="people", external_id=ext, kind="person", fields=fields)
        )
        # Each customer keeps a rhythm of their own (every 20 to 98 days): buyers
        # who all bought on one rhythm leave the model nothing to estimate.
        every = regular_days or 20 + 13 * (i % 7)
        for k in range(orders_each + (0 if regular_days else i % 3)):
            at = now - timedelta(days=300 - every * k - i)
            records.append(
                IncomingRecord(
                    stream="orders",
                    external_id=f"o{i}-{k}",
                    kind="event",
                    fields={
                        "event_type": "order",
                        "amount": 50.0 + 10 * i + k,
                        "occurred_at": at.isoformat(),
                        "subject_external_id": ext,
                        "subject_stream": "people",
                    },
                )
            )
    with engine.begin() as conn:
        Ingestor("shop").ingest(conn, records)


def value_runs(engine: Engine) -> list[tuple[str, str]]:
    # One clock for the data and the tick: a fit is a function of the histories
    # as of the tick, and on some clocks a sample this small has no usable one.
    return [(r.action, r.status) for r in run_due(engine, FIXED_NOW) if r.source == "value"]


def test_the_tick_refits_when_due_and_only_then(sqlite_engine: Engine) -> None:
    save_source(sqlite_engine, "shop", "offline", {}, trust=60)
    land(sqlite_engine, people=3, orders_each=3, now=FIXED_NOW)
    assert value_runs(sqlite_engine) == []  # 3 repeat buyers: nothing to fit
    land(sqlite_engine, people=24, orders_each=3, now=FIXED_NOW)
    assert value_runs(sqlite_engine) == [("clv-refit", "succeeded")]
    with sqlite_engine.connect() as conn:
        model = load_model(conn)
        scored = conn.execute(select(func.count()).select_from(value_score)).scalar_one()
    assert model.version == 1 and model.bgnbd is not None and scored == 24
    assert model.cuts["rfm"]["monetary"] and model.cuts["rules"]["clv_p80"] > 0
    assert value_runs(sqlite_engine) == []  # fitted minutes ago: not due
    assert refit(sqlite_engine, actor="analyst-1") == 2
    with sqlite_engine.connect() as conn:
        versions = [(m["version"], m["status"]) for m in model_summary(conn)]
        assert conn.execute(select(func.count()).select_from(value_model)).scalar_one() == 2
    assert versions == [(2, "active"), (1, "retired")]


def test_buyers_all_on_one_rhythm_get_no_clv_rather_than_a_broken_one(
    sqlite_engine: Engine,
) -> None:
    # Every customer buys every 40 days: the fit runs to the edge of its range,
    # where, on some clocks, the expectations overflow (on this sample: two
    # hours after FIXED_NOW, with scipy 1.17). Whatever the
    # clock, the stored model gives a finite CLV or says why it gives none.
    save_source(sqlite_engine, "shop", "offline", {}, trust=60)
    land(sqlite_engine, people=24, orders_each=3, regular_days=40, now=FIXED_NOW)
    unusable = 0
    for minutes in (0, 130):
        at = FIXED_NOW + timedelta(minutes=minutes)
        refit(sqlite_engine, now=at, actor="analyst-1")
        assert refresh_all(sqlite_engine, now=at) == 24
        with sqlite_engine.connect() as conn:
            model = load_model(conn)
            notes = conn.execute(
                select(value_model.c.params).where(value_model.c.version == model.version)
            ).scalar_one()["notes"]
            clvs = conn.execute(select(value_score.c.clv_12m)).scalars().all()
        if model.bgnbd is None:
            assert any("BG/NBD fit unusable" in note for note in notes), notes
            unusable += 1
        else:
            assert math.isfinite(model.cuts["rules"]["clv_p80"]), (minutes, model.bgnbd)
        assert len(clvs) == 24
        assert all(c is None or math.isfinite(c) for c in clvs), (minutes, clvs[:3])
    assert unusable == 1, "the sample no longer reaches the overflow: pick clocks that do"
