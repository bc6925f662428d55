"""Unmerge: the absorbed id comes back with exactly its records, events, redirects,
golden profile and index document; the must-link gives way to a cannot-link that
later syncs and ``c360 resolve --rebuild`` respect; the command, the GraphQL
mutation (admin only) and the refusals. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from c360.cli.resolution import resolution_app
from c360.platform import tables as t
from c360.platform.audit_chain import verify
from c360.platform.business_events import BusinessEvent
from c360.platform.customers.ids import survivor_of
from c360.platform.matching.rebuild import rebuild
from c360.platform.matching.tables import constraint
from c360.platform.records import IncomingRecord
from c360.platform.settings import get_settings
from c360.platform.sources import save_source
from c360.platform.stewardship import Actor, CurationError, merge, unmerge
from c360.platform.tables import table_of
from tests.api_helpers import Server, make_settings, serve
from tests.resolution_helpers import customer_of, ingest, person, record_id

STEWARD = Actor(subject="steward@test")
UNMERGE = """
mutation($c: ID!) {
  unmergeCustomer(customerId: $c, reason: "two people") {
    restored { customerId sourceRecords { externalId } }
    previous { customerId sourceRecords { externalId } }
  }
}
"""


@pytest.fixture
def sources(engine: Engine) -> Engine:
    save_source(engine, "crm", "offline", {}, trust=60)
    return engine


def order(ext: str, subject: str) -> IncomingRecord:
    return IncomingRecord(
        stream="orders",
        external_id=ext,
        kind="event",
        fields={"event_type": "order", "amount": "10", "subject_external_id": subject},
    )


def records_of(engine: Engine, customer_id: int) -> set[str]:
    sr, rl = t.source_record, t.record_link
    with engine.connect() as conn:
        return set(
            conn.execute(
                select(sr.c.external_id)
                .join(rl, rl.c.record_id == sr.c.id)
                .where(rl.c.customer_id == customer_id)
            ).scalars()
        )


def profile(engine: Engine, customer_id: int) -> dict[str, Any] | None:
    gp = t.golden_profile
    with engine.connect() as conn:
        found = conn.execute(
            select(gp.c.attributes).where(gp.c.customer_id == customer_id)
        ).scalar_one_or_none()
    if found is None:
        return None
    return {name: attr["value"] for name, attr in found.items()}


def events_of(engine: Engine, customer_id: int) -> list[int]:
    ev = t.event
    with engine.connect() as conn:
        return sorted(
            conn.execute(select(ev.c.id).where(ev.c.customer_id == customer_id)).scalars()
        )


def resolves(engine: Engine, *ids: int) -> dict[int, int]:
    with engine.connect() as conn:
        return survivor_of(conn, ids)


def last_index_op(engine: Engine, customer_id: int) -> str:
    ob = t.outbox
    with engine.connect() as conn:
        return str(
            conn.execute(
                select(ob.c.op)
                .where(ob.c.entity == "customer", ob.c.entity_id == str(customer_id))
                .order_by(ob.c.id.desc())
                .limit(1)
            ).scalar_one()
        )


def constraint_kinds(engine: Engine, a: int, b: int) -> set[str]:
    c = constraint
    with engine.connect() as conn:
        return {
            row.kind
            for row in conn.execute(select(c.c.kind, c.c.record_id, c.c.other_record_id))
            if {row.record_id, row.other_record_id} == {a, b}
        }


def three_people(engine: Engine) -> tuple[int, int, int]:
    ingest(
        engine,
        "crm",
        [
            person("p1", name="欧阳明", city="杭州", phone="13700000001"),
            person("p2", name="司马青", city="成都", phone="13700000002", email="smq@example.com"),
            person("p3", name="诸葛亮", city="南阳", phone="13700000003"),
        ],
    )
    ingest(engine, "crm", [order("o2", "p2")])
    return (
        customer_of(engine, "crm", "p1"),
        customer_of(engine, "crm", "p2"),
        customer_of(engine, "crm", "p3"),
    )


def test_unmerge_restores_exactly_what_the_merge_took_and_later_runs_keep_it(
    sources: Engine,
) -> None:
    engine = sources
    c1, c2, c3 = three_people(engine)
    assert len({c1, c2, c3}) == 3
    merge(engine, c2, c3, STEWARD)  # c3 redirects to c2
    before = {"records": records_of(engine, c2), "profile": profile(engine, c2)}
    before_events = events_of(engine, c2)
    assert before["records"] == {"p2", "p3"} and len(before_events) == 1
    assert merge(engine, c1, c2, STEWARD) == c1
    assert resolves(engine, c2, c3) == {c2: c1, c3: c1}
    assert profile(engine, c2) is None

    assert unmerge(engine, c2, STEWARD, reason="two people") == c1
    assert resolves(engine, c1, c2, c3) == {c1: c1, c2: c2, c3: c2}
    assert records_of(engine, c2) == before["records"]
    assert records_of(engine, c1) == {"p1"}
    assert profile(engine, c2) == before["profile"]
    assert events_of(engine, c2) == before_events and events_of(engine, c1) == []
    assert last_index_op(engine, c2) == "upsert" and last_index_op(engine, c1) == "upsert"
    p1, p2, p3 = (record_id(engine, "crm", e) for e in ("p1", "p2", "p3"))
    assert constraint_kinds(engine, p1, p2) == {"cannot_link"}
    assert constraint_kinds(engine, p1, p3) == {"cannot_link"}
    assert "must_link" in constraint_kinds(engine, p2, p3)  # the earlier merge stands
    with engine.connect() as conn:
        [event] = conn.execute(
            select(table_of(BusinessEvent)).where(
                table_of(BusinessEvent).c.event_type == "customer.unmerged"
            )
        ).all()
    assert event.customer_id == c2
    assert event.data == {"customer_id": c2, "unmerged_from": c1, "records": 2}
    assert verify(engine).intact

    # a sync that would join them (p1 now shares p2's e-mail) keeps them apart
    ingest(
        engine,
        "crm",
        [person("p1", name="欧阳明", city="杭州", phone="13700000001", email="smq@example.com")],
    )
    assert customer_of(engine, "crm", "p1") == c1
    assert customer_of(engine, "crm", "p2") == customer_of(engine, "crm", "p3") == c2
    # and so does a rebuild
    rebuild(engine, retrain=False)
    assert customer_of(engine, "crm", "p1") == c1
    assert customer_of(engine, "crm", "p2") == customer_of(engine, "crm", "p3") == c2
    assert resolves(engine, c2, c3) == {c2: c2, c3: c2}


def test_an_automatic_merge_is_undone_and_not_redone(sources: Engine) -> None:
    engine = sources
    ingest(engine, "crm", [person("a", name="张伟", phone="13800138000")])
    ingest(engine, "crm", [person("b", name="张伟", email="zw@example.com")])
    a, b = customer_of(engine, "crm", "a"), customer_of(engine, "crm", "b")
    assert a != b
    # one record with both identifiers joins them: b's id redirects to a
    ingest(engine, "crm", [person("c", name="张伟", phone="13800138000", email="zw@example.com")])
    assert customer_of(engine, "crm", "b") == a and resolves(engine, b) == {b: a}
    assert unmerge(engine, b, STEWARD) == a
    assert records_of(engine, b) == {"b"}
    assert records_of(engine, a) == {"a", "c"}  # c came later: it stays
    # the same record synced again, changed, does not join them again
    ingest(
        engine,
        "crm",
        [person("c", name="张伟", phone="13800138000", email="zw@example.com", city="杭州")],
    )
    assert customer_of(engine, "crm", "b") == b
    assert customer_of(engine, "crm", "c") == a


def test_refusals_name_the_reason(sources: Engine) -> None:
    engine = sources
    c1, c2, _ = three_people(engine)
    with pytest.raises(CurationError, match="does not exist"):
        unmerge(engine, 999_999, STEWARD)
    with pytest.raises(CurationError, match="is not merged into another"):
        unmerge(engine, c1, STEWARD)
    merge(engine, c1, c2, STEWARD)
    unmerge(engine, c2, STEWARD)
    with pytest.raises(CurationError, match="is not merged into another"):
        unmerge(engine, c2, STEWARD)  # undone once; the merge is no longer in force


def test_the_command_unmerges_and_refuses_in_one_line(
    sources: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = sources
    c1, c2, _ = three_people(engine)
    merge(engine, c1, c2, STEWARD)
    monkeypatch.setenv("C360_DATABASE_URL", db_url)
    monkeypatch.setenv("C360_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        done = CliRunner().invoke(resolution_app, ["unmerge", str(c2), "--by", "steward@test"])
        again = CliRunner().invoke(resolution_app, ["unmerge", str(c2), "--by", "steward@test"])
    finally:
        get_settings.cache_clear()
    assert done.exit_code == 0, done.output
    assert f"customer {c2} restored from customer {c1}" in done.output
    assert again.exit_code == 2
    assert "is not merged into another" in again.output
    assert records_of(engine, c2) == {"p2"}


@pytest.fixture
def server(sources: Engine, tmp_path: Path) -> Iterator[Server]:
    yield from serve(sources, make_settings(tmp_path))


def test_graphql_unmerge_is_for_admins(server: Server, sources: Engine) -> None:
    engine = sources
    c1, c2, _ = three_people(engine)
    merge(engine, c1, c2, STEWARD)
    for role in ("agent", "marketing", "risk", "compliance"):
        [error] = server.api(role, purpose="service").errors(UNMERGE, {"c": str(c2)})
        assert error["extensions"]["code"] == "FORBIDDEN", error
    assert resolves(engine, c2) == {c2: c1}
    admin = server.api("admin", subject="admin-1", purpose="service")
    result = admin.query(UNMERGE, {"c": str(c2)})["unmergeCustomer"]
    assert result["restored"] == {"customerId": c2, "sourceRecords": [{"externalId": "p2"}]}
    assert result["previous"]["customerId"] == c1
    assert result["previous"]["sourceRecords"] == [{"externalId": "p1"}]
    [error] = admin.errors(UNMERGE, {"c": str(c2)})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "is not merged into another" in error["message"]
