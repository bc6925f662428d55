"""How does identity resolution scale: one new record against a million customers,
and a million records in batch, on SQLite?

Seeded synthetic people (Chinese names with realistic repetition, cities, birth
dates, phones, e-mails; already normalized) are bulk-loaded as accepted source
records. Then:

1. **batch**: ``rebuild`` — train the model on them (no labels; ``train_s``) and
   resolve every record through the resolver, writing links, keys, counts, edges
   and golden profiles (``batch_s``; both together are ``c360 resolve --rebuild``);
2. **incremental**: 1,000 new records (half of them known people arriving from a
   new source with a changed e-mail, half new people), each stored and resolved
   alone in its own transaction, as a trickle of single records would be.

    python bench/resolution_scale.py                  # 1,000,000 records
    python bench/resolution_scale.py --records 100000
    python bench/resolution_scale.py --smoke          # 5,000 records, for CI
    python bench/resolution_scale.py --postgres       # the same on a fresh PostgreSQL database

Prints ``name=value`` lines; the summary is last: ``p50_ms=… p99_ms=… batch_s=…``.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _backends import add_backend_option, backend_name, fresh_database

from c360.platform import tables as t
from c360.platform.bulk import bulk_insert
from c360.platform.db import make_engine, migrate
from c360.platform.locks import write_transaction
from c360.platform.matching.rebuild import rebuild
from c360.platform.matching.resolver import Resolver
from c360.platform.models import utcnow
from c360.platform.normalize import normalize_name
from c360.platform.resolution import ResolvableRecord
from c360.platform.sources import save_source

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红鹏"
    "辉建国宇浩然子轩欣怡梓涵博文泽晨睿嘉志"
)
CITIES = ["北京", "上海", "深圳", "广州", "杭州", "成都", "南京", "武汉", "西安", "重庆", "天津"]
DOMAINS = ["qq.com", "163.com", "126.com", "gmail.com", "sina.com"]


SURNAME_WEIGHTS = [1 / (rank + 3) for rank in range(len(SURNAMES))]
"""王, 李 and 张 near 7% each, as in China; the hundredth surname about 0.3%."""


def make_person(rng: random.Random, i: int) -> dict[str, Any]:
    surname = rng.choices(SURNAMES, weights=SURNAME_WEIGHTS)[0]
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))
    name = normalize_name(surname + given)
    attributes: dict[str, Any] = {
        "name": name.display,
        "name_pinyin": name.pinyin,
        "name_initials": name.initials,
        "city": rng.choice(CITIES),
        "phone": f"+861{rng.choice('3589')}{i:09d}",
    }
    if rng.random() < 0.7:
        attributes["email"] = f"{name.pinyin}{i}@{rng.choice(DOMAINS)}"
    if rng.random() < 0.6:
        attributes["birth_date"] = (
            f"{rng.randrange(1960, 2005)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        )
    return attributes


def load(engine: Any, n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    people = [make_person(rng, i) for i in range(n)]
    now = utcnow()
    rows = []
    for i, attributes in enumerate(people):
        rows.append(
            {
                "source_name": "base",
                "stream": "people",
                "external_id": f"B{i:08d}",
                "kind": "person",
                "raw": {},
                "attributes": attributes,
                "verified_fields": [],
                "content_hash": f"{i:064d}",
                "status": "accepted",
                "quarantine_reasons": {},
                "warnings": {},
                "observed_at": None,
                "first_seen_at": now,
                "updated_at": now,
            }
        )
    with engine.begin() as conn:
        for i in range(0, len(rows), 50_000):
            bulk_insert(conn, t.source_record, rows[i : i + 50_000])
    return people


def newcomers(people: list[dict[str, Any]], count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed + 1)
    found = []
    for j in range(count):
        if j % 2 == 0:
            known = dict(rng.choice(people))
            known["email"] = f"{known['name_pinyin']}.new{j}@example.com"
            found.append(known)
        else:
            found.append(make_person(rng, len(people) + 10_000_000 + j))
    return found


def _measure(url: str, args: argparse.Namespace) -> tuple[float, list[float], int]:
    """The batch rebuild's seconds, then each newcomer's resolution in ms."""
    engine = make_engine(url)
    migrate(engine)
    for source in ("base", "trickle"):
        save_source(engine, source, "offline", {})
    started = time.perf_counter()
    people = load(engine, args.records, args.seed)
    arrivals = newcomers(people, args.new, args.seed)
    del people  # a million dicts alive would make every GC pass crawl over them
    gc.collect()
    print(f"loaded={args.records} load_s={time.perf_counter() - started:.1f}", flush=True)

    def progress(done: int, total: int) -> None:
        if done % 100_000 < 2000 or done == total:
            print(f"  resolved={done}/{total}", file=sys.stderr, flush=True)

    report = rebuild(engine, retrain=True, seed=args.seed, progress=progress)
    batch_s = report.seconds - report.train_seconds  # resolving, training apart
    print(
        f"batch_records={report.records} customers={report.customers_after} "
        f"train_s={report.train_seconds:.1f} batch_s={batch_s:.1f} "
        f"rebuild_s={report.seconds:.1f} batch_records_per_s={report.records / batch_s:.0f}",
        flush=True,
    )
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:  # what SQLite's background checkpoint would do
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    gc.collect()
    gc.freeze()
    resolver = Resolver()
    timings: list[float] = []
    linked_known = 0
    sr, rl = t.source_record, t.record_link
    for j, attributes in enumerate(arrivals):
        with write_transaction(engine) as conn:
            now = utcnow()
            record_id = conn.execute(
                sr.insert()
                .values(
                    source_name="trickle",
                    stream="people",
                    external_id=f"T{j:06d}",
                    kind="person",
                    raw={},
                    attributes=attributes,
                    verified_fields=[],
                    content_hash=f"t{j:063d}",
                    status="accepted",
                    quarantine_reasons={},
                    warnings={},
                    first_seen_at=now,
                    updated_at=now,
                )
                .returning(sr.c.id)
            ).scalar_one()
            began = time.perf_counter()
            outcome = resolver.resolve(
                conn, [ResolvableRecord(record_id, "person", "trickle", attributes)]
            )
            timings.append((time.perf_counter() - began) * 1000)
            if j % 2 == 0:
                linked = conn.execute(
                    sr.select()
                    .with_only_columns(sr.c.id)
                    .join(rl, rl.c.record_id == sr.c.id)
                    .where(rl.c.customer_id == outcome.links[record_id], sr.c.id != record_id)
                    .limit(1)
                ).first()
                linked_known += linked is not None
    engine.dispose()
    return batch_s, timings, linked_known


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--dir", type=Path, default=None, help="keep the database here")
    parser.add_argument("--smoke", action="store_true", help="5,000 records, for CI")
    add_backend_option(parser)
    args = parser.parse_args()
    if args.smoke:
        args.records, args.new = 5_000, 200
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.dir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        with fresh_database(workdir, args.postgres) as url:
            batch_s, timings, linked_known = _measure(url, args)
    timings.sort()

    p50 = statistics.median(timings)
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    print(
        f"new_records={len(timings)} known_linked={linked_known}/{(len(timings) + 1) // 2} "
        f"mean_ms={statistics.fmean(timings):.2f} max_ms={timings[-1]:.2f}"
    )
    print(f"backend={backend_name(args.postgres)}")
    print(f"p50_ms={p50:.2f} p99_ms={p99:.2f} batch_s={batch_s:.1f}")


if __name__ == "__main__":
    main()
