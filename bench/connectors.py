"""How fast do the ``web`` connector's pull and webhook paths run, over real HTTP?

1. **Pull.** The web-shop stand-in (``c360.demo.standins.ShopAPI``) serves
   ``--records`` seeded customers (Chinese names, phones in mixed formats,
   e-mails; ~20% are the same people again under a new account, so linking does
   real work) in pages of ``--page-size`` from its own process on loopback. The
   real ``web`` connector and ``SyncRunner`` sync them into a fresh SQLite
   database in a temporary data directory, migrated as the CLI does, in the two
   steps ``c360 sync`` takes: *landing* (HTTP, OAuth2 token, paging, mapping,
   normalize, validate, store, checkpoints; ``pull_records_per_s``), then
   *resolving* the backlog (link, golden profiles;
   ``pull_resolved_records_per_s`` is records over both steps' time).
2. **Webhook intake.** The real app (``c360.app.create_app``, with its
   background drain) runs under uvicorn in its own process over a fresh SQLite
   database; ``--senders`` concurrent senders post ``--events`` correctly
   signed deliveries to ``POST /hooks/shop``. Every 202 is checked against the
   inbox afterwards (accepted means committed).

Each part runs ``--repeat`` times; the medians are reported. Prints ``name=value``
pairs, the summary last::

    python bench/connectors.py                   # 100,000 records, 10,000 events, 3 runs
    python bench/connectors.py --repeat 1 --records 20000
    python bench/connectors.py --smoke           # tiny, for CI
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from c360.connectors.runner import SyncRunner
from c360.connectors.web.inbox import INBOX
from c360.connectors.web.signing import sign
from c360.demo.standins import ShopAPI, shop_config_at
from c360.demo.standins.apis import china_iso
from c360.platform import tables as t
from c360.platform.backlog import resolve_backlog
from c360.platform.db import make_engine, migrate
from c360.platform.settings import Settings
from c360.platform.sources import save_source

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红鹏辉建国宇浩然子轩欣怡梓涵"
CITIES = ["北京", "上海", "深圳", "杭州", "成都", "广州", "武汉", "南京"]
DOMAINS = ["qq.com", "163.com", "126.com", "gmail.com", "sina.com"]
PREFIXES = ["138", "139", "186", "135", "150", "177", "199", "158", "187"]
CLIENT_ID, CLIENT_SECRET = "c360", "shop-client-secret"  # ShopAPI's defaults
WEBHOOK_SECRET = "bench-webhook-secret"


# --------------------------------------------------------------------------- data


def make_customers(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` shop accounts; about one in five is a person seen before."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    people: list[tuple[str, str, str]] = []
    customers = []
    for i in range(n):
        if people and rng.random() < 0.2:
            name, phone, email = rng.choice(people)
        else:
            name = rng.choice(SURNAMES) + "".join(
                rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))
            )
            phone = rng.choice(PREFIXES) + f"{rng.randrange(10**8):08d}"
            email = f"u{i}{rng.randrange(1000)}@{rng.choice(DOMAINS)}"
            people.append((name, phone, email))
        shown = rng.choice(
            (
                phone,
                f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}",
                f"{phone[:3]}-{phone[3:7]}-{phone[7:]}",
            )
        )
        created = start + timedelta(seconds=rng.randrange(500 * 86_400))
        customers.append(
            {
                "id": f"U{i:07d}",
                "name": name,
                "mobile": shown if rng.random() > 0.05 else None,
                "email": email if rng.random() > 0.15 else None,
                "city": rng.choice(CITIES),
                "created_at": china_iso(created),
                "updated_at": china_iso(created + timedelta(days=rng.randrange(60))),
            }
        )
    return customers


def pull_config(url: str, page_size: int) -> dict[str, Any]:
    """The customers stream of ``standins.shop_source_config``, pull only."""
    config = shop_config_at(url, CLIENT_ID, CLIENT_SECRET, page_size=page_size, webhook_secret=None)
    config["streams"] = [s for s in config["streams"] if s["name"] == "customers"]
    return config


def webhook_config() -> dict[str, Any]:
    """A push-only ``web`` source (customers and orders routed from the webhook)."""
    return {
        "base_url": "http://127.0.0.1:9",  # never pulled
        "streams": [
            {"name": "customers", "kind": "person"},
            {
                "name": "orders",
                "kind": "event",
                "event_type": "order",
                "subject_field": "customer_id",
                "subject_stream": "customers",
                "fields": {"amount": "amount", "created_at": "occurred_at"},
            },
        ],
        "webhook": {
            "secret": WEBHOOK_SECRET,
            "routes": {"customer.*": "customers", "order.*": "orders"},
        },
    }


def fresh_engine(data_dir: Path) -> Any:
    """A new, migrated SQLite database in ``data_dir`` (as ``c360`` opens its own)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(Settings(data_dir=data_dir).resolved_database_url())
    migrate(engine)
    return engine


def load_average() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


# --------------------------------------------------------------------------- servers
# Each server runs in its own process, so its CPU is not taken from the side
# being measured (the GIL), as in a real deployment.


def _serve_shop(records: int, seed: int, port_out: Any) -> None:
    shop = ShopAPI(make_customers(records, seed), [], [], client_id=CLIENT_ID)
    shop.start()
    port_out.send(shop.url)
    port_out.recv()  # until told to stop
    shop.stop()


def _serve_app(data_dir: str, sock: socket.socket) -> None:
    import logging

    # Run as ``python bench/connectors.py``, this directory is first on the path,
    # where a sibling bench script (``graphql.py``) would shadow a library.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]

    import uvicorn

    from c360.app import create_app

    logging.getLogger("c360").setLevel(logging.ERROR)
    engine = make_engine(Settings(data_dir=Path(data_dir)).resolved_database_url())
    app = create_app(engine)
    config = uvicorn.Config(app, log_level="error", lifespan="off", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def _serve_bare(sock: socket.socket) -> None:
    """The floor: the same server stack answering 202 without doing anything."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def accept(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"status": "accepted"}, status_code=202)

    app = Starlette(routes=[Route("/hooks/{source}", accept, methods=["POST"])])
    config = uvicorn.Config(app, log_level="error", lifespan="off", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


# --------------------------------------------------------------------------- pull


@dataclass(slots=True)
class PullFigures:
    """One pull: landing (read, validate, store, checkpoint) then resolution."""

    seconds: float  # until every record is landed and checkpointed
    cpu_seconds: float  # of this process while landing (not the server's)
    resolve_seconds: float  # then, until the backlog is empty
    customers: int


def run_pull(
    records: int, page_size: int, seed: int, batch_size: int, workdir: Path
) -> PullFigures:
    """One full sync: the records landed (the sync's own part, timed), then the
    resolution backlog drained (timed apart), as ``c360 sync`` does both."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve_shop, args=(records, seed, child), daemon=True)
    server.start()
    try:
        url = parent.recv()
        engine = fresh_engine(workdir / "pull")
        save_source(engine, "shop", "web", pull_config(url, page_size))
        started, cpu_started = time.perf_counter(), time.process_time()
        report = SyncRunner(engine, batch_size=batch_size, resolve=False).sync("shop")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        resolution = resolve_backlog(engine, batch_size=batch_size)
        resolve_elapsed = time.perf_counter() - started - elapsed
        with engine.connect() as conn:
            customers = conn.execute(select(func.count()).select_from(t.customer)).scalar_one()
            linked = conn.execute(select(func.count()).select_from(t.record_link)).scalar_one()
        engine.dispose()
    finally:
        parent.send("stop")
        server.join(10)
        if server.is_alive():
            server.kill()
    assert report.total.read == records, report.total
    assert report.total.balanced(), report.total
    assert resolution.resolved == report.total.new + report.total.updated, resolution
    assert linked == report.total.new - report.total.quarantined, (linked, report.total)
    return PullFigures(elapsed, cpu, resolve_elapsed, customers)


# --------------------------------------------------------------------------- webhook


def event(i: int, rng: random.Random) -> dict[str, Any]:
    key = f"W{i:07d}"
    if i % 4 == 3:  # an order of a customer pushed earlier
        return {
            "id": f"evt-{i}",
            "type": "order.paid",
            "data": {
                "id": f"SO{i:07d}",
                "customer_id": f"W{i - 1:07d}",
                "amount": f"{rng.randrange(100, 100_000) / 100:.2f}",
                "created_at": "2025-03-14T10:00:00+08:00",
            },
        }
    name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
    phone = rng.choice(PREFIXES) + f"{rng.randrange(10**8):08d}"
    return {
        "id": f"evt-{i}",
        "type": "customer.created",
        "data": {"id": key, "name": name, "mobile": phone, "email": f"{key.lower()}@qq.com"},
    }


class Sender:
    """One keep-alive HTTP/1.1 connection that posts deliveries and reads the
    answers: a load generator lean enough (a few socket calls a request) not to
    be what is measured, where a full client spends more CPU per request than
    the server does."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        head.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        answer = await self.reader.readexactly(length) if length else b""
        return int(status_line.split()[1]), answer

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def send_all(
    host: str, port: int, bodies: list[bytes], senders: int, prefix: str = "bench-"
) -> tuple[float, list[float]]:
    """Posts every body, ``senders`` at a time, each signed just before it is
    sent; (seconds, latency of each request in seconds)."""
    latencies: list[float] = []
    queue = iter(enumerate(bodies))

    async def sender() -> None:
        connection = Sender(host, port)
        try:
            for i, body in queue:
                stamp = str(int(time.time()))
                delivery = f"{prefix}{i}"
                headers = {
                    "Content-Type": "application/json",
                    "X-C360-Timestamp": stamp,
                    "X-C360-Signature": sign(WEBHOOK_SECRET, delivery, stamp, body),
                    "X-C360-Delivery": delivery,
                }
                sent = time.perf_counter()
                status, answer = await connection.post("/hooks/shop", body, headers)
                latencies.append(time.perf_counter() - sent)
                if status != 202:
                    raise RuntimeError(f"delivery {i}: HTTP {status} {answer!r}")
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(senders)))
    return time.perf_counter() - started, latencies


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class HookFigures:
    events_per_s: float
    p50_ms: float
    p99_ms: float
    server_cpu_ms: float
    """Server CPU per accepted event while the senders ran (intake plus whatever
    draining happened meanwhile)."""
    drained_s: float
    """From the last answer until every delivery was ingested."""


def pending(engine: Any) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(INBOX).where(INBOX.c.status == "pending")
            ).scalar_one()
        )


def run_webhook(
    events: int, senders: int, seed: int, workdir: Path, *, bare: bool = False
) -> HookFigures:
    """One intake run against the real app (or, ``bare``, against the floor)."""
    data_dir = workdir / ("bare" if bare else "webhook")
    engine = fresh_engine(data_dir)
    save_source(engine, "shop", "web", webhook_config())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    host, port = sock.getsockname()
    ctx = mp.get_context("spawn")
    target, args = (_serve_bare, (sock,)) if bare else (_serve_app, (str(data_dir), sock))
    server = ctx.Process(target=target, args=args, daemon=True)
    server.start()
    rng = random.Random(seed)
    bodies = [json.dumps(event(i, rng), ensure_ascii=False).encode("utf-8") for i in range(events)]
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection((host, port), timeout=5):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        asyncio.run(send_all(host, port, bodies[:1], 1, "warm-up-"))  # loads config, caches
        assert server.pid is not None
        cpu_before = cpu_seconds(server.pid)
        elapsed, latencies = asyncio.run(send_all(host, port, bodies, senders))
        server_cpu = cpu_seconds(server.pid) - cpu_before
        answered = time.perf_counter()
        if not bare:
            with engine.connect() as conn:  # every 202 is in the inbox already
                stored = conn.execute(select(func.count()).select_from(INBOX)).scalar_one()
            assert len(latencies) == events and stored == events + 1, (len(latencies), stored)
            deadline = time.monotonic() + max(60.0, events * 0.05)
            while pending(engine) and time.monotonic() < deadline:
                time.sleep(0.2)
            left = pending(engine)
            if left:
                raise RuntimeError(f"{left} deliveries still pending after the drain timeout")
        drained = time.perf_counter() - answered
    finally:
        server.terminate()
        server.join(10)
        sock.close()
    engine.dispose()
    latencies.sort()
    return HookFigures(
        events_per_s=events / elapsed,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        server_cpu_ms=server_cpu * 1000 / events,
        drained_s=drained,
    )


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-pull", action="store_true")
    parser.add_argument("--skip-webhook", action="store_true")
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the floor: the same senders against a bare 202 endpoint on the same stack",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    args = parser.parse_args()
    if args.smoke:
        args.records, args.page_size, args.events, args.repeat = 1000, 100, 300, 1
    print(f"load_average_before={load_average()}")
    pulls: list[PullFigures] = []
    hooks: list[HookFigures] = []
    bares: list[HookFigures] = []
    with tempfile.TemporaryDirectory(prefix="c360-bench-") as tmp:
        for i in range(args.repeat):
            workdir = Path(tmp) / f"run{i + 1}"
            if not args.skip_pull:
                pull = run_pull(args.records, args.page_size, args.seed, args.batch_size, workdir)
                pulls.append(pull)
                print(
                    f"run={i + 1} pull_seconds={pull.seconds:.2f} "
                    f"pull_records_per_s={args.records / pull.seconds:.0f} "
                    f"pull_records_per_cpu_s={args.records / pull.cpu_seconds:.0f} "
                    f"resolve_seconds={pull.resolve_seconds:.2f} "
                    f"pull_resolved_records_per_s="
                    f"{args.records / (pull.seconds + pull.resolve_seconds):.0f} "
                    f"customers={pull.customers} load={load_average()}",
                    file=sys.stderr,
                )
            if not args.skip_webhook:
                hook = run_webhook(args.events, args.senders, args.seed, workdir)
                hooks.append(hook)
                print(
                    f"run={i + 1} webhook_events_per_s={hook.events_per_s:.0f} "
                    f"webhook_p50_ms={hook.p50_ms:.1f} webhook_p99_ms={hook.p99_ms:.1f} "
                    f"webhook_server_cpu_ms_per_event={hook.server_cpu_ms:.2f} "
                    f"webhook_drained_s={hook.drained_s:.1f} load={load_average()}",
                    file=sys.stderr,
                )
            if not args.skip_webhook and not args.no_baseline:
                bare = run_webhook(args.events, args.senders, args.seed, workdir, bare=True)
                bares.append(bare)
                print(
                    f"run={i + 1} baseline_events_per_s={bare.events_per_s:.0f} "
                    f"baseline_p50_ms={bare.p50_ms:.1f} baseline_p99_ms={bare.p99_ms:.1f} "
                    f"baseline_server_cpu_ms_per_event={bare.server_cpu_ms:.2f} "
                    f"load={load_average()}",
                    file=sys.stderr,
                )

    def median(values: list[float], spec: str) -> str:
        return format(statistics.median(values), spec) if values else "nan"

    print(
        f"records={args.records} page_size={args.page_size} events={args.events} "
        f"senders={args.senders} runs={args.repeat}"
    )
    if pulls:
        print(
            f"pull_median_seconds={median([p.seconds for p in pulls], '.2f')} "
            f"pull_records_per_cpu_s="
            f"{median([args.records / p.cpu_seconds for p in pulls], '.0f')} "
            f"resolve_median_seconds={median([p.resolve_seconds for p in pulls], '.2f')}"
        )
    if hooks:
        print(
            f"webhook_p50_ms={median([h.p50_ms for h in hooks], '.1f')} "
            f"webhook_server_cpu_ms_per_event={median([h.server_cpu_ms for h in hooks], '.2f')} "
            f"webhook_drained_s={median([h.drained_s for h in hooks], '.1f')}"
        )
    if bares:
        print(
            f"baseline_events_per_s={median([h.events_per_s for h in bares], '.0f')} "
            f"baseline_p99_ms={median([h.p99_ms for h in bares], '.1f')} "
            f"baseline_server_cpu_ms_per_event={median([h.server_cpu_ms for h in bares], '.2f')}"
        )
    print(f"load_average_after={load_average()}")
    resolved = [args.records / (p.seconds + p.resolve_seconds) for p in pulls]
    print(
        f"pull_records_per_s={median([args.records / p.seconds for p in pulls], '.0f')} "
        f"webhook_events_per_s={median([h.events_per_s for h in hooks], '.0f')} "
        f"webhook_p99_ms={median([h.p99_ms for h in hooks], '.1f')} "
        f"pull_resolved_records_per_s={median(resolved, '.0f')}"
    )


if __name__ == "__main__":
    main()
