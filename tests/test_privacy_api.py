"""GraphQL for compliance staff over real HTTP: the privacy fields per role ×
purpose as the policy table says (clear, or null with FORBIDDEN), the privacy
mutations only for the roles the policy lets run them, consents recorded and
withdrawn with their history, requests with deadlines, restriction and its
lifting, export and erasure — each audited — and bad arguments refused naming
the argument. One server for the module, on SQLite only (the test budget; the
same policy path runs on PostgreSQL in tests/test_privacy_consent.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, select

from c360.auth.policy_table import FIELDS, MUTATIONS, ROLE_POLICIES, Access
from c360.auth.principal import ROLES
from c360.platform import tables as t
from c360.platform.privacy.consent import BASES
from c360.platform.privacy.requests import REQUESTS
from tests.api_helpers import Server
from tests.policy_helpers import PHONE, Matrix, seed_matrix

pytestmark = pytest.mark.parametrize("module_engine", ["sqlite"], indirect=True, scope="module")

PRIVACY_ROWS = ("privacy_requests", "consents", "privacy_export")

READS = """
query($p: ID!) {
  privacyRequests { id kind status dueAt overdue }
  customerConsents(customerId: $p) { id purpose basis evidence active revokedAt }
}
"""

EXPORT = "mutation($p: ID!) { exportPerson(customerId: $p) { requestId rows package } }"

RECORD = """
mutation($p: ID!, $purpose: String!, $evidence: String!, $basis: String! = "consent") {
  recordConsent(customerId: $p, purpose: $purpose, evidence: $evidence, basis: $basis) {
    id purpose basis evidence active recordedBy
  }
}
"""


@pytest.fixture(scope="module")
def matrix(module_engine: Engine) -> Matrix:
    return seed_matrix(module_engine)


@pytest.fixture
def clean(module_engine: Engine) -> Iterator[None]:
    with module_engine.begin() as conn:
        conn.execute(delete(BASES))
        conn.execute(delete(REQUESTS))
    yield


def expected(role: str, field: str, purpose: str | None) -> bool:
    access = FIELDS[field][ROLES.index(role)]
    return access is Access.CLEAR or (access is Access.CLEAR_WITH_PURPOSE and bool(purpose))


@pytest.mark.parametrize("purpose", [None, "legal_obligation"], ids=["no-purpose", "purpose"])
@pytest.mark.parametrize("role", ROLES)
def test_privacy_field_matrix(
    module_server: Server, matrix: Matrix, clean: None, role: str, purpose: str | None
) -> None:
    api = module_server.api(role, region="北京", purpose=purpose)
    body = api.post(READS, {"p": str(matrix.person)}).json()
    errors = {tuple(e["path"]): e["extensions"] for e in body.get("errors", [])}
    data = body["data"] or {}
    for field, name in (("privacy_requests", "privacyRequests"), ("consents", "customerConsents")):
        if expected(role, field, purpose):
            assert (name,) not in errors and data[name] == [], (role, field, errors)
        else:
            assert data.get(name) is None
            assert errors[(name,)] == {"code": "FORBIDDEN", "field": field}
    exported = api.post(EXPORT, {"p": str(matrix.person)}).json()
    may_run = "export_person" in ROLE_POLICIES[role].mutations
    if may_run and expected(role, "privacy_export", purpose):
        package = exported["data"]["exportPerson"]["package"]
        assert PHONE in str(package) and exported["data"]["exportPerson"]["rows"] > 0
    else:
        assert exported["data"] is None or exported["data"]["exportPerson"] is None
        assert exported["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert PHONE not in str(exported)


@pytest.mark.parametrize("role", ROLES)
def test_privacy_mutations_follow_the_policy(
    module_server: Server, matrix: Matrix, clean: None, role: str
) -> None:
    api = module_server.api(role, region="北京", purpose="legal_obligation")
    body = api.post(
        RECORD, {"p": str(matrix.person), "purpose": "marketing", "evidence": "form 7"}
    ).json()
    if "record_consent" in ROLE_POLICIES[role].mutations:
        assert body["data"]["recordConsent"]["active"] is True, body
    else:
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert {"open_privacy_request", "erase_person", "withdraw_consent"} <= set(MUTATIONS)


def test_consents_are_recorded_withdrawn_and_kept_as_history(
    module_server: Server, module_engine: Engine, matrix: Matrix, clean: None
) -> None:
    api = module_server.api("compliance", purpose="legal_obligation")
    reader = module_server.api("admin", purpose="marketing")
    phone = 'query($p: ID!) { customer(id: $p) { attribute(name: "phone") { value } } }'
    assert reader.query(phone, {"p": str(matrix.person)})["customer"]["attribute"]["value"] != PHONE
    recorded = api.query(
        RECORD, {"p": str(matrix.person), "purpose": "marketing", "evidence": "form 7"}
    )["recordConsent"]
    assert recorded["recordedBy"].startswith("test-compliance")
    assert reader.query(phone, {"p": str(matrix.person)})["customer"]["attribute"]["value"] == PHONE
    withdrawn = api.query(
        "mutation($id: Int!) { withdrawConsent(consentId: $id) { active revokedBy } }",
        {"id": recorded["id"]},
    )["withdrawConsent"]
    assert withdrawn["active"] is False and withdrawn["revokedBy"].startswith("test-compliance")
    assert reader.query(phone, {"p": str(matrix.person)})["customer"]["attribute"]["value"] != PHONE
    [kept] = api.query(READS, {"p": str(matrix.person)})["customerConsents"]
    assert (kept["purpose"], kept["evidence"], kept["active"]) == ("marketing", "form 7", False)
    with module_engine.connect() as conn:
        actions = set(
            conn.execute(
                select(t.audit_log.c.action).where(t.audit_log.c.customer_id == matrix.person)
            ).scalars()
        )
    assert {"legal_basis.record", "legal_basis.revoke"} <= actions


def test_restriction_and_requests_through_the_api(
    module_server: Server, matrix: Matrix, clean: None
) -> None:
    api = module_server.api("compliance", purpose="legal_obligation")
    restricted = api.query(
        'mutation($p: ID!) { restrictPerson(customerId: $p, reason: "req 9") { id kind status } }',
        {"p": str(matrix.person)},
    )["restrictPerson"]
    assert (restricted["kind"], restricted["status"]) == ("restriction", "open")
    [listed] = api.query(READS, {"p": str(matrix.person)})["privacyRequests"]
    assert listed["id"] == restricted["id"] and listed["overdue"] is False
    agent = module_server.api("agent", region="北京")
    phone = 'query($p: ID!) { customer(id: $p) { attribute(name: "phone") { value } } }'
    assert agent.query(phone, {"p": str(matrix.person)})["customer"]["attribute"]["value"] != PHONE
    lifted = api.query(
        "mutation($p: ID!) { liftRestriction(customerId: $p) }", {"p": str(matrix.person)}
    )
    assert lifted["liftRestriction"] == 1
    assert agent.query(phone, {"p": str(matrix.person)})["customer"]["attribute"]["value"] == PHONE
    again = api.errors(
        "mutation($p: ID!) { liftRestriction(customerId: $p) }", {"p": str(matrix.person)}
    )
    assert again[0]["extensions"]["argument"] == "customerId"


def test_an_export_carries_out_the_request_the_person_made(
    module_server: Server, matrix: Matrix, clean: None
) -> None:
    api = module_server.api("compliance", purpose="legal_obligation")
    opened = (
        "mutation($p: ID!, $k: String!) { openPrivacyRequest(customerId: $p, kind: $k) { id } }"
    )
    asked = api.query(opened, {"p": str(matrix.person), "k": "export"})["openPrivacyRequest"]["id"]
    erasure = api.query(opened, {"p": str(matrix.person), "k": "erasure"})["openPrivacyRequest"]
    fulfil = (
        "mutation($p: ID!, $r: Int) { exportPerson(customerId: $p, requestId: $r) "
        "{ requestId rows } }"
    )
    # Not another kind's request, nor another person's, nor an unknown one.
    for customer, request, said in [
        (matrix.person, erasure["id"], "asks for erasure of"),
        (matrix.relative, asked, f"of customer {matrix.person}, not export"),
        (matrix.person, 999999, "no privacy request 999999"),
    ]:
        [error] = api.errors(fulfil, {"p": str(customer), "r": request})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "requestId"}
        assert said in error["message"]
    done = api.query(fulfil, {"p": str(matrix.person), "r": asked})["exportPerson"]
    assert done["requestId"] == asked and done["rows"] > 0
    requests = {r["id"]: r for r in api.query(READS, {"p": str(matrix.person)})["privacyRequests"]}
    assert requests[asked]["status"] == "done"  # its deadline no longer runs
    assert requests[erasure["id"]]["status"] == "open" and len(requests) == 2
    [again] = api.errors(fulfil, {"p": str(matrix.person), "r": asked})
    assert "done already" in again["message"]


@pytest.mark.parametrize(
    ("mutation", "argument"),
    [
        ('openPrivacyRequest(customerId: $p, kind: "gossip") { id }', "kind"),
        ("erasePerson(customerId: $p, confirm: false) { requestId }", "confirm"),
        ('recordConsent(customerId: $p, purpose: "lol-anything", evidence: "x") { id }', "purpose"),
        (
            'recordConsent(customerId: $p, purpose: "marketing", evidence: "x", basis: "contract") '
            "{ id }",
            "basis",
        ),
        ("withdrawConsent(consentId: 0) { id }", "consentId"),
    ],
)
def test_bad_arguments_are_refused_naming_them(
    module_server: Server, matrix: Matrix, mutation: str, argument: str
) -> None:
    api = module_server.api("compliance", purpose="legal_obligation")
    if "$p" in mutation:
        [error] = api.errors(f"mutation($p: ID!) {{ {mutation} }}", {"p": str(matrix.person)})
    else:
        [error] = api.errors(f"mutation {{ {mutation} }}")
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == argument


def test_erasure_through_the_api(
    module_server: Server, module_engine: Engine, matrix: Matrix
) -> None:
    api = module_server.api("compliance", purpose="legal_obligation")
    done = api.query(
        'mutation($p: ID!) { erasePerson(customerId: $p, confirm: true, reason: "req 3") '
        "{ requestId rowsRemoved suppressedIdentifiers } }",
        {"p": str(matrix.relative)},
    )["erasePerson"]
    assert done["rowsRemoved"] > 0 and done["suppressedIdentifiers"] >= 1
    with module_engine.connect() as conn:
        profile = conn.execute(
            select(t.golden_profile).where(t.golden_profile.c.customer_id == matrix.relative)
        ).first()
    assert profile is None
