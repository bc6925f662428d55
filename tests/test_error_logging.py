"""A server error never writes the query text or its variables to the log:
``c360 serve`` as a real process, its stderr captured, the database made
unusable under it (the ``customer`` table renamed away) while a query filters by
a phone and an e-mail. The client gets "Internal server error"; the log names
the operation and the query's digest, and holds neither value."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli_helpers import Served, serve_process

PHONE = "13812345678"
EMAIL = "li.na.secret@example.com"
QUERY = (
    "query FindByContact($email: String) { customers(filter: "
    f'{{phone: "{PHONE}", email: $email}}) {{ edges {{ node {{ customerId }} }} }} }}'
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from serve_process(tmp_path)


def find(served: Served) -> httpx.Response:
    return httpx.post(
        served.url + "/graphql",
        json={"query": QUERY, "variables": {"email": EMAIL}, "operationName": "FindByContact"},
        headers={
            "Authorization": f"Bearer {served.token('admin')}",
            "X-Purpose": "service",
        },
        timeout=30,
    )


def test_a_server_error_logs_the_operation_and_a_digest_not_the_query(
    served: Served, tmp_path: Path
) -> None:
    working = find(served)
    assert working.status_code == 200 and "errors" not in working.json(), working.text
    with sqlite3.connect(tmp_path / "c360.db") as db:  # the database fails under the server
        db.execute("ALTER TABLE customer RENAME TO customer_gone")
    failed = find(served)
    assert failed.status_code == 200
    assert failed.json()["errors"][0]["message"] == "Internal server error"
    deadline = time.monotonic() + 5
    while "server error in operation" not in served.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = served.log()
    digest = hashlib.sha256(QUERY.encode()).hexdigest()[:16]
    assert f"server error in operation FindByContact (query sha256:{digest})" in log, log
    assert "OperationalError" in log
    for value in (PHONE, "+86" + PHONE, EMAIL, EMAIL.split("@")[0]):
        assert value not in log, (value, log)
    assert "customers(filter" not in log
