"""What a GraphQL request leaves for Python's cycle collector: nothing it loaded
(its rows are freed by reference counting once the response is sent), and the
server's settled objects are kept out of the collector's full passes while it
runs (``gc.freeze``), handed back when it stops."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from c360.app import create_app
from c360.platform import models
from tests.api_helpers import PURPOSE, Server, make_settings
from tests.api_world import seed_many

LIST = """
query { customers(first: 20) { edges { node { customerId displayName
  phone: attribute(name: "phone") { value lineage { value source } }
  attributes { name value } } } } }
"""


@pytest.fixture
def cycle_collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _golden_attributes_alive() -> int:
    return sum(type(o) is models.GoldenAttribute for o in gc.get_objects())


def test_a_request_leaves_its_rows_to_reference_counting(
    module_engine: Engine, module_server: Server, cycle_collector_off: None
) -> None:
    seed_many(module_engine, 20)
    api = module_server.api("admin", purpose=PURPOSE)
    api.post(LIST)  # warm: imports, caches
    before = _golden_attributes_alive()
    for _ in range(5):
        data = api.post(LIST).json()["data"]["customers"]["edges"]
        assert len(data) == 20 and data[0]["node"]["phone"]["value"]
    # The server thread releases the request just after sending its response.
    deadline = time.monotonic() + 5
    while (alive := _golden_attributes_alive()) > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive <= before, f"{alive - before} golden attributes wait for the cycle collector"


def test_a_running_server_spares_its_settled_objects(sqlite_engine: Engine, tmp_path: Path) -> None:
    app = create_app(sqlite_engine, auth=make_settings(tmp_path))

    async def frozen_while_serving() -> int:
        async with app.router.lifespan_context(app):  # as uvicorn runs it
            return gc.get_freeze_count()

    assert gc.get_freeze_count() == 0
    assert asyncio.run(frozen_while_serving()) > 10_000
    assert gc.get_freeze_count() == 0
