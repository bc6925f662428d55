"""A data steward's merge and split through real HTTP GraphQL requests take effect
at once, as constraints every later run respects (a changed record synced again,
``c360 resolve --rebuild``), in the same transaction as the decision, the audit
entry and the outbox; and a split re-derives the shared-identifier edges of the
customers it separated. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from c360.platform import tables as t
from c360.platform.audit_chain import verify
from c360.platform.customers.relationships import related_customers
from c360.platform.matching.features import record_features
from c360.platform.matching.rebuild import rebuild
from c360.platform.matching.tables import constraint, edge
from c360.platform.stewardship import Actor, CurationDecision, split
from c360.platform.tables import table_of
from tests.api_helpers import Server, make_settings, serve
from tests.resolution_helpers import customer_of, ingest, person, record_id

MERGE = """
mutation($s: ID!, $a: ID!, $why: String) {
  mergeCustomers(survivorId: $s, absorbedId: $a, reason: $why) {
    customerId mergedIds sourceRecords { externalId }
  }
}
"""
SPLIT = """
mutation($r: Int!) {
  splitRecord(recordId: $r, reason: "two people") {
    previous { customerId sourceRecords { externalId } }
    created { customerId sourceRecords { externalId linkMethod } }
  }
}
"""


@pytest.fixture
def sources(engine: Engine) -> Engine:
    from c360.platform.sources import save_source

    for name, trust in (("web", 40), ("pos", 80)):
        save_source(engine, name, "offline", {}, trust=trust)
    return engine


@pytest.fixture
def server(sources: Engine, tmp_path: Path) -> Iterator[Server]:
    yield from serve(sources, make_settings(tmp_path))


def constraints(engine: Engine) -> list[tuple[str, int, int, int | None]]:
    with engine.connect() as conn:
        return sorted(
            (row.kind, row.record_id, row.other_record_id, row.decision_id)
            for row in conn.execute(select(constraint))
        )


def decisions(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(table_of(CurationDecision))).all())


def outbox_ids(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(t.outbox.c.entity_id)).scalars())


def rebuild_by_cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from c360.cli.resolution import resolution_app
    from c360.platform.settings import get_settings

    monkeypatch.setenv("C360_DATABASE_URL", db_url)
    get_settings.cache_clear()
    result = CliRunner().invoke(resolution_app, ["resolve", "--rebuild", "--no-train"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output


def test_a_graphql_merge_is_a_must_link_at_once_and_survives_syncs_and_rebuilds(
    server: Server, sources: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = sources
    ingest(
        engine,
        "web",
        [
            person("a", name="欧阳明", city="杭州", phone="13700000001"),
            person("b", name="司马青", city="成都", phone="13700000002"),
        ],
    )
    a, b = customer_of(engine, "web", "a"), customer_of(engine, "web", "b")
    assert a != b
    admin = server.api("admin", subject="steward-7", purpose="service")
    # the steward keeps the younger id: the choice is theirs
    merged = admin.query(MERGE, {"s": str(b), "a": str(a), "why": "one household account"})
    assert merged["mergeCustomers"]["customerId"] == b
    assert merged["mergeCustomers"]["mergedIds"] == [a]
    # committed together: the decision, its must-link constraint, audit and outbox
    [decision] = decisions(engine)
    assert (decision.kind, decision.customer_id, decision.other_customer_id) == ("merge", b, a)
    assert decision.decided_by == "steward-7"
    ra, rb = record_id(engine, "web", "a"), record_id(engine, "web", "b")
    assert constraints(engine) == [("must_link", min(ra, rb), max(ra, rb), decision.id)]
    assert {str(a), str(b)} <= outbox_ids(engine)
    assert verify(engine).intact
    # a changed record synced again stays with the survivor
    ingest(engine, "web", [person("a", name="欧阳明", city="上海", phone="13700000009")])
    assert customer_of(engine, "web", "a") == customer_of(engine, "web", "b") == b
    # and so does a full rebuild, through the CLI
    rebuild_by_cli(db_url, monkeypatch)
    assert customer_of(engine, "web", "a") == customer_of(engine, "web", "b") == b
    assert len(decisions(engine)) == 1 and len(constraints(engine)) == 1  # nothing re-derived


def test_a_graphql_split_is_a_cannot_link_at_once_and_survives_syncs_and_rebuilds(
    server: Server, sources: Engine
) -> None:
    engine = sources
    ingest(engine, "web", [person("a", name="张伟", email="zw@example.com", phone="13711112222")])
    ingest(engine, "pos", [person("b", name="张伟", email="zw@example.com", phone="13711112222")])
    first = customer_of(engine, "web", "a")
    assert customer_of(engine, "pos", "b") == first  # same e-mail: one customer
    rid = record_id(engine, "pos", "b")
    result = server.api("admin", purpose="service").query(SPLIT, {"r": rid})["splitRecord"]
    assert result["previous"]["customerId"] == first
    created = result["created"]["customerId"]
    assert result["created"]["sourceRecords"] == [{"externalId": "b", "linkMethod": "manual:split"}]
    [decision] = decisions(engine)
    assert (decision.kind, decision.customer_id, decision.record_id) == ("split", created, rid)
    assert constraints(engine) == [("cannot_link", rid, record_id(engine, "web", "a"), decision.id)]
    assert {str(first), str(created)} <= outbox_ids(engine)
    # the two records still share a phone and an e-mail: now a relation, both ways
    kinds = {(e.kind, e.other_customer_id) for e in related_customers(engine, first)}
    assert kinds == {("shares_phone", created), ("shares_email", created)}
    # the same e-mail synced again (changed) does not undo the split ...
    ingest(
        engine,
        "pos",
        [person("b", name="张伟", email="zw@example.com", phone="13711112222", city="北京")],
    )
    assert customer_of(engine, "pos", "b") == created != customer_of(engine, "web", "a")
    # ... nor does a rebuild (retrained), and ids persist
    rebuild(engine, retrain=False)
    assert customer_of(engine, "pos", "b") == created
    assert customer_of(engine, "web", "a") == first
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(edge)).scalar_one() == 2


def shared_edges_hold(engine: Engine, customer_ids: list[int]) -> None:
    """Every shared-identifier edge of these customers joins two customers that
    each hold the identifier in one of their records now."""
    sr, rl = t.source_record, t.record_link
    with engine.connect() as conn:
        held: dict[int, set[tuple[str, str]]] = {}
        for cid, kind, attributes in conn.execute(
            select(rl.c.customer_id, sr.c.kind, sr.c.attributes).join(sr, sr.c.id == rl.c.record_id)
        ):
            features = record_features(kind, attributes or {})
            held.setdefault(cid, set()).update(features.items())
        values = {
            rid: record_features(kind, attributes or {})
            for rid, kind, attributes in conn.execute(select(sr.c.id, sr.c.kind, sr.c.attributes))
        }
    for cid in customer_ids:
        for e in related_customers(engine, cid):
            if not e.kind.startswith("shares_"):
                continue
            feature = e.detail["basis"]
            value = values[e.record_id][feature]
            assert (feature, value) in held[cid], e
            assert (feature, value) in held[e.other_customer_id], e


def test_a_split_recomputes_shared_identifier_edges(sources: Engine) -> None:
    """A family phone on five customers relates them; a split that puts it on a
    sixth makes it a shared identifier: no customer keeps an edge through it."""
    engine = sources
    phone = "13755556666"
    ingest(
        engine,
        "web",
        [
            person("r1", name="周海", email="zh@example.com", phone=phone),
            *(
                person(f"d{i}", name=name, phone=phone)
                for i, name in enumerate(["秦岭", "韩江", "沈阳明", "吕方"])
            ),
        ],
    )
    ingest(engine, "pos", [person("r2", name="周海", email="zh@example.com", phone=phone)])
    owner = customer_of(engine, "web", "r1")
    assert customer_of(engine, "pos", "r2") == owner
    others = {customer_of(engine, "web", f"d{i}") for i in range(4)}
    assert len(others | {owner}) == 5
    phone_edges = {
        e.other_customer_id for e in related_customers(engine, owner) if e.kind == "shares_phone"
    }
    assert phone_edges == others
    previous, created = split(engine, record_id(engine, "pos", "r2"), Actor("steward@test"))
    assert previous == owner
    # six customers on one phone now: it relates nobody, on either side of the split
    for cid in [owner, created, *others]:
        assert not [e for e in related_customers(engine, cid) if e.kind == "shares_phone"]
    # the e-mail the two halves still share relates them
    assert [(e.kind, e.other_customer_id) for e in related_customers(engine, owner)] == [
        ("shares_email", created)
    ]
    shared_edges_hold(engine, [owner, created, *others])
