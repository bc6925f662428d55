"""The webhook receiver over real HTTP (uvicorn on loopback): signatures, the
replay window, duplicates, durability (accepted = committed before the 2xx), and
draining into the same pipeline as pulled records. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from starlette.applications import Starlette

from c360.connectors.scheduler import run_due
from c360.connectors.web.drain import drain_inbox
from c360.connectors.web.inbox import INBOX, InboxWriter, pending_deliveries
from c360.connectors.web.signing import sign
from c360.connectors.web.webhook import webhook_routes
from c360.platform import tables as t
from c360.platform.sources import save_source
from tests.webhook_helpers import CUSTOMER, ORDER, SECRET, HookServer, deliver, inbox, source_config


def test_a_signed_delivery_is_committed_before_the_2xx_and_drained_into_the_pipeline(
    engine: Engine, hooks: str
) -> None:
    first = deliver(hooks, CUSTOMER)
    assert first.status_code == 202 and first.json()["delivery"] == "evt-1"
    assert deliver(hooks, ORDER).status_code == 202
    # accepted = committed: the process may die now and nothing is lost
    assert inbox(engine, "pending") == 2
    report = drain_inbox(engine, "shop")
    assert report.deliveries == 2 and report.counts.as_dict() == {
        "read": 2,
        "new": 2,
        "updated": 0,
        "unchanged": 0,
        "quarantined": 0,
    }
    assert inbox(engine, "done") == 2
    with engine.connect() as conn:
        event = conn.execute(select(t.event)).mappings().one()
        run = conn.execute(select(t.sync_run)).mappings().one()
    assert event["customer_id"] is not None and event["amount"] == 268.0
    assert run["status"] == "succeeded" and run["counts"]["deliveries"] == 2


def test_bad_signatures_stale_timestamps_and_oversize_bodies_are_refused(
    engine: Engine, hooks: str
) -> None:
    wrong = deliver(hooks, CUSTOMER, secret="not-the-secret")
    assert wrong.status_code == 401 and "does not match" in wrong.json()["error"]
    replayed = deliver(hooks, CUSTOMER, at=time.time() - 3600)  # an old delivery sent again
    assert replayed.status_code == 401 and "outside the 300s window" in replayed.json()["error"]
    unsigned = httpx.post(f"{hooks}/hooks/shop", content=b"{}", timeout=10)
    assert unsigned.status_code == 401 and "missing X-C360-Delivery" in unsigned.json()["error"]
    tampered_body = json.dumps(CUSTOMER).encode()
    stamp = str(int(time.time()))
    tampered = httpx.post(
        f"{hooks}/hooks/shop",
        content=tampered_body.replace(b"U9", b"U0"),
        headers={
            "X-C360-Delivery": "evt-1",
            "X-C360-Timestamp": stamp,
            "X-C360-Signature": sign(SECRET, "evt-1", stamp, tampered_body),
        },
        timeout=10,
    )
    assert tampered.status_code == 401
    big = deliver(hooks, None, raw=b"[" + b"1," * 600_000 + b"1]")
    assert big.status_code == 413
    assert deliver(hooks, CUSTOMER, source="nowhere").status_code == 404
    assert inbox(engine) == 0


def test_a_delivery_sent_twice_is_stored_once(engine: Engine, hooks: str) -> None:
    assert deliver(hooks, CUSTOMER, delivery="d-1").status_code == 202
    again = deliver(hooks, CUSTOMER, delivery="d-1")
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert inbox(engine) == 1


def test_malformed_and_unrouted_deliveries_are_quarantined_with_the_reason(
    engine: Engine, hooks: str
) -> None:
    assert deliver(hooks, None, raw=b'{"id": "evt-3", "type": "customer.cr').status_code == 202
    assert deliver(hooks, {"id": "evt-4", "type": "refund.issued", "data": {}}).status_code == 202
    assert (
        deliver(
            hooks, {"id": "evt-5", "type": "customer.updated", "data": {"name": "x"}}
        ).status_code
        == 202
    )
    report = drain_inbox(engine, "shop")
    assert report.counts.as_dict() == {
        "read": 3,
        "new": 0,
        "updated": 0,
        "unchanged": 0,
        "quarantined": 3,
    }
    sr = t.source_record
    with engine.connect() as conn:
        reasons = {r.external_id: r.quarantine_reasons for r in conn.execute(select(sr))}
    assert (
        "malformed JSON"
        in reasons[
            "delivery:sha256:"
            + __import__("hashlib").sha256(b'{"id": "evt-3", "type": "customer.cr').hexdigest()
        ]["record"]
    )
    assert "no route for type 'refund.issued'" in reasons["delivery:evt-4"]["record"]
    assert any("no usable 'id'" in r.get("id", "") for r in reasons.values())


def test_sixteen_concurrent_senders_lose_nothing_and_the_scheduler_drains(
    engine: Engine, hooks: str
) -> None:
    def send(n: int) -> int:
        doc = {
            "id": f"evt-c{n}",
            "type": "customer.created",
            "data": {"id": f"C{n}", "name": f"用户{n}", "email": f"user{n}@example.com"},
        }
        return deliver(hooks, doc).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(send, range(160)))
    assert statuses == [202] * 160
    assert pending_deliveries(engine) == {"shop": 160}
    results = run_due(engine)  # what `c360 sync-due` and the serve background task do
    drained = [r for r in results if r.action == "webhook-drain"]
    assert drained and drained[0].report.counts.new == 160
    assert pending_deliveries(engine) == {}


def test_the_route_drains_in_the_background_after_answering(engine: Engine) -> None:
    save_source(engine, "shop", "web", source_config())
    with HookServer(Starlette(routes=webhook_routes(engine))) as server:
        assert deliver(server.url, CUSTOMER).status_code == 202
        deadline = time.monotonic() + 10
        while inbox(engine, "done") < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert inbox(engine, "done") == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.customer)).scalar_one() == 1


def test_concurrent_deliveries_share_commits_and_each_is_stored_once(engine: Engine) -> None:
    # Group commit: 16 threads at once, every delivery id sent twice. Each store
    # returns only after its row is committed; the second of a pair is a duplicate.
    save_source(engine, "shop", "web", source_config())
    writer = InboxWriter(engine, max_batch=8)
    stamp = datetime.now(UTC)

    def store(n: int) -> int | None:
        return writer.store("shop", f"d-{n // 2}", stamp, json.dumps({"n": n}).encode())

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(store, range(200)))
    stored = [r for r in results if r is not None]
    assert len(stored) == 100 and len(set(stored)) == 100
    with engine.connect() as conn:
        rows = conn.execute(select(INBOX.c.id, INBOX.c.delivery_id)).all()
    assert sorted(r.id for r in rows) == sorted(stored)
    assert {r.delivery_id for r in rows} == {f"d-{n}" for n in range(100)}


def test_a_failed_commit_accepts_none_of_its_batch(engine: Engine) -> None:
    writer = InboxWriter(engine)  # no source "shop": the foreign key refuses the row
    with pytest.raises(IntegrityError):
        writer.store("shop", "d-1", datetime.now(UTC), b"{}")
    assert inbox(engine) == 0


def test_a_paced_drain_takes_the_batches_it_is_given(engine: Engine, hooks: str) -> None:
    for n in range(5):
        doc = {
            "id": f"evt-p{n}",
            "type": "customer.created",
            "data": {"id": f"P{n}", "name": "王芳"},
        }
        assert deliver(hooks, doc).status_code == 202
    sizes: list[int] = []

    def pace() -> int:
        sizes.append(2)
        return 2

    report = drain_inbox(engine, "shop", pace=pace)
    assert report.deliveries == 5 and report.counts.new == 5
    assert sizes == [2, 2, 2, 2]  # 2 + 2 + 1, then one more look that finds none
    assert pending_deliveries(engine) == {}
