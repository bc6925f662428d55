"""Abuse limits and performance guarantees over real HTTP: depth, cost, page
size, token and alias limits reject a query before anything runs (no SQL at
all); the per-client rate limit answers 429; oversized bodies 413; the number of
SQL statements does not grow with the page; no database work runs on the event
loop's thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event

from c360.auth.principal import SCOPES
from c360.platform.clients import create_client
from c360.schema import Limits
from tests.api_helpers import Server, make_settings, serve
from tests.api_world import World, seed_many


@pytest.fixture
def server(engine: Engine, tmp_path: Path) -> Iterator[Server]:
    yield from serve(engine, make_settings(tmp_path), limits=Limits(max_depth=10, max_cost=2000))


class Statements:
    """The SQL statements an engine runs, and on which threads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: list[str] = []
        self.threads: set[threading.Thread] = set()

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.seen.append(statement)
        self.threads.add(threading.current_thread())

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


def rejected_before_running(
    server: Server, engine: Engine, query: str, code: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    api = server.api("admin", purpose="service")
    with Statements(engine) as sql:
        body = api.post(query, variables).json()
    assert body.get("data") is None, body
    [error] = body["errors"]
    assert error.get("extensions", {}).get("code", "GRAPHQL_VALIDATION_FAILED") == code, error
    assert sql.seen == [], sql.seen
    return dict(error)


def nested_related(depth: int) -> str:
    inner = "customerId"
    for _ in range(depth):
        inner = f"related(first: 1) {{ node {{ {inner} }} }}"
    return f"{{ customer(id: 1) {{ {inner} }} }}"


def test_depth_limit(server: Server, engine: Engine, world: World) -> None:
    server.api("admin").query(nested_related(4))
    error = rejected_before_running(server, engine, nested_related(6), "GRAPHQL_VALIDATION_FAILED")
    assert "exceeds maximum operation depth of 10" in error["message"]


def test_cost_limit(server: Server, engine: Engine, world: World) -> None:
    query = """
    { customers(first: 100) { edges { node {
        attributes { lineage { value } }
        related(first: 50) { node { customerId } }
    } } } }
    """
    error = rejected_before_running(server, engine, query, "QUERY_TOO_COMPLEX")
    assert error["extensions"]["maxCost"] == 2000
    assert error["extensions"]["cost"] > 2000
    assert "Query too complex" in error["message"]
    # The same shape with small pages runs.
    small = query.replace("first: 100", "first: 5").replace("first: 50", "first: 5")
    server.api("admin", purpose="service").query(small)


def test_cost_counts_fragments_and_variables(server: Server, engine: Engine, world: World) -> None:
    query = """
    query($n: Int!) { customers(first: $n) { edges { node { ...Deep } } } }
    fragment Deep on Customer { related(first: 100) { node { attributes { name } } } }
    """
    rejected_before_running(server, engine, query, "QUERY_TOO_COMPLEX", {"n": 100})
    server.api("admin").query(query, {"n": 1})


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ customers(first: 1000) { totalCount } }", None),
        ("query($n: Int!) { customers(first: $n) { totalCount } }", {"n": 101}),
        ("query($n: Int! = 0) { customers(first: $n) { totalCount } }", None),
        ("{ customer(id: 1) { timeline(first: 500) { text } } }", None),
    ],
)
def test_page_size_is_checked_before_running(
    server: Server, engine: Engine, world: World, query: str, variables: dict[str, Any] | None
) -> None:
    error = rejected_before_running(server, engine, query, "BAD_USER_INPUT", variables)
    assert error["extensions"]["argument"] == "first"
    assert "must be between 1 and 100" in error["message"]


def test_token_and_alias_limits(server: Server, engine: Engine, world: World) -> None:
    aliases = " ".join(f"a{i}: customer(id: 1) {{ customerId }}" for i in range(31))
    error = rejected_before_running(server, engine, f"{{ {aliases} }}", "GRAPHQL_VALIDATION_FAILED")
    assert "aliases" in error["message"]
    fields = " ".join(["customerId"] * 5000)
    huge = f"{{ customer(id: 1) {{ {fields} }} }}"
    error = rejected_before_running(server, engine, huge, "GRAPHQL_VALIDATION_FAILED")
    assert "token" in error["message"].lower()


def test_oversized_bodies_are_refused(server: Server, world: World) -> None:
    token = server.token("admin")
    body = (
        '{"query": "{ customers { totalCount } }", "variables": {"pad": "' + "x" * 1_100_000 + '"}}'
    )
    response = httpx.post(
        f"{server.url}/graphql",
        content=body,
        headers={"Authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    assert response.status_code == 413


def test_rate_limit_per_client(engine: Engine, tmp_path: Path, world: World) -> None:
    # One token a minute: the burst cannot refill while the requests run, however slow.
    settings = make_settings(tmp_path, rate_limit_per_minute=1, rate_limit_burst=3)
    for name in ("greedy-app", "polite-app"):
        create_client(engine, name, role="marketing", scopes=list(SCOPES))
    for served in serve(engine, settings):
        greedy = served.api("marketing", client_id="greedy-app")
        query = "{ customers { totalCount } }"
        for _ in range(3):
            assert greedy.raw(query).status_code == 200
        limited = greedy.raw(query)
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert "greedy-app" in limited.json()["error_description"]
        assert "data" not in limited.json()
        # Another client is not held back by the greedy one.
        assert served.api("marketing", client_id="polite-app").raw(query).status_code == 200


FULL_PAGE = """
query Page($first: Int!) {
  customers(first: $first) {
    totalCount
    edges { node {
      id customerId displayName mergedIds tags
      attributes { name value lineage { value source } }
      sourceRecords { source externalId linkMethod evidence explanation }
      timeline(first: 5) { eventType occurredAt text }
      notes { text }
      related { via value node { customerId displayName } }
    } }
  }
}
"""


def test_query_count_is_flat_and_off_the_event_loop(engine: Engine, tmp_path: Path) -> None:
    seed_many(engine, 50)
    for served in serve(engine, make_settings(tmp_path)):  # the default limits
        check_flat_and_threaded(served, engine)


def check_flat_and_threaded(server: Server, engine: Engine) -> None:
    api = server.api("agent", region="北京")  # the row scope's check is counted too

    def run(first: int) -> Statements:
        with Statements(engine) as sql:
            data = api.query(FULL_PAGE, {"first": first})["customers"]
        assert len(data["edges"]) == first
        return sql

    run(5)  # warm up the pool
    small, large = run(5), run(50)
    assert len(small.seen) == len(large.seen), (small.seen, large.seen)
    # customers, count, golden, records, timeline (events, case changes, value
    # transitions), merged ids, tags, notes, 2 for related (+1 customers for related
    # nodes' rows), audit (3)
    assert len(large.seen) <= 17, large.seen  # one more: the restriction check per request
    assert server.thread is not None
    assert server.thread not in small.threads | large.threads
    assert threading.main_thread() not in large.threads
