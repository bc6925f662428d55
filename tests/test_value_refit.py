"""The scheduled CLV refit (the ``value`` plugin's ``c360_scheduler_tick``): with
enough repeat buyers and no model in force, one tick fits a model version,
rescores everyone and reports it; the next tick does nothing (not due); below
the repeat-buyer minimum a tick does nothing at all. A refit never replaces a
version silently: the old one is retired and kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, func, select

from c360.connectors.scheduler import run_due
from c360.platform.ingest import Ingestor
from c360.platform.models import utcnow
from c360.platform.records import IncomingRecord
from c360.platform.sources import save_source
from c360.platform.value.model_store import load_model, refit
from c360.platform.value.models import value_model, value_score
from c360.platform.value.reading import model_summary

NOW = utcnow()


def land(engine: Engine, people: int, orders_each: int) -> None:
    records = []
    for i in range(people):
        ext = f"p{i}"
        fields = {"name": f"顾客{i}", "phone": f"1390000{i:04d}"}
        records.append(
            IncomingRecord(stream="people", external_id=ext, kind="person", fields=fields)
        )
        for k in range(orders_each):
            at = NOW - timedelta(days=300 - 40 * k - i)
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
    return [(r.action, r.status) for r in run_due(engine) if r.source == "value"]


def test_the_tick_refits_when_due_and_only_then(sqlite_engine: Engine) -> None:
    save_source(sqlite_engine, "shop", "offline", {}, trust=60)
    land(sqlite_engine, people=3, orders_each=3)
    assert value_runs(sqlite_engine) == []  # 3 repeat buyers: nothing to fit
    land(sqlite_engine, people=24, orders_each=3)
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
