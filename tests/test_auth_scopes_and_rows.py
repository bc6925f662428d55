"""Scopes and row scopes fail closed (issue 12, items 1, 2 and 11), through real
HTTP with real tokens on a real SQLite database:

* the token endpoint grants only scopes the client has, and says
  ``invalid_scope`` otherwise; a c360 token without a c360 scope can do nothing;
  a provider's token naming none of c360's scopes can read and never write;
* a region claim is a region name or a list of them; anything else is 401; a
  region-limited role without a region sees nothing; with several roles a field
  of a customer is served by the roles that see that customer;
* a revoked client's token stops working within seconds, a token minted to live
  forever is refused, an id outside one's rows answers as an unknown id does;
* tags are labels (no markup, bidi or zero-width tricks, no numbers that could
  be a phone), logged by id; bad text and bad ids are BAD_USER_INPUT, not 500.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from c360.auth.masking import mask_value
from c360.platform.clients import ClientError, create_client, revoke_client
from c360.platform.customer_tags import CustomerTag
from c360.platform.db import make_engine, migrate
from c360.platform.models import AuditLog, Customer, GoldenAttribute, GoldenProfile
from c360.search.embedded import EmbeddedSearch
from tests.api_helpers import Api, Provider, Server, make_settings, serve
from tests.cli_helpers import InProcessCli

BEIJING_PHONE = "+8613800138000"
SHANGHAI_PHONE = "+8613900139000"
ONE = (
    "query($id: ID!) { customer(id: $id) { displayName "
    'phone: attribute(name: "phone") { value } } }'
)
PAGE = "{ customers(first: 50) { totalCount edges { node { customerId } } } }"
TAG = "mutation($id: ID!, $tag: String!) { tagCustomer(customerId: $id, tag: $tag) { tags } }"


def _person(session: Session, name: str, city: str, phone: str) -> int:
    customer = Customer(kind="person", display_name=name)
    session.add(customer)
    session.flush()
    assert customer.id is not None
    values = {"name": name, "city": city, "phone": phone}
    session.add(
        GoldenProfile.from_attributes(
            customer.id,
            [
                GoldenAttribute(customer_id=customer.id, name=k, value=v, lineage=[])
                for k, v in values.items()
            ],
        )
    )
    return customer.id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, dict[str, int]]]:
    """Two customers, one in 北京 and one in 上海, each with a phone."""
    path = tmp_path_factory.mktemp("rows") / "c360.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with Session(engine) as session:
        ids = {
            "beijing": _person(session, "张伟东", "北京市", BEIJING_PHONE),
            "shanghai": _person(session, "周杰", "上海市", SHANGHAI_PHONE),
        }
        session.commit()
    yield engine, ids
    engine.dispose()


@pytest.fixture(scope="module")
def server(
    world: tuple[Engine, dict[str, int]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    settings = make_settings(tmp_path_factory.mktemp("settings"), client_status_seconds=0.2)
    yield from serve(world[0], settings)


def _token(server: Server, client_id: str, secret: str, **form: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/oauth/token",
        data={"grant_type": "client_credentials", **form},
        auth=(client_id, secret),
    )


def _api(server: Server, token: str) -> Api:
    return Api(server.url, {"Authorization": f"Bearer {token}"})


def _post_escaped(api: Api, query: str, variables: dict[str, Any]) -> httpx.Response:
    """A GraphQL POST whose JSON escapes every non-ASCII character, so a lone
    surrogate travels as the ``\\ud800`` a hostile client would send."""
    body = json.dumps({"query": query, "variables": variables}, ensure_ascii=True)
    headers = {**api.headers, "Content-Type": "application/json"}
    return httpx.post(f"{api.url}/graphql", content=body.encode("ascii"), headers=headers)


# --- item 1: scopes ------------------------------------------------------------------


def test_a_read_only_client_cannot_get_a_write_scope(
    server: Server, world: tuple[Engine, dict[str, int]]
) -> None:
    engine, ids = world
    info, secret = create_client(
        engine, "reader-app", role="agent", scopes=["customers:read"], region="北京"
    )
    escalate = _token(server, info.client_id, secret, scope="customers:write")
    assert escalate.status_code == 400, escalate.text
    assert escalate.json()["error"] == "invalid_scope"
    assert "customers:write" in escalate.json()["error_description"]
    assert "access_token" not in escalate.json()
    mixed = _token(server, info.client_id, secret, scope="customers:read customers:write")
    assert mixed.json()["error"] == "invalid_scope"
    unknown = _token(server, info.client_id, secret, scope="openid profile")
    assert unknown.json()["error"] == "invalid_scope"

    granted = _token(server, info.client_id, secret)
    assert granted.status_code == 200 and granted.json()["scope"] == "customers:read"
    api = _api(server, granted.json()["access_token"])
    assert api.query(ONE, {"id": str(ids["beijing"])})["customer"]["displayName"] == "张伟东"
    [error] = api.errors(TAG, {"id": str(ids["beijing"]), "tag": "vip"})
    assert error["extensions"] == {"code": "FORBIDDEN", "field": "mutation.tag"}


def test_a_c360_token_without_a_c360_scope_can_do_nothing(
    server: Server, world: tuple[Engine, dict[str, int]]
) -> None:
    _, ids = world
    for scopes in ([], ["openid", "profile"]):
        api = server.api("admin", scopes=scopes)
        body = api.post(ONE, {"id": str(ids["beijing"])}).json()
        assert body["data"]["customer"]["displayName"] is None, scopes
        assert "customers:read" in body["errors"][0]["message"]
        [error] = api.errors(TAG, {"id": str(ids["beijing"]), "tag": "vip"})
        assert error["extensions"]["code"] == "FORBIDDEN"
        assert "customers:write" in error["message"]


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    running = Provider()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def oidc_server(
    world: tuple[Engine, dict[str, int]],
    provider: Provider,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    settings = make_settings(
        tmp_path_factory.mktemp("oidc"),
        oidc_issuer=provider.issuer,
        oidc_roles_claim="realm_access.roles",
        region_claim="office",
        jwks_refresh_interval=0,
    )
    yield from serve(world[0], settings)


def test_a_provider_token_without_c360_scopes_reads_but_never_writes(
    oidc_server: Server, provider: Provider, world: tuple[Engine, dict[str, int]]
) -> None:
    _, ids = world
    api = _api(oidc_server, provider.token(scope="openid profile"))
    data = api.query(ONE, {"id": str(ids["beijing"])})["customer"]
    assert data["phone"]["value"] == BEIJING_PHONE  # an agent of 北京 reads phones
    [error] = api.errors(TAG, {"id": str(ids["beijing"]), "tag": "vip"})
    assert error["extensions"] == {"code": "FORBIDDEN", "field": "mutation.tag"}
    writer = _api(oidc_server, provider.token(scope="openid customers:read customers:write"))
    assert writer.query(TAG, {"id": str(ids["beijing"]), "tag": "callback"})["tagCustomer"]


# --- item 2: rows --------------------------------------------------------------------


def _visible(api: Api) -> int:
    return api.query(PAGE)["customers"]["totalCount"]


def test_region_claims_as_lists_and_malformed_claims(
    oidc_server: Server, provider: Provider, world: tuple[Engine, dict[str, int]]
) -> None:
    _, ids = world
    listed = _api(oidc_server, provider.token(office=["北京"]))
    assert [e["node"]["customerId"] for e in listed.query(PAGE)["customers"]["edges"]] == [
        ids["beijing"]
    ]
    assert _visible(_api(oidc_server, provider.token(office=["北京", "上海"]))) == 2
    for bad in (["*"], "*", 5, {"name": "北京"}, "", "   ", [], ["北京", ""], ["北京", 7], True):
        response = _api(oidc_server, provider.token(office=bad)).raw(PAGE)
        assert response.status_code == 401, (bad, response.text)
        assert "office" in response.json()["error_description"], bad
    assert _visible(_api(oidc_server, provider.token(office=None))) == 0  # no region


def test_a_region_limited_role_without_a_region_sees_nothing(
    server: Server, world: tuple[Engine, dict[str, int]]
) -> None:
    _, ids = world
    nobody = server.api("agent")
    assert nobody.query(PAGE)["customers"] == {"totalCount": 0, "edges": []}
    assert nobody.query(ONE, {"id": str(ids["beijing"])}) == {"customer": None}
    assert _visible(server.api("agent", region="北京")) == 1
    assert _visible(server.api("agent", region=["北京市", "上海"])) == 2
    assert _visible(server.api("marketing")) == 2  # a role that sees all rows says so


def test_clients_cannot_be_created_with_a_malformed_region(
    world: tuple[Engine, dict[str, int]],
) -> None:
    engine, _ = world
    for bad in (" ", "", "*", "\u202e北京", "北\x00京"):
        with pytest.raises(ClientError, match="region"):
            create_client(
                engine,
                f"bad-{abs(hash(bad)) % 10_000}",
                role="agent",
                scopes=["customers:read"],
                region=bad,
            )


def test_with_several_roles_a_field_is_clear_only_through_a_role_that_sees_the_row(
    server: Server, world: tuple[Engine, dict[str, int]]
) -> None:
    _, ids = world
    pair = server.api("agent", "marketing", region="北京")
    assert _visible(pair) == 2  # marketing sees every row
    beijing = pair.query(ONE, {"id": str(ids["beijing"])})["customer"]
    assert beijing["phone"]["value"] == BEIJING_PHONE  # agent of 北京: clear
    assert beijing["displayName"] == "张伟东"
    shanghai_response = pair.post(ONE, {"id": str(ids["shanghai"])})
    shanghai = shanghai_response.json()["data"]["customer"]
    assert shanghai["phone"]["value"] == mask_value("phone", SHANGHAI_PHONE)  # marketing only
    assert shanghai["displayName"] == mask_value("name", "周杰")
    assert SHANGHAI_PHONE not in shanghai_response.text
    # Listing takes the same care, and searching by phone is refused: through
    # marketing it would reach the 上海 row, which no role reading phones sees.
    listing = pair.query(
        '{ customers(first: 10) { edges { node { customerId a: attribute(name: "phone") '
        "{ value } } } } }"
    )["customers"]["edges"]
    served = {e["node"]["customerId"]: e["node"]["a"]["value"] for e in listing}
    assert served == {
        ids["beijing"]: BEIJING_PHONE,
        ids["shanghai"]: mask_value("phone", SHANGHAI_PHONE),
    }
    [error] = pair.errors(
        "query($p: String!) { customers(filter: {phone: $p}) { totalCount } }",
        {"p": SHANGHAI_PHONE},
    )
    assert error["extensions"]["code"] == "FORBIDDEN"


def test_search_by_a_field_counts_only_roles_that_see_every_row(
    world: tuple[Engine, dict[str, int]], tmp_path: Path
) -> None:
    from c360.search.indexer import reindex

    engine, ids = world
    with EmbeddedSearch(tmp_path / "search") as index:
        reindex(engine, index)
        for running in serve(engine, make_settings(tmp_path), search=index):
            search = (
                "query($q: String!) { customers(search: $q) { edges { node { customerId } } } }"
            )
            agent = running.api("agent", region="北京")
            found = agent.query(search, {"q": "13800138000"})["customers"]["edges"]
            assert [e["node"]["customerId"] for e in found] == [ids["beijing"]]
            pair = running.api("agent", "marketing", region="北京")
            answer = pair.post(search, {"q": "13900139000"}).json()
            if answer.get("errors"):
                assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN", answer
            else:
                hits = [e["node"]["customerId"] for e in answer["data"]["customers"]["edges"]]
                assert ids["shanghai"] not in hits, answer


# --- item 11: revocation, lifetimes, ids outside one's rows ---------------------------


def test_a_revoked_clients_token_stops_working_within_seconds(
    server: Server, world: tuple[Engine, dict[str, int]]
) -> None:
    engine, _ = world
    info, secret = create_client(
        engine, "soon-revoked", role="marketing", scopes=["customers:read"]
    )
    token = _token(server, info.client_id, secret).json()["access_token"]
    api = _api(server, token)
    assert _visible(api) == 2
    revoke_client(engine, info.client_id)
    deadline = time.monotonic() + 5
    while True:
        response = api.raw(PAGE)
        if response.status_code == 401 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert response.status_code == 401, response.text
    assert "revoked" in response.json()["error_description"]


def test_a_token_minted_to_live_for_ever_is_refused(server: Server) -> None:
    claims = server.issuer.claims(subject="forever", roles=["admin"], scopes=["customers:read"])
    for exp in (1e20, claims["iat"] + 60 * 86400):
        token = server.issuer.sign({**claims, "exp": exp})
        response = _api(server, token).raw(PAGE)
        assert response.status_code == 401, exp
        assert "lives longer" in response.json()["error_description"]


def test_an_id_outside_ones_rows_answers_as_an_unknown_id(
    server: Server, world: tuple[Engine, dict[str, int]]
) -> None:
    _, ids = world
    agent = server.api("agent", region="北京")
    outside = agent.post(ONE, {"id": str(ids["shanghai"])})
    unknown = agent.post(ONE, {"id": "987654"})
    assert outside.status_code == unknown.status_code == 200
    assert outside.json() == unknown.json() == {"data": {"customer": None}}
    node = "query($id: ID!) { node(id: $id) { id } }"
    import base64

    gid = base64.b64encode(f"Customer:{ids['shanghai']}".encode()).decode()
    missing = base64.b64encode(b"Customer:987654").decode()
    assert agent.post(node, {"id": gid}).json() == agent.post(node, {"id": missing}).json()


# --- item 11 and 10: tags, notes, bad arguments ---------------------------------------


@pytest.mark.parametrize(
    "tag",
    [
        "<script>alert(1)</script>",
        "vip\u202egnp",  # a bidi override
        "v\u200bip",  # a zero-width space
        "13800138000",  # a phone
        "客户13800138000",
        "zhangwei@example.com",
        "x" * 33,
        "\ud800",
        "",
    ],
)
def test_tags_are_labels(server: Server, world: tuple[Engine, dict[str, int]], tag: str) -> None:
    _, ids = world
    admin = server.api("admin")
    response = _post_escaped(admin, TAG, {"id": str(ids["beijing"]), "tag": tag})
    assert response.status_code == 200, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == "tag"


def test_tags_are_folded_and_logged_by_id(
    server: Server, world: tuple[Engine, dict[str, int]]
) -> None:
    engine, ids = world
    admin = server.api("admin")
    tags = admin.query(TAG, {"id": str(ids["shanghai"]), "tag": "ＶＩＰ-高价值"})["tagCustomer"][
        "tags"
    ]
    assert "vip-高价值" in tags
    with Session(engine) as session:
        row = session.exec(select(CustomerTag).where(CustomerTag.tag == "vip-高价值")).one()
        entries = session.exec(
            select(AuditLog).where(
                AuditLog.action == "tag", AuditLog.customer_id == ids["shanghai"]
            )
        ).all()
    assert entries and entries[-1].detail["tag_id"] == row.id
    assert all("高价值" not in str(e.detail) for e in entries)


@pytest.mark.parametrize(
    ("query", "variables", "argument"),
    [
        (
            "mutation($id: ID!, $t: String!) { addNote(customerId: $id, text: $t) { noteId } }",
            {"t": "call back \ud800"},
            "text",
        ),
        (
            "mutation($id: ID!, $t: String!) { addNote(customerId: $id, text: $t) { noteId } }",
            {"t": "reads \u202eotherwise"},
            "text",
        ),
        (
            "mutation($id: ID!, $r: String) { mergeCustomers(survivorId: $id, absorbedId: $id, "
            "reason: $r) { customerId } }",
            {"r": "same person \udfff"},
            "reason",
        ),
        ("query($n: Int) { customers(first: $n) { totalCount } }", {"n": None}, "first"),
        ("query($i: ID!) { customer(id: $i) { customerId } }", {"i": "9" * 5000}, "id"),
        (
            'mutation($id: ID!) { tagCustomer(customerId: $id, tag: "vip") { tags } }',
            {"id": "1" * 5000},
            "customerId",
        ),
    ],
)
def test_bad_arguments_are_bad_user_input_not_server_errors(
    server: Server,
    world: tuple[Engine, dict[str, int]],
    query: str,
    variables: dict[str, Any],
    argument: str,
) -> None:
    _, ids = world
    response = _post_escaped(server.api("admin"), query, {"id": str(ids["beijing"]), **variables})
    assert response.status_code in (200, 400), response.text
    [error] = response.json()["errors"]
    if "extensions" in error:
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert error["extensions"]["argument"] == argument
    else:  # graphql-core's own argument check, naming the argument
        assert f"Argument '{argument}'" in error["message"], error


# --- item 11: private files ------------------------------------------------------------


def test_the_database_and_the_index_are_private(tmp_path: Path) -> None:
    os.umask(0o022)
    data = tmp_path / "data"
    engine = make_engine(f"sqlite:///{data / 'c360.db'}")
    migrate(engine)
    engine.dispose()
    with EmbeddedSearch(data / "search"):
        pass
    modes = {
        path.name: stat.S_IMODE(path.stat().st_mode)
        for path in [data, *data.iterdir()]
        if not path.name.startswith(".")
    }
    assert modes["data"] == 0o700
    assert modes["c360.db"] == 0o600
    assert modes["search"] == 0o700
    assert all(m & 0o077 == 0 for name, m in modes.items() if name.startswith("c360.db")), modes
    # an existing database left open to others is narrowed when opened
    (data / "c360.db").chmod(0o644)
    make_engine(f"sqlite:///{data / 'c360.db'}").dispose()
    assert stat.S_IMODE((data / "c360.db").stat().st_mode) == 0o600


def test_the_cli_refuses_malformed_regions(cli: InProcessCli) -> None:
    for command, named in (
        (["clients", "create", "blank-branch", "--role", "agent", "--region", " "], "region"),
        (["clients", "create", "star-branch", "--role", "agent", "--region", "*"], "region"),
        (["token", "--role", "agent", "--region", " "], "region"),
        (["token", "--role", "agent", "--ttl", "400d"], "ttl"),
    ):
        done = cli(command)
        assert done.exit_code != 0, command
        assert named in done.stderr + done.stdout, (command, done.output)
        # An exit with a message, not an exception escaping the command (a traceback).
        assert isinstance(done.exception, SystemExit), (command, done.exception)
