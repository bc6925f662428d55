"""Outbound webhook benchmark: N customer changes delivered to a receiver on
loopback, with the delivery worker killed (SIGKILL) mid-run and restarted.

    python -m bench.outbound              # 10,000 changes
    python -m bench.outbound --smoke      # 300 changes, for CI

A fresh SQLite database (or ``--database URL``) gets N customers; each change goes
through the real path a customer change takes —
:func:`c360.platform.golden.queue_for_index` in its own transaction, in batches
of 100, which writes the indexer's outbox row and the ``customer.created``
business event. An admin endpoint subscribed to ``customer.*`` points at a
receiver on 127.0.0.1 that verifies every signature (``standardwebhooks``) and
records each ``webhook-id`` with the time it arrived. The delivery worker is
``c360 webhooks deliver``, a separate process; when half the changes are in, it
is killed with SIGKILL and started again.

Printed: ``deliveries_per_s`` (unique deliveries / seconds from the first change
to the last arrival), ``p99_delivery_latency_ms`` (arrival minus the change's
commit time), ``lost`` (changes never received), ``redelivered`` (arrivals of a
webhook-id already received: at-least-once after the kill), and
``duplicates_per_receiver_dedup`` (changes received under two different
webhook-ids, i.e. duplicates a receiver de-duplicating on webhook-id would still
see). Last line::

    deliveries_per_s=… p99_delivery_latency_ms=… lost=… duplicates_per_receiver_dedup=…
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert
from standardwebhooks.webhooks import Webhook

from c360.ops.outbound import PolicyScreen
from c360.platform import tables as t
from c360.platform.db import make_engine, migrate
from c360.platform.golden import queue_for_index
from c360.platform.models import utcnow
from c360.platform.outbound.endpoints import add_endpoint

C360 = [sys.executable, "-m", "c360.cli"]


class Arrivals:
    """What the receiver saw: (webhook-id, customer id, arrival time)."""

    def __init__(self, secret: str) -> None:
        self.webhook = Webhook(secret)
        self.lock = threading.Lock()
        self.seen: list[tuple[str, int, float, str]] = []
        self.bad_signatures = 0
        self.cut_short = 0
        """Requests whose body stopped short (the worker's SIGKILL): retried, not bad."""


def _receiver(arrivals: Arrivals) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            now = time.time()
            if len(body) < length:  # the sender was killed mid-request: nothing to verify
                with arrivals.lock:
                    arrivals.cut_short += 1
                self.close_connection = True
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                payload = arrivals.webhook.verify(body, headers)
            except Exception:
                with arrivals.lock:
                    arrivals.bad_signatures += 1
                self.send_response(400)
            else:
                with arrivals.lock:
                    arrivals.seen.append(
                        (
                            headers["webhook-id"],
                            int(payload["data"]["customer_id"]),
                            now,
                            payload["timestamp"],
                        )
                    )
                self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.handle_error = lambda request, address: None  # type: ignore[method-assign]  # resets at the kill
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _customers(engine: Engine, n: int) -> list[int]:
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            insert(t.customer),
            [{"kind": "person", "created_at": now, "updated_at": now} for _ in range(n)],
        )
        ids = [
            row[0] for row in conn.execute(t.customer.select().with_only_columns(t.customer.c.id))
        ]
        conn.execute(
            insert(t.golden_profile),
            [
                {"customer_id": cid, "attributes": {}, "conflicting": False, "updated_at": now}
                for cid in ids
            ],
        )
    return ids


def _deliverer(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([*C360, "webhooks", "deliver"], env=env, stdout=out, stderr=out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--smoke", action="store_true", help="300 changes, for CI")
    args = parser.parse_args()
    n = 300 if args.smoke else args.changes
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="c360-bench-outbound-"))
    url = args.database or f"sqlite:///{work / 'c360.db'}"
    engine = make_engine(url)
    migrate(engine)
    ids = _customers(engine, n)
    rng.shuffle(ids)
    arrivals = Arrivals("whsec_" + "A" * 43 + "=")  # replaced below by the endpoint's
    server = _receiver(arrivals)
    endpoint = add_endpoint(
        engine,
        PolicyScreen(),
        name="bench",
        url=f"http://127.0.0.1:{server.server_address[1]}/hook",
        role="admin",
        event_types=["customer.*"],
        allow_private=True,
    )
    arrivals.webhook = Webhook(endpoint.secret)
    env = {**os.environ, "C360_DATABASE_URL": url, "C360_DATA_DIR": str(work / "data")}
    log = work / "deliver.log"
    worker = _deliverer(env, log)
    started = time.time()
    committed: dict[int, float] = {}
    killed = False
    for start in range(0, n, 100):
        batch = ids[start : start + 100]
        with engine.begin() as conn:
            queue_for_index(conn, batch)
        stamp = time.time()
        for cid in batch:
            committed[cid] = stamp
        if not killed and start + 100 >= n // 2:
            wait_until = time.time() + 60
            while time.time() < wait_until:  # killed mid-delivery, not while starting
                with arrivals.lock:
                    if len(arrivals.seen) >= min(50, n // 10):
                        break
                time.sleep(0.05)
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            killed = True
            worker = _deliverer(env, log)
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        with arrivals.lock:
            if len({cid for _, cid, _, _ in arrivals.seen}) >= n:
                break
        time.sleep(0.2)
    time.sleep(1.0)  # any straggling redelivery
    worker.terminate()
    worker.wait(15)
    server.shutdown()
    with arrivals.lock:
        seen = list(arrivals.seen)
    first_arrival: dict[str, float] = {}
    ids_of_customer: dict[int, set[str]] = {}
    for webhook_id, cid, at, _ in seen:
        first_arrival.setdefault(webhook_id, at)
        ids_of_customer.setdefault(cid, set()).add(webhook_id)
    by_id = {webhook_id: cid for webhook_id, cid, _, _ in seen}
    latencies = sorted((first_arrival[w] - committed[by_id[w]]) * 1000 for w in first_arrival)
    lost = n - len(set(ids_of_customer) & set(committed))
    redelivered = len(seen) - len(first_arrival)
    duplicates = sum(len(w) - 1 for w in ids_of_customer.values())
    last = max(first_arrival.values(), default=started)
    per_s = len(first_arrival) / max(1e-9, last - started)
    p50 = latencies[len(latencies) // 2] if latencies else 0.0
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0
    print(f"changes={n} database={'sqlite' if url.startswith('sqlite') else 'postgresql'}")
    print(
        f"killed_mid_run={int(killed)} redelivered={redelivered} "
        f"bad_signatures={arrivals.bad_signatures} cut_short={arrivals.cut_short} "
        f"p50_delivery_latency_ms={p50:.0f}"
    )
    print(f"loadavg={Path('/proc/loadavg').read_text().split()[0]}")
    print(
        f"deliveries_per_s={per_s:.0f} p99_delivery_latency_ms={p99:.0f} lost={lost} "
        f"duplicates_per_receiver_dedup={duplicates}"
    )
    engine.dispose()
    if lost or duplicates or arrivals.bad_signatures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
