"""How fast does the GraphQL API answer over HTTP, on 100,000 customers in SQLite?

Builds a seeded customer graph through the real ingest path (:class:`Ingestor`
with the default resolver, batch by batch, as a sync does): store members with
resident ids (some sharing a family phone, so the graph has edges), web sign-ups
for 40% of them (some with a homophone name or another phone, so lineage has
conflicts), companies the members work at, order and feedback events (24 for each
customer the view phase opens, a few for the rest) and tags. The database is
kept under ``--data-dir`` and reused while the sizes and seed are the same.

Then it serves the real app (``c360 serve``, uvicorn, on loopback) from that
data directory, takes a token from ``c360 token --role admin``, declares a purpose
(``X-Purpose``) so every personal field is read in clear and audited, and drives
the API over HTTP/1.1 keep-alive connections:

* ``view``: the 360 view of one customer (golden profile with per-field lineage,
  20 timeline events, related customers, tags), concurrency 1, each request a
  different customer;
* ``list``: ``customers(first: 20, after: …)`` with a few fields per customer,
  concurrency 16, each worker paging on from its own seeded start.

Repeats ``--repeat`` times against one server and reports the medians; the
last line is ``view_p50_ms=… view_p99_ms=… list_rps=…``.

    python bench/graphql.py                      # 100,000 customers, 3 runs
    python bench/graphql.py --people 20000 --repeat 1
    python bench/graphql.py --smoke              # tiny, for CI
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import Engine, func, insert, select
from stdnum.cn import ric, uscc

from c360.platform import tables as t
from c360.platform.customer_tags import CustomerTag
from c360.platform.db import make_engine, migrate
from c360.platform.ingest import Ingestor
from c360.platform.records import IncomingRecord
from c360.platform.source_events import attach_orphan_events
from c360.platform.sources import save_source

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华玉萍红鹏辉建国宇浩然子轩欣怡梓涵"
HOMOPHONES = {"伟": "玮", "静": "婧", "丽": "莉", "娟": "鹃", "明": "铭", "军": "君", "华": "桦"}
CITIES = [
    ("北京", "北京", "110101"),
    ("上海", "上海", "310104"),
    ("深圳", "广东", "440305"),
    ("广州", "广东", "440106"),
    ("杭州", "浙江", "330106"),
    ("成都", "四川", "510107"),
    ("武汉", "湖北", "420106"),
    ("南京", "江苏", "320102"),
    ("西安", "陕西", "610113"),
]
DOMAINS = ["qq.com", "163.com", "126.com", "gmail.com", "sina.com"]
PREFIXES = ["138", "139", "186", "135", "150", "177", "199", "158", "187"]
BRANDS = [
    "华信",
    "创联",
    "东方",
    "恒通",
    "中科",
    "盛世",
    "天成",
    "金桥",
    "博远",
    "卓越",
    "新元",
    "汇丰",
    "长城",
    "海纳",
    "瑞达",
    "兴业",
]
TRADES = ["科技", "贸易", "餐饮", "物流", "咨询", "建材", "医药", "教育"]
STORES = ["武汉光谷世界城店", "北京三里屯店", "上海静安寺店", "深圳万象城店", "成都太古里店"]
TAGS = ["vip", "回访", "投诉跟进", "高价值", "新客", "企业客户"]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
T0 = datetime(2021, 1, 1, tzinfo=UTC)

VIEW_QUERY = """
query View($id: ID!) {
  customer(id: $id) {
    id customerId kind displayName tags
    attributes {
      name value verified conflicting
      lineage { value chosen verified source stream externalId recordId trust observedAt }
    }
    timeline(first: 20) { eventType occurredAt amount currency channel text source }
    related(first: 20) { kind via value node { customerId kind displayName } }
  }
}
"""

LIST_QUERY = """
query Page($after: String) {
  customers(first: 20, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { customerId kind displayName
      phone: attribute(name: "phone") { value }
      city: attribute(name: "city") { value } } }
  }
}
"""


# --- the data ------------------------------------------------------------------------


def _org_code(rng: random.Random) -> str:
    stem = "MA" + "".join(rng.choice(USCC_ALPHABET) for _ in range(6))
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(
        (int(ch) if ch.isdigit() else ord(ch) - 55) * w for ch, w in zip(stem, weights, strict=True)
    )
    check = 11 - total % 11
    return stem + ("X" if check == 10 else "0" if check == 11 else str(check))


def _when(rng: random.Random, days: int = 1400) -> str:
    moment = T0 + timedelta(seconds=rng.randrange(days * 86400))
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def make_records(
    people: int, companies: int, viewed: int, seed: int
) -> dict[str, list[IncomingRecord]]:
    """The records each source gives, by source name (same seed, same records)."""
    rng = random.Random(seed)
    orgs: list[IncomingRecord] = []
    company_names: list[str] = []
    for i in range(companies):
        city, province, region = rng.choice(CITIES)
        name = f"{city}{rng.choice(BRANDS)}{rng.choice(BRANDS)}{rng.choice(TRADES)}有限公司"
        if name in company_names:
            name = name.replace("有限公司", f"{i}号有限公司")
        company_names.append(name)
        body = "91" + region + _org_code(rng)
        orgs.append(
            IncomingRecord(
                stream="exhibitors",
                external_id=f"E{i:06d}",
                kind="organization",
                fields={
                    "name": name,
                    "uscc": body + uscc.calc_check_digit(body),
                    "phone": f"010-{rng.randrange(10**7, 10**8)}",
                    "city": city,
                    "province": province,
                    "industry": rng.choice(TRADES),
                    "registered_capital": f"{rng.randrange(1, 500) * 10}万元",
                },
                observed_at=_when(rng),
            )
        )
    members: list[IncomingRecord] = []
    signups: list[IncomingRecord] = []
    orders: list[IncomingRecord] = []
    feedback: list[IncomingRecord] = []
    phones: list[tuple[str, str]] = []
    for i in range(people):
        city, province, region = rng.choice(CITIES)
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        surname = rng.choice(SURNAMES)
        name = surname + given
        if phones and rng.random() < 0.03:  # a family phone: another person's number
            phone = rng.choice(phones)[0]
        else:
            phone = rng.choice(PREFIXES) + f"{rng.randrange(10**8):08d}"
            phones.append((phone, name))
        born = T0.replace(year=rng.randrange(1960, 2004)) + timedelta(days=rng.randrange(365))
        body = f"{region}{born:%Y%m%d}{rng.randrange(1000):03d}"
        rid = body + ric.calc_check_digit(body + "0")
        member_id = f"M{i:07d}"
        fields: dict[str, Any] = {
            "name": name,
            "phone": phone,
            "id_number": rid,
            "birth_date": f"{born:%Y-%m-%d}",
            "gender": "male" if int(rid[16]) % 2 else "female",
            "city": city,
            "province": province,
            "address": f"{province}省{city}市{rng.choice(BRANDS)}路{rng.randrange(1, 300)}号",
            "member_no": member_id,
        }
        if company_names and rng.random() < 0.3:
            fields["company"] = rng.choice(company_names)
        raw = {"会员卡号": member_id, "姓名": name, "手机": phone, "身份证号": rid, "城市": city}
        members.append(
            IncomingRecord(
                stream="members",
                external_id=member_id,
                kind="person",
                fields=fields,
                raw=raw,
                verified_fields=frozenset({"name", "id_number"}),
                observed_at=_when(rng),
            )
        )
        if rng.random() < 0.4:
            web_name = name
            if rng.random() < 0.05 and given[0] in HOMOPHONES:
                web_name = surname + HOMOPHONES[given[0]] + given[1:]
            web_phone = phone
            if rng.random() < 0.1:
                web_phone = rng.choice(PREFIXES) + f"{rng.randrange(10**8):08d}"
            signups.append(
                IncomingRecord(
                    stream="web_signups",
                    external_id=f"W{i:07d}",
                    kind="person",
                    fields={
                        "name": web_name,
                        "phone": web_phone,
                        "email": f"u{i}{rng.randrange(1000)}@{rng.choice(DOMAINS)}",
                        "city": city + "市",
                        "birth_date": f"{born:%Y-%m-%d}" if rng.random() < 0.7 else None,
                    },
                    observed_at=_when(rng),
                )
            )
        events = 24 if i < viewed else rng.choice((0, 1, 1, 2, 3))
        for n in range(events):
            if n % 6 == 5:
                feedback.append(
                    IncomingRecord(
                        stream="feedback",
                        external_id=f"F{i:07d}-{n:02d}",
                        kind="event",
                        fields={
                            "event_type": "feedback",
                            "occurred_at": _when(rng),
                            "text": rng.choice(["发货太慢", "很满意", "希望周末联系", "尺码偏小"]),
                            "phone": phone,
                            "name": name,
                        },
                    )
                )
            else:
                orders.append(
                    IncomingRecord(
                        stream="orders",
                        external_id=f"O{i:07d}-{n:02d}",
                        kind="event",
                        fields={
                            "event_type": "order",
                            "occurred_at": _when(rng),
                            "amount": f"{rng.randrange(1000, 200000) / 100:.2f}",
                            "currency": "CNY",
                            "channel": rng.choice(STORES),
                            "subject_external_id": member_id,
                            "subject_stream": "members",
                        },
                    )
                )
    return {
        "expo": orgs,
        "store_pos": members + orders,
        "web_signups": signups + feedback,
    }


TRUST = {"store_pos": 70, "web_signups": 60, "expo": 40}


def build_database(
    url: str, people: int, companies: int, viewed: int, seed: int, batch: int
) -> dict[str, int]:
    """The customer graph, ingested batch by batch into ``url``; returns counts."""
    engine = make_engine(url)
    migrate(engine)
    records = make_records(people, companies, viewed, seed)
    started = time.perf_counter()
    for source, items in records.items():
        save_source(engine, source, "offline", {}, trust=TRUST[source])
        ingestor = Ingestor(source)
        for i in range(0, len(items), batch):
            with engine.begin() as conn:
                landed = ingestor.ingest(conn, items[i : i + batch])
                assert landed.balanced(), landed
        with engine.begin() as conn:
            attach_orphan_events(conn, source)
        print(
            f"ingested source={source} records={len(items)} "
            f"elapsed_s={time.perf_counter() - started:.0f}",
            file=sys.stderr,
        )
    rng = random.Random(seed + 1)
    with engine.begin() as conn:
        ids = list(
            conn.execute(
                select(t.customer.c.id).where(t.customer.c.merged_into.is_(None))
            ).scalars()
        )
        tags = [
            {
                "customer_id": cid,
                "tag": tag,
                "created_by": "bench:graphql",
                "created_at": datetime.now(UTC),
            }
            for cid in ids
            if rng.random() < 0.15
            for tag in rng.sample(TAGS, rng.randrange(1, 3))
        ]
        if tags:
            conn.execute(insert(CustomerTag.__table__), tags)  # type: ignore[attr-defined]
    counts = summary(engine)
    engine.dispose()
    return counts


def summary(engine: Engine) -> dict[str, int]:
    def count(table: Any, *where: Any) -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
            )

    return {
        "customers": count(t.customer, t.customer.c.merged_into.is_(None)),
        "source_records": count(t.source_record),
        "events": count(t.event),
        "identity_keys": count(t.identity_key),
    }


def index(directory: Path) -> None:
    """Drain the outbox into the embedded search index, as ``c360 demo`` does after
    its sync (else the server's background indexer would do it while measured)."""
    from c360.search.indexer import Indexer
    from c360.search.settings import SearchSettings, open_backend

    engine = make_engine(f"sqlite:///{directory / 'c360.db'}")
    backend = open_backend(
        SearchSettings(search_backend="embedded", search_dir=directory / "search")
    )
    try:
        report = Indexer(engine, backend).drain()
    finally:
        backend.close()
        engine.dispose()
    print(f"indexed upserts={report.upserts} seconds={report.seconds:.0f}", file=sys.stderr)


def viewed_customers(url: str, viewed: int) -> list[int]:
    """The customers whose members got 24 events (the view phase opens these)."""
    engine = make_engine(url)
    sr, rl = t.source_record, t.record_link
    with engine.connect() as conn:
        rows = conn.execute(
            select(func.coalesce(t.customer.c.merged_into, t.customer.c.id))
            .select_from(sr)
            .join(rl, rl.c.record_id == sr.c.id)
            .join(t.customer, t.customer.c.id == rl.c.customer_id)
            .where(
                sr.c.source_name == "store_pos",
                sr.c.stream == "members",
                sr.c.external_id < f"M{viewed:07d}",
            )
        ).scalars()
        ids = sorted(set(rows))
    engine.dispose()
    return ids


def prepare(args: argparse.Namespace) -> Path:
    """The data directory holding the database for these sizes and seed, built
    now unless an earlier run left a complete one."""
    name = f"p{args.people}-c{args.companies}-v{args.viewed}-s{args.seed}"
    directory = Path(args.data_dir) / name
    done = directory / "built"
    if done.exists() and not args.rebuild:
        print(f"reusing {directory}", file=sys.stderr)
        return directory
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    started = time.perf_counter()
    counts = build_database(
        f"sqlite:///{directory / 'c360.db'}",
        args.people,
        args.companies,
        args.viewed,
        args.seed,
        args.batch_size,
    )
    index(directory)
    seconds = time.perf_counter() - started
    done.write_text(orjson.dumps(counts).decode())
    print(
        "built " + " ".join(f"{k}={v}" for k, v in counts.items()) + f" seconds={seconds:.0f}",
        file=sys.stderr,
    )
    return directory


# --- the server ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def c360_env(directory: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("C360_")}
    env["C360_DATA_DIR"] = str(directory)
    # One client sends every request; the default limit (6,000 a minute) is
    # below what the bench asks for, so the limiter stays on but sized for it.
    env["C360_RATE_LIMIT_PER_MINUTE"] = "600000"
    env["C360_RATE_LIMIT_BURST"] = "10000"
    return env


def c360_command() -> list[str]:
    found = shutil.which("c360", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "c360.cli"]


@contextlib.contextmanager
def serving(directory: Path, workers: int = 1) -> Iterator[tuple[str, int]]:
    """``c360 serve --workers N`` on a free loopback port until the caller is
    done; yields its URL and process id."""
    port = free_port()
    process = subprocess.Popen(
        [
            *c360_command(),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=c360_env(directory),
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # two workers start slowly on a loaded machine
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"c360 serve exited with {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("c360 serve did not answer /healthz in 300 s")
            time.sleep(0.2)
        yield url, process.pid
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def admin_token(directory: Path) -> str:
    """A token from ``c360 token`` (signed with the data directory's key)."""
    out = subprocess.run(
        [*c360_command(), "token", "--role", "admin", "--subject", "bench:graphql", "--ttl", "2h"],
        env=c360_env(directory),
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


# --- the load ------------------------------------------------------------------------


class Connection:
    """One HTTP/1.1 keep-alive connection posting GraphQL requests (a small
    client, so the load generator spends little of the machine's CPU)."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.host, port = url.removeprefix("http://").split(":")
        self.port = int(port)
        self.head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        body = orjson.dumps({"query": query, "variables": variables})
        self.writer.write(
            (
                f"POST /graphql HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.head}"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
        status = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        payload = await self.reader.readexactly(length)
        if b" 200 " not in status:
            raise RuntimeError(f"{status!r}: {payload[:300]!r}")
        document = orjson.loads(payload)
        if document.get("errors") or not document.get("data"):
            raise RuntimeError(f"GraphQL errors: {str(document)[:500]}")
        return dict(document["data"])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def view_phase(
    url: str, headers: dict[str, str], customers: list[int], warmup: int
) -> tuple[list[float], float]:
    """Each customer's 360 view in turn (concurrency 1): latencies in ms, wall s."""
    connection = Connection(url, headers)
    try:
        for cid in customers[:warmup]:
            await connection.post(VIEW_QUERY, {"id": str(cid)})
        latencies = []
        started = time.perf_counter()
        for cid in customers[warmup:]:
            sent = time.perf_counter()
            data = await connection.post(VIEW_QUERY, {"id": str(cid)})
            latencies.append((time.perf_counter() - sent) * 1000)
            customer = data["customer"]
            assert customer["customerId"] == cid and len(customer["timeline"]) == 20, customer
        return latencies, time.perf_counter() - started
    finally:
        connection.close()


def cursor(customer_id: int) -> str:
    return base64.b64encode(f"customers:{customer_id}".encode()).decode()


async def list_phase(
    url: str,
    headers: dict[str, str],
    *,
    requests: int,
    concurrency: int,
    max_id: int,
    rng: random.Random,
) -> tuple[list[float], float]:
    """``requests`` pages of 20 customers from ``concurrency`` workers, each
    paging on from its own start: latencies in ms, wall seconds."""
    latencies: list[float] = []
    remaining = requests
    starts = [rng.randrange(max_id) for _ in range(concurrency)]

    async def worker(start: int) -> None:
        nonlocal remaining
        connection = Connection(url, headers)
        after: str | None = cursor(start)
        try:
            while remaining > 0:
                remaining -= 1
                sent = time.perf_counter()
                data = await connection.post(LIST_QUERY, {"after": after})
                latencies.append((time.perf_counter() - sent) * 1000)
                page = data["customers"]
                after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
        finally:
            connection.close()

    # warm-up: every worker's connection, one page each
    await asyncio.gather(*(worker_warm(url, headers) for _ in range(concurrency)))
    started = time.perf_counter()
    await asyncio.gather(*(worker(s) for s in starts))
    return latencies, time.perf_counter() - started


async def worker_warm(url: str, headers: dict[str, str]) -> None:
    connection = Connection(url, headers)
    try:
        await connection.post(LIST_QUERY, {"after": None})
    finally:
        connection.close()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process and its child processes have used
    so far (Linux; 0 elsewhere)."""
    total = 0.0
    for task in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{task}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def cpu_by_process(pid: int) -> dict[int, float]:
    """CPU seconds each process of the server (``pid`` and its children) has
    used so far: how evenly ``--workers`` share the load (Linux; empty elsewhere)."""
    found: dict[int, float] = {}
    for task in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{task}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[task] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(child) for child in found]


def load_average() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=98_000)
    parser.add_argument("--companies", type=int, default=2_000)
    parser.add_argument("--viewed", type=int, default=2_000, help="customers with 24 events")
    parser.add_argument("--view-requests", type=int, default=1_500)
    parser.add_argument("--list-requests", type=int, default=3_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="c360 serve --workers")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--data-dir",
        default=str(Path(tempfile.gettempdir()) / "c360-bench-graphql"),
        help="where built databases are kept (and reused)",
    )
    parser.add_argument("--rebuild", action="store_true", help="build the database again")
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    args = parser.parse_args()
    if args.smoke:
        args.people, args.companies, args.viewed = 300, 20, 40
        args.view_requests, args.list_requests, args.repeat = 30, 60, 1
        args.data_dir = tempfile.mkdtemp(prefix="c360-bench-graphql-")
    directory = prepare(args)
    counts = orjson.loads((directory / "built").read_text())
    url_db = f"sqlite:///{directory / 'c360.db'}"
    customers = viewed_customers(url_db, args.viewed)
    rng = random.Random(args.seed)
    headers = {"Authorization": f"Bearer {admin_token(directory)}", "X-Purpose": "service"}
    runs: list[dict[str, float]] = []
    try:
        with serving(directory, args.workers) as (url, pid):
            for i in range(args.repeat):
                order = customers[:]
                rng.shuffle(order)
                order = (order * (1 + args.view_requests // max(len(order), 1)))[
                    : args.view_requests + 20
                ]
                before = cpu_seconds(pid)
                view, view_seconds = asyncio.run(view_phase(url, headers, order, warmup=20))
                view_cpu = cpu_seconds(pid) - before
                before = cpu_seconds(pid)
                by_process = cpu_by_process(pid)
                listed, list_seconds = asyncio.run(
                    list_phase(
                        url,
                        headers,
                        requests=args.list_requests,
                        concurrency=args.concurrency,
                        max_id=counts["customers"],
                        rng=rng,
                    )
                )
                list_cpu = cpu_seconds(pid) - before
                # Each process's share of the list phase's server CPU, busiest
                # first: uvicorn's workers share one listening socket, and the 16
                # keep-alive connections need not land evenly on them.
                shares = sorted(
                    (
                        (now - by_process.get(task, 0.0)) / max(list_cpu, 1e-9)
                        for task, now in cpu_by_process(pid).items()
                    ),
                    reverse=True,
                )
                run = {
                    "view_p50_ms": statistics.median(view),
                    "view_p99_ms": percentile(view, 0.99),
                    "view_rps": len(view) / view_seconds,
                    "list_p50_ms": statistics.median(listed),
                    "list_p99_ms": percentile(listed, 0.99),
                    "list_rps": len(listed) / list_seconds,
                    # server CPU per request (warm-up requests included): what the
                    # machine's load does not change much
                    "view_server_cpu_ms": view_cpu * 1000 / len(order),
                    "list_server_cpu_ms": list_cpu * 1000 / (len(listed) + args.concurrency),
                }
                runs.append(run)
                print(
                    f"run={i + 1} "
                    + " ".join(f"{k}={v:.1f}" for k, v in run.items())
                    + " list_cpu_share_by_process="
                    + "/".join(f"{share:.2f}" for share in shares[: max(args.workers, 1) + 1])
                    + f" load_avg={load_average()}",
                    file=sys.stderr,
                )
    finally:
        if args.smoke:
            shutil.rmtree(args.data_dir, ignore_errors=True)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(
        f"customers={counts['customers']} events={counts['events']} runs={args.repeat} "
        f"view_requests={args.view_requests} list_requests={args.list_requests} "
        f"concurrency={args.concurrency} workers={args.workers} load_avg={load_average()}"
    )
    print(
        f"view_rps={med['view_rps']:.1f} list_p50_ms={med['list_p50_ms']:.1f} "
        f"list_p99_ms={med['list_p99_ms']:.1f} "
        f"view_server_cpu_ms={med['view_server_cpu_ms']:.1f} "
        f"list_server_cpu_ms={med['list_server_cpu_ms']:.1f}"
    )
    print(
        f"view_p50_ms={med['view_p50_ms']:.1f} view_p99_ms={med['view_p99_ms']:.1f} "
        f"list_rps={med['list_rps']:.0f}"
    )


if __name__ == "__main__":
    main()
