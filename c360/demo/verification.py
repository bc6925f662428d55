"""The demo's verification variety and its authenticity figures.

The generated world is clean by construction; real intake is not. A KYC review
desk (``kyc_review``, a file-like source landed here) contributes a few dozen
records made the way fraud and sloppiness look: a ring of applicants sharing a
virtual-operator phone and one address within the hour, an id number whose
birth date or gender the application contradicts, regions that name three
provinces, a disposable and a role e-mail, a first-generation 15-digit id, a
Hong Kong resident's residence permit, former district names, and
organizations registered by other authorities (机关, 事业单位, 社会团体, 农业).
While the bureau stand-in runs, :func:`bureau_checks` looks up the demo
customers it lists with court enforcements, dishonest-debtor entries or a
注销 / 吊销 registration, so those flags come from real bureau answers.

:func:`verification_figures` prints the score distribution and the flags that
fired most (and any flag that did not fire at all).
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from stdnum.cn import ric, uscc

from c360.connectors.credit.enrich import EnrichmentRefused, enrich_customer
from c360.connectors.credit.legal_bases import record_legal_basis
from c360.demo.standins import StandIns
from c360.platform import tables as t
from c360.platform.customers.ids import survivor_of
from c360.platform.golden import queue_for_index
from c360.platform.identity_rules import identity_key
from c360.platform.ingest import Ingestor
from c360.platform.locks import write_transaction
from c360.platform.records import IncomingRecord
from c360.platform.sources import save_source
from c360.platform.verification.flags import FLAGS
from c360.platform.verification.models import authenticity_score

KYC = "kyc_review"
DEMO_ACTOR = "c360-demo"


def _id(region: str, birth: str, seq: int) -> str:
    body = f"{region}{birth}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def _uscc(body: str) -> str:
    return body + uscc.calc_check_digit(body)


def kyc_records(seed: int, now: datetime) -> list[IncomingRecord]:
    """The KYC desk's records (deterministic for a seed)."""
    rng = random.Random(seed * 31 + 15)
    records: list[IncomingRecord] = []

    def person(ext: str, observed: datetime | None = None, **fields: Any) -> None:
        records.append(
            IncomingRecord(
                stream="applications",
                external_id=ext,
                kind="person",
                fields=fields,
                observed_at=(observed or now).isoformat(),
            )
        )

    ring_phone = f"170{rng.randrange(10**8):08d}"
    for i, name in enumerate(["何佳", "罗斌", "梁欣", "宋涛", "韩雪"]):
        person(
            f"ring-{i}",
            observed=now - timedelta(minutes=7 * i),
            name=name,
            phone=ring_phone,
            address="江苏省南京市玄武区中山路188号",
            id_number=_id("320102", f"19{90 + i}0{i + 1}1{i}", 100 + 2 * i),
        )
    person(
        "mismatch",
        name="唐敏",
        id_number=_id("330106", "19880512", 212),  # female by the id
        birth_date="1989-05-12",
        gender="男",
        phone="13857112345",
        address="浙江省杭州市西湖区文三路90号",
    )
    person(
        "three-provinces",
        name="冯伟",
        id_number=_id("110105", "19850301", 311),  # 北京
        phone="020-83123456",  # 广州
        address="四川省成都市双流县华阳镇正街5号",  # 成都, a former 县
        email="fengwei@mailinator.com",
    )
    person("role", name="邓丽", phone="13912345678", email="info@hzxinda.com.cn")
    person("first-gen", name="许强", id_number="330106650615131", phone="13600571234")
    person(
        "hk-permit",
        name="陈家明",
        id_number=_id("810000", "19800808", 123),
        phone="+852 9123 4567",
        address="广东省深圳市福田区福华路1号",
    )
    person(
        "old-district",
        name="曹静",
        id_number=_id("330181", "19950101", 222),  # 萧山市's code, abolished 2001
        phone="0571-82712345",
        address="浙江省杭州市萧山市城厢镇人民路1号",
    )

    def organization(ext: str, **fields: Any) -> None:
        records.append(
            IncomingRecord(
                stream="organizations", external_id=ext, kind="organization", fields=fields
            )
        )

    organization("gov", name="杭州市西湖区市场监督管理局", uscc=_uscc("11330106MB1234567"))
    organization("institution", name="浙江省人民医院", uscc=_uscc("12330000470003481"))
    organization("association", name="杭州市软件行业协会", uscc=_uscc("51330100MJ8765432"))
    organization(
        "village", name="杭州市西湖区龙坞村股份经济合作社", uscc=_uscc("N2330106MF1234567")
    )
    return records


def _customer_by_key(engine: Engine, key: str) -> int | None:
    with engine.connect() as conn:
        cid = conn.execute(
            select(t.identity_key.c.customer_id).where(t.identity_key.c.key == key).limit(1)
        ).scalar()
        return survivor_of(conn, [int(cid)]).get(int(cid)) if cid is not None else None


def bureau_checks(engine: Engine, standins: StandIns, limit: int = 12) -> list[str]:
    """Look up, at the running bureau stand-in, demo customers it lists with court
    enforcements, dishonest-debtor entries or a closed registration (persons
    under a recorded consent, for credit assessment)."""
    listed: list[tuple[str, str]] = []
    for number, item in standins.data.persons.items():
        court = item.get("court") or {}
        if court.get("enforcements") or court.get("dishonest"):
            listed.append(("person", number))
    for code, item in standins.data.enterprises.items():
        court = item.get("court") or {}
        status = (item.get("registration") or {}).get("status")
        if status in ("注销", "吊销") or court.get("dishonest") or court.get("enforcements"):
            listed.append(("organization", code))
    looked, refused = 0, 0
    touched: list[int] = []
    for kind, subject in sorted(listed)[:limit]:
        cid = _customer_by_key(
            engine, identity_key(kind, "ric" if kind == "person" else "uscc", subject)
        )
        if cid is None:
            continue
        try:
            if kind == "person":
                record_legal_basis(
                    engine,
                    cid,
                    purpose="credit_assessment",
                    basis="consent",
                    evidence="demo: consent form signed at onboarding",
                    recorded_by=DEMO_ACTOR,
                )
            enrich_customer(engine, cid, purpose="credit_assessment", actor=DEMO_ACTOR)
        except EnrichmentRefused:
            refused += 1
            continue
        looked += 1
        touched.append(cid)
    if touched:
        with write_transaction(engine) as conn:
            queue_for_index(conn, touched)  # the authenticity judgment reads the answers
    return [f"bureau checks for the background-check demo: {looked} looked up, {refused} refused"]


def prepare_verification(engine: Engine, seed: int, *, now: datetime | None = None) -> list[str]:
    """Land the KYC desk's records; returns lines for the demo's output."""
    now = now or datetime.now(UTC)
    save_source(engine, KYC, "csv", {}, trust=55)
    records = kyc_records(seed, now)
    with write_transaction(engine) as conn:
        counts = Ingestor(KYC).ingest(conn, records)
    return [f"KYC review desk: {counts.read} records landed (fraud rings, contradictions, permits)"]


def verification_figures(engine: Engine) -> list[str]:
    """The authenticity score distribution and the top flags."""
    a = authenticity_score
    with engine.connect() as conn:
        bands: dict[str, int] = {
            str(band): int(count)
            for band, count in conn.execute(select(a.c.band, func.count()).group_by(a.c.band))
        }
        scores = [int(s) for s in conn.execute(select(a.c.score)).scalars()]
        flags: Counter[str] = Counter()
        for row in conn.execute(select(a.c.flags)).scalars():
            flags.update({f["flag"] for f in row or ()})
    if not scores:
        return ["authenticity: no customer judged"]
    deciles = Counter(min(s // 10, 9) for s in scores)
    histogram = " ".join(
        f"{d * 10}-{d * 10 + 9 if d < 9 else 100}:{deciles.get(d, 0)}" for d in range(10)
    )
    scores.sort()
    lines = [
        f"authenticity: {len(scores):,} customers, median score {scores[len(scores) // 2]}, "
        f"pass {bands.get('pass', 0):,} / review {bands.get('review', 0):,} "
        f"/ fail {bands.get('fail', 0):,}",
        f"authenticity score distribution: {histogram}",
        "top fraud flags: "
        + ", ".join(f"{flag} {count:,}" for flag, count in flags.most_common(10)),
    ]
    silent = [flag for flag in FLAGS if not flags.get(flag)]
    if silent:
        lines.append("flags that did not fire: " + ", ".join(silent))
    return lines
