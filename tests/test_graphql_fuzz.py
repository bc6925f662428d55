"""Fuzzing: hypothesis-graphql writes queries and mutations from the schema and
sends them, as a masked role, to the app over real HTTP. No answer is a server
error (no 5xx, no masked "Internal server error"), and no value the role may
only see masked, or not at all, ever appears in clear."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, queries
from sqlalchemy import Engine
from strawberry.relay import GlobalID

from c360.auth.policy import FIELDS, ROLES, Access, policy_field
from c360.schema import schema
from c360.search.embedded import EmbeddedSearch
from c360.search.indexer import reindex
from tests.test_auth_policy import EVENT_TEXT, EXTERNAL_ID, NOTE_TEXT, PERSON, Matrix, seed_matrix
from tests.test_graphql_api import Server, make_settings, serve

SDL = schema.as_str()
ROLE = "marketing"

HIDDEN_FROM_ROLE = [
    value
    for attribute, value in {
        **PERSON,
        "external_id": EXTERNAL_ID,
        "event_text": EVENT_TEXT,
        "note": NOTE_TEXT,
    }.items()
    if FIELDS[policy_field(attribute)][ROLES.index(ROLE)] is not Access.CLEAR
]
"""Every stored value the fuzzing role must never see in clear."""


@pytest.fixture
def fuzz_server(engine: Engine, tmp_path: Path) -> Iterator[tuple[Server, Matrix]]:
    """The matrix, served with a search index holding it (so fuzzed searches find it)."""
    matrix = seed_matrix(engine)
    with EmbeddedSearch(tmp_path / "search") as index:
        reindex(engine, index)
        for served in serve(engine, make_settings(tmp_path), search=index):
            yield served, matrix


def check(server: Server, document: str) -> None:
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": document},
        headers={"Authorization": f"Bearer {server.token(ROLE)}"},
        timeout=30,
    )
    assert response.status_code < 500, (document, response.text)
    assert response.status_code == 200, (document, response.text)
    body = response.json()
    for error in body.get("errors") or ():
        assert error["message"] != "Internal server error", (document, body)
    for value in HIDDEN_FROM_ROLE:
        assert value not in response.text, (document, value)


FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
    database=None,
)


@FUZZ
@given(data=st.data())
def test_fuzzed_queries(fuzz_server: tuple[Server, Matrix], data: st.DataObject) -> None:
    server, matrix = fuzz_server
    # Ids the schema knows (mostly) so queries reach real customers, not only nulls.
    known = [matrix.person, matrix.organization, matrix.relative]
    ids = st.sampled_from(
        [str(i) for i in known] + [str(GlobalID("Customer", str(i))) for i in known]
    )
    document = data.draw(queries(SDL, custom_scalars={"ID": ids.map(_id_node)}, allow_x00=False))
    check(server, document)


@FUZZ
@given(data=st.data())
def test_fuzzed_mutations(fuzz_server: tuple[Server, Matrix], data: st.DataObject) -> None:
    server, _ = fuzz_server
    document = data.draw(mutations(SDL, allow_x00=False))
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": document},
        headers={"Authorization": f"Bearer {server.token(ROLE)}"},
        timeout=30,
    )
    assert response.status_code == 200, (document, response.text)
    for error in response.json().get("errors") or ():
        assert error["message"] != "Internal server error", (document, response.text)


def _id_node(value: str) -> object:
    from graphql import StringValueNode

    return StringValueNode(value=value)
