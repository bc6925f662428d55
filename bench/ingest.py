"""How fast does a file sync end to end (parse, normalize, link, store) into SQLite?

Generates a seeded CSV of store-member rows (Chinese names, phones in mixed
formats, e-mails, resident ids; ~20% of rows are the same people again under a
new member number, so linking does real work), syncs it through the ``offline``
connector with the real runner into a fresh SQLite file (or, with ``--postgres``, a
fresh PostgreSQL database), and prints the figures.
Repeats ``--repeat`` times and reports the median.

    python bench/ingest.py                 # 200,000 rows, 3 runs
    python bench/ingest.py --rows 20000 --repeat 1
    python bench/ingest.py --smoke         # tiny, for CI
    python bench/ingest.py --postgres      # the same into a fresh PostgreSQL database
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _backends import add_backend_option, backend_name, fresh_database
from stdnum.cn import ric

from c360.connectors.offline.roots import allow_import_root
from c360.connectors.runner import SyncRunner, build_connector
from c360.platform.db import make_engine, migrate
from c360.platform.records import IncomingRecord
from c360.platform.sources import save_source

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红鹏辉建国宇浩然子轩欣怡梓涵"
REGIONS = ["110101", "310104", "440305", "330106", "510107", "420106", "320102", "610113"]
DOMAINS = ["qq.com", "163.com", "126.com", "gmail.com", "sina.com"]
PREFIXES = ["138", "139", "186", "135", "150", "177", "199", "158", "187"]


def make_rows(n: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    people: list[tuple[str, str, str, str]] = []
    rows = []
    for i in range(n):
        if people and rng.random() < 0.2:
            name, phone, email, rid = rng.choice(people)
        else:
            name = rng.choice(SURNAMES) + "".join(
                rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))
            )
            phone = rng.choice(PREFIXES) + f"{rng.randrange(10**8):08d}"
            email = f"u{i}{rng.randrange(1000)}@{rng.choice(DOMAINS)}"
            body = (
                f"{rng.choice(REGIONS)}{rng.randrange(1960, 2004)}"
                f"{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}{rng.randrange(1000):03d}"
            )
            rid = body + ric.calc_check_digit(body + "0")
            people.append((name, phone, email, rid))
        shown_phone = rng.choice(
            (
                phone,
                f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}",
                f"{phone[:3]}-{phone[3:7]}-{phone[7:]}",
            )
        )
        rows.append(
            [
                f"M{i:07d}",
                name,
                shown_phone,
                email if rng.random() < 0.85 else "",
                rid,
                rng.choice(["北京", "上海", "深圳", "杭州", "成都"]),
            ]
        )
    return rows


def read_only(csv_path: Path) -> float:
    """Seconds the ``offline`` connector takes to read and map the file alone."""
    connector = build_connector("offline", _config(csv_path))
    started = time.perf_counter()
    count = sum(1 for m in connector.read("members", {}) if isinstance(m, IncomingRecord))
    elapsed = time.perf_counter() - started
    assert count > 0
    return elapsed


def _config(csv_path: Path) -> dict[str, object]:
    return {"files": [{"path": str(csv_path), "stream": "members", "id_column": "会员卡号"}]}


def run_once(
    rows: list[list[str]], workdir: Path, batch_size: int, postgres: str | None
) -> tuple[float, float, float]:
    """Seconds of one full sync, of its landing step, and of reading the file alone."""
    csv_path = workdir / "members.csv"
    allow_import_root(workdir)  # a bench's own temporary files
    with csv_path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["会员卡号", "姓名", "手机", "邮箱", "身份证号", "城市"])
        writer.writerows(rows)
    with fresh_database(workdir, postgres) as url:
        engine = make_engine(url)
        migrate(engine)
        save_source(engine, "members", "offline", _config(csv_path))
        started = time.perf_counter()
        report = SyncRunner(engine, batch_size=batch_size).sync("members")
        elapsed = time.perf_counter() - started
        engine.dispose()
    assert report.total.read == len(rows), report.total
    assert report.total.balanced()
    return elapsed, report.landed_seconds, read_only(csv_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    add_backend_option(parser)
    args = parser.parse_args()
    if args.smoke:
        args.rows, args.repeat = 500, 1
    rows = make_rows(args.rows, args.seed)
    timings, landings, reads = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            seconds, landed, read = run_once(rows, Path(tmp), args.batch_size, args.postgres)
            timings.append(seconds)
            landings.append(landed)
            reads.append(read)
            print(
                f"run={i + 1} rows={args.rows} seconds={seconds:.2f} "
                f"rows_per_s={args.rows / seconds:.0f} landed_rows_per_s={args.rows / landed:.0f} "
                f"read_rows_per_s={args.rows / read:.0f}",
                file=sys.stderr,
            )
    median = statistics.median(timings)
    print(
        f"backend={backend_name(args.postgres)} rows={args.rows} runs={args.repeat} "
        f"median_seconds={median:.2f}"
    )
    print(
        f"read_rows_per_s={args.rows / statistics.median(reads):.0f} "
        f"landed_rows_per_s={args.rows / statistics.median(landings):.0f}"
    )
    print(f"rows_per_s={args.rows / median:.0f}")


if __name__ == "__main__":
    main()
