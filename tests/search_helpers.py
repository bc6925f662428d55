"""Fixtures and data for the search tests: every backend, and a small world of
customers built through the real ingest pipeline and the real indexer.

Backends: the embedded one always; OpenSearch through the ``osmem-server``
package (an OpenSearch-compatible server bundled as a binary); a real OpenSearch
too when ``C360_TEST_OPENSEARCH_URL`` is set. When osmem-server cannot start, its
leg skips locally but *fails* under ``CI=true``.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from c360.platform import tables as t
from c360.platform.ingest import IngestCounts, Ingestor
from c360.platform.records import IncomingRecord
from c360.platform.sources import save_source
from c360.search.contract import SearchBackend
from c360.search.embedded import EmbeddedSearch
from c360.search.indexer import Indexer
from c360.search.opensearch import OpenSearchSearch
from tests.helpers import credit_code, resident_id

REAL_OPENSEARCH = os.environ.get("C360_TEST_OPENSEARCH_URL")
BACKENDS = ["embedded", "osmem", *(["opensearch"] if REAL_OPENSEARCH else [])]
"""Search backends every behavioural test runs against."""


def make_backend(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> SearchBackend:
    """A fresh, empty backend of ``kind``, cleaned up after the test."""
    if kind == "embedded":
        backend: SearchBackend = EmbeddedSearch(tmp_path / "search")
    elif kind == "osmem":
        clone = request.getfixturevalue("osmem_instance").clone()
        request.addfinalizer(clone.close)
        backend = OpenSearchSearch(clone.url)
    else:
        assert REAL_OPENSEARCH
        alias = f"c360-test-{uuid.uuid4().hex[:10]}"
        backend = OpenSearchSearch(REAL_OPENSEARCH, alias)

        def drop() -> None:
            client = backend.client  # type: ignore[attr-defined]
            client.indices.delete(index=f"{alias}-*", ignore=[404])
            client.indices.delete_index_template(name=alias, ignore=[404])

        request.addfinalizer(drop)
    request.addfinalizer(backend.close)
    return backend


# ------------------------------------------------------------------ data


def person(ext: str, **fields: Any) -> IncomingRecord:
    return IncomingRecord(
        stream="people", external_id=ext, kind="person", fields=fields, raw=dict(fields)
    )


def organization(ext: str, **fields: Any) -> IncomingRecord:
    return IncomingRecord(
        stream="companies", external_id=ext, kind="organization", fields=fields, raw=dict(fields)
    )


def ingest(engine: Engine, source: str, records: list[IncomingRecord]) -> IngestCounts:
    with engine.begin() as conn:
        counts = Ingestor(source).ingest(conn, records)
    assert counts.quarantined == 0, counts
    return counts


def customer_of(engine: Engine, source: str, ext: str) -> int:
    sr, rl = t.source_record, t.record_link
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(rl.c.customer_id)
                .join(sr, sr.c.id == rl.c.record_id)
                .where(sr.c.source_name == source, sr.c.external_id == ext)
            ).scalar_one()
        )


LI_NA_ID = resident_id(region="110101", birth="19900307", seq="123")
HUAWEI_USCC = credit_code("91440300708461136")

PEOPLE = [
    person(
        "zhangwei",
        name="张伟",
        phone="138 0013 8000",
        email="ZhangWei@QQ.com",
        province="浙江省",
        city="杭州市",
    ),
    person(
        "zhangweidong",
        name="张伟东",
        phone="+86 139-0013-9000",
        company="华为技术有限公司",
        province="广东省",
        city="深圳市",
    ),
    person("zhangwei2", name="张卫", phone="13600136000", city="杭州市", province="浙江省"),
    person("shanwei", name="单伟", phone="13700137000"),
    person("zengzhi", name="曾志", phone="13500135000"),
    person("xiefang", name="解放", phone="13300133000"),
    person("ouhua", name="区华", phone="13200132000"),
    person("qiuming", name="仇明", phone="13100131000"),
    person("lina", name="李娜", phone="15800151234", id_number=LI_NA_ID, city="北京市"),
    person("weizhang", name="Wei Zhang", email="wei.zhang@example.com", phone="18600182345"),
    person("ouyang", name="欧阳晓明", phone="18800183456", member_no="M2024001"),
]
COMPANIES = [
    organization(
        "huawei",
        name="华为技术有限公司",
        uscc=HUAWEI_USCC,
        phone="0755-28780808",
        province="广东省",
        city="深圳市",
    ),
]


@dataclass
class World:
    """The standard customers, ingested and indexed."""

    engine: Engine
    backend: SearchBackend
    ids: dict[str, int]

    def __getitem__(self, ext: str) -> int:
        return self.ids[ext]


def build_world(engine: Engine, backend: SearchBackend) -> World:
    save_source(engine, "crm", "offline", {}, trust=60)
    save_source(engine, "registry", "offline", {}, trust=90)
    ingest(engine, "crm", PEOPLE)
    ingest(engine, "registry", COMPANIES)
    report = Indexer(engine, backend).drain(wait=True)
    assert report.rows > 0
    ids = {rec.external_id: customer_of(engine, "crm", rec.external_id) for rec in PEOPLE}
    ids.update(
        {rec.external_id: customer_of(engine, "registry", rec.external_id) for rec in COMPANIES}
    )
    return World(engine, backend, ids)
