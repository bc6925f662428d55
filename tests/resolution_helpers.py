"""Records into the resolution pipeline and back: ``person``/``org`` records,
``ingest`` through the real ``Ingestor``, and which customer (after merges) or
record id an external id landed on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from c360.platform import tables as t
from c360.platform.ingest import Ingestor
from c360.platform.locks import write_transaction
from c360.platform.records import IncomingRecord


def person(ext: str, stream: str = "people", **fields: Any) -> IncomingRecord:
    return IncomingRecord(stream=stream, external_id=ext, kind="person", fields=fields)


def org(ext: str, **fields: Any) -> IncomingRecord:
    return IncomingRecord(stream="orgs", external_id=ext, kind="organization", fields=fields)


def ingest(engine: Engine, source: str, records: list[IncomingRecord]) -> None:
    with write_transaction(engine) as conn:
        counts = Ingestor(source).ingest(conn, records)
    assert counts.balanced(), counts


def customer_of(engine: Engine, source: str, ext: str, stream: str = "people") -> int:
    sr, rl, cu = t.source_record, t.record_link, t.customer
    with engine.connect() as conn:
        cid, merged = conn.execute(
            select(rl.c.customer_id, cu.c.merged_into)
            .join(sr, sr.c.id == rl.c.record_id)
            .join(cu, cu.c.id == rl.c.customer_id)
            .where(sr.c.source_name == source, sr.c.external_id == ext, sr.c.stream == stream)
        ).one()
    return int(merged or cid)


def record_id(engine: Engine, source: str, ext: str) -> int:
    sr = t.source_record
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(sr.c.id).where(sr.c.source_name == source, sr.c.external_id == ext)
            ).scalar_one()
        )
