"""The value judgment on a real database (SQLite and PostgreSQL) with the real
ingest, indexer and embedded search index: a new order moves a customer from
获客 to 激活 within a second with the transition on the value timeline; the
search filters and facets for tier and stage return the computed values; a
segment's membership follows the new order (joined, recorded, a business event);
a campaign export leaves out customers without marketing consent and suppressed
ones, masks per role and is audited; bad segment filters are refused by name."""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select

from c360.connectors.credit.legal_bases import record_legal_basis
from c360.ops.outbound import PolicyScreen
from c360.platform import tables as t
from c360.platform.business_events import business_event
from c360.platform.ingest import Ingestor
from c360.platform.models import utcnow
from c360.platform.privacy import suppression
from c360.platform.privacy.consent import BASES
from c360.platform.privacy.requests import erase_person
from c360.platform.records import IncomingRecord
from c360.platform.secret_keys import load_key
from c360.platform.sources import save_source
from c360.platform.value.audience import campaign_audience
from c360.platform.value.judgment import refresh_value
from c360.platform.value.models import value_segment
from c360.platform.value.reading import value_of, value_timeline
from c360.platform.value.segments import (
    SegmentError,
    changes_of,
    create_segment,
    find_segment,
    members_of,
    parse_filters,
)
from c360.platform.verification.models import authenticity_score
from c360.search.contract import SearchFilters
from c360.search.embedded import EmbeddedSearch
from c360.search.indexer import Indexer
from c360.search.segments import evaluate_segment
from tests.cli_helpers import InProcessCli

NOW = utcnow()
PEOPLE = {
    "buyer": {"name": "王芳", "phone": "13800138001", "city": "杭州市", "province": "浙江省"},
    "consent": {"name": "李娜", "phone": "13800138002", "city": "杭州市", "province": "浙江省"},
    "no_consent": {"name": "张敏", "phone": "13800138003", "city": "杭州市", "province": "浙江省"},
    "suppressed": {"name": "赵静", "phone": "13800138004", "city": "杭州市", "province": "浙江省"},
    "revoked": {"name": "刘洋", "phone": "13800138005", "city": "杭州市", "province": "浙江省"},
}


def person(ext: str, **fields: Any) -> IncomingRecord:
    return IncomingRecord(stream="people", external_id=ext, kind="person", fields=fields)


def order(ext: str, subject: str, amount: float, days_ago: float) -> IncomingRecord:
    return IncomingRecord(
        stream="orders",
        external_id=ext,
        kind="event",
        fields={
            "event_type": "order",
            "amount": amount,
            "channel": "web",
            "occurred_at": (NOW - timedelta(days=days_ago)).isoformat(),
            "subject_external_id": subject,
            "subject_stream": "people",
        },
    )


class World:
    def __init__(self, engine: Engine, backend: EmbeddedSearch, data: Path) -> None:
        self.engine, self.backend, self.data = engine, backend, data
        self.ids: dict[str, int] = {}

    def ingest(self, records: list[IncomingRecord]) -> None:
        with self.engine.begin() as conn:
            Ingestor("shop").ingest(conn, records)
        Indexer(self.engine, self.backend).drain()

    def customer(self, ext: str) -> int:
        sr, rl = t.source_record, t.record_link
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(rl.c.customer_id)
                    .join(sr, sr.c.id == rl.c.record_id)
                    .where(sr.c.external_id == ext, sr.c.stream == "people")
                ).scalar_one()
            )


@pytest.fixture(scope="module")
def world(module_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data = tmp_path_factory.mktemp("value-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("C360_DATA_DIR", str(data))
        # one suppression key for the module and its commands, whatever the
        # settings cache holds (the key file would follow the data dir)
        patch.setenv("C360_SUPPRESSION_KEY", "5a" * 32)
        backend = EmbeddedSearch(data / "search")
        w = World(module_engine, backend, data)
        save_source(module_engine, "shop", "offline", {}, trust=60)
        w.ingest([person(ext, **fields) for ext, fields in PEOPLE.items()])
        w.ids = {ext: w.customer(ext) for ext in PEOPLE}
        for ext in ("consent", "suppressed", "revoked", "buyer"):
            record_legal_basis(
                module_engine,
                w.ids[ext],
                purpose="marketing",
                basis="consent",
                evidence="会员注册表 2026-11",
                recorded_by="staff-1",
            )
        yield w
        backend.close()


def _revoke(engine: Engine, customer_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            BASES.update()
            .where(BASES.c.customer_id == customer_id)
            .values(revoked_at=NOW, revoked_by="staff-1")
        )


def test_a_new_order_moves_rfm_stage_and_tier_within_a_second(world: World) -> None:
    buyer = world.ids["buyer"]
    with world.engine.connect() as conn:
        before = value_of(conn, buyer)
    assert before is not None and before["stage"] == "获客" and before["frequency"] == 0
    world.ingest([order("o-1", "buyer", 268.0, days_ago=0.5)])
    with world.engine.connect() as conn:
        after = value_of(conn, buyer)
        timeline = value_timeline(conn, buyer)
        events = (
            conn.execute(
                select(business_event.c.data).where(
                    business_event.c.event_type == "customer.stage_changed",
                    business_event.c.customer_id == buyer,
                )
            )
            .scalars()
            .all()
        )
    assert after is not None
    assert (after["stage"], after["frequency"], after["monetary"]) == ("激活", 1, 268.0)
    assert after["reasons"]["stage"]["rule"] == "activated"
    assert (timeline[0]["kind"], timeline[0]["from_value"], timeline[0]["to_value"]) == (
        "stage",
        "获客",
        "激活",
    )
    assert "first purchase" in timeline[0]["reason"]
    assert events == [{"from": "获客", "to": "激活", "rule": "activated"}]
    started = time.perf_counter()
    with world.engine.begin() as conn:
        refresh_value(conn, [buyer])
    assert time.perf_counter() - started < 1.0
    with world.engine.connect() as conn:  # idempotent: no second transition
        assert len(value_timeline(conn, buyer)) == len(timeline)


def test_search_filters_and_facets_carry_tier_and_stage(world: World) -> None:
    page = world.backend.search(
        "", SearchFilters.of(lifecycle_stage="激活"), facets=["lifecycle_stage", "tier"]
    )
    assert [h.customer_id for h in page.hits] == [world.ids["buyer"]]
    stages = {f.value: f.count for f in page.facets["lifecycle_stage"]}
    assert stages == {"激活": 1}
    everyone = world.backend.search("", None, facets=["lifecycle_stage", "tier"])
    assert {f.value: f.count for f in everyone.facets["lifecycle_stage"]} == {"获客": 4, "激活": 1}
    assert sum(f.count for f in everyone.facets["tier"]) == 5


def test_segment_membership_follows_a_new_order(world: World) -> None:
    with world.engine.begin() as conn:
        sid = create_segment(
            conn, "杭州新客", {"stage": "激活", "city": "杭州市"}, actor="marketing-1"
        )
        segment = find_segment(conn, sid)
    assert segment is not None
    first = evaluate_segment(world.engine, world.backend, segment)
    assert first.members == 1  # the buyer of the first test
    world.ingest([order("o-2", "consent", 99.0, days_ago=0.2)])
    second = evaluate_segment(world.engine, world.backend, segment)
    assert (second.members, second.joined, second.left) == (2, 1, 0)
    with world.engine.connect() as conn:
        assert members_of(conn, sid) == sorted([world.ids["buyer"], world.ids["consent"]])
        latest = changes_of(conn, sid)[0]
        assert (latest["customer_id"], latest["change"]) == (
            world.ids["consent"],
            "joined",
        )
        recorded = conn.execute(
            select(business_event.c.customer_id, business_event.c.data).where(
                business_event.c.event_type == "segment.membership_changed"
            )
        ).all()
    assert (
        world.ids["consent"],
        {"segment_id": sid, "segment": "杭州新客", "change": "joined"},
    ) in [(r.customer_id, r.data) for r in recorded]


def test_the_indexer_re_evaluates_a_stale_segment_once_the_index_changes(world: World) -> None:
    hour = timedelta(hours=1)
    long_ago = utcnow() - 2 * hour
    with world.engine.begin() as conn:
        sid = create_segment(conn, "宁波会员", {"city": "宁波市"}, actor="m", now=long_ago)
        segment = find_segment(conn, sid)
    assert segment is not None
    assert evaluate_segment(world.engine, world.backend, segment, now=long_ago).members == 0
    world.ingest([person("nb-1", name="陈刚", phone="13800138009", city="宁波市")])
    indexer = Indexer(world.engine, world.backend, segment_every=hour)
    # Stale (evaluated two hours ago) and the index changed since: evaluated, once.
    [done] = [e for e in indexer.evaluate_segments() if e.segment == "宁波会员"]
    assert (done.members, done.joined, done.left) == (1, 1, 0)
    assert "宁波会员" not in {e.segment for e in indexer.evaluate_segments()}
    with world.engine.connect() as conn:
        assert members_of(conn, sid) == [world.customer("nb-1")]
    # A change within the hour waits for the hour; then the segment follows it.
    with world.engine.begin() as conn:
        Ingestor("shop").ingest(
            conn, [person("nb-2", name="周敏", phone="13800138010", city="宁波市")]
        )
    indexer.drain()
    assert "宁波会员" not in {e.segment for e in indexer.evaluate_segments()}
    later = [
        e for e in indexer.evaluate_segments(now=utcnow() + 2 * hour) if e.segment == "宁波会员"
    ]
    assert [(e.members, e.joined) for e in later] == [(2, 1)]
    # The default comes from C360_SEGMENT_EVALUATE_EVERY_MINUTES (60); switched off
    # (0 there), the indexer never evaluates.
    off = Indexer(world.engine, world.backend)
    assert off.segment_every == hour
    off.segment_every = None
    assert off.evaluate_segments(now=utcnow() + 9 * hour) == []


def test_a_segment_filters_by_authenticity_band(world: World) -> None:
    with world.engine.connect() as conn:
        bands = dict(
            conn.execute(select(authenticity_score.c.customer_id, authenticity_score.c.band)).all()
        )
    hangzhou = {world.ids[ext] for ext in PEOPLE}
    assert hangzhou <= set(bands)  # the indexer's refresher judged every one of them
    for band in ("pass", "review", "fail"):
        with world.engine.begin() as conn:
            sid = create_segment(
                conn, f"杭州-{band}", {"city": "杭州市", "authenticity_band": band}, actor="m"
            )
            segment = find_segment(conn, sid)
        assert segment is not None
        evaluate_segment(world.engine, world.backend, segment)
        with world.engine.connect() as conn:
            assert set(members_of(conn, sid)) == {c for c in hangzhou if bands[c] == band}


def test_export_leaves_out_no_consent_suppressed_and_revoked(world: World) -> None:
    ids = world.ids
    _revoke(world.engine, ids["revoked"])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("C360_DATA_DIR", str(world.data))
        with world.engine.begin() as conn:
            key = load_key(suppression.SUPPRESSION_KEY)
            suppression.add(
                conn,
                suppression.identifier_indexes({"phone": "+8613800138004"}, key=key),
                None,
            )
        everyone = [ids[k] for k in PEOPLE]
        audience = campaign_audience(world.engine, everyone, utcnow())
    assert audience.included == sorted([ids["buyer"], ids["consent"]])
    assert audience.excluded == {"no_marketing_consent": 2, "suppressed": 1, "restricted": 0}


def test_cli_export_masks_per_role_and_is_audited(world: World, tmp_path: Path) -> None:
    with world.engine.begin() as conn:
        create_segment(conn, "杭州全部", {"city": "杭州市"}, actor="marketing-1")
    run = InProcessCli()
    env = {
        "C360_DATABASE_URL": world.engine.url.render_as_string(hide_password=False),
        "C360_DATA_DIR": str(world.data),
    }
    out = tmp_path / "campaign.csv"
    done = run(["segments", "export", "杭州全部", "--role", "marketing", "--out", str(out)], **env)
    assert done.exit_code == 0, done.output
    with out.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(int(r["customer_id"]) for r in rows) == sorted(
        [world.ids["buyer"], world.ids["consent"]]
    )
    assert {r["phone"] for r in rows} == {"+86138****8001", "+86138****8002"}  # masked
    assert all(r["tier"] and r["stage"] for r in rows)
    xlsx = tmp_path / "campaign.xlsx"
    done = run(["segments", "export", "杭州全部", "--role", "admin", "--out", str(xlsx)], **env)
    assert done.exit_code == 0, done.output
    sheet = load_workbook(xlsx, read_only=True).active
    assert sheet is not None
    cells = list(sheet.iter_rows(values_only=True))
    assert cells[0][:3] == ("customer_id", "name", "phone") and len(cells) == 3
    assert {c[2] for c in cells[1:]} == {"+8613800138001", "+8613800138002"}  # admin: clear
    with world.engine.connect() as conn:
        audited = conn.execute(
            select(t.audit_log.c.purpose, t.audit_log.c.detail).where(
                t.audit_log.c.action == "segment.export"
            )
        ).all()
    assert [a.purpose for a in audited] == ["marketing", "marketing"]
    assert audited[0].detail["excluded"]["suppressed"] == 1
    bad = run(["segments", "export", "杭州全部", "--role", "boss", "--out", str(xlsx)], **env)
    assert bad.exit_code != 0 and "--role: 'boss'" in bad.output


def test_bad_segment_filters_are_refused_by_name(world: World) -> None:
    with pytest.raises(SegmentError, match=r"filters.clv_12m: min is above max"):
        parse_filters({"clv_12m": {"min": 10, "max": 1}})
    with pytest.raises(SegmentError, match=r"filters.colour: unknown filter"):
        parse_filters({"colour": "red"})
    with pytest.raises(SegmentError, match=r"filters.consent: 'spam' is not a purpose"):
        parse_filters({"consent": "spam"})
    with pytest.raises(SegmentError, match=r"filters.m_score.min: must be a number"):
        parse_filters({"m_score": {"min": "high"}})
    # its own segment: under xdist this test may run before, or apart from, the
    # tests that create theirs
    with world.engine.begin() as conn:
        create_segment(conn, "重名检查", {"tier": "高价值"}, actor="m")
        before = conn.execute(select(func.count()).select_from(value_segment)).scalar_one()
    with (
        world.engine.begin() as conn,
        pytest.raises(SegmentError, match="name: a segment named '重名检查' exists"),
    ):
        create_segment(conn, "重名检查", {"tier": "高价值"}, actor="m")
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(value_segment)).scalar_one() == before


def test_erasure_takes_the_value_rows_with_the_person(world: World) -> None:
    buyer = world.ids["buyer"]  # scored, on the timeline and in a segment by now
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("C360_DATA_DIR", str(world.data))
        _, counts = erase_person(world.engine, buyer, actor="dpo-1", reason="PIPL art. 47")
    assert counts["value_score"] == 1 and counts["value_change"] >= 2
    assert counts["value_segment_member"] >= 1
    with world.engine.connect() as conn:
        assert value_of(conn, buyer) is None and value_timeline(conn, buyer) == []


def test_segment_events_reach_only_roles_that_read_segments() -> None:
    screen = PolicyScreen()
    assert screen.refusal("marketing", "segment.membership_changed") is None
    refused = screen.refusal("agent", "segment.membership_changed")
    assert refused is not None and "segment" in refused
    assert screen.refusal("agent", "customer.stage_changed") is None  # stages: every role
