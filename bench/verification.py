"""How fast does c360 verify and judge authenticity, and what does it cost ingest?

1. **verify_records_per_s** — the graded checks (resident id or USCC, phone,
   e-mail, address) of the demo world's people and companies and of 200,000
   generated records (valid and invalid ids, historic division codes, 15-digit
   numbers, every carrier prefix and virtual-operator ranges, fixed lines,
   disposable and role e-mails, addresses with former district names), caches
   cleared first: :func:`c360.platform.verification.judgment.check_profile`.
2. **score_customers_per_s** — the authenticity refresher over landed customers
   in a real SQLite database (checks, states, consistency, shared-identifier and
   velocity queries, score, writes), 2,000 customers a transaction.
3. **ingest_ratio_on_off** — ingest throughput (land + resolve + golden profiles
   in batches of 1,000) with the authenticity refresher run on each batch's
   customers, divided by the throughput without it, measured in one run on two
   fresh databases over the same records, batches alternating which goes first
   (target ≥ 0.90). The refresher runs in the indexer, after ingest commits; the
   ratio charges its whole cost to ingest, as if it ran in the same process.

Prints ``name=value`` lines, the summary last::

    python bench/verification.py              # 200,000 checked, 20,000 ingested
    python bench/verification.py --repeats 3  # medians of three
    python bench/verification.py --smoke      # seconds, for CI
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from stdnum.cn import ric, uscc

from c360.demo.world import World
from c360.platform import tables as t
from c360.platform.db import make_engine, migrate
from c360.platform.ingest import Ingestor
from c360.platform.locks import write_transaction
from c360.platform.records import IncomingRecord, RecordKind
from c360.platform.sources import save_source
from c360.platform.sql import chunks
from c360.platform.verification import address, email, phone
from c360.platform.verification.judgment import check_profile, refresh_authenticity
from c360.platform.verification.policy import load_policy

DIVISIONS = ("110101", "110105", "110103", "110112", "310104", "330106", "330181", "440305",
             "510116", "510122", "320102", "420602", "810000", "830000", "110199")  # fmt: skip
PREFIXES = ("138", "139", "186", "199", "192", "170", "171", "162", "165", "167", "150", "177")
DOMAINS = ("qq.com", "163.com", "126.com", "mailinator.com", "guerrillamail.com", "example.cn")
ADDRESSES = (
    "浙江省杭州市萧山市城厢镇人民路{n}号",
    "北京市朝阳区建国路{n}号",
    "上海市闸北区天目中路{n}号",
    "广东省深圳市南山区科技园路{n}号",
    "四川省成都市双流县华阳镇正街{n}号",
    "江苏省南京市玄武区中山路{n}号",
    "湖北省武汉市江汉区解放大道{n}号",
    "杭州市西湖路{n}号",
)


def generated(n: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """``n`` (kind, golden profile) pairs of real-format values, some invalid."""
    rng = random.Random(seed)
    out: list[tuple[str, dict[str, Any]]] = []
    for i in range(n):
        if i % 10 == 9:
            body = f"91{rng.choice(DIVISIONS[:10])}MA{rng.randrange(10**7):07d}"
            code = body + uscc.calc_check_digit(body)
            out.append(
                (
                    "organization",
                    {
                        "uscc": {"value": code},
                        "phone": {"value": f"0571{rng.randrange(10**8):08d}"},
                    },
                )
            )
            continue
        birth = f"{rng.randrange(1950, 2006)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
        body = f"{rng.choice(DIVISIONS)}{birth}{rng.randrange(1000):03d}"
        number = body + ric.calc_check_digit(body + "0")
        if i % 50 == 0:
            number = number[:6] + number[8:17]  # a first-generation number
        elif i % 37 == 0:
            number = number[:-1] + ("0" if number[-1] != "0" else "1")  # bad check character
        profile = {
            "id_number": {"value": number},
            "phone": {"value": rng.choice(PREFIXES) + f"{rng.randrange(10**8):08d}"},
            "email": {"value": f"user{i}@{rng.choice(DOMAINS)}"},
            "address": {"value": rng.choice(ADDRESSES).format(n=rng.randrange(1, 999))},
        }
        out.append(("person", profile))
    return out


def demo_profiles(people: int, companies: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    world = World(people, companies, seed)
    out: list[tuple[str, dict[str, Any]]] = []
    for p in world.people:
        address = f"{p.city.province}{p.city.name}中山路{len(out) % 300 + 1}号"
        out.append(
            (
                "person",
                {
                    k: {"value": v}
                    for k, v in (
                        ("id_number", p.id_number),
                        ("phone", p.phone),
                        ("email", p.email),
                        ("address", address),
                    )
                    if v
                },
            )
        )
    for c in world.companies:
        out.append(("organization", {"uscc": {"value": c.uscc}, "phone": {"value": c.phone}}))
    return out


def clear_caches() -> None:
    phone.check_phone.cache_clear()
    email.check_email.cache_clear()
    address.check_address.cache_clear()


def verify_rate(profiles: list[tuple[str, dict[str, Any]]]) -> float:
    policy = load_policy()
    clear_caches()
    started = time.perf_counter()
    checked = 0
    for kind, golden in profiles:
        checked += len(check_profile(kind, golden, policy))
    return len(profiles) / (time.perf_counter() - started)


def records(n: int, seed: int) -> list[IncomingRecord]:
    rng = random.Random(seed + 1)
    out = []
    for i, (kind, golden) in enumerate(generated(n, seed)):
        fields = {k: v["value"] for k, v in golden.items()}
        fields["name"] = (
            rng.choice("王李张刘陈杨黄赵周吴")
            + rng.choice("伟芳娜敏静丽强磊洋艳")
            + rng.choice("明华军平")
        )
        if kind == "person" and i % 40 == 0:
            fields["phone"] = "17012345678"  # a shared virtual-operator phone
        record_kind: RecordKind = "organization" if kind == "organization" else "person"
        out.append(
            IncomingRecord(stream="bench", external_id=f"r{i}", kind=record_kind, fields=fields)
        )
    return out


def fresh_engine(directory: Path, name: str) -> Any:
    engine = make_engine(f"sqlite:///{directory / name}.db")
    migrate(engine)
    save_source(engine, "bench", "csv", {}, trust=50)
    return engine


def ingest(engine: Any, batch: list[IncomingRecord], judge: bool) -> None:
    with write_transaction(engine) as conn:
        Ingestor("bench").ingest(conn, batch)
        if judge:
            ids = [
                int(r)
                for r in conn.execute(
                    select(t.record_link.c.customer_id)
                    .join(t.source_record, t.source_record.c.id == t.record_link.c.record_id)
                    .where(t.source_record.c.external_id.in_([r.external_id for r in batch]))
                ).scalars()
            ]
            refresh_authenticity(conn, ids)


def ingest_ratio(
    recs: list[IncomingRecord], directory: Path, batch: int = 1000
) -> tuple[float, float, float]:
    """(records/s off, records/s on, on/off) over the same records, batches interleaved."""
    off, on = fresh_engine(directory, "off"), fresh_engine(directory, "on")
    spent = {False: 0.0, True: 0.0}
    for n, part in enumerate(chunks(recs, batch)):
        order = ((False, off), (True, on)) if n % 2 == 0 else ((True, on), (False, off))
        for judge, engine in order:  # alternating, so drift in the machine's load cancels
            started = time.perf_counter()
            ingest(engine, part, judge)
            spent[judge] += time.perf_counter() - started
    rate_off, rate_on = len(recs) / spent[False], len(recs) / spent[True]
    for engine in (off, on):
        engine.dispose()
    return rate_off, rate_on, rate_on / rate_off


def score_rate(engine: Any) -> float:
    with engine.connect() as conn:
        ids = [
            int(r)
            for r in conn.execute(
                select(t.customer.c.id).where(t.customer.c.merged_into.is_(None))
            ).scalars()
        ]
    clear_caches()
    started = time.perf_counter()
    for part in chunks(ids, 2000):
        with engine.begin() as conn:
            refresh_authenticity(conn, part)
    return len(ids) / (time.perf_counter() - started)


def median(run: Callable[[], float], repeats: int) -> float:
    return statistics.median(run() for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200_000, help="generated records checked")
    parser.add_argument("--ingest", type=int, default=20_000, help="records ingested on / off")
    parser.add_argument("--people", type=int, default=10_000, help="demo world people")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds")
    args = parser.parse_args()
    if args.smoke:
        args.records, args.ingest, args.people = 2_000, 600, 300
    demo = demo_profiles(args.people, max(args.people // 10, 10), args.seed)
    print(f"demo_customers={len(demo)}")
    print(f"verify_demo_customers_per_s={median(lambda: verify_rate(demo), args.repeats):.0f}")
    profiles = generated(args.records, args.seed)
    verify = median(lambda: verify_rate(profiles), args.repeats)
    print(f"generated_records={len(profiles)}")
    print(f"verify_records_per_s={verify:.0f}")
    recs = records(args.ingest, args.seed)
    # One-time loads (division tables, phonenumbers' prefix data) are paid here, not
    # inside the ingest comparison: a long-running process pays them once.
    verify_rate(profiles[:200])
    ratios, scores = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            rate_off, rate_on, ratio = ingest_ratio(recs, Path(tmp))
            print(f"ingest_records_per_s_off={rate_off:.0f} ingest_records_per_s_on={rate_on:.0f}")
            ratios.append(ratio)
            engine = fresh_engine(Path(tmp), "score")
            for part in chunks(recs, 1000):
                ingest(engine, part, judge=False)
            scores.append(score_rate(engine))
            engine.dispose()
    score = statistics.median(scores)
    ratio = statistics.median(ratios)
    print(f"ingested_records={len(recs)}")
    met = "yes" if ratio >= 0.9 else "no"
    print(
        f"verify_records_per_s={verify:.0f} score_customers_per_s={score:.0f} "
        f"ingest_ratio_on_off={ratio:.3f} target_ratio=0.90 met={met}"
    )


if __name__ == "__main__":
    main()
