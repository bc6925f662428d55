"""The GraphQL API over real HTTP: uvicorn serving ``create_app`` on a free port,
queried with httpx and real tokens, over rows inserted in SQLite and in PostgreSQL.

This module also holds the server and token helpers the other API tests import
(``serve``, ``Server``, ``Api``, ``seed``…)."""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, event, text
from sqlmodel import Session
from starlette.applications import Starlette
from strawberry.relay import GlobalID

from c360.app import create_app
from c360.auth.config import AuthSettings
from c360.auth.keys import load_or_create_signing_key
from c360.auth.principal import SCOPES
from c360.auth.tokens import OidcProvider, TokenIssuer
from c360.platform.db import make_engine
from c360.platform.models import (
    Customer,
    Event,
    GoldenAttribute,
    GoldenProfile,
    RecordLink,
    Source,
    SourceRecord,
)
from c360.schema import Limits
from c360.search.contract import SearchBackend

# --- the server ------------------------------------------------------------------

PURPOSE = "integration test"


@dataclass
class Api:
    """A client of the API with one set of headers (a token, a purpose)."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)

    def raw(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> httpx.Response:
        return httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={**self.headers, **headers},
            timeout=30,
        )

    def post(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        response = self.raw(query, variables)
        assert response.status_code == 200, response.text
        return response

    def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``data`` of a query that must succeed."""
        body = self.post(query, variables).json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def errors(self, query: str, variables: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        body = self.post(query, variables).json()
        assert body.get("errors"), body
        return body["errors"]


@dataclass
class Server:
    """A running app: its URL, and the issuer of its own tokens."""

    url: str
    app: Starlette
    thread: threading.Thread | None = None
    """The thread running the server's event loop."""

    @property
    def issuer(self) -> TokenIssuer:
        return self.app.state.auth.issuer

    def token(self, *roles: str, subject: str | None = None, **facts: Any) -> str:
        """A token signed with the app's key, for ``roles`` (with every c360 scope
        unless ``scopes`` says otherwise)."""
        facts.setdefault("scopes", SCOPES)
        return self.issuer.issue(
            subject=subject or f"test-{'-'.join(roles) or 'nobody'}", roles=roles, **facts
        )

    def api(self, *roles: str, purpose: str | None = None, **facts: Any) -> Api:
        """A client holding a token for ``roles`` (and ``X-Purpose: purpose``)."""
        headers = {"Authorization": f"Bearer {self.token(*roles, **facts)}"}
        if purpose is not None:
            headers["X-Purpose"] = purpose
        return Api(self.url, headers)

    @property
    def anonymous(self) -> Api:
        return Api(self.url)


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def serve(
    engine: Engine,
    settings: AuthSettings,
    *,
    limits: Limits | None = None,
    oidc_provider: OidcProvider | None = None,
    search: SearchBackend | None = None,
) -> Iterator[Server]:
    """``create_app`` under uvicorn on a free loopback port, until the caller is done."""
    sock = free_socket()
    port = sock.getsockname()[1]
    app = create_app(
        engine, auth=settings, limits=limits, oidc_provider=oidc_provider, search=search
    )
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield Server(f"http://127.0.0.1:{port}", app, thread)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@functools.cache
def shared_signing_key() -> Path:
    """One signing key per test process (generating RSA keys is slow)."""
    directory = Path(tempfile.mkdtemp(prefix="c360-test-key-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    path = directory / "token-signing-key.json"
    load_or_create_signing_key(path)
    return path


def make_settings(tmp_path: Path, **overrides: Any) -> AuthSettings:
    """Auth settings for a test: the shared key, no rate limit unless asked."""
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "signing_key_path": shared_signing_key(),
        "rate_limit_per_minute": 0,
        **overrides,
    }
    return AuthSettings(**values)


@pytest.fixture
def server(engine: Engine, tmp_path: Path) -> Iterator[Server]:
    yield from serve(engine, make_settings(tmp_path))


@pytest.fixture
def api(server: Server) -> Api:
    """An administrator declaring a purpose: reads everything in clear."""
    return server.api("admin", purpose=PURPOSE)


# --- the data --------------------------------------------------------------------

T0 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)

PHONE = "+8613800138000"
OTHER_PHONE = "+8613900139000"
EMAIL = "zhangwei@example.com"
ID_NUMBER = "11010119900307663X"
NAME = "张伟东"
USCC = "91110000MA01234567"
ADDRESS = "北京市朝阳区建国路88号"
CLEAR_VALUES = [
    PHONE,
    OTHER_PHONE,
    "13800138000",
    "13900139000",
    EMAIL,
    "zhangwei@",
    ID_NUMBER,
    NAME,
    "张伟",
    ADDRESS,
    "建国路",
    "Wei Zhang",
    "1990-03-07",
]


@dataclass
class World:
    zhang: int  # active person with conflicting phone, lineage from two sources
    absorbed: int  # merged into zhang
    absorbed_twice: int  # merged into absorbed (a 2-step chain)
    company: int  # active organization
    wei: int  # active person with a Latin name
    loop_a: int  # merged into loop_b, which is merged into loop_a (corrupt data)
    loop_b: int
    active: list[int]


def _record(session: Session, source: str, external_id: str, kind: str, **attrs: Any) -> int:
    record = SourceRecord(
        source_name=source,
        stream="contacts" if kind != "event" else "orders",
        external_id=external_id,
        kind=kind,
        raw={"payload": attrs},
        attributes=attrs,
        content_hash=external_id.ljust(64, "0"),
        status="accepted",
        observed_at=T0,
    )
    session.add(record)
    session.flush()
    assert record.id is not None
    return record.id


def _customer(session: Session, kind: str, name: str | None, merged_into: int | None = None) -> int:
    customer = Customer(kind=kind, display_name=name, merged_into=merged_into)
    session.add(customer)
    session.flush()
    assert customer.id is not None
    return customer.id


def _lineage(record_id: int, source: str, value: str, chosen: bool, trust: int) -> dict[str, Any]:
    return {
        "value": value,
        "record_id": record_id,
        "source": source,
        "stream": "contacts",
        "external_id": f"{source}-ext",
        "trust": trust,
        "verified": chosen,
        "observed_at": T0.isoformat(),
        "chosen": chosen,
    }


def seed(engine: Engine) -> World:
    with Session(engine) as session:
        session.add(Source(name="crm", connector="offline", trust=80))
        session.add(Source(name="shop", connector="offline", trust=50))
        session.flush()

        zhang = _customer(session, "person", NAME)
        crm = _record(session, "crm", "crm-001", "person", name=NAME, phone=PHONE, email=EMAIL)
        shop = _record(session, "shop", "shop-001", "person", name=NAME, phone=OTHER_PHONE)
        session.add(
            RecordLink(
                record_id=crm,
                customer_id=zhang,
                method="new",
                evidence={"rule": "no strong identifier matched"},
            )
        )
        session.add(
            RecordLink(
                record_id=shop,
                customer_id=zhang,
                method="rule:phone",
                score=0.93,
                evidence={"rule": "phone", "fields": {"phone": {"left": PHONE, "weight": 4.5}}},
            )
        )
        golden = {
            "phone": (
                PHONE,
                True,
                True,
                [(crm, "crm", PHONE, True, 80), (shop, "shop", OTHER_PHONE, False, 50)],
            ),
            "email": (EMAIL, False, False, [(crm, "crm", EMAIL, True, 80)]),
            "id_number": (ID_NUMBER, True, False, [(crm, "crm", ID_NUMBER, True, 80)]),
            "name": (
                NAME,
                False,
                False,
                [(crm, "crm", NAME, True, 80), (shop, "shop", NAME, True, 50)],
            ),
            "address": (ADDRESS, False, False, [(shop, "shop", ADDRESS, True, 50)]),
            "birth_date": ("1990-03-07", False, False, [(crm, "crm", "1990-03-07", True, 80)]),
            "gender": ("male", False, False, [(crm, "crm", "male", True, 80)]),
            "city": ("北京市", False, False, [(shop, "shop", "北京市", True, 50)]),
        }
        session.add(
            GoldenProfile.from_attributes(
                zhang,
                [
                    GoldenAttribute(
                        customer_id=zhang,
                        name=name,
                        value=value,
                        verified=verified,
                        conflicting=conflicting,
                        lineage=[_lineage(*item) for item in lineage],
                    )
                    for name, (value, verified, conflicting, lineage) in golden.items()
                ],
            )
        )
        # Timeline: three dated orders and one undated message.
        for n, (kind, when) in enumerate(
            [
                ("order", T0),
                ("order", T0 + timedelta(days=2)),
                ("visit", T0 + timedelta(days=1)),
                ("message", None),
            ]
        ):
            record_id = _record(session, "shop", f"evt-{n}", "event")
            session.add(
                Event(
                    record_id=record_id,
                    customer_id=zhang,
                    source_name="shop",
                    event_type=kind,
                    occurred_at=when,
                    amount=100.0 * (n + 1) if kind == "order" else None,
                    currency="CNY" if kind == "order" else None,
                    channel="web",
                    text=f"event {n}",
                )
            )

        absorbed = _customer(session, "person", NAME, merged_into=zhang)
        absorbed_twice = _customer(session, "person", NAME, merged_into=absorbed)

        company = _customer(session, "organization", "北京示例科技有限公司")
        session.add(
            GoldenProfile.from_attributes(
                company,
                [
                    GoldenAttribute(customer_id=company, name="uscc", value=USCC, verified=True),
                    GoldenAttribute(customer_id=company, name="name", value="北京示例科技有限公司"),
                ],
            )
        )
        wei = _customer(session, "person", "Wei Zhang")
        session.add(
            GoldenProfile.from_attributes(
                wei, [GoldenAttribute(customer_id=wei, name="city", value="上海市")]
            )
        )

        loop_a = _customer(session, "person", "loop")
        loop_b = _customer(session, "person", "loop", merged_into=loop_a)
        session.flush()
        session.execute(
            text("update customer set merged_into = :b where id = :a"), {"a": loop_a, "b": loop_b}
        )
        session.commit()
    return World(
        zhang=zhang,
        absorbed=absorbed,
        absorbed_twice=absorbed_twice,
        company=company,
        wei=wei,
        loop_a=loop_a,
        loop_b=loop_b,
        active=[zhang, company, wei],
    )


@pytest.fixture
def world(engine: Engine) -> World:
    return seed(engine)


def gid(customer_id: int) -> str:
    return str(GlobalID("Customer", str(customer_id)))


CUSTOMER_QUERY = """
query One($id: ID!) {
  customer(id: $id) {
    id customerId kind displayName mergedIds createdAt updatedAt
    attributes {
      name value verified conflicting
      lineage { value chosen verified source stream externalId trust observedAt recordId }
    }
    phone: attribute(name: "phone") { value conflicting }
    missing: attribute(name: "no_such") { value }
    sourceRecords { recordId source stream externalId status linkMethod linkScore evidence }
    timeline { eventType occurredAt amount currency channel text source }
  }
}
"""


# --- health ----------------------------------------------------------------------


def test_healthz_reports_the_database(api: Api) -> None:
    response = httpx.get(f"{api.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(tmp_path: Path) -> None:
    engine = make_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    for served in serve(engine, make_settings(tmp_path)):
        response = httpx.get(f"{served.url}/healthz", timeout=30)
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "error"
        assert body["database"] and body["database"] != "ok"
    engine.dispose()


def test_graphiql_is_served(api: Api) -> None:
    # The page holds no data, so it needs no token; the queries it sends do.
    response = httpx.get(f"{api.url}/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
    anonymous = httpx.get(f"{api.url}/graphql", params={"query": "{ customers { totalCount } }"})
    assert anonymous.status_code == 401


# --- one customer ----------------------------------------------------------------


def test_customer_by_global_id_and_by_plain_id(api: Api, world: World) -> None:
    by_global = api.query(CUSTOMER_QUERY, {"id": gid(world.zhang)})["customer"]
    by_plain = api.query(CUSTOMER_QUERY, {"id": str(world.zhang)})["customer"]
    assert by_global == by_plain
    assert by_global["id"] == gid(world.zhang)
    assert by_global["customerId"] == world.zhang
    assert by_global["kind"] == "PERSON"
    assert sorted(by_global["mergedIds"]) == sorted([world.absorbed, world.absorbed_twice])
    assert datetime.fromisoformat(by_global["createdAt"]).tzinfo is not None
    # A literal integer works too.
    literal = api.query(f"{{ customer(id: {world.zhang}) {{ customerId }} }}")
    assert literal["customer"]["customerId"] == world.zhang


def test_node_field_resolves_a_customer(api: Api, world: World) -> None:
    data = api.query(
        "query($id: ID!) { node(id: $id) { id ... on Customer { customerId } } }",
        {"id": gid(world.company)},
    )
    assert data["node"] == {"id": gid(world.company), "customerId": world.company}


def test_merged_ids_redirect_to_the_survivor(api: Api, world: World) -> None:
    for asked in (world.absorbed, world.absorbed_twice):
        for id_ in (str(asked), gid(asked)):
            customer = api.query(CUSTOMER_QUERY, {"id": id_})["customer"]
            assert customer["customerId"] == world.zhang
            assert customer["id"] == gid(world.zhang)


def test_merge_loop_is_null_not_a_hang(api: Api, world: World) -> None:
    data = api.query(
        "query($id: ID!) { customer(id: $id) { customerId } }", {"id": str(world.loop_a)}
    )
    assert data == {"customer": None}


def test_unknown_id_is_null(api: Api, world: World) -> None:
    query = "query($id: ID!) { customer(id: $id) { customerId } }"
    assert api.query(query, {"id": "987654"}) == {"customer": None}
    assert api.query(query, {"id": gid(987654)}) == {"customer": None}
    assert api.query(query, {"id": str(2**63)}) == {"customer": None}  # past any id
    [error] = api.errors(query, {"id": "9" * 5000})
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "id"}


@pytest.mark.parametrize(
    "bad_id",
    [
        "not an id",
        "-5",
        "1.5",
        str(GlobalID("SourceRecord", "3")),
        str(GlobalID("Customer", "abc")),
    ],
)
def test_bad_id_is_bad_user_input_naming_id(api: Api, world: World, bad_id: str) -> None:
    errors = api.errors("query($id: ID!) { customer(id: $id) { customerId } }", {"id": bad_id})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert errors[0]["extensions"]["argument"] == "id"
    assert '"id"' in errors[0]["message"]
    assert bad_id in errors[0]["message"]


# --- personal data ---------------------------------------------------------------


def test_personal_data_is_clear_to_an_administrator_with_a_purpose(api: Api, world: World) -> None:
    body = api.post(CUSTOMER_QUERY, {"id": str(world.zhang)}).json()
    assert "errors" not in body
    customer = body["data"]["customer"]
    assert customer["displayName"] == NAME
    attributes = {a["name"]: a for a in customer["attributes"]}
    assert attributes["phone"]["value"] == PHONE
    assert attributes["id_number"]["value"] == ID_NUMBER
    assert [v["value"] for v in attributes["phone"]["lineage"]] == [PHONE, OTHER_PHONE]
    evidence = {r["source"]: r["evidence"] for r in customer["sourceRecords"]}
    assert evidence["shop"] == {
        "rule": "phone",
        "fields": {"phone": {"left": PHONE, "weight": 4.5}},
    }


def test_personal_data_is_masked_for_marketing(server: Server, world: World) -> None:
    marketing = server.api("marketing")
    response = marketing.post(CUSTOMER_QUERY, {"id": str(world.zhang)})
    body = response.json()
    decoded = json.dumps(body, ensure_ascii=False)
    for clear in CLEAR_VALUES:
        assert clear not in response.text, clear
        assert clear not in decoded, clear

    customer = body["data"]["customer"]
    assert customer["displayName"] == "张**"
    attributes = {a["name"]: a for a in customer["attributes"]}
    assert attributes["phone"]["value"] == "+86138****8000"
    assert attributes["email"]["value"] == "z***@example.com"
    assert "id_number" not in attributes  # marketing never reads it, not even its name
    assert attributes["name"]["value"] == "张**"
    assert attributes["address"]["value"] == "北京市朝阳区****"
    assert attributes["birth_date"]["value"] == "1990-**-**"
    assert attributes["gender"]["value"] == "male"  # not personal enough to have a mask
    assert [v["value"] for v in attributes["phone"]["lineage"]] == [
        "+86138****8000",
        "+86139****9000",
    ]
    assert [v["value"] for v in attributes["name"]["lineage"]] == ["张**", "张**"]
    evidence = {r["source"]: r["evidence"] for r in customer["sourceRecords"]}
    assert evidence["shop"] == {
        "rule": "phone",
        "fields": {"phone": {"left": "+86138****8000", "weight": 4.5}},
    }
    refused = {e["extensions"]["field"] for e in body["errors"]}
    # "other": the query asks for attribute(name: "no_such"), a pass-through
    # attribute marketing never reads, so it is refused whether or not it exists.
    assert refused == {"external_id", "event_text", "other"}
    assert all(e["extensions"]["code"] == "FORBIDDEN" for e in body["errors"])
    # Raw payloads are not part of the schema at all.
    errors = marketing.errors("{ customers { edges { node { sourceRecords { raw } } } } }")
    assert "raw" in errors[0]["message"]


def test_latin_names_and_organizations(api: Api, server: Server, world: World) -> None:
    query = "query($id: ID!) { customer(id: $id) { kind displayName attributes { name value } } }"
    wei = api.query(query, {"id": str(world.wei)})["customer"]
    assert wei["displayName"] == "Wei Zhang"
    masked = server.api("marketing").query(query, {"id": str(world.wei)})["customer"]
    assert masked["displayName"] == "W** Z****"
    company = api.query(query, {"id": str(world.company)})["customer"]
    assert company["kind"] == "ORGANIZATION"
    assert company["displayName"] == "北京示例科技有限公司"
    assert {a["name"]: a["value"] for a in company["attributes"]} == {
        "name": "北京示例科技有限公司",
        "uscc": USCC,
    }


# --- golden attributes, source records, timeline ---------------------------------


def test_conflicting_attribute_with_lineage_from_two_sources(api: Api, world: World) -> None:
    customer = api.query(CUSTOMER_QUERY, {"id": str(world.zhang)})["customer"]
    assert customer["phone"] == {"value": PHONE, "conflicting": True}
    assert customer["missing"] is None
    phone = next(a for a in customer["attributes"] if a["name"] == "phone")
    assert phone["verified"] is True
    assert [(v["source"], v["chosen"], v["trust"], v["verified"]) for v in phone["lineage"]] == [
        ("crm", True, 80, True),
        ("shop", False, 50, False),
    ]
    assert all(v["recordId"] and v["externalId"] and v["stream"] for v in phone["lineage"])
    assert datetime.fromisoformat(phone["lineage"][0]["observedAt"]) == T0
    email = next(a for a in customer["attributes"] if a["name"] == "email")
    assert email["conflicting"] is False
    assert [a["name"] for a in customer["attributes"]] == sorted(
        a["name"] for a in customer["attributes"]
    )

    records = customer["sourceRecords"]
    assert [(r["source"], r["externalId"], r["linkMethod"]) for r in records] == [
        ("crm", "crm-001", "new"),
        ("shop", "shop-001", "rule:phone"),
    ]
    assert records[1]["linkScore"] == pytest.approx(0.93)
    assert all(r["status"] == "accepted" for r in records)


def test_timeline_is_newest_first(api: Api, world: World) -> None:
    customer = api.query(CUSTOMER_QUERY, {"id": str(world.zhang)})["customer"]
    timeline = customer["timeline"]
    assert [e["text"] for e in timeline] == ["event 1", "event 2", "event 0", "event 3"]
    assert timeline[-1]["occurredAt"] is None
    times = [datetime.fromisoformat(e["occurredAt"]) for e in timeline[:-1]]
    assert times == sorted(times, reverse=True)
    assert timeline[0]["amount"] == 200.0 and timeline[0]["currency"] == "CNY"
    assert timeline[0]["source"] == "shop"
    two = api.query(
        "query($id: ID!) { customer(id: $id) { timeline(first: 2) { text } } }",
        {"id": str(world.zhang)},
    )
    assert two["customer"]["timeline"] == [{"text": "event 1"}, {"text": "event 2"}]
    errors = api.errors(
        "query($id: ID!) { customer(id: $id) { timeline(first: 0) { text } } }",
        {"id": str(world.zhang)},
    )
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert errors[0]["extensions"]["argument"] == "first"


# --- pages -----------------------------------------------------------------------

PAGE_QUERY = """
query Page($first: Int!, $after: String, $kind: CustomerKind) {
  customers(first: $first, after: $after, kind: $kind) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { customerId } }
  }
}
"""


def test_pagination_walks_every_active_customer_once(api: Api, world: World) -> None:
    seen: list[int] = []
    after: str | None = None
    pages = 0
    while True:
        page = api.query(PAGE_QUERY, {"first": 2, "after": after})["customers"]
        pages += 1
        assert page["totalCount"] == len(world.active)
        assert len(page["edges"]) <= 2
        seen += [edge["node"]["customerId"] for edge in page["edges"]]
        if page["edges"]:
            assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert pages < 10
    assert seen == sorted(world.active)
    assert pages == 2


def test_pagination_filters_by_kind(api: Api, world: World) -> None:
    page = api.query(PAGE_QUERY, {"first": 10, "kind": "ORGANIZATION"})["customers"]
    assert page["totalCount"] == 1
    assert [e["node"]["customerId"] for e in page["edges"]] == [world.company]
    people = api.query(PAGE_QUERY, {"first": 10, "kind": "PERSON"})["customers"]
    assert [e["node"]["customerId"] for e in people["edges"]] == [world.zhang, world.wei]


@pytest.mark.parametrize(
    ("variables", "argument"),
    [
        ({"first": 0}, "first"),
        ({"first": 101}, "first"),
        ({"first": -1}, "first"),
        ({"first": 2, "after": "garbage!"}, "after"),
        ({"first": 2, "after": gid(1)}, "after"),
    ],
)
def test_bad_page_arguments_are_rejected(
    api: Api, world: World, variables: dict[str, Any], argument: str
) -> None:
    errors = api.errors(PAGE_QUERY, variables)
    assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}
    assert f'"{argument}"' in errors[0]["message"]


# --- query count -----------------------------------------------------------------

FULL_PAGE_QUERY = """
query Page($first: Int!) {
  customers(first: $first) {
    totalCount
    edges { node {
      id customerId displayName mergedIds
      attributes { name value lineage { value source } }
      sourceRecords { source externalId linkMethod evidence }
      timeline(first: 5) { eventType occurredAt }
    } }
  }
}
"""


def seed_many(engine: Engine, n: int) -> None:
    with Session(engine) as session:
        session.add(Source(name="bulk", connector="offline", trust=60))
        session.flush()
        for i in range(n):
            customer_id = _customer(session, "person", f"客户{i}")
            record_id = _record(session, "bulk", f"p-{i}", "person", phone=f"+86138{i:08d}")
            session.add(RecordLink(record_id=record_id, customer_id=customer_id, method="new"))
            session.add(
                GoldenProfile.from_attributes(
                    customer_id,
                    [
                        GoldenAttribute(
                            customer_id=customer_id,
                            name=name,
                            value=value,
                            lineage=[_lineage(record_id, "bulk", value, True, 60)],
                        )
                        for name, value in (
                            ("phone", f"+86138{i:08d}"),
                            ("email", f"c{i}@example.com"),
                            ("city", "北京市"),
                        )
                    ],
                )
            )
            for j in range(2):
                event_record = _record(session, "bulk", f"e-{i}-{j}", "event")
                session.add(
                    Event(
                        record_id=event_record,
                        customer_id=customer_id,
                        source_name="bulk",
                        event_type="order",
                        occurred_at=T0 + timedelta(hours=j),
                    )
                )
            _customer(session, "person", f"客户{i}", merged_into=customer_id)
        session.commit()


def test_query_count_does_not_grow_with_page_size(api: Api, engine: Engine) -> None:
    seed_many(engine, 50)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def run(first: int) -> list[str]:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            data = api.query(FULL_PAGE_QUERY, {"first": first})["customers"]
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(data["edges"]) == first
        assert data["totalCount"] == 50
        for edge in data["edges"]:
            node = edge["node"]
            assert len(node["attributes"]) == 3  # phone, e-mail, city
            assert len(node["sourceRecords"]) == 1
            assert len(node["timeline"]) == 2
            assert len(node["mergedIds"]) == 1
        return list(statements)

    run(5)  # warm up: first connections of the pool
    small = run(5)
    large = run(50)
    assert len(small) == len(large), (small, large)
    # page, total count, attributes, source records, timeline, merged ids, and the
    # audit of the clear reads: lock the chain head, insert the entries, move the head
    assert len(large) <= 9, large
