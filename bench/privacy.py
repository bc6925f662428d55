"""What does privacy cost? Two figures:

1. Ingest throughput with field encryption on vs off (C360_FIELD_ENCRYPTION):
   the same seeded person records landed through the real ``Ingestor`` into
   two fresh SQLite files, off and on alternately within one run; the ratio
   on/off of the medians is the figure (target >= 0.85).
2. Erasure of one person among N records (default 1,000,000): a SQLite file
   with N customers, each with one source record, link and golden profile
   (written straight through the driver, seeded), then ``erase()`` of one of
   them in one transaction, timed (target < 1 s); the VACUUM that follows an
   erasure on SQLite (``compact``) is timed separately.

    python bench/privacy.py                      # 20,000 records x 3, 1,000,000 for erasure
    python bench/privacy.py --records 5000 --erase-among 100000 --repeat 1
    python bench/privacy.py --smoke              # tiny, for CI
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
from sqlalchemy import select
from stdnum.cn import ric

from c360.platform import tables as t
from c360.platform.db import make_engine, migrate
from c360.platform.ingest import Ingestor
from c360.platform.locks import write_transaction
from c360.platform.privacy.erasure import compact, erase
from c360.platform.records import IncomingRecord
from c360.platform.sources import save_source

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚华玉萍红鹏辉宇浩然子轩欣怡"
REGIONS = ["110101", "310104", "440305", "330106", "510107", "420106"]


def resident_id(rng: random.Random) -> str:
    body = (
        f"{rng.choice(REGIONS)}{rng.randrange(1960, 2004)}"
        f"{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}{rng.randrange(1000):03d}"
    )
    return body + ric.calc_check_digit(body + "0")


def make_records(n: int, seed: int) -> list[IncomingRecord]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(2))
        out.append(
            IncomingRecord(
                stream="members",
                external_id=f"M{i:07d}",
                kind="person",
                fields={
                    "name": name,
                    "phone": f"139{rng.randrange(10**8):08d}",
                    "email": f"u{i}@qq.com",
                    "id_number": resident_id(rng),
                    "address": f"北京市朝阳区望京街{rng.randrange(1, 300)}号",
                },
                raw={"会员卡号": f"M{i:07d}", "姓名": name, "备注": "门店登记"},
            )
        )
    return out


def _fresh(directory: Path, name: str):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{directory / name}")
    migrate(engine)
    save_source(engine, "store", "offline", {"files": []})
    return engine


def ingest_rate(
    records: list[IncomingRecord], directory: Path, tag: str, batch: int
) -> tuple[float, float, float]:
    """Records landed per second, payloads read back per second (every
    ``source_record.raw`` through the model, opened when sealed) and golden
    profiles read back per second (what a 360 view reads, its sensitive values
    opened one by one when sealed)."""
    engine = _fresh(directory, f"ingest-{tag}.db")
    ingestor = Ingestor("store")
    started = time.perf_counter()
    for i in range(0, len(records), batch):
        with write_transaction(engine) as conn:
            ingestor.ingest(conn, records[i : i + batch])
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    with engine.connect() as conn:
        read = sum(1 for _ in conn.execute(select(t.source_record.c.raw)).scalars())
    read_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with engine.connect() as conn:
        profiles = sum(1 for _ in conn.execute(select(t.golden_profile.c.attributes)).scalars())
    profile_seconds = time.perf_counter() - started
    engine.dispose()
    return len(records) / seconds, read / read_seconds, profiles / profile_seconds


def build_many(directory: Path, n: int, seed: int):  # type: ignore[no-untyped-def]
    """N customers with one record, link and profile each, through the driver."""
    engine = _fresh(directory, "erase.db")
    rng = random.Random(seed)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    chunk = 50_000
    with engine.begin() as conn:
        for start in range(0, n, chunk):
            ids = range(start + 1, min(n, start + chunk) + 1)
            people = []
            for cid in ids:
                phone = f"+86139{rng.randrange(10**8):08d}"
                people.append((cid, phone, f"u{cid}@qq.com"))
            conn.exec_driver_sql(
                "INSERT INTO customer (id, kind, display_name, created_at, updated_at) "
                "VALUES (?, 'person', ?, ?, ?)",
                [(cid, f"客户{cid}", now, now) for cid, _, _ in people],
            )
            conn.exec_driver_sql(
                "INSERT INTO source_record (id, source_name, stream, external_id, kind, raw, "
                "attributes, verified_fields, content_hash, status, quarantine_reasons, "
                "warnings, first_seen_at, updated_at) VALUES "
                "(?, 'store', 'members', ?, 'person', '{}', ?, '[]', ?, 'accepted', '{}', '{}', "
                "?, ?)",
                [
                    (
                        cid,
                        f"M{cid:07d}",
                        orjson.dumps(
                            {"name": f"客户{cid}", "phone": phone, "email": mail}
                        ).decode(),
                        f"{cid:064d}",
                        now,
                        now,
                    )
                    for cid, phone, mail in people
                ],
            )
            conn.exec_driver_sql(
                "INSERT INTO record_link (record_id, customer_id, method, score, evidence, "
                "linked_at) VALUES (?, ?, 'new', 1.0, '{}', ?)",
                [(cid, cid, now) for cid, _, _ in people],
            )
            conn.exec_driver_sql(
                "INSERT INTO golden_profile (customer_id, attributes, conflicting, updated_at) "
                "VALUES (?, ?, 0, ?)",
                [
                    (
                        cid,
                        orjson.dumps(
                            {"phone": {"value": phone}, "email": {"value": mail}}
                        ).decode(),
                        now,
                    )
                    for cid, phone, mail in people
                ],
            )
    return engine


def erase_seconds(engine, person: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    with write_transaction(engine) as conn:
        erase(conn, person, actor="bench", purpose="legal_obligation", request_id=None)
    erased = time.perf_counter() - started
    started = time.perf_counter()
    compact(engine)
    return erased, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--erase-among", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
    args = parser.parse_args(argv)
    if args.smoke:
        args.records, args.erase_among, args.repeat, args.batch = 300, 2_000, 1, 100
    os.environ.setdefault("C360_MASTER_KEY", secrets.token_hex(32))
    os.environ.setdefault("C360_INDEX_KEY", secrets.token_hex(32))
    with tempfile.TemporaryDirectory(prefix="c360-bench-privacy-") as tmp:
        directory = Path(tmp)
        os.environ.setdefault("C360_DATA_DIR", str(directory / "data"))
        records = make_records(args.records, args.seed)
        ingest_rate(records[: max(50, len(records) // 10)], directory, "warm", args.batch)
        off: list[float] = []
        on: list[float] = []
        reads_off: list[float] = []
        reads_on: list[float] = []
        golden_off: list[float] = []
        golden_on: list[float] = []
        for run in range(args.repeat):
            os.environ["C360_FIELD_ENCRYPTION"] = "off"
            rate, reads, profiles = ingest_rate(records, directory, f"off{run}", args.batch)
            off.append(rate)
            reads_off.append(reads)
            golden_off.append(profiles)
            os.environ["C360_FIELD_ENCRYPTION"] = "on"
            rate, reads, profiles = ingest_rate(records, directory, f"on{run}", args.batch)
            on.append(rate)
            reads_on.append(reads)
            golden_on.append(profiles)
        os.environ["C360_FIELD_ENCRYPTION"] = "off"
        engine = build_many(directory, args.erase_among, args.seed)
        person = random.Random(args.seed).randrange(1, args.erase_among + 1)
        erased, compacted = erase_seconds(engine, person)
        engine.dispose()
    ratio = statistics.median(on) / statistics.median(off)
    print(f"records={args.records}")
    print(f"repeat={args.repeat}")
    print(f"ingest_off_records_per_s={statistics.median(off):.0f}")
    print(f"ingest_on_records_per_s={statistics.median(on):.0f}")
    print(f"read_raw_off_per_s={statistics.median(reads_off):.0f}")
    print(f"read_raw_on_per_s={statistics.median(reads_on):.0f}")
    print(f"read_golden_off_per_s={statistics.median(golden_off):.0f}")
    print(f"read_golden_on_per_s={statistics.median(golden_on):.0f}")
    read_ratio = statistics.median(golden_on) / statistics.median(golden_off)
    print(f"read_golden_on_off_ratio={read_ratio:.3f}")
    print(f"erase_among={args.erase_among}")
    print(f"erase_s={erased:.3f}")
    print(f"compact_s={compacted:.3f}")
    print("targets: encryption_on_off_ratio >= 0.85, erase_one_of_N_s < 1")
    print(f"encryption_on_off_ratio={ratio:.3f} erase_one_of_{args.erase_among}_s={erased:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
