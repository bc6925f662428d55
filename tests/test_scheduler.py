"""Scheduling: which sources are due, ``run_due`` syncing them over HTTP (a
credit source refreshing instead), and the background scheduler for ``c360 serve``.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import Engine, select

from c360.connectors.scheduler import BackgroundScheduler, due_sources, run_due
from c360.demo.standins import BureauAPI, ShopAPI, credit_source_config, shop_source_config
from c360.platform import tables as t
from c360.platform.models import utcnow
from c360.platform.sources import save_source
from tests.connector_payloads import CHATS, CUSTOMERS, ORDERS


def test_due_sources_follow_their_refresh_intervals(engine: Engine) -> None:
    with ShopAPI(CUSTOMERS, ORDERS, CHATS) as shop, BureauAPI({}, {}) as bureau:
        save_source(
            engine, "shop", "web", shop_source_config(shop, page_size=2), refresh_interval_s=600
        )
        save_source(
            engine, "bureau", "credit", credit_source_config(bureau), refresh_interval_s=3600
        )
        save_source(engine, "manual", "web", shop_source_config(shop), refresh_interval_s=None)
        assert due_sources(engine) == ["bureau", "shop"]  # never ran
        results = {(r.source, r.action, r.status) for r in run_due(engine)}
        assert results == {("shop", "sync", "succeeded"), ("bureau", "credit-refresh", "succeeded")}
        assert due_sources(engine) == []
        assert due_sources(engine, utcnow() + timedelta(seconds=601)) == ["shop"]
        assert due_sources(engine, utcnow() + timedelta(seconds=3601)) == ["bureau", "shop"]
    with engine.connect() as conn:
        runs = {r.source_name: r.status for r in conn.execute(select(t.sync_run))}
    assert runs == {"shop": "succeeded", "bureau": "succeeded"}  # visible in `c360 runs`


def test_a_failing_source_does_not_stop_the_others(engine: Engine) -> None:
    with ShopAPI(CUSTOMERS, ORDERS, CHATS) as shop:
        broken = shop_source_config(shop, webhook_secret=None)
        broken["auth"] = {"type": "api_key", "key": "wrong"}
        save_source(engine, "a-broken", "web", broken, refresh_interval_s=60)
        save_source(engine, "b-shop", "web", shop_source_config(shop), refresh_interval_s=60)
        results = {r.source: r.status for r in run_due(engine)}
    assert results == {"a-broken": "failed", "b-shop": "succeeded"}


def test_the_background_scheduler_runs_due_syncs_until_stopped(engine: Engine) -> None:
    with ShopAPI(CUSTOMERS, ORDERS, CHATS) as shop:
        save_source(engine, "shop", "web", shop_source_config(shop), refresh_interval_s=3600)
        scheduler = BackgroundScheduler(engine, tick_s=0.05).start()
        deadline = time.monotonic() + 30
        while scheduler.ticks < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        scheduler.stop()
    with engine.connect() as conn:
        runs = conn.execute(select(t.sync_run)).all()
    assert scheduler.ticks >= 3 and len(runs) == 1  # due once, then not again within the hour
