"""Consent × purpose × role over real HTTP: a personal value is clear only where
the role reads it and the customer's consent or a legal basis covers the
declared purpose; masked otherwise; unknown purposes are refused with the
catalogue; a withdrawal counts from the next request."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from c360.auth.policy import Outcome, decide
from c360.auth.principal import READ_SCOPE, Principal
from c360.connectors.credit.enrich import record_legal_basis, revoke_legal_basis
from c360.platform import tables as t
from c360.platform.privacy.consent import BASES
from c360.platform.privacy.purposes import PURPOSES, standing_basis
from tests.api_helpers import Server
from tests.policy_helpers import PHONE, Matrix

READ = """
query($id: ID!, $purpose: String) {
  customer(id: $id, purpose: $purpose) { phone: attribute(name: "phone") { value } }
}
"""

ROLES = ("agent", "marketing", "risk", "compliance", "admin")


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
        for purpose in PURPOSES:
            seen = phone(server, role, matrix.person, purpose)
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
    phone(server, "admin", matrix.person, "marketing")
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.audit_log.c.action, t.audit_log.c.purpose, t.audit_log.c.fields)
        ).all()
    reads = [r for r in rows if r.action == "read" and r.purpose == "marketing"]
    assert all("phone" not in r.fields for r in reads), rows


def test_an_unknown_purpose_is_refused_with_the_catalogue(server: Server, matrix: Matrix) -> None:
    api = server.api("risk")
    body = api.post(READ, {"id": str(matrix.person), "purpose": "lol-anything"}).json()
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert ", ".join(PURPOSES) in error["message"]
