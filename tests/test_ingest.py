"""Ingest, deterministic resolution and golden profiles, on SQLite and PostgreSQL.

Invariants held here (DESIGN.md): idempotent ingest, every record accounted for,
stable customer ids with redirects, lineage, and quarantine instead of loss."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from c360.platform import tables as t
from c360.platform.golden import rebuild_golden
from c360.platform.ingest import IngestCounts, Ingestor
from c360.platform.records import IncomingRecord
from c360.platform.rejections import field_rejection, rejections_of
from c360.platform.source_events import attach_orphan_events
from c360.platform.sources import save_source
from tests.helpers import bad_resident_id, credit_code, resident_id


def person(ext: str, stream: str = "people", **fields: Any) -> IncomingRecord:
    return IncomingRecord(
        stream=stream, external_id=ext, kind="person", fields=fields, raw=dict(fields)
    )


def ingest(engine: Engine, source: str, records: list[IncomingRecord]) -> IngestCounts:
    with engine.begin() as conn:
        counts = Ingestor(source).ingest(conn, records)
    assert counts.balanced(), counts
    return counts


def customer_of(engine: Engine, source: str, ext: str, stream: str = "people") -> int:
    sr, rl = t.source_record, t.record_link
    with engine.connect() as conn:
        return conn.execute(
            select(rl.c.customer_id)
            .join(sr, sr.c.id == rl.c.record_id)
            .where(sr.c.source_name == source, sr.c.external_id == ext, sr.c.stream == stream)
        ).scalar_one()


def golden(engine: Engine, customer_id: int) -> dict[str, dict[str, Any]]:
    gp = t.golden_profile
    with engine.connect() as conn:
        attributes = conn.execute(
            select(gp.c.attributes).where(gp.c.customer_id == customer_id)
        ).scalar_one_or_none()
    return dict(attributes or {})


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
def sources(engine: Engine) -> Engine:
    save_source(engine, "web", "offline", {}, trust=40)
    save_source(engine, "pos", "offline", {}, trust=80)
    return engine


def test_reingest_unchanged_changes_nothing(sources: Engine) -> None:
    engine = sources
    batch = [
        person("1", name="张伟", phone="138 0013 8000", email="ZhangWei@QQ.com"),
        person("2", name="李娜", phone="+86 139-0013-9000"),
    ]
    first = ingest(engine, "web", batch)
    assert (first.new, first.unchanged) == (2, 0)
    outbox_after_first = count(engine, t.outbox)
    second = ingest(engine, "web", batch)
    assert (second.read, second.new, second.updated, second.unchanged) == (2, 0, 0, 2)
    assert count(engine, t.source_record) == 2
    assert count(engine, t.customer) == 2
    assert count(engine, t.outbox) == outbox_after_first


def test_changed_record_updates_in_place(sources: Engine) -> None:
    engine = sources
    ingest(engine, "web", [person("1", name="张伟", email="zw@example.com")])
    cid = customer_of(engine, "web", "1")
    counts = ingest(engine, "web", [person("1", name="张伟", email="zw@example.com", city="北京")])
    assert (counts.updated, counts.new) == (1, 0)
    assert count(engine, t.source_record) == 1
    assert customer_of(engine, "web", "1") == cid
    assert golden(engine, cid)["city"]["value"] == "北京市"  # canonical spelling


def test_invalid_values_are_refused_alone_and_the_record_is_linked_by_the_rest(
    sources: Engine,
) -> None:
    engine = sources
    ingest(engine, "pos", [person("p1", name="赵敏", phone="13700137000")])
    counts = ingest(
        engine,
        "web",
        [
            person("ok", name="王芳", phone="13600136000"),
            person(
                "bad",
                name="赵敏",
                phone="13700137000",
                id_number=bad_resident_id(),
                birth_date="1943-01-77",
            ),
        ],
    )
    assert (counts.new, counts.quarantined, counts.invalid_values) == (2, 0, 2)
    assert counts.as_dict()["invalid_values"] == 2
    sr = t.source_record
    with engine.connect() as conn:
        bad = conn.execute(select(sr).where(sr.c.external_id == "bad")).mappings().one()
        refused = {r.field: (r.value, r.reason) for r in rejections_of(conn, bad["id"])}
    assert bad["status"] == "accepted" and bad["quarantine_reasons"] == {}
    assert set(refused) == {"id_number", "birth_date"}
    assert refused["id_number"][0] == bad_resident_id()
    assert "check" in refused["id_number"][1].lower()
    assert refused["birth_date"][0] == "1943-01-77"
    assert set(bad["warnings"]) >= {"id_number", "birth_date"}
    assert "id_number" not in bad["attributes"] and "birth_date" not in bad["attributes"]
    assert bad["raw"]["birth_date"] == "1943-01-77"  # the payload is kept as received
    cid = customer_of(engine, "web", "bad")
    assert cid == customer_of(engine, "pos", "p1")  # linked by its phone and name
    profile = golden(engine, cid)
    assert "id_number" not in profile and "birth_date" not in profile
    assert profile["phone"]["value"] == "+8613700137000"


def test_a_record_with_nothing_usable_is_quarantined_whole(sources: Engine) -> None:
    engine = sources
    counts = ingest(engine, "web", [person("bad", phone="12345", city="杭州")])
    assert (counts.new, counts.quarantined, counts.invalid_values) == (0, 1, 0)
    sr = t.source_record
    with engine.connect() as conn:
        bad = conn.execute(select(sr).where(sr.c.external_id == "bad")).mappings().one()
        refused = rejections_of(conn, bad["id"])
    assert bad["status"] == "quarantined"
    assert set(bad["quarantine_reasons"]) == {"phone", "record"}
    assert [(r.field, r.value) for r in refused] == [("phone", "12345")]
    assert count(engine, t.record_link) == 0  # quarantined records are not linked


def test_a_corrected_value_leaves_the_rejections(sources: Engine) -> None:
    engine = sources
    ingest(engine, "web", [person("1", name="张伟", phone="13800138000", birth_date="1990-02-31")])
    with engine.connect() as conn:
        assert {r[0] for r in conn.execute(select(field_rejection.c.field))} == {"birth_date"}
    counts = ingest(
        engine, "web", [person("1", name="张伟", phone="13800138000", birth_date="1990-02-28")]
    )
    assert (counts.updated, counts.invalid_values) == (1, 0)
    assert count(engine, field_rejection) == 0
    assert golden(engine, customer_of(engine, "web", "1"))["birth_date"]["value"] == "1990-02-28"


def test_connector_reported_problems_quarantine(sources: Engine) -> None:
    record = IncomingRecord(
        stream="people",
        external_id="line-7",
        kind="person",
        fields={},
        raw={"_line": '{"uid": "S9'},
        problems={"record": "malformed JSON at line 7"},
    )
    counts = ingest(sources, "web", [record])
    assert counts.quarantined == 1


def test_duplicate_keys_in_one_batch_count_each_read_and_keep_the_last(sources: Engine) -> None:
    engine = sources
    counts = ingest(
        engine,
        "web",
        [
            person("1", name="张伟", email="a@example.com"),
            person("1", name="张伟", email="a@example.com"),
            person("1", name="张伟", email="b@example.com"),
        ],
    )
    assert (counts.read, counts.new, counts.unchanged, counts.updated) == (3, 1, 1, 1)
    assert count(engine, t.source_record) == 1
    assert golden(engine, customer_of(engine, "web", "1"))["email"]["value"] == "b@example.com"


def test_same_id_number_across_sources_is_one_customer(sources: Engine) -> None:
    engine = sources
    rid = resident_id()
    ingest(engine, "web", [person("w1", name="张伟", id_number=rid)])
    ingest(engine, "pos", [person("p9", name="张玮", id_number=rid.lower())])
    assert customer_of(engine, "web", "w1") == customer_of(engine, "pos", "p9")


def test_phone_links_only_with_a_compatible_name(sources: Engine) -> None:
    engine = sources
    ingest(engine, "web", [person("w1", name="张伟", phone="13800138000")])
    # Same reading (a homophone typo) links; a different person on the same phone does not.
    ingest(engine, "pos", [person("p1", name="张 玮", phone="+86 138 0013 8000")])
    ingest(engine, "pos", [person("p2", name="李娜", phone="13800138000")])
    assert customer_of(engine, "web", "w1") == customer_of(engine, "pos", "p1")
    assert customer_of(engine, "pos", "p2") != customer_of(engine, "web", "w1")


def test_different_valid_id_numbers_never_merge(sources: Engine) -> None:
    engine = sources
    ingest(
        engine,
        "web",
        [person("w1", name="张伟", email="shared@example.com", id_number=resident_id(seq="111"))],
    )
    ingest(
        engine,
        "pos",
        [person("p1", name="张伟", email="shared@example.com", id_number=resident_id(seq="222"))],
    )
    assert customer_of(engine, "web", "w1") != customer_of(engine, "pos", "p1")
    sr, rl = t.source_record, t.record_link
    with engine.connect() as conn:
        evidence = conn.execute(
            select(rl.c.evidence)
            .join(sr, sr.c.id == rl.c.record_id)
            .where(sr.c.external_id == "p1")
        ).scalar_one()
    assert evidence["cannot_link"] == [customer_of(engine, "web", "w1")]


def test_a_bridging_record_merges_into_the_older_customer_which_keeps_its_id(
    sources: Engine,
) -> None:
    engine = sources
    ingest(engine, "web", [person("w1", name="张伟", email="zw@example.com")])
    ingest(engine, "web", [person("w2", name="张伟", phone="13800138000")])
    older, younger = customer_of(engine, "web", "w1"), customer_of(engine, "web", "w2")
    assert older < younger
    ingest(engine, "pos", [person("p1", name="张伟", email="zw@example.com", phone="13800138000")])
    assert {
        customer_of(engine, "web", "w1"),
        customer_of(engine, "web", "w2"),
        customer_of(engine, "pos", "p1"),
    } == {older}
    cu = t.customer
    with engine.connect() as conn:
        merged_into = conn.execute(select(cu.c.merged_into).where(cu.c.id == younger)).scalar_one()
        outbox_ops = (
            conn.execute(select(t.outbox.c.op).where(t.outbox.c.entity_id == str(younger)))
            .scalars()
            .all()
        )
    assert merged_into == older
    assert "delete" in outbox_ops
    profile = golden(engine, older)
    assert profile["email"]["value"] == "zw@example.com"
    assert profile["phone"]["value"] == "+8613800138000"
    assert golden(engine, younger) == {}


def test_survivorship_prefers_verified_then_trust_then_recency_and_keeps_lineage(
    sources: Engine,
) -> None:
    engine = sources
    rid = resident_id()
    ingest(
        engine,
        "web",
        [person("w1", name="张伟", id_number=rid, city="上海", address="上海市徐汇区1号")],
    )
    ingest(engine, "pos", [person("p1", name="张伟", id_number=rid, city="北京")])
    verified = IncomingRecord(
        stream="people",
        external_id="w2",
        kind="person",
        fields={"name": "张伟", "id_number": rid, "address": "北京市东城区2号"},
        verified_fields=frozenset({"address"}),
    )
    ingest(engine, "web", [verified])
    cid = customer_of(engine, "web", "w1")
    profile = golden(engine, cid)
    # trust: pos (80) beats web (40)
    assert profile["city"]["value"] == "北京市"
    assert profile["city"]["conflicting"] is True
    # verified beats trust and recency
    assert profile["address"]["value"] == "北京市东城区2号"
    assert profile["address"]["verified"] is True
    lineage = profile["city"]["lineage"]
    assert [(e["source"], e["value"], e["chosen"]) for e in lineage] == [
        ("pos", "北京市", True),
        ("web", "北京市", True),  # w2 states no city: its address gives it
        ("web", "上海市", False),
    ]
    assert all(e["record_id"] and e["external_id"] for e in lineage)
    assert profile["name"]["conflicting"] is False
    assert len(profile["name"]["lineage"]) == 3


def test_organizations_link_on_credit_code_and_not_with_people(sources: Engine) -> None:
    engine = sources
    code = credit_code()
    org = IncomingRecord(
        stream="orgs",
        external_id="o1",
        kind="organization",
        fields={"name": "北京华信科技有限公司", "uscc": code, "phone": "13800138000"},
    )
    org2 = IncomingRecord(
        stream="orgs",
        external_id="o2",
        kind="organization",
        fields={"name": "华信科技", "uscc": code.lower()},
    )
    ingest(engine, "web", [org])
    ingest(engine, "pos", [org2, person("p1", name="张伟", phone="13800138000")])
    assert customer_of(engine, "web", "o1", "orgs") == customer_of(engine, "pos", "o2", "orgs")
    assert customer_of(engine, "pos", "p1") != customer_of(engine, "web", "o1", "orgs")


def test_events_join_the_timeline_even_when_they_arrive_first(sources: Engine) -> None:
    engine = sources
    order = IncomingRecord(
        stream="people_events",
        external_id="1:event",
        kind="event",
        fields={
            "event_type": "order",
            "amount": "¥1,280.50",
            "occurred_at": "2024/3/5 14:22",
            "subject_external_id": "1",
            "subject_stream": "people",
        },
    )
    ingest(engine, "pos", [order])
    ev = t.event
    with engine.connect() as conn:
        assert conn.execute(select(ev.c.customer_id)).scalar_one() is None
    ingest(engine, "pos", [person("1", name="张伟", phone="13800138000")])
    with engine.begin() as conn:
        assert attach_orphan_events(conn, "pos") == 1
    with engine.connect() as conn:
        row = conn.execute(select(ev)).mappings().one()
    assert row["customer_id"] == customer_of(engine, "pos", "1")
    assert row["amount"] == pytest.approx(1280.5)
    assert row["event_type"] == "order"


def test_a_record_that_turns_invalid_leaves_its_customer(sources: Engine) -> None:
    engine = sources
    ingest(
        engine,
        "web",
        [
            person("1", name="张伟", email="zw@example.com"),
            person("2", name="张伟", email="zw@example.com", city="杭州"),
        ],
    )
    cid = customer_of(engine, "web", "1")
    counts = ingest(engine, "web", [person("2", email="not an email", city="杭州")])
    assert counts.quarantined == 1
    assert "city" not in golden(engine, cid)
    assert golden(engine, cid)["email"]["value"] == "zw@example.com"


def test_a_value_that_turns_invalid_leaves_the_profile_alone(sources: Engine) -> None:
    engine = sources
    first = {"name": "张伟", "phone": "13800138000", "city": "杭州"}
    ingest(engine, "web", [person("1", email="zw@example.com", **first)])
    cid = customer_of(engine, "web", "1")
    counts = ingest(engine, "web", [person("1", email="not an email", **first)])
    assert (counts.updated, counts.invalid_values, counts.quarantined) == (1, 1, 0)
    assert customer_of(engine, "web", "1") == cid
    profile = golden(engine, cid)
    assert "email" not in profile and profile["city"]["value"] == "杭州市"


def test_a_nameless_record_links_on_a_phone_only_one_customer_has(sources: Engine) -> None:
    engine = sources
    ingest(
        engine,
        "web",
        [
            person("w1", name="张伟", phone="13800138000"),
            person("w2", name="王芳", phone="13900139000"),
            person("w3", name="李娜", phone="13900139000"),
        ],
    )
    ingest(
        engine,
        "pos",
        [
            person("p1", phone="138-0013-8000", city="北京"),
            person("p2", phone="13900139000", city="上海"),
        ],
    )
    assert customer_of(engine, "pos", "p1") == customer_of(engine, "web", "w1")
    # a phone two people share says nothing about a nameless record
    shared = {customer_of(engine, "web", "w2"), customer_of(engine, "web", "w3")}
    assert customer_of(engine, "pos", "p2") not in shared


def test_same_name_and_birth_date_link_but_homonyms_do_not(sources: Engine) -> None:
    engine = sources
    ingest(
        engine,
        "web",
        [
            person("w1", name="程建军", birth_date="1991-03-25", city="深圳"),
            person("w2", name="程建军", birth_date="1985-01-02", city="深圳"),
        ],
    )
    ingest(engine, "pos", [person("p1", name="程建军", id_number=resident_id(birth="19910325"))])
    assert customer_of(engine, "pos", "p1") == customer_of(engine, "web", "w1")
    assert customer_of(engine, "web", "w2") != customer_of(engine, "web", "w1")


def test_a_stated_birth_date_the_id_number_contradicts_is_kept_with_a_warning(
    sources: Engine,
) -> None:
    engine = sources
    counts = ingest(
        engine,
        "web",
        [
            person(
                "1", name="张伟", id_number=resident_id(birth="19900307"), birth_date="1991-01-01"
            )
        ],
    )
    assert counts.new == 1
    sr = t.source_record
    with engine.connect() as conn:
        row = conn.execute(select(sr.c.attributes, sr.c.warnings)).one()
    assert row.attributes["birth_date"] == "1991-01-01"
    assert "1990-03-07" in row.warnings["birth_date"]


def event(ext: str, **fields: Any) -> IncomingRecord:
    return IncomingRecord(stream="people_events", external_id=ext, kind="event", fields=fields)


def active_customers_owning(engine: Engine, key_prefix: str) -> dict[str, set[int]]:
    ik, cu = t.identity_key, t.customer
    owners: dict[str, set[int]] = {}
    with engine.connect() as conn:
        for key, cid in conn.execute(
            select(ik.c.key, ik.c.customer_id)
            .join(cu, cu.c.id == ik.c.customer_id)
            .where(ik.c.key.like(f"{key_prefix}%"), cu.c.merged_into.is_(None))
        ):
            owners.setdefault(key, set()).add(cid)
    return owners


def test_a_bridging_record_never_glues_two_different_id_numbers_together(sources: Engine) -> None:
    engine = sources
    x, y = resident_id(seq="111"), resident_id(seq="222")
    ingest(engine, "web", [person("s", name="赵敏", email="zm@example.com")])
    ingest(engine, "web", [person("a", name="赵敏", phone="13800138000", id_number=x)])
    ingest(engine, "web", [person("b", name="赵敏", wechat_id="wx_zm", id_number=y)])
    ingest(
        engine,
        "pos",
        [
            person(
                "bridge",
                name="赵敏",
                email="zm@example.com",
                phone="13800138000",
                wechat_id="wx_zm",
            )
        ],
    )
    owner_x = active_customers_owning(engine, f"p:ric:{x}")
    owner_y = active_customers_owning(engine, f"p:ric:{y}")
    assert owner_x and owner_y
    assert owner_x[f"p:ric:{x}"].isdisjoint(owner_y[f"p:ric:{y}"])


@pytest.mark.parametrize(
    ("later", "quarantined"),
    [
        (
            event("1:event", amount="10", subject_external_id="1", subject_stream="people"),
            1,
        ),
        (
            IncomingRecord(
                stream="people_events",
                external_id="1:event",
                kind="person",
                fields={"name": "李娜", "phone": "13900139000"},
            ),
            0,
        ),
    ],
    ids=["turns-invalid", "turns-into-a-person"],
)
def test_an_event_that_is_no_longer_one_leaves_the_timeline(
    sources: Engine, later: IncomingRecord, quarantined: int
) -> None:
    engine = sources
    ingest(engine, "pos", [person("1", name="张伟", phone="13800138000")])
    ingest(
        engine,
        "pos",
        [
            event(
                "1:event",
                event_type="order",
                amount="10",
                subject_external_id="1",
                subject_stream="people",
            )
        ],
    )
    assert count(engine, t.event) == 1
    counts = ingest(engine, "pos", [later])
    assert counts.quarantined == quarantined
    assert count(engine, t.event) == 0


def test_a_record_that_now_describes_someone_else_does_not_take_the_old_id(sources: Engine) -> None:
    engine = sources
    ingest(
        engine, "web", [person("row-2", name="张伟", phone="13800138000", email="zw@example.com")]
    )
    zhang = customer_of(engine, "web", "row-2")
    # A re-export shifted the rows: row-2 is now someone else entirely.
    ingest(
        engine,
        "web",
        [
            person("row-2", name="王五", phone="13700137000", email="ww@example.com"),
            person("row-3", name="张伟", phone="13800138000", email="zw@example.com"),
        ],
    )
    assert customer_of(engine, "web", "row-2") != zhang
    assert customer_of(engine, "web", "row-3") == zhang


def test_a_corrected_quarantined_record_returns_to_its_customer(sources: Engine) -> None:
    engine = sources
    ingest(engine, "web", [person("1", name="张伟", email="zw@example.com")])
    cid = customer_of(engine, "web", "1")
    ingest(engine, "web", [person("1", name="张伟", email="zw@@example")])
    ingest(engine, "web", [person("1", name="张伟", email="zw2@example.com")])
    assert customer_of(engine, "web", "1") == cid
    assert golden(engine, cid)["email"]["value"] == "zw2@example.com"


def test_an_event_on_a_shared_phone_is_attached_to_nobody(sources: Engine) -> None:
    engine = sources
    ingest(
        engine,
        "web",
        [
            person("a", name="张伟", phone="13800138000"),
            person("b", name="李娜", phone="13800138000"),
        ],
    )
    ingest(
        engine,
        "web",
        [
            event("e1", event_type="order", amount="5", phone="13800138000"),
            event("e2", event_type="order", amount="6", phone="13800138000", name="李娜"),
        ],
    )
    ev, sr = t.event, t.source_record
    with engine.connect() as conn:
        attached = dict(
            conn.execute(
                select(sr.c.external_id, ev.c.customer_id).join(sr, sr.c.id == ev.c.record_id)
            ).all()
        )
    assert attached["e1"] is None
    assert attached["e2"] == customer_of(engine, "web", "b")


def test_a_person_record_that_becomes_an_event_leaves_its_customer(sources: Engine) -> None:
    engine = sources
    ingest(engine, "web", [person("x", name="张伟", email="zw@example.com")])
    ingest(
        engine,
        "web",
        [
            IncomingRecord(
                stream="people",
                external_id="x",
                kind="event",
                fields={"event_type": "visit", "email": "zw@example.com"},
            )
        ],
    )
    with engine.connect() as conn:
        links = conn.execute(select(func.count()).select_from(t.record_link)).scalar_one()
        keys = conn.execute(select(func.count()).select_from(t.identity_key)).scalar_one()
    assert (links, keys) == (0, 0)


def test_profiles_of_new_customers_built_in_hand_equal_those_read_back(sources: Engine) -> None:
    """Ingest builds a new customer's profile from the rows it just wrote; reading
    the records back from the database must give the very same profile."""
    engine = sources
    records = [
        person("n1", name="李娜", phone="13800138000", email="LiNa@QQ.com", city="上海"),
        person(
            "n2", name="李娜", phone="+86 138 0013 8000", city="北京", birth_date="1990年3月5日"
        ),
        IncomingRecord(
            stream="people",
            external_id="n3",
            kind="person",
            fields={"name": "王芳", "email": "wf@163.com", "id_number": resident_id()},
            verified_fields=frozenset({"email"}),
            observed_at="2024-03-05 14:22",
        ),
    ]
    ingest(engine, "web", records)
    ingest(engine, "web", [person("n2", name="李娜", phone="13800138000", city="深圳")])
    gp = t.golden_profile
    with engine.connect() as conn:
        built = dict(conn.execute(select(gp.c.customer_id, gp.c.attributes)).all())
    assert len(built) == 2 and all(built.values())
    with engine.begin() as conn:
        rebuild_golden(conn, list(built))
    with engine.connect() as conn:
        read_back = dict(conn.execute(select(gp.c.customer_id, gp.c.attributes)).all())
    assert read_back == built
    lineage = built[customer_of(engine, "web", "n3")]["email"]["lineage"][0]
    assert lineage["observed_at"] == "2024-03-05T06:22:00+00:00"  # China time, in UTC
    assert lineage["verified"] is True


def test_the_golden_profile_knows_the_province_a_source_gave_only_in_the_address(
    sources: Engine,
) -> None:
    ingest(
        sources,
        "web",
        [person("w1", name="赵敏", phone="13700137002", address="广东深圳南山区科技园")],
    )
    profile = golden(sources, customer_of(sources, "web", "w1"))
    assert profile["province"]["value"] == "广东省"
    assert profile["city"]["value"] == "深圳市"


def test_a_province_a_source_states_outranks_another_sources_address(sources: Engine) -> None:
    web = {"name": "王芳", "phone": "13700137001", "address": "上海徐汇区漕溪北路88号"}
    ingest(sources, "web", [person("w1", **web)])
    ingest(sources, "pos", [person("p1", name="王芳", phone="13700137001", province="江苏")])
    customer = customer_of(sources, "web", "w1")
    assert customer_of(sources, "pos", "p1") == customer
    province = golden(sources, customer)["province"]
    assert province["value"] == "江苏省"  # pos is the more trusted source
    assert "上海市" in {str(entry["value"]) for entry in province["lineage"]}
