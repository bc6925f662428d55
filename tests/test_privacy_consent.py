"""Consent × purpose × role over real HTTP: a personal value is clear only where
the role reads it and the customer's consent or a legal basis covers the
declared purpose; masked otherwise; unknown purposes are refused with the
catalogue; a withdrawal counts from the next request. A restricted person
(PIPL art. 47) is stored only: masked for every purpose but legal_obligation,
out of the search documents, refused by enrichment — until lifted.

One database and one server per module and backend; each test starts from no
consents and no requests (the ``clean`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, func, select

from c360.auth.policy import Outcome, decide
from c360.auth.principal import READ_SCOPE, Principal
from c360.connectors.credit.enrich import EnrichmentRefused, enrich_customer
from c360.connectors.credit.ledger import LEDGER
from c360.connectors.credit.legal_bases import record_legal_basis, revoke_legal_basis
from c360.demo.standins import BureauAPI
from c360.demo.standins import credit_source_config as credit_config
from c360.platform import tables as t
from c360.platform.privacy.consent import BASES
from c360.platform.privacy.purposes import PURPOSES, standing_basis
from c360.platform.privacy.requests import REQUESTS, open_request
from c360.platform.privacy.restriction import lift
from c360.platform.sources import save_source
from c360.search.documents import load_documents
from tests.api_helpers import Server
from tests.policy_helpers import PHONE, Matrix, seed_matrix

READ = """
query($id: ID!, $purpose: String) {
  customer(id: $id, purpose: $purpose) { phone: attribute(name: "phone") { value } }
}
"""

EVERY_PURPOSE = (
    "query($id: ID!) {"
    + " ".join(
        f'{code}: customer(id: $id, purpose: "{code}") '
        '{ phone: attribute(name: "phone") { value } }'
        for code in PURPOSES
    )
    + "}"
)

ROLES = ("agent", "marketing", "risk", "compliance", "admin")


@pytest.fixture(scope="module")
def module_matrix(module_engine: Engine) -> Matrix:
    return seed_matrix(module_engine)


@pytest.fixture
def matrix(module_matrix: Matrix, module_engine: Engine) -> Iterator[Matrix]:
    """The module's customers with no consents and no open requests."""
    with module_engine.begin() as conn:
        conn.execute(delete(BASES))
        conn.execute(delete(REQUESTS))
    yield module_matrix


@pytest.fixture
def server(module_server: Server) -> Server:
    return module_server


@pytest.fixture
def engine(module_engine: Engine) -> Engine:
    return module_engine


def role_outcome(role: str, purpose: str) -> Outcome:
    principal = Principal(
        subject="t",
        roles=frozenset({role}),
        scopes=frozenset({READ_SCOPE}),
        regions=frozenset({"北京"}),
    )
    return decide(principal, "phone", purpose=purpose).outcome


def phone(server: Server, role: str, person: int, purpose: str) -> str | None:
    api = server.api(role, region="北京")
    data = api.query(READ, {"id": str(person), "purpose": purpose})
    value: str | None = data["customer"]["phone"]["value"]
    return value


def phones(server: Server, role: str, person: int) -> dict[str, str | None]:
    """The phone as ``role`` sees it under every catalogue purpose, one request."""
    data = server.api(role, region="北京").query(EVERY_PURPOSE, {"id": str(person)})
    return {code: data[code]["phone"]["value"] for code in PURPOSES}


@pytest.mark.parametrize("consented", [False, True], ids=["no-consent", "consent"])
def test_consent_purpose_role_matrix(
    server: Server, engine: Engine, matrix: Matrix, consented: bool
) -> None:
    if consented:
        for purpose in ("marketing", "credit_assessment"):
            record_legal_basis(
                engine,
                matrix.person,
                purpose=purpose,
                basis="consent",
                evidence="form 2024-118",
                recorded_by="test",
            )
    for role in ROLES:
        seen_by_purpose = phones(server, role, matrix.person)
        for purpose in PURPOSES:
            seen = seen_by_purpose[purpose]
            by_role = role_outcome(role, purpose)
            covered = standing_basis(purpose) is not None or (
                consented and purpose in ("marketing", "credit_assessment")
            )
            if by_role is Outcome.CLEAR and covered:
                assert seen == PHONE, (role, purpose)
            else:
                assert seen is not None and seen != PHONE and "****" in seen, (role, purpose, seen)


def test_withdrawal_counts_from_the_next_request(
    server: Server, engine: Engine, matrix: Matrix
) -> None:
    assert phone(server, "admin", matrix.person, "marketing") != PHONE
    basis = record_legal_basis(
        engine,
        matrix.person,
        purpose="marketing",
        basis="consent",
        evidence="app opt-in 2024-05-01",
        recorded_by="test",
    )
    assert phone(server, "admin", matrix.person, "marketing") == PHONE
    revoke_legal_basis(engine, basis, revoked_by="test")
    assert phone(server, "admin", matrix.person, "marketing") != PHONE
    # the history stays: the withdrawn row is kept with who and when
    with engine.connect() as conn:
        [row] = conn.execute(select(BASES).where(BASES.c.id == basis)).mappings().all()
    assert row["revoked_at"] is not None and row["revoked_by"] == "test"
    assert row["evidence"] == "app opt-in 2024-05-01" and row["recorded_at"] is not None


def test_a_consent_for_another_purpose_does_not_cover(
    server: Server, engine: Engine, matrix: Matrix
) -> None:
    record_legal_basis(
        engine,
        matrix.person,
        purpose="credit_assessment",
        basis="consent",
        evidence="loan form",
        recorded_by="test",
    )
    assert phone(server, "admin", matrix.person, "credit_assessment") == PHONE
    assert phone(server, "admin", matrix.person, "marketing") != PHONE


def test_an_uncovered_read_is_audited_as_a_refusal_not_a_read(
    server: Server, engine: Engine, matrix: Matrix
) -> None:
    with engine.connect() as conn:
        before = conn.execute(select(func.max(t.audit_log.c.id))).scalar() or 0
    phone(server, "admin", matrix.person, "marketing")
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.audit_log.c.action, t.audit_log.c.purpose, t.audit_log.c.fields).where(
                t.audit_log.c.id > before
            )
        ).all()
    reads = [r for r in rows if r.action == "read" and r.purpose == "marketing"]
    assert all("phone" not in r.fields for r in reads), rows


def test_an_unknown_purpose_is_refused_with_the_catalogue(server: Server, matrix: Matrix) -> None:
    api = server.api("risk")
    body = api.post(READ, {"id": str(matrix.person), "purpose": "lol-anything"}).json()
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert ", ".join(PURPOSES) in error["message"]


def test_a_restricted_person_is_stored_only_until_lifted(
    server: Server, engine: Engine, matrix: Matrix
) -> None:
    record_legal_basis(
        engine,
        matrix.person,
        purpose="marketing",
        basis="consent",
        evidence="form 9",
        recorded_by="test",
    )
    assert phones(server, "admin", matrix.person)["marketing"] == PHONE
    with engine.connect() as conn:
        assert load_documents(conn, [matrix.person])[matrix.person] is not None
    open_request(engine, matrix.person, "restriction", requested_by="test")
    seen = phones(server, "admin", matrix.person)
    assert seen.pop("legal_obligation") == PHONE  # the request itself, a statutory duty
    assert all(v is not None and v != PHONE and "****" in v for v in seen.values()), seen
    with engine.connect() as conn:
        assert load_documents(conn, [matrix.person])[matrix.person] is None  # out of search
        queued = conn.execute(
            select(func.count())
            .select_from(t.outbox)
            .where(t.outbox.c.entity_id == str(matrix.person))
        ).scalar_one()
    assert queued >= 1  # the indexer is told at once
    assert lift(engine, matrix.person, actor="test") == 1
    assert phones(server, "admin", matrix.person)["marketing"] == PHONE
    with engine.connect() as conn:
        assert load_documents(conn, [matrix.person])[matrix.person] is not None
    assert lift(engine, matrix.person, actor="test") == 0  # nothing left to lift


def test_a_restricted_person_is_not_enriched(engine: Engine, matrix: Matrix) -> None:
    with BureauAPI({}, {}) as bureau:
        save_source(engine, "bureau", "credit", credit_config(bureau))
        open_request(engine, matrix.organization, "restriction", requested_by="test")
        with pytest.raises(EnrichmentRefused, match="restricted"):
            enrich_customer(engine, matrix.organization, purpose="credit_assessment", actor="test")
    with engine.connect() as conn:
        outcomes = conn.execute(
            select(LEDGER.c.outcome).where(LEDGER.c.customer_id == matrix.organization)
        ).scalars()
        assert "refused_restricted" in list(outcomes)
