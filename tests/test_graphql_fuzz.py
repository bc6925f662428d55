"""Fuzzing: hypothesis-graphql writes queries and mutations from the schema and
sends them, as a masked role, to the app over real HTTP; hypothesis writes raw
requests (methods, bodies, headers, tokens) to every route. No answer is a
server error (no 5xx, no masked "Internal server error"), and no value the role
may only see masked, or not at all, ever appears in clear — in an answer or in
a line the server logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, queries
from sqlalchemy import Engine
from strawberry.relay import GlobalID

from c360.auth.policy import ROLES, policy_field
from c360.auth.policy_table import FIELDS, Access
from c360.connectors.web.signing import sign
from c360.platform.sources import save_source
from c360.schema import schema
from c360.search.embedded import EmbeddedSearch
from c360.search.indexer import reindex
from tests.api_helpers import Server, make_settings, serve
from tests.policy_helpers import EVENT_TEXT, EXTERNAL_ID, NOTE_TEXT, PERSON, Matrix, seed_matrix
from tests.webhook_helpers import SECRET, source_config

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


class Lines(logging.Handler):
    """Every line the server logs (tracebacks included), formatted."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(("httpx", "httpcore", "hpack")):  # the client's own
            self.lines.append(self.format(record))


@pytest.fixture
def server_log() -> Iterator[Lines]:
    """The server's log output: the root logger and uvicorn's (which does not
    propagate), at every level."""
    handler = Lines()
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.error")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield handler
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def fuzz_server(
    engine: Engine, tmp_path: Path, server_log: Lines
) -> Iterator[tuple[Server, Matrix]]:
    """The matrix, served with a search index holding it (so fuzzed searches find
    it), and a webhook source (so fuzzed deliveries reach one)."""
    matrix = seed_matrix(engine)
    save_source(engine, "shop", "web", source_config())
    with EmbeddedSearch(tmp_path / "search") as index:
        reindex(engine, index)
        for served in serve(engine, make_settings(tmp_path), search=index):
            yield served, matrix
    check_log(server_log)


def check_log(server_log: Lines) -> None:
    """No line the server logged holds a value the fuzzing role may not see."""
    for line in server_log.lines:
        for value in HIDDEN_FROM_ROLE:
            assert value not in line, (value, line)


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


ROUTES = [
    "/graphql",
    "/oauth/token",
    "/hooks/shop",
    "/hooks/nowhere",
    "/healthz",
    "/.well-known/jwks.json",
    "/.well-known/oauth-authorization-server",
    "/nothing-here",
]
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=60,
)
"""Header values httpx will send (latin-1, no spaces at the ends, no controls)."""
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
BODIES = st.one_of(
    st.binary(max_size=300),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(
        st.sampled_from(["query", "variables", "operationName", "extensions", "id"]),
        JSON_VALUES | st.sampled_from(["{ __typename }", "{ customers { totalCount } }"]),
    ).map(lambda v: json.dumps(v).encode()),
    st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass")),
)


@FUZZ
@given(data=st.data())
def test_fuzzed_raw_requests_on_every_route(
    fuzz_server: tuple[Server, Matrix], data: st.DataObject
) -> None:
    server, _ = fuzz_server
    path = data.draw(st.sampled_from(ROUTES), "path")
    method = data.draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "OPTIONS"]), "method")
    body = data.draw(BODIES, "body")
    headers: dict[str, str] = {}
    content_type = data.draw(
        st.sampled_from(
            ["application/json", "application/x-www-form-urlencoded", "text/plain", "", None]
        )
        | HEADER_TEXT,
        "content type",
    )
    if content_type is not None:
        headers["Content-Type"] = content_type
    authorization = data.draw(
        st.sampled_from(["token", "none"]) | HEADER_TEXT.map(lambda v: ("Bearer " + v).strip()),
        "auth",
    )
    if authorization == "token":
        headers["Authorization"] = f"Bearer {server.token(ROLE)}"
    elif authorization != "none":
        headers["Authorization"] = authorization
    for name in ("X-Purpose", "X-C360-Delivery", "X-C360-Timestamp", "Accept"):
        if data.draw(st.booleans(), name):
            headers[name] = data.draw(HEADER_TEXT, name + " value")
    if path.startswith("/hooks/") and data.draw(st.booleans(), "signed"):
        delivery = headers.setdefault("X-C360-Delivery", "d-1")
        stamp = headers.setdefault("X-C360-Timestamp", "nan")
        headers["X-C360-Signature"] = sign(SECRET, delivery, stamp, body)
    raw_headers = [(k.encode(), v.encode("latin-1")) for k, v in headers.items()]
    response = httpx.request(
        method, server.url + path, content=body, headers=raw_headers, timeout=30
    )
    assert response.status_code < 500, (method, path, headers, body, response.text)
    for value in HIDDEN_FROM_ROLE:
        assert value not in response.text, (method, path, value)


def _id_node(value: str) -> object:
    from graphql import StringValueNode

    return StringValueNode(value=value)
