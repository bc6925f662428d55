"""Input limits over real HTTP: ``c360 serve`` as a real process (its own
uvicorn settings, its stderr captured) for request bodies, slow clients and
dropped bodies; the app under uvicorn in-process for a profile too big to serve.

* a chunked 200 MB body (no ``Content-Length``) to ``/hooks/<source>``,
  ``/oauth/token`` and ``/graphql`` is answered 413 as soon as it passes the
  route's limit, and the server's RSS hardly grows;
* a connection that sends nothing, or its headers a byte at a time, is closed
  after the header timeout; a head over its limit is answered 431; a body that
  trickles in is answered 408;
* a client that drops its body half-way is logged in one line, no traceback;
* a customer with thousands of attributes (written straight into the database)
  is answered RESPONSE_TOO_LARGE, and ``/healthz`` answers while it is computed.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, insert

from c360.platform import tables as t
from c360.platform.models import utcnow
from c360.schema import Limits
from tests.api_helpers import make_settings, serve
from tests.cli_helpers import Served, serve_process

MB = 1 << 20


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve_process(
        tmp_path_factory.mktemp("serve"),
        C360_HEADER_TIMEOUT_S="1",
        C360_BODY_TIMEOUT_S="1",
    )


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """``total`` bytes as a chunked body (a generator: no Content-Length)."""
    block = b"a" * size
    for _ in range(total // size):
        yield block


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/hooks/shop", "application/json"),
        ("/oauth/token", "application/x-www-form-urlencoded"),
        ("/graphql", "application/json"),
    ],
)
def test_a_chunked_200_mb_body_is_refused_as_it_streams(
    served: Served, path: str, content_type: str
) -> None:
    headers = {"Content-Type": content_type}
    if path == "/graphql":  # admitted, so the body is read (else 401 before reading it)
        headers["Authorization"] = f"Bearer {served.token('admin')}"
    before = served.rss_kb()
    started = time.monotonic()
    response = httpx.post(served.url + path, content=chunks(200 * MB), headers=headers, timeout=30)
    assert response.status_code == 413, response.text
    assert response.headers["connection"] == "close"
    assert time.monotonic() - started < 10  # refused as it passed the limit, not at the end
    grown_mb = (served.rss_kb() - before) / 1024
    assert grown_mb < 8, f"RSS grew by {grown_mb:.1f} MB"
    assert httpx.get(served.url + "/healthz", timeout=5).status_code == 200


def test_a_declared_oversize_body_is_refused_before_it_is_sent(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(
            b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
        )
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer


def _closed_within(sock: socket.socket, seconds: float, drip: bytes = b"") -> float:
    """Seconds until the server closes ``sock`` (sending ``drip`` a byte at a
    time, every 0.2 s, meanwhile); fails after ``seconds``."""
    started = time.monotonic()
    sock.settimeout(0.2)
    sent = 0
    while time.monotonic() - started < seconds:
        if sent < len(drip):
            try:
                sock.sendall(drip[sent : sent + 1])
            except OSError:
                return time.monotonic() - started
            sent += 1
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except OSError:
            return time.monotonic() - started
    raise AssertionError(f"the connection was still open after {seconds} s")


def test_idle_connections_and_slow_headers_are_timed_out(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port)) as idle:
        assert _closed_within(idle, 5) >= 0.9  # C360_HEADER_TIMEOUT_S=1
    with socket.create_connection(("127.0.0.1", served.port)) as slow:
        drip = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"z" * 100
        assert _closed_within(slow, 5, drip) < 3


def test_a_request_head_over_its_limit_is_answered_431(served: Served) -> None:
    # llhttp has no bound of its own on the head: c360's protocol adds it
    # (C360_MAX_HEADER_BYTES, 16 KiB by default), whether it comes in one piece or many.
    for pieces in (1, 8):
        with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
            head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"z" * 20_000
            step = len(head) // pieces + 1
            for i in range(0, len(head), step):
                sock.sendall(head[i : i + step])
                time.sleep(0.05)
            answer = sock.recv(4096)
            assert answer.startswith(b"HTTP/1.1 431"), answer
            assert _closed_within(sock, 5) < 5
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Fine: " + b"z" * 8_000 + b"\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")


def test_a_body_that_trickles_in_is_answered_408(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(
            b"POST /oauth/token HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 1000\r\n\r\ngrant_type="
        )
        started = time.monotonic()
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert 0.9 <= time.monotonic() - started < 4


def test_a_dropped_body_is_logged_in_one_line(served: Served) -> None:
    already = served.log()
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(
            b"POST /hooks/shop HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 5000\r\n\r\n" + b"{" * 2000
        )
        time.sleep(0.2)
    deadline = time.monotonic() + 5
    while "went away" not in served.log()[len(already) :] and time.monotonic() < deadline:
        time.sleep(0.05)
    new = served.log()[len(already) :]
    assert "went away after 2000 body bytes (POST /hooks/shop)" in new, new
    # One warning and no traceback: a dropped body is the client's doing. The
    # request's own access line follows, counted as 499 (client closed), not 500.
    lines = [json.loads(line) for line in new.strip().splitlines()]
    assert "Traceback" not in new, new
    assert [line["level"] for line in lines if line["level"] != "INFO"] == ["WARNING"], new
    # (another request's access line may land in the same window)
    (access,) = [
        line
        for line in lines
        if line["message"] == "request" and line.get("route") == "/hooks/{source}"
    ]
    assert access["status"] == 499, access


def test_responses_carrying_personal_data_are_not_cached(served: Served) -> None:
    query = httpx.post(
        served.url + "/graphql",
        json={"query": "{ customers { totalCount } }"},
        headers={"Authorization": f"Bearer {served.token('admin')}"},
        timeout=10,
    )
    assert query.status_code == 200 and query.headers["cache-control"] == "no-store"
    refused = httpx.post(served.url + "/graphql", json={"query": "{ __typename }"}, timeout=10)
    assert refused.status_code == 401 and refused.headers["cache-control"] == "no-store"
    token = httpx.post(
        served.url + "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
        timeout=10,
    )
    assert token.status_code in (400, 401) and token.headers["cache-control"] == "no-store"


# --------------------------------------------------------------------------- a huge profile

WIDE = 60_000
"""Attributes of the wide profile: each a list item of the response."""


def wide_customer(engine: Engine, attributes: int = WIDE, value: str = "x") -> int:
    """A customer whose golden profile holds ``attributes`` attributes, written
    straight into the database (as a profile built before ingest had limits)."""
    with engine.begin() as conn:
        customer_id = conn.execute(
            insert(t.customer)
            .values(kind="person", display_name="宽", created_at=utcnow(), updated_at=utcnow())
            .returning(t.customer.c.id)
        ).scalar_one()
        profile = {
            f"extra_{i}": {"value": value, "verified": False, "conflicting": False, "lineage": []}
            for i in range(attributes)
        }
        conn.execute(
            insert(t.golden_profile).values(
                customer_id=customer_id, attributes=profile, conflicting=False, updated_at=utcnow()
            )
        )
    return int(customer_id)


def poll_healthz(url: str, done: threading.Event, latencies: list[float]) -> None:
    """GET /healthz until ``done``, noting each answer's latency."""
    with httpx.Client(timeout=30) as client:
        while not done.is_set():
            started = time.monotonic()
            assert client.get(f"{url}/healthz").status_code == 200
            latencies.append(time.monotonic() - started)
            time.sleep(0.01)


def test_a_huge_profile_is_refused_and_healthz_answers_meanwhile(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    customer_id = wide_customer(sqlite_engine)
    for server in serve(sqlite_engine, make_settings(tmp_path)):
        token = server.token("admin")
        latencies: list[float] = []
        done = threading.Event()

        poller = threading.Thread(target=poll_healthz, args=(server.url, done, latencies))
        poller.start()
        try:
            started = time.monotonic()
            response = httpx.post(
                f"{server.url}/graphql",
                json={
                    "query": "query($id: ID!) { customer(id: $id) "
                    "{ attributes { name value verified conflicting } } }",
                    "variables": {"id": str(customer_id)},
                },
                headers={"Authorization": f"Bearer {token}", "X-Purpose": "service"},
                timeout=60,
            )
            took = time.monotonic() - started
        finally:
            done.set()
            poller.join()
        assert response.status_code == 200
        errors = response.json()["errors"]
        assert errors[0]["extensions"]["code"] == "RESPONSE_TOO_LARGE", errors
        assert errors[0]["extensions"]["field"] == "customer.attributes"
        assert took < 10
        # On the event loop (before), the query held /healthz up for about as long as it
        # ran (0.85 s here); beside it, /healthz waits only for its share of the GIL. The
        # bound is relative, so a loaded machine slows both sides alike.
        worst = max(latencies) if latencies else float("inf")
        assert worst < max(0.3, took * 0.75), f"/healthz took up to {worst:.2f} s of {took:.2f} s"


def test_a_response_over_its_byte_limit_is_refused(sqlite_engine: Engine, tmp_path: Path) -> None:
    customer_id = wide_customer(sqlite_engine, attributes=3, value="长" * 200_000)
    limits = Limits(max_response_bytes=1_000_000)
    for server in serve(sqlite_engine, make_settings(tmp_path), limits=limits):
        response = httpx.post(
            f"{server.url}/graphql",
            json={"query": f'{{ customer(id: "{customer_id}") {{ attributes {{ value }} }} }}'},
            headers={"Authorization": f"Bearer {server.token('admin')}"},
            timeout=30,
        )
        assert response.status_code == 200
        assert len(response.content) < 1000
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "RESPONSE_TOO_LARGE" and "bytes" in error["message"]


@pytest.mark.parametrize("body", [b"null", b'"x"', b"1", b"[]", b"\xff\xfe{}", b"{"])
def test_graphql_bodies_that_are_not_a_request_are_a_400(served: Served, body: bytes) -> None:
    response = httpx.post(
        served.url + "/graphql",
        content=body,
        headers={
            "Authorization": f"Bearer {served.token('admin')}",
            "Content-Type": "application/json",
        },
        timeout=10,
    )
    assert response.status_code == 400, response.text
    assert "Traceback" not in served.log()
