"""The role × field matrix, walked from the policy table itself through real HTTP
with real tokens: every field of the table, for every role, with and without a
declared purpose, comes back clear, masked or refused (null plus a FORBIDDEN
error) exactly as the table says — in golden values, lineage, source records and
their evidence, the timeline, notes, tags, graph edges, as a search filter and
through free-text search.
Refused and masked values appear nowhere in the response, errors included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from c360.auth.masking import MASKS, mask_value
from c360.auth.policy import ROLES, policy_field
from c360.auth.policy_table import FIELDS, ORGANIZATION_PUBLIC, PUBLIC_ATTRIBUTES, Access
from c360.platform.models import (
    AuditLog,
    Customer,
    GoldenAttribute,
    GoldenProfile,
    RecordLink,
)
from c360.platform.value.models import value_segment
from c360.search.embedded import EmbeddedSearch
from c360.search.indexer import reindex
from tests.api_helpers import Api, Server, make_settings, serve
from tests.policy_helpers import (
    ALERT_MESSAGE,
    CASE_TEXT,
    CREDIT_REASON,
    EVENT_TEXT,
    EXTERNAL_ID,
    ID_NUMBER,
    NOTE_TEXT,
    ORGANIZATION,
    OVERRIDE_REASON,
    PERSON,
    PHONE,
    RELATIVE,
    TAG,
    USCC,
    Matrix,
    seed_case,
    seed_credit,
    seed_matrix,
    seed_value,
    staff,
)

# The matrix tests only read: they share one served app and one seeded matrix
# per backend for the module. The tests that write get their own (own_*).


@pytest.fixture(scope="module")
def server(module_server: Server) -> Server:
    return module_server


@pytest.fixture(scope="module")
def matrix(module_engine: Engine) -> Matrix:
    return seed_matrix(module_engine)


@pytest.fixture
def own_server(engine: Engine, tmp_path: Path) -> Iterator[Server]:
    yield from serve(engine, make_settings(tmp_path))


@pytest.fixture
def own_matrix(engine: Engine) -> Matrix:
    return seed_matrix(engine)


# --- what the table says ---------------------------------------------------------------


_RANK = {"clear": 2, "masked": 1, "refused": 0}


def expected(role: str | tuple[str, ...], field: str, attribute: str, purpose: str | None) -> str:
    """``clear``, ``masked`` or ``refused``: the table's cell, read the way the
    policy reads it (a mask only where one exists, a purpose where required);
    for several roles, the best of them."""
    if isinstance(role, tuple):
        return max((expected(r, field, attribute, purpose) for r in role), key=_RANK.__getitem__)
    access = FIELDS[field][ROLES.index(role)]
    if access is Access.CLEAR:
        return "clear"
    if access is Access.CLEAR_WITH_PURPOSE:
        return "clear" if purpose else "refused"
    if access is Access.MASKED and attribute in MASKS:
        return "masked"
    return "refused"


PERSON_ATTRIBUTES = list(PERSON)

QUERY = (
    "query($p: ID!, $o: ID!, $purpose: String) {\n"
    "  person: customer(id: $p, purpose: $purpose) {\n"
    "    displayName\n"
    "    attributes { name }\n"
    + "".join(
        f'    a_{name}: attribute(name: "{name}") {{ value lineage {{ value externalId }} }}\n'
        for name in PERSON_ATTRIBUTES
    )
    + "    sourceRecords { externalId evidence explanation }\n"
    "    timeline { origin text }\n"
    "    notes { text author }\n"
    "    tags\n"
    "    related { kind via value node { customerId displayName } }\n"
    "  }\n"
    "  org: customer(id: $o, purpose: $purpose) {\n"
    "    displayName\n"
    '    legal: attribute(name: "legal_representative") { value }\n'
    '    uscc: attribute(name: "uscc") { value }\n'
    "  }\n"
    "}\n"
)


class Response:
    """A matrix query's answer, with its errors by path."""

    def __init__(self, body: dict[str, Any], text: str) -> None:
        self.data = body["data"]
        self.text = text
        self.errors = {tuple(e["path"]): e for e in body.get("errors", [])}

    def check(
        self, path: tuple[Any, ...], value: Any, outcome: str, attribute: str, clear: str
    ) -> None:
        where = "/".join(map(str, path))
        if outcome == "clear":
            assert value == clear, where
            assert path not in self.errors, where
        elif outcome == "masked":
            assert value == mask_value(attribute, clear), where
            assert value != clear, where
            assert path not in self.errors, where
        else:
            assert value is None, where
            error = self.errors.get(path)
            assert error is not None, f"{where}: no error"
            assert error["extensions"]["code"] == "FORBIDDEN", where
            assert error["extensions"]["field"] == policy_field(attribute), where
            assert clear not in error["message"], where


def ask(api: Api, matrix: Matrix, purpose: str | None) -> Response:
    response = api.post(
        QUERY, {"p": str(matrix.person), "o": str(matrix.organization), "purpose": purpose}
    )
    return Response(response.json(), response.text)


VIEWERS: list[tuple[tuple[str, ...], str, tuple[str, ...]]] = [
    *(((role,), "北京", (role,)) for role in ROLES),
    (("agent", "marketing"), "北京", ("agent", "marketing")),
    # An agent of 上海 sees the 北京 customers only through its other role.
    (("agent", "marketing"), "上海", ("marketing",)),
    (("agent", "risk"), "上海", ("risk",)),
    (("agent", "compliance"), "上海市", ("compliance",)),
    (("agent", "admin"), "上海", ("admin",)),
]
"""(the token's roles, its region, the roles that see the matrix's 北京 customers)."""


@pytest.mark.parametrize("purpose", [None, "legal_obligation"], ids=["no-purpose", "purpose"])
@pytest.mark.parametrize(
    ("roles", "region", "role"),
    VIEWERS,
    ids=["+".join(roles) + "@" + region for roles, region, _ in VIEWERS],
)
def test_role_field_matrix(
    server: Server,
    matrix: Matrix,
    roles: tuple[str, ...],
    region: str,
    role: tuple[str, ...],
    purpose: str | None,
) -> None:
    answer = ask(server.api(*roles, region=region), matrix, purpose)
    person = answer.data["person"]
    cells: dict[str, str] = {}

    def cell(attribute: str, field: str | None = None) -> str:
        outcome = expected(role, field or policy_field(attribute), attribute, purpose)
        cells[attribute if field is None else field] = outcome
        return outcome

    # Golden values and every lineage value, with the lineage's record id.
    for name in PERSON_ATTRIBUTES:
        outcome = cell(name)
        golden = person[f"a_{name}"]
        if outcome == "refused":  # refused whole, whether or not the customer has one
            answer.check(("person", f"a_{name}"), golden, outcome, name, PERSON[name])
            continue
        answer.check(("person", f"a_{name}", "value"), golden["value"], outcome, name, PERSON[name])
        for i, item in enumerate(golden["lineage"]):
            path = ("person", f"a_{name}", "lineage", i)
            answer.check((*path, "value"), item["value"], outcome, name, PERSON[name])
            answer.check(
                (*path, "externalId"),
                item["externalId"],
                cell("external_id"),
                "external_id",
                EXTERNAL_ID,
            )
    answer.check(
        ("person", "displayName"), person["displayName"], cell("name"), "name", PERSON["name"]
    )

    # Source records: the id, and the evidence inside (refused values left out).
    [record] = person["sourceRecords"]
    answer.check(
        ("person", "sourceRecords", 0, "externalId"),
        record["externalId"],
        cell("external_id"),
        "external_id",
        EXTERNAL_ID,
    )
    left = record["evidence"]["fields"]["phone"]["left"]
    phone = cell("phone")
    assert left == {"clear": PHONE, "masked": mask_value("phone", PHONE), "refused": None}[phone]
    assert record["evidence"]["fields"]["phone"]["weight"] == 4.5
    assert record["explanation"].startswith("linked by rule phone")
    assert PHONE not in record["explanation"]

    # Timeline, notes, tags.
    [event] = [e for e in person["timeline"] if e["origin"] == "event"]
    answer.check(
        ("person", "timeline", person["timeline"].index(event), "text"),
        event["text"],
        cell("event_text", "event_text"),
        "event_text",
        EVENT_TEXT,
    )
    [note] = person["notes"]
    answer.check(
        ("person", "notes", 0, "text"), note["text"], cell("note", "note"), "note", NOTE_TEXT
    )
    assert cell("tags", "tags") == "clear" and person["tags"] == [TAG]

    # The graph edge: the shared phone is a phone, the relative's name a name.
    [edge] = person["related"]
    assert (edge["kind"], edge["via"]) == ("SHARES_PHONE", "phone")
    assert edge["node"]["customerId"] == matrix.relative
    answer.check(("person", "related", 0, "value"), edge["value"], phone, "phone", PHONE)
    answer.check(
        ("person", "related", 0, "node", "displayName"),
        edge["node"]["displayName"],
        expected(role, "name", "name", purpose),
        "name",
        RELATIVE["name"],
    )

    # An organization: its name is public, its legal representative a person.
    org = answer.data["org"]
    assert expected(role, "organization_name", "name", purpose) == "clear"
    assert org["displayName"] == ORGANIZATION["name"]
    legal = cell("legal_representative")
    if legal == "refused":
        answer.check(("org", "legal"), org["legal"], legal, "legal_representative", "王小明")
    else:
        answer.check(
            ("org", "legal", "value"),
            org["legal"]["value"],
            legal,
            "legal_representative",
            ORGANIZATION["legal_representative"],
        )
    assert org["uscc"]["value"] == USCC

    # Nothing refused or masked is anywhere in the response, errors included.
    clear_values = {
        **PERSON,
        "external_id": EXTERNAL_ID,
        "event_text": EVENT_TEXT,
        "note": NOTE_TEXT,
    }
    for name, outcome in cells.items():
        if outcome != "clear" and name in clear_values:
            assert clear_values[name] not in answer.text, (role, name)
    # Every table row was walked.
    walked = {policy_field(name) for name in cells} | {"organization_name", "legal_representative"}
    walked |= CAPABILITY_ROWS  # walked by test_capability_matrix below
    walked |= {  # walked by tests/test_verification_api.py
        *("authenticity_score", "authenticity_band", "authenticity_reasons"),
        "verification_state",
    }
    walked |= frozenset(VALUE_CELLS)  # walked by test_value_matrix below
    walked |= {"data_quality", "background_report"}  # walked by tests/test_reports_api.py
    walked |= {"privacy_requests", "consents", "privacy_export"}  # tests/test_privacy_api.py
    assert set(FIELDS) <= walked | {"public"}, set(FIELDS) - walked


SEARCH = """
query($f: CustomerFilter, $purpose: String) {
  customers(filter: $f, purpose: $purpose) { totalCount edges { node { customerId } } }
}
"""

SEARCHES = [
    ("phone", "phone", "+86 138 0013 8000"),
    ("email", "email", "ZhangWei@Example.com"),
    ("idNumber", "id_number", ID_NUMBER),
    ("uscc", "uscc", USCC),
]


@pytest.mark.parametrize("purpose", [None, "legal_obligation"], ids=["no-purpose", "purpose"])
@pytest.mark.parametrize("role", ROLES)
def test_search_matrix(server: Server, matrix: Matrix, role: str, purpose: str | None) -> None:
    """Filtering by a field is allowed exactly where the field is read in clear."""
    api = staff(server, role)
    for argument, attribute, value in SEARCHES:
        kind = "organization" if attribute == "uscc" else "person"
        outcome = expected(role, policy_field(attribute, kind), attribute, purpose)
        response = api.post(
            SEARCH,
            {"f": {argument: value}, "purpose": purpose},
        )
        body = response.json()
        if outcome == "clear":
            assert "errors" not in body, (role, argument, body)
            ids = [e["node"]["customerId"] for e in body["data"]["customers"]["edges"]]
            assert ids == {
                "phone": [matrix.person, matrix.relative],  # a family phone
                "uscc": [matrix.organization],
            }.get(attribute, [matrix.person])
        else:
            assert body["data"] is None, (role, argument)
            [error] = body["errors"]
            assert error["extensions"] == {"code": "FORBIDDEN", "field": f"filter.{argument}"}
            assert "cannot search by it" in error["message"]
            assert value not in response.text


def test_purpose_comes_from_the_header_too(server: Server, matrix: Matrix) -> None:
    query = 'query($p: ID!) { customer(id: $p) { a: attribute(name: "id_number") { value } } }'
    refused = server.api("compliance").post(query, {"p": str(matrix.person)}).json()
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "declared purpose" in refused["errors"][0]["message"]
    allowed = server.api("compliance", purpose="legal_obligation").query(
        query, {"p": str(matrix.person)}
    )
    assert allowed["customer"]["a"]["value"] == ID_NUMBER


def test_agents_are_limited_to_their_region(
    own_server: Server, own_matrix: Matrix, engine: Engine
) -> None:
    with Session(engine) as session:
        shanghai = Customer(kind="person", display_name="周杰")
        session.add(shanghai)
        session.flush()
        assert shanghai.id is not None
        session.add(
            GoldenProfile.from_attributes(
                shanghai.id, [GoldenAttribute(customer_id=shanghai.id, name="city", value="上海市")]
            )
        )
        session.commit()
        shanghai_id = shanghai.id
    page = "{ customers(first: 50) { totalCount edges { node { customerId } } } }"
    beijing = own_server.api("agent", region="北京")
    data = beijing.query(page)["customers"]
    assert sorted(e["node"]["customerId"] for e in data["edges"]) == sorted(
        [own_matrix.person, own_matrix.organization, own_matrix.relative]
    )
    assert data["totalCount"] == 3
    shanghai_agent = own_server.api("agent", region="上海市")
    data = shanghai_agent.query(page)["customers"]
    assert [e["node"]["customerId"] for e in data["edges"]] == [shanghai_id]
    # One customer outside the region: answered as an unknown id is (null, no
    # error that would tell it exists), and the refusal is on the audit log.
    response = shanghai_agent.post(
        "query($id: ID!) { customer(id: $id) { displayName } }", {"id": str(own_matrix.person)}
    )
    unknown = shanghai_agent.post(
        "query($id: ID!) { customer(id: $id) { displayName } }", {"id": "999999"}
    )
    assert response.json() == unknown.json() == {"data": {"customer": None}}
    assert PERSON["name"] not in response.text
    with Session(engine) as session:
        refusals = session.exec(
            select(AuditLog).where(
                AuditLog.action == "refuse", AuditLog.customer_id == own_matrix.person
            )
        ).all()
    assert [r.fields for r in refusals] == [["row"]]
    # The edge to a customer of another region is left out.
    with Session(engine) as session:
        profile = session.get(GoldenProfile, own_matrix.relative)
        assert profile is not None
        profile.attributes = {**profile.attributes, "city": {"value": "上海市", "lineage": []}}
        session.add(profile)
        session.commit()
    related = beijing.query(
        "query($id: ID!) { customer(id: $id) { related { node { customerId } } } }",
        {"id": str(own_matrix.person)},
    )
    assert related["customer"]["related"] == []
    # An agent without a region sees nothing; roles that see every row do.
    assert own_server.api("agent").query(page)["customers"] == {"totalCount": 0, "edges": []}
    assert own_server.api("marketing", region="上海").query(page)["customers"]["totalCount"] == 4


def test_scopes_narrow_a_role(server: Server, matrix: Matrix) -> None:
    reader = staff(server, "agent", scopes=["customers:read"])
    reader.query("{ customers { totalCount } }")
    response = reader.post(
        'mutation($id: ID!) { tagCustomer(customerId: $id, tag: "x") { tags } }',
        {"id": str(matrix.person)},
    )
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "FORBIDDEN", "field": "mutation.tag"}
    assert "customers:write" in error["message"]
    writer_only = staff(server, "agent", scopes=["customers:write"])
    body = writer_only.post(
        "query($id: ID!) { customer(id: $id) { displayName } }", {"id": str(matrix.person)}
    ).json()
    assert body["data"]["customer"]["displayName"] is None
    assert "customers:read" in body["errors"][0]["message"]


def test_several_roles_get_the_best_of_each(server: Server, matrix: Matrix) -> None:
    both = staff(server, "agent", "risk")
    data = both.query(
        "query($id: ID!) { customer(id: $id) {"
        ' phone: attribute(name: "phone") { value }'
        ' credit: attribute(name: "credit_grade") { value } } }',
        {"id": str(matrix.person)},
    )["customer"]
    assert data["phone"]["value"] == PHONE  # agent: clear
    assert data["credit"]["value"] == PERSON["credit_grade"]  # risk: clear


def test_the_policy_table_is_complete() -> None:
    assert all(len(cells) == len(ROLES) for cells in FIELDS.values())
    # A masked cell needs a mask: a field that has none would be refused where the
    # table says masked (a refusal is written as hidden).
    masked_without_a_mask = {
        field for field, cells in FIELDS.items() if Access.MASKED in cells and field not in MASKS
    }
    assert masked_without_a_mask == set()
    # Every attribute, of either kind of subject, falls under a row of the table.
    attributes = {*FIELDS, *PUBLIC_ATTRIBUTES, *ORGANIZATION_PUBLIC, *MASKS, "no_such_attribute"}
    for attribute in attributes:
        for kind in ("person", "organization"):
            assert policy_field(attribute, kind) in FIELDS, (attribute, kind)
    assert policy_field("no_such_attribute") == "other"


def test_evidence_formats_to_come_do_not_leak(
    own_server: Server, own_matrix: Matrix, engine: Engine
) -> None:
    """A match model's evidence: values under a comparison are that attribute's;
    strings under no known key are served only to whoever reads everything."""
    with Session(engine) as session:
        link = session.exec(
            select(RecordLink).where(RecordLink.customer_id == own_matrix.person)
        ).one()
        link.method = "probabilistic"
        link.evidence = {
            "rule": "probabilistic",
            "probability": 0.97,
            "blocking_rules": ["name", "name+city"],
            "comparisons": [
                {"comparison": "phone", "level": "exact", "left": PHONE, "weight": 3.1},
                {"comparison": "name", "level": "fuzzy", "right": "张伟", "weight": 1.5},
            ],
            "debug": {"raw": "secret-value"},
        }
        session.add(link)
        session.commit()
    query = "query($id: ID!) { customer(id: $id) { sourceRecords { evidence explanation } } }"

    def evidence(api: Api) -> tuple[dict[str, Any], str]:
        [record] = api.query(query, {"id": str(own_matrix.person)})["customer"]["sourceRecords"]
        return record["evidence"], record["explanation"]

    risk, explanation = evidence(own_server.api("risk"))
    assert risk["comparisons"][0]["left"] == mask_value("phone", PHONE)  # risk: phone masked
    assert risk["comparisons"][1]["right"] == "张伟"  # risk reads names
    assert risk["blocking_rules"] == ["name", "name+city"]
    assert risk["debug"] == {"raw": None}
    assert (
        explanation
        == "linked by the match model (probability 0.97): phone exact +3.10, name fuzzy +1.50"
    )
    marketing, _ = evidence(own_server.api("marketing"))
    assert marketing["comparisons"][1]["right"] == "张*"
    assert marketing["debug"] == {"raw": None}
    admin, _ = evidence(own_server.api("admin", purpose="legal_obligation"))
    assert admin["debug"] == {"raw": "secret-value"}
    assert admin["comparisons"][0]["left"] == PHONE


# --- free-text search, through the search index ------------------------------------------

FREE_TEXT = """
query($q: String!, $purpose: String) {
  customers(search: $q, purpose: $purpose) {
    edges { matches { field } node { customerId } }
  }
}
"""

MATCH_FIELDS = {
    "name": {"name", "name_pinyin", "name_initials"},
    "email": {"email", "email_local"},
}

FREE_TEXT_SEARCHES = [
    ("name", "person", PERSON["name"]),
    ("phone", "person", "13800138000"),
    ("phone", "person", "8000"),
    ("email", "person", PERSON["email"]),
    ("id_number", "person", ID_NUMBER),
    ("wechat_id", "person", PERSON["wechat_id"]),
    ("uscc", "organization", USCC),
]


@pytest.fixture(scope="module")
def search_server(
    module_engine: Engine, matrix: Matrix, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The matrix, indexed from the database by ``reindex`` (the real rebuild path)."""
    directory = tmp_path_factory.mktemp("search-matrix")
    with EmbeddedSearch(directory / "search") as index:
        assert reindex(module_engine, index).documents == 3
        yield from serve(module_engine, make_settings(directory), search=index)


@pytest.mark.parametrize("purpose", [None, "legal_obligation"], ids=["no-purpose", "purpose"])
@pytest.mark.parametrize("role", ROLES)
def test_free_text_search_matrix(
    search_server: Server, matrix: Matrix, role: str, purpose: str | None
) -> None:
    """Free text finds a customer through a field exactly where the role reads that
    field in clear; elsewhere the search is refused (FORBIDDEN, when the text can
    only mean that field) or does not consult the field at all."""
    api = staff(search_server, role)
    target = {"person": matrix.person, "organization": matrix.organization}
    for attribute, kind, text in FREE_TEXT_SEARCHES:
        outcome = expected(role, policy_field(attribute, kind), attribute, purpose)
        fields = MATCH_FIELDS.get(attribute, {attribute})
        response = api.post(FREE_TEXT, {"q": text, "purpose": purpose})
        body = response.json()
        where = (role, attribute, text)
        if outcome == "clear":
            assert "errors" not in body, (where, body)
            via = [
                edge["node"]["customerId"]
                for edge in body["data"]["customers"]["edges"]
                if fields & {m["field"] for m in edge["matches"]}
            ]
            assert target[kind] in via, where
            continue
        if body.get("errors"):
            [error] = body["errors"]
            assert error["extensions"] == {"code": "FORBIDDEN", "field": f"search.{attribute}"}
            assert body["data"] is None, where
            assert text not in error["message"], where
        else:
            for edge in body["data"]["customers"]["edges"]:
                assert not fields & {m["field"] for m in edge["matches"]}, where
            found = [edge["node"]["customerId"] for edge in body["data"]["customers"]["edges"]]
            assert target[kind] not in found or attribute == "wechat_id", where


MALFORMED_REGIONS: list[Any] = [["*"], "*", 5, {"name": "北京"}, "", "  ", [], ["北京", ""], False]


def test_malformed_region_claims_are_refused_before_any_row(server: Server, matrix: Matrix) -> None:
    claims = server.issuer.claims(subject="odd-region", roles=["agent"], scopes=["customers:read"])
    for region in MALFORMED_REGIONS:
        token = server.issuer.sign({**claims, "region": region})
        response = Api(server.url, {"Authorization": f"Bearer {token}"}).raw(
            "{ customers { totalCount edges { node { displayName } } } }"
        )
        assert response.status_code == 401, (region, response.text)
        assert "region" in response.json()["error_description"], region
        assert PERSON["name"] not in response.text


# --- the capabilities' fields: credit ------------------------------------------------

CREDIT_CELLS: dict[str, tuple[str, ...]] = {
    # policy row: the fields of Customer.credit it governs
    "credit_grade": ("status", "grade"),
    "credit_score": ("points", "basePoints", "modelVersion", "computedAt"),
    "credit_pd": ("probabilityOfDefault",),
    "credit_reasons": ("reasons",),
    "credit_limit": ("creditLimit", "termsDays"),
    "credit_measures": ("measures", "manualReview"),
    "credit_decisions": ("decisions",),
    "credit_alert": ("alerts",),
}
CASE_ROWS = ("case", "case_text", "case_report")
CAPABILITY_ROWS = frozenset(CREDIT_CELLS) | frozenset(CASE_ROWS)
"""The policy rows of the capabilities' own fields, walked by test_capability_matrix."""

CREDIT_QUERY = """
query($p: ID!, $purpose: String) {
  customer(id: $p, purpose: $purpose) { credit {
    status grade points basePoints modelVersion computedAt probabilityOfDefault
    reasons { feature text points } creditLimit termsDays measures manualReview
    decisions { kind reason decidedBy modelVersion } alerts { kind message }
  } }
  creditAlerts(purpose: $purpose) { totalCount nodes { customerId kind message } }
  cased: customer(id: $p, purpose: $purpose) {
    cases { cases { category description } }
    timeline { origin eventType text case { caseId } }
  }
  casesReport(days: 3660, until: "2024-06-01T00:00:00+08:00") { total }
}
"""


@pytest.fixture(scope="module")
def credit(module_engine: Engine, matrix: Matrix) -> dict[str, Any]:
    seed_case(module_engine, matrix.person)
    return seed_credit(module_engine, matrix.person)


@pytest.mark.parametrize("purpose", [None, "legal_obligation"], ids=["no-purpose", "purpose"])
@pytest.mark.parametrize(
    ("roles", "region", "role"),
    VIEWERS,
    ids=["+".join(roles) + "@" + region for roles, region, _ in VIEWERS],
)
def test_capability_matrix(
    server: Server,
    module_engine: Engine,
    matrix: Matrix,
    credit: dict[str, Any],
    roles: tuple[str, ...],
    region: str,
    role: tuple[str, ...],
    purpose: str | None,
) -> None:
    response = server.api(*roles, region=region).post(
        CREDIT_QUERY, {"p": str(matrix.person), "purpose": purpose}
    )
    body = response.json()
    errors = {tuple(e["path"]): e for e in body.get("errors", [])}
    served = body["data"]["customer"]["credit"]
    clear_reads: set[str] = set()
    for row, names in CREDIT_CELLS.items():
        outcome = expected(role, row, row, purpose)
        for name in names:
            path = ("customer", "credit", name)
            if outcome == "clear":
                assert path not in errors, (row, name, errors.get(path))
                clear_reads.add(row)
            else:
                assert served[name] is None, (row, name)
                assert errors[path]["extensions"] == {"code": "FORBIDDEN", "field": row}
    if "grade" in credit and expected(role, "credit_grade", "", purpose) == "clear":
        assert (served["status"], served["grade"]) == ("scored", credit["grade"])
    for name in ("points", "basePoints", "modelVersion", "probabilityOfDefault"):
        if served[name] is not None:
            assert served[name] == credit[name]
    for name in ("creditLimit", "termsDays", "measures", "manualReview"):
        if served[name] is not None:  # the override is the decision in force
            assert served[name] == credit[name]
    if served["reasons"] is not None:
        assert [r["feature"] for r in served["reasons"]] == ["court_listings"]
        assert CREDIT_REASON in served["reasons"][0]["text"]
    if served["decisions"] is not None:
        assert [d["kind"] for d in served["decisions"]] == ["override", "recommended"]
        assert served["decisions"][0]["reason"] == OVERRIDE_REASON
    if served["alerts"] is not None:
        assert [a["message"] for a in served["alerts"]] == [ALERT_MESSAGE]
    alerts = body["data"]["creditAlerts"]
    if expected(role, "credit_alert", "", purpose) == "clear":
        assert alerts["totalCount"] == 1
        assert alerts["nodes"] == [
            {"customerId": matrix.person, "kind": "court_listing", "message": ALERT_MESSAGE}
        ]
    else:
        assert alerts is None
        assert errors[("creditAlerts",)]["extensions"]["code"] == "FORBIDDEN"
    # The person's case: listed when the role reads cases, its text as case_text says.
    listed = body["data"]["cased"]["cases"]["cases"]
    on_timeline = [e for e in body["data"]["cased"]["timeline"] if e["origin"] == "case"]
    if expected(role, "case", "case", purpose) != "clear":
        assert listed == [] and on_timeline == []
    else:
        [case] = listed
        assert case["category"] == "delivery"
        text = expected(role, "case_text", "case_text", purpose)
        path = ("cased", "cases", "cases", 0, "description")
        if text == "refused":
            assert case["description"] is None
            assert errors[path]["extensions"] == {"code": "FORBIDDEN", "field": "case_text"}
        else:
            known = [(name, PERSON[name]) for name in ("name", "address")]
            assert case["description"] == (
                CASE_TEXT if text == "clear" else mask_value("case_text", CASE_TEXT, known=known)
            )
            for secret in (PHONE, PERSON["name"], PERSON["address"]):
                assert (text == "clear") == (secret in case["description"])
            # The case on the customer's timeline: its opening, its text as above.
            [opened] = on_timeline
            assert opened["eventType"] == "case_opened" and opened["case"] is not None
            assert opened["text"] == case["description"]
            clear_reads.add("case")
    assert body["data"]["casesReport"]["total"] == 1  # aggregates: every role
    # Nothing refused is anywhere in the response.
    for secret, row in (
        (CREDIT_REASON, "credit_reasons"),
        (OVERRIDE_REASON, "credit_decisions"),
        (ALERT_MESSAGE, "credit_alert"),
    ):
        if row not in clear_reads:
            assert secret not in response.text, (role, row)
    # Every clear read of the customer's credit is on the audit log.
    with Session(module_engine) as session:
        logged = session.exec(
            select(AuditLog)
            .where(AuditLog.customer_id == matrix.person, AuditLog.action == "read")
            .order_by(AuditLog.id.desc())  # type: ignore[union-attr]
        ).first()
    if clear_reads:
        assert logged is not None and clear_reads <= set(logged.fields), (clear_reads, logged)


# --- the capabilities' fields: value -------------------------------------------------

VALUE_CELLS: dict[str, tuple[str, ...]] = {
    # policy row: the fields of Customer.value it governs (segments: the query)
    "value_rfm": ("recencyDays", "frequency", "monetary", "rfmScore", "repeatRate", "tenureDays"),
    "value_clv": ("pAlive", "expectedPurchases90d", "expectedOrderValue", "clv12m", "modelVersion"),
    "value_satisfaction": ("csat", "nps", "sentiment"),
    "segment": (),
}

VALUE_QUERY = """
query($p: ID!, $purpose: String) {
  customer(id: $p, purpose: $purpose) { value {
    status tier stage tierReason stageReason tags interests
    recencyDays frequency monetary rfmScore repeatRate tenureDays
    pAlive expectedPurchases90d nextPurchaseAt expectedOrderValue clv12m modelVersion
    csat nps sentiment timeline { kind fromValue toValue reason }
  } }
  segments(purpose: $purpose) { name members runs { members joined } }
}
"""


SEGMENT_MEMBERS = """
query($s: Int!, $purpose: String) {
  segmentMembers(segmentId: $s, purpose: $purpose) { totalCount nodes { customerId } }
}
"""


@pytest.fixture(scope="module")
def value(module_engine: Engine, matrix: Matrix) -> dict[str, Any]:
    return seed_value(module_engine, matrix.person)


@pytest.mark.parametrize("purpose", [None, "legal_obligation"], ids=["no-purpose", "purpose"])
@pytest.mark.parametrize(
    ("roles", "region", "role"),
    VIEWERS,
    ids=["+".join(roles) + "@" + region for roles, region, _ in VIEWERS],
)
def test_value_matrix(
    server: Server,
    module_engine: Engine,
    matrix: Matrix,
    value: dict[str, Any],
    roles: tuple[str, ...],
    region: str,
    role: tuple[str, ...],
    purpose: str | None,
) -> None:
    response = server.api(*roles, region=region).post(
        VALUE_QUERY, {"p": str(matrix.person), "purpose": purpose}
    )
    body = response.json()
    errors = {tuple(e["path"]): e for e in body.get("errors", [])}
    served = body["data"]["customer"]["value"]
    # tier, stage, their reasons and history: every role that sees the customer
    assert (served["tier"], served["stage"]) == (value["tier"], value["stage"])
    assert served["timeline"] == [
        {"kind": "stage", "fromValue": "发展", "toValue": "成熟", "reason": "stable repeat buyer"}
    ]
    assert served["tags"] == ["营销已授权"] and served["interests"] == ["数码"]
    clear_reads: set[str] = set()
    for row, names in VALUE_CELLS.items():
        outcome = expected(role, row, row, purpose)
        for name in names:
            path = ("customer", "value", name)
            if outcome == "clear":
                assert path not in errors, (row, name, errors.get(path))
                clear_reads.add(row)
                if name in value:
                    assert served[name] == value[name], (row, name)
            else:
                assert served[name] is None, (row, name)
                assert errors[path]["extensions"] == {"code": "FORBIDDEN", "field": row}
    if expected(role, "value_clv", "", purpose) != "clear":
        assert "3650" not in response.text  # the CLV is nowhere in a refused answer
    segments = body["data"]["segments"]
    if expected(role, "segment", "", purpose) == "clear":
        assert segments == [
            {"name": "高价值成熟", "members": 1, "runs": [{"members": 1, "joined": 1}]}
        ]
    else:
        assert segments is None
        assert errors[("segments",)]["extensions"]["code"] == "FORBIDDEN"
    with Session(module_engine) as session:
        logged = session.exec(
            select(AuditLog)
            .where(AuditLog.customer_id == matrix.person, AuditLog.action == "read")
            .order_by(AuditLog.id.desc())  # type: ignore[union-attr]
        ).first()
    personal = clear_reads - {"segment"}
    if personal:
        assert logged is not None and personal <= set(logged.fields), (personal, logged)
    # The campaign list is the same row (the matrix person, without a marketing
    # consent, is never on it).
    with module_engine.connect() as conn:
        segment_id = conn.execute(
            select(value_segment.c.id).where(value_segment.c.name == "高价值成熟")
        ).scalar_one()
    listed = (
        server.api(*roles, region=region)
        .post(SEGMENT_MEMBERS, {"s": segment_id, "purpose": purpose})
        .json()
    )
    if expected(role, "segment", "", purpose) == "clear":
        assert listed == {"data": {"segmentMembers": {"totalCount": 0, "nodes": []}}}
    else:
        assert listed["data"]["segmentMembers"] is None
        assert listed["errors"][0]["extensions"] == {"code": "FORBIDDEN", "field": "segment"}
