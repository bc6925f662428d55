"""The ``web`` connector's pull side against a real HTTP server on loopback: each
auth method, three pagination styles, incremental syncs, and the faults — 500s,
timeouts, 429 with Retry-After, cut and malformed bodies, a cursor that goes
backwards, duplicates across pages, bad items — each retried, quarantined with a
reason or refused, with the counts adding up. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from c360.connectors.base import SourceConfigError, TransientSourceError
from c360.connectors.http import RemoteApiError, retry_after_seconds
from c360.connectors.runner import SyncRunner, load_state
from c360.connectors.web import WebConnector
from c360.demo.standins import Answer, Fault, Listing, Request, ShopAPI, StandInServer
from c360.demo.standins import shop_source_config as shop_config
from c360.platform import tables as t
from c360.platform.sources import save_source
from tests.connector_payloads import CHATS, CUSTOMERS, ORDERS

# Short backoffs, but a timeout no ordinary loopback request reaches on a loaded
# machine: the tests count requests exactly, and a stray timeout would shift them.
# The test of a slow answer sets its own short timeout.
FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.05, "timeout_s": 5.0, "max_attempts": 4}


@pytest.fixture
def shop() -> Iterator[ShopAPI]:
    with ShopAPI(CUSTOMERS, ORDERS, CHATS) as server:
        yield server


def config(shop: ShopAPI, **changes: Any) -> dict[str, Any]:
    cfg = shop_config(shop, page_size=2, webhook_secret=None)
    cfg["http"] = dict(FAST)
    cfg.update(changes)
    return cfg


def runner(engine: Engine) -> SyncRunner:
    return SyncRunner(engine, batch_size=2, max_attempts=2, backoff_initial_s=0.01)


def counts(report: Any, stream: str) -> dict[str, int]:
    return report.streams[stream].as_dict()


def records(engine: Engine, stream: str | None = None) -> int:
    sr = t.source_record
    stmt = select(func.count()).select_from(sr)
    if stream:
        stmt = stmt.where(sr.c.stream == stream)
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


AUTHS = {
    "api_key": lambda shop: {"type": "api_key", "key": shop.api_key, "header": "X-API-Key"},
    "bearer": lambda shop: {"type": "bearer", "token": "env:SHOP_TOKEN"},
    "oauth2_basic": lambda shop: {
        "type": "oauth2_client_credentials",
        "token_url": "/oauth/token",
        "client_id": "c360",
        "client_secret": shop.tokens.client_secret,
    },
    "oauth2_post": lambda shop: {
        "type": "oauth2_client_credentials",
        "token_url": f"{shop.url}/oauth/token",
        "client_id": "c360",
        "client_secret": shop.tokens.client_secret,
        "method": "client_secret_post",
    },
}


@pytest.mark.parametrize("auth", sorted(AUTHS))
def test_full_pull_with_each_auth_method_and_pagination_style(
    engine: Engine, shop: ShopAPI, auth: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.tokens.issued["static-token"] = time.time() + 3600
    monkeypatch.setenv("SHOP_TOKEN", "static-token")
    save_source(engine, "shop", "web", config(shop, auth=AUTHS[auth](shop)))
    report = runner(engine).sync("shop")
    assert counts(report, "customers") == {
        "read": 5,
        "new": 5,
        "updated": 0,
        "unchanged": 0,
        "quarantined": 0,
    }
    assert counts(report, "orders")["new"] == 7  # page numbers
    assert counts(report, "chats")["new"] == 3  # next links
    assert report.total.balanced()
    ev = t.event
    with engine.connect() as conn:
        attached = conn.execute(
            select(func.count()).select_from(ev).where(ev.c.customer_id.is_not(None))
        ).scalar_one()
        types = set(conn.execute(select(ev.c.event_type)).scalars())
    assert attached == 10 and types == {"order", "message"}
    if auth.startswith("oauth2"):
        assert shop.tokens.requests == 1  # one token, reused for every page


def test_incremental_sync_reads_only_what_changed_and_the_cursor_moves(
    engine: Engine, shop: ShopAPI
) -> None:
    save_source(engine, "shop", "web", config(shop))
    runner(engine).sync("shop", ["customers"])
    assert load_state(engine, "shop", "customers") == {"cursor": "2025-01-05T09:00:00+08:00"}
    again = runner(engine).sync("shop", ["customers"])
    assert counts(again, "customers") == {
        "read": 1,
        "new": 0,
        "updated": 0,
        "unchanged": 1,
        "quarantined": 0,
    }
    shop.customers.touch("U2", email="lina@example.com")
    shop.customers.touch("U6", name="赵敏", mobile="13500135000")
    third = runner(engine).sync("shop", ["customers"])
    assert counts(third, "customers") == {
        "read": 3,
        "new": 1,
        "updated": 1,
        "unchanged": 1,
        "quarantined": 0,
    }
    assert records(engine, "customers") == 6


def test_500s_timeouts_429_and_cut_bodies_are_retried_and_lose_nothing(
    engine: Engine, shop: ShopAPI
) -> None:
    shop.inject("/api/customers", Fault.error(500), times=2)
    shop.inject("/api/customers", Fault.slow(2.5), times=1, after=1)
    shop.inject("/api/orders", Fault.rate_limited(retry_after=1), times=1)
    shop.inject("/api/orders", Fault.cut_body(), times=1, after=1)
    shop.inject("/api/chats", Fault.drop(), times=1)
    shop.inject("/api/chats", Fault.truncated_json(), times=1, after=1)
    cfg = config(shop)
    cfg["http"] = {**FAST, "timeout_s": 1.0}  # the slow answer (2.5 s) times out
    save_source(engine, "shop", "web", cfg)
    started = time.monotonic()
    report = runner(engine).sync("shop")
    assert time.monotonic() - started >= 1.0  # the 429's Retry-After was honoured
    assert report.total.as_dict() == {
        "read": 15,
        "new": 15,
        "updated": 0,
        "unchanged": 0,
        "quarantined": 0,
    }
    assert records(engine) == 15
    assert shop.count("/api/customers") == 3 + 3  # 3 pages, 2 x 500 and 1 timeout retried
    assert shop.count("/api/orders") == 4 + 2


def test_a_page_that_never_parses_is_quarantined_and_read_again_next_time(
    engine: Engine, shop: ShopAPI
) -> None:
    shop.inject("/api/customers", Fault.malformed_json(), times=100, after=1)
    save_source(engine, "shop", "web", config(shop))
    first = runner(engine).sync("shop", ["customers"])
    assert counts(first, "customers") == {
        "read": 3,
        "new": 2,
        "updated": 0,
        "unchanged": 0,
        "quarantined": 1,
    }
    sr = t.source_record
    with engine.connect() as conn:
        row = conn.execute(select(sr).where(sr.c.status == "quarantined")).mappings().one()
    assert row["external_id"].startswith("_page:")
    assert "unreadable page after 4 attempts: malformed JSON" in row["quarantine_reasons"]["record"]
    assert "502 Bad Gateway" in row["raw"]["_body"]
    state = load_state(engine, "shop", "customers")
    assert state["pass"]["page"] == {"cursor": "2"}  # before the bad page
    shop.clear_faults()
    second = runner(engine).sync("shop", ["customers"])
    assert counts(second, "customers") == {
        "read": 3,
        "new": 3,
        "updated": 0,
        "unchanged": 0,
        "quarantined": 0,
    }
    assert records(engine, "customers") == 6  # 5 customers + the quarantined page


def test_an_outage_longer_than_the_retries_fails_the_run_then_resumes(
    engine: Engine, shop: ShopAPI
) -> None:
    shop.inject("/api/customers", Fault.error(503), times=1000, after=1)
    save_source(engine, "shop", "web", config(shop))
    with pytest.raises(TransientSourceError, match="HTTP 503"):
        runner(engine).sync("shop", ["customers"])
    assert records(engine, "customers") == 2  # the first page was committed
    with engine.connect() as conn:
        run = conn.execute(select(t.sync_run)).mappings().one()
    assert run["status"] == "failed" and "HTTP 503" in run["error"]
    shop.clear_faults()
    report = runner(engine).sync("shop", ["customers"])
    assert counts(report, "customers")["new"] == 3
    assert records(engine, "customers") == 5


def test_a_429_asking_too_long_a_wait_ends_the_attempt_as_transient(shop: ShopAPI) -> None:
    shop.inject("/api/customers", Fault.rate_limited(retry_after=3600), times=10)
    cfg = config(shop)
    cfg["http"] = {**FAST, "max_retry_after_s": 5}
    connector = WebConnector.from_config(cfg)
    with pytest.raises(TransientSourceError, match="asks to wait 3600s"):
        list(connector.read("customers", {}))
    assert shop.count("/api/customers") == 1


def test_wrong_credentials_are_refused_not_retried(engine: Engine, shop: ShopAPI) -> None:
    bad = config(shop, auth={"type": "api_key", "key": "wrong"})
    result = WebConnector.from_config(bad).check()
    assert not result.succeeded and "refused the credentials" in result.message
    save_source(engine, "shop", "web", bad)
    with pytest.raises(RemoteApiError, match="HTTP 401"):
        runner(engine).sync("shop", ["customers"])
    oauth = config(shop, auth={**AUTHS["oauth2_basic"](shop), "client_secret": "nope"})
    result = WebConnector.from_config(oauth).check()
    assert not result.succeeded and "invalid_client" in result.message


def test_an_expired_token_is_fetched_again(engine: Engine, shop: ShopAPI) -> None:
    connector = WebConnector.from_config(config(shop, auth=AUTHS["oauth2_basic"](shop)))
    with connector.client() as client:
        assert client.get_json("/api/customers").status == 200
        shop.tokens.expire_all()  # the server forgets the token: the next call gets a 401
        assert client.get_json("/api/customers").status == 200
    assert shop.tokens.requests == 2


class ScriptedAPI(StandInServer):
    """Serves fixed pages in order: page i is ``pages[i]`` with a cursor of its own choosing."""

    def __init__(self, pages: list[tuple[list[Any], str | None]]) -> None:
        super().__init__()
        self.pages = pages
        self.route("GET", "/api/people", self._serve)

    def _serve(self, request: Request) -> Answer:
        index = int(request.query.get("cursor") or 0)
        items, next_cursor = self.pages[index]
        return Answer.json({"data": items, "next_cursor": next_cursor})


def person(key: str, name: str, updated: str) -> dict[str, Any]:
    return {"id": key, "name": name, "phone": f"1380013{int(key[1:]):04d}", "updated_at": updated}


def scripted_config(server: ScriptedAPI) -> dict[str, Any]:
    return {
        "base_url": server.url,
        "http": FAST,
        "streams": [{"name": "people", "path": "/api/people", "pagination": {"page_size": 2}}],
    }


def test_a_cursor_that_goes_backwards_is_refused_and_what_came_before_is_kept(
    engine: Engine,
) -> None:
    pages = [
        (
            [
                person("P1", "刘洋", "2025-01-01T00:00:00Z"),
                person("P2", "Lucy Liu", "2025-01-02T00:00:00Z"),
            ],
            "1",
        ),
        ([person("P3", "陈静", "2025-01-03T00:00:00Z")], "0"),  # back to the first page: a loop
    ]
    with ScriptedAPI(pages) as server:
        save_source(engine, "api", "web", scripted_config(server))
        with pytest.raises(SourceConfigError, match="cursor went backwards"):
            runner(engine).sync("api")
    # The pages before the loop are committed with their checkpoint; the run is
    # failed with the reason, and the next sync starts again after them.
    assert records(engine) == 2
    assert load_state(engine, "api", "people")["pass"]["page"] == {"cursor": "1"}
    with engine.connect() as conn:
        run = conn.execute(select(t.sync_run)).mappings().one()
    assert run["status"] == "failed" and "went backwards" in run["error"]


def test_records_older_than_the_cursor_are_read_but_never_move_it_back(engine: Engine) -> None:
    pages = [
        (
            [
                person("P1", "刘洋", "2025-03-01T00:00:00Z"),
                person("P2", "周杰", "2025-01-01T00:00:00Z"),
            ],
            "1",
        ),
        ([person("P3", "Anna Wu", "2024-12-01T00:00:00Z")], None),
    ]
    with ScriptedAPI(pages) as server:
        save_source(engine, "api", "web", scripted_config(server))
        report = runner(engine).sync("api")
    assert report.total.new == 3
    assert load_state(engine, "api", "people") == {"cursor": "2025-03-01T00:00:00Z"}


def test_duplicates_across_pages_and_bad_items_are_all_accounted_for(engine: Engine) -> None:
    twice = person("P2", "孙丽", "2025-01-02T00:00:00Z")
    pages = [
        ([person("P1", "刘洋", "2025-01-01T00:00:00Z"), twice], "1"),
        ([twice, "not an object", {"name": "no id here"}], "2"),
        ([person("P3", "Tom Lee", "2025-01-03T00:00:00Z")], None),
    ]
    with ScriptedAPI(pages) as server:
        save_source(engine, "api", "web", scripted_config(server))
        report = runner(engine).sync("api")
    assert report.total.as_dict() == {
        "read": 6,
        "new": 3,
        "updated": 0,
        "unchanged": 1,
        "quarantined": 2,
    }
    sr = t.source_record
    with engine.connect() as conn:
        reasons = [
            r["quarantine_reasons"]
            for r in conn.execute(select(sr).where(sr.c.status == "quarantined")).mappings()
        ]
    assert {"record": "expected a JSON object, got str"} in reasons
    assert any("missing: the item has no usable 'id'" in r.get("id", "") for r in reasons)


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    from datetime import UTC, datetime

    assert retry_after_seconds("7") == 7.0
    now = datetime(2025, 1, 1, 0, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Wed, 01 Jan 2025 00:00:30 GMT", now) == 30.0
    assert retry_after_seconds("soon") is None


def test_config_errors_name_the_field(shop: ShopAPI) -> None:
    from c360.connectors.runner import build_connector

    bad = config(shop)
    bad["streams"][0]["fields"] = {"mobile": "mobile_phone"}
    with pytest.raises(
        SourceConfigError, match=r"streams\.0\.fields.*mobile_phone.*not a person attribute"
    ):
        build_connector("web", bad)
    with pytest.raises(SourceConfigError, match=r"auth"):
        build_connector("web", config(shop, auth={"type": "kerberos"}))


def test_a_listing_sorts_once_and_sees_every_change() -> None:
    listing = Listing(
        [
            person("u2", "李娜", "2025-01-02T00:00:00+08:00"),
            person("u1", "张伟", "2025-01-02T00:00:00+08:00"),
            person("u3", "王芳", "2025-01-01T00:00:00+08:00"),
        ]
    )
    assert [r["id"] for r in listing.since(None)] == ["u3", "u1", "u2"]
    assert [r["id"] for r in listing.since("2025-01-02T00:00:00+08:00")] == ["u1", "u2"]
    assert listing.since("2025-01-01T17:00:00Z") == listing.since("2025-01-02T01:00:00+08:00")
    listing.touch("u3", name="王芳芳")  # now the latest
    assert [r["id"] for r in listing.since("2025-01-02T00:00:00+08:00")] == ["u1", "u2", "u3"]
    assert listing.since(None)[-1]["name"] == "王芳芳"


def test_the_cursor_is_the_latest_moment_whatever_the_offset() -> None:
    from c360.connectors.http.pull import later, moment

    assert moment("2025-03-14T10:00:00+08:00") == moment("2025-03-14T02:00:00Z")
    assert moment("2025-03-14 10:00") == moment("2025-03-14T02:00:00+00:00")  # naive: China
    assert moment("not a time") is None and moment(True) is None
    assert later("2025-03-14T10:00:00+08:00", "2025-03-14T02:30:00Z") == "2025-03-14T02:30:00Z"
    assert later("2025-03-14T10:00:00+08:00", "2025-03-14T01:30:00Z") == (
        "2025-03-14T10:00:00+08:00"
    )
