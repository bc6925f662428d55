"""``c360 serve`` as a real process: it serves search over the embedded index,
keeps the index current while serving (a customer ingested by another process
becomes findable through the API; how soon is bench/search.py's), and rebuilds from the database an
index left behind by an older c360 instead of refusing to search."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import tantivy
from sqlalchemy import Engine

from c360.platform.sources import save_source
from tests.api_helpers import free_socket
from tests.cli_helpers import InProcessCli
from tests.search_helpers import ingest, person

C360 = [sys.executable, "-m", "c360.cli"]
FIND = "query($q: String) { customers(search: $q) { edges { node { customerId displayName } } } }"


def stale_index(root: Path) -> None:
    """An index with other fields, as an older c360 would have left it."""
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("legacy_name", stored=True)
    directory = root / "index-20200101T000000-0000"
    directory.mkdir(parents=True)
    tantivy.Index(builder.build(), path=str(directory))
    (root / "CURRENT").write_text(directory.name + "\n", encoding="utf-8")


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "C360_DATABASE_URL": db_url,
        "C360_DATA_DIR": str(tmp_path / "data"),
        "C360_SEARCH_BACKEND": "embedded",
        "C360_INDEXER_INTERVAL_S": "0.05",
    }


@pytest.fixture
def served(env: dict[str, str], engine: Engine, tmp_path: Path) -> Iterator[str]:
    save_source(engine, "crm", "offline", {}, trust=60)
    ingest(engine, "crm", [person("old", name="诸葛明", phone="13912345678")])
    stale_index(tmp_path / "data" / "search")
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    process = subprocess.Popen(
        [*C360, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "c360 serve did not come up"
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
        print(output)


def find(url: str, token: str, text: str) -> list[str]:
    response = httpx.post(
        f"{url}/graphql",
        json={"query": FIND, "variables": {"q": text}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    body = response.json()
    assert "errors" not in body, body
    return [edge["node"]["displayName"] for edge in body["data"]["customers"]["edges"]]


def test_serve_rebuilds_an_old_index_and_keeps_it_current(
    served: str, env: dict[str, str], engine: Engine
) -> None:
    issued = InProcessCli()(
        ["token", "--role", "admin"],
        C360_DATA_DIR=env["C360_DATA_DIR"],
        C360_DATABASE_URL=env["C360_DATABASE_URL"],
    )
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip()
    assert find(served, token, "诸葛明") == ["诸葛明"]  # rebuilt from the database
    ingest(engine, "crm", [person("new", name="欧阳修远", phone="13787654321")])
    committed = time.monotonic()
    while find(served, token, "ouyangxiuyuan") != ["欧阳修远"]:
        # How soon is measured by bench/search.py (freshness), not under test load.
        assert time.monotonic() - committed < 30, "not findable within 30 s"
        time.sleep(0.02)
