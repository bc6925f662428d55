"""Which customer an id means now, and how customers relate: the one follower of
merge redirects (``customers.ids.survivor_of``) and the one reader of related
customers (``customers.relationships``), as the platform, ``c360 explain``,
``c360 merge`` and GraphQL all see them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, update
from typer.testing import CliRunner

from c360.cli.resolution import resolution_app
from c360.platform import tables as t
from c360.platform.customers.ids import (
    UnknownCustomerError,
    absorbed_by,
    for_every_live_customer,
    live_customer_ids,
    survivor,
    survivor_of,
)
from c360.platform.customers.relationships import related_customers
from c360.platform.matching.explain import explain_customer
from c360.platform.settings import get_settings
from c360.platform.sources import save_source
from c360.platform.stewardship import Actor, merge, split
from c360.schema.customer_pages import fetch_survivors
from tests.api_helpers import Server, make_settings, serve
from tests.helpers import resident_id
from tests.resolution_helpers import customer_of, ingest, person, record_id

MERGE = """
mutation($s: ID!, $a: ID!) {
  mergeCustomers(survivorId: $s, absorbedId: $a) { customerId mergedIds }
}
"""
RELATED = """
query($id: ID!) {
  customer(id: $id) { related { kind direction via node { customerId } } }
}
"""


@pytest.fixture
def sources(engine: Engine) -> Engine:
    for name, trust in (("web", 40), ("pos", 80)):
        save_source(engine, name, "offline", {}, trust=trust)
    return engine


@pytest.fixture
def server(sources: Engine, tmp_path: Path) -> Iterator[Server]:
    yield from serve(sources, make_settings(tmp_path))


def c360(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str]:
    """``c360 <args>`` in this process on the test's database."""
    monkeypatch.setenv("C360_DATABASE_URL", db_url)
    monkeypatch.setenv("C360_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(resolution_app, list(args))
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def customers(engine: Engine, n: int) -> list[int]:
    with engine.begin() as conn:
        return [
            int(
                conn.execute(
                    t.customer.insert().values(kind="person").returning(t.customer.c.id)
                ).scalar_one()
            )
            for _ in range(n)
        ]


def redirect(engine: Engine, absorbed: int, target: int) -> None:
    """A raw redirect, as rows written before chains were flattened may hold."""
    with engine.begin() as conn:
        conn.execute(
            update(t.customer).where(t.customer.c.id == absorbed).values(merged_into=target)
        )


def test_survivor_of_follows_chains_and_leaves_out_unknown_ids_and_loops(engine: Engine) -> None:
    a, b, c, d, x, y = customers(engine, 6)
    redirect(engine, c, b)
    redirect(engine, b, a)  # c -> b -> a: a chain of two hops
    redirect(engine, d, c)  # d -> c -> b -> a: three
    redirect(engine, x, y)
    redirect(engine, y, x)  # a loop resolves to nobody
    with engine.connect() as conn:
        assert survivor_of(conn, [a, b, c, d, x, y, 987654]) == {a: a, b: a, c: a, d: a}
        assert survivor(conn, d) == a
        with pytest.raises(UnknownCustomerError):
            survivor(conn, x)
        with pytest.raises(UnknownCustomerError):
            survivor(conn, 987654)
        assert absorbed_by(conn, [a, b, x]) == {a: sorted([b, c, d]), b: sorted([c, d]), x: [y]}
    # every reader sees the same: GraphQL's loader and c360 explain
    assert [None if r is None else r.id for r in fetch_survivors(engine, [d, x, a])] == [
        a,
        None,
        a,
    ]
    assert explain_customer(engine, d).customer_id == a
    with pytest.raises(UnknownCustomerError):
        explain_customer(engine, y)


def test_a_full_pass_visits_each_live_customer_once_in_batches(engine: Engine) -> None:
    a, b, c, d, e = customers(engine, 5)
    redirect(engine, c, a)
    batches: list[list[int]] = []

    def work(conn: Connection, part: list[int]) -> None:
        assert conn.in_transaction()
        batches.append(part)

    assert for_every_live_customer(engine, work, batch=2) == 4
    with engine.connect() as conn:
        live = live_customer_ids(conn)
    assert live == sorted([a, b, d, e]) and c not in live
    assert [len(part) for part in batches] == [2, 2]
    assert sorted(c for part in batches for c in part) == live


def test_graphql_and_c360_merge_both_follow_a_merged_id(
    server: Server,
    sources: Engine,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both entry points go through one merge: an id merged earlier means the
    customer it was merged into (invariant 4), and naming the two halves of one
    customer is refused the same way, naming the redirect."""
    engine = sources
    ingest(
        engine,
        "web",
        [
            person(f"p{i}", name=name, phone=f"1370000000{i}")
            for i, name in enumerate(["欧阳明", "司马青", "诸葛亮", "上官燕"])
        ],
    )
    first, second, third, fourth = (customer_of(engine, "web", f"p{i}") for i in range(4))
    merge(engine, first, second, Actor("steward@test"))  # second now redirects to first
    admin = server.api("admin", purpose="service")
    merged = admin.query(MERGE, {"s": str(third), "a": str(second)})["mergeCustomers"]
    assert merged["customerId"] == third
    assert sorted(merged["mergedIds"]) == sorted([first, second])
    code, output = c360(
        db_url, tmp_path, monkeypatch, "merge", str(first), str(fourth), "--by", "s"
    )
    assert code == 0, output
    assert f"into customer {min(third, fourth)}" in output
    with engine.connect() as conn:
        kept = min(third, fourth)
        assert survivor_of(conn, [first, second, third, fourth]) == dict.fromkeys(
            [first, second, third, fourth], kept
        )
    # the same refusal, in the same words, from either entry point
    [error] = admin.errors(MERGE, {"s": str(third), "a": str(second)})
    code, output = c360(
        db_url, tmp_path, monkeypatch, "merge", str(third), str(second), "--by", "s"
    )
    assert code != 0
    assert error["extensions"]["argument"] == "absorbedId"
    assert f"was merged into {kept}" in error["message"]
    assert f"was merged into {kept}" in output


def test_shared_identifiers_are_related_customers_for_explain_and_graphql(
    server: Server,
    sources: Engine,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A steward split two records that carry one resident id: the two customers
    share an identifier without being one, and both readers say so."""
    engine = sources
    number = resident_id()
    ingest(engine, "web", [person("a", name="张伟", id_number=number)])
    ingest(engine, "pos", [person("b", name="张伟", id_number=number)])
    rid = record_id(engine, "pos", "b")
    owner, created = split(engine, rid, Actor("steward@test"))
    [relationship] = [r for r in related_customers(engine, owner) if r.kind == "shares_identifier"]
    assert (relationship.other_customer_id, relationship.attribute) == (created, "id_number")
    assert relationship.direction == "mutual" and relationship.other_record_id == rid
    code, output = c360(
        db_url, tmp_path, monkeypatch, "explain", str(owner), "--purpose", "service", "--json"
    )
    assert code == 0, output
    related = json.loads(output)["related"]
    assert [(r["kind"], r["other_customer_id"]) for r in related] == [
        ("shares_identifier", created)
    ]
    node = server.api("admin", purpose="service").query(RELATED, {"id": str(owner)})["customer"]
    assert node["related"] == [
        {
            "kind": "SHARES_IDENTIFIER",
            "direction": "MUTUAL",
            "via": "id_number",
            "node": {"customerId": created},
        }
    ]
