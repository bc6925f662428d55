"""Purposes are checked before anything is read under them or batched for the
audit log (the ``X-Purpose`` header and the GraphQL ``purpose`` argument, by one
rule), and an audit entry that cannot be written fails its own request only,
not every request whose entries shared its group commit."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from c360.platform.audit import (
    AUDIT_LOG,
    MAX_PURPOSE,
    AuditEntry,
    AuditUnavailable,
    AuditWriter,
    InvalidPurpose,
    clean_purpose,
)
from c360.platform.audit_chain import verify
from c360.platform.privacy.purposes import PURPOSES
from tests.api_helpers import Server
from tests.policy_helpers import Matrix

READ = """
query($id: ID!, $purpose: String) {
  customer(id: $id, purpose: $purpose) { displayName phone: attribute(name: "phone") { value } }
}
"""


def audit_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(AUDIT_LOG)).scalar_one())


@pytest.mark.parametrize(
    ("purpose", "reason"),
    [
        ("\ud800", "unpaired surrogates"),
        ("call\x00back", "control characters"),
        ("call\nback", "control characters"),
        ("回访\u202e", "format characters"),
        ("call\u200bback", "format characters"),
        ("x" * (MAX_PURPOSE + 1), f"must be 1-{MAX_PURPOSE} characters, got {MAX_PURPOSE + 1}"),
        ("   ", "must be 1-256 characters, got 0"),
    ],
)
def test_the_purpose_rule(purpose: str, reason: str) -> None:
    with pytest.raises(InvalidPurpose, match=reason):
        clean_purpose(purpose)


def test_catalogue_purposes_pass_stripped() -> None:
    assert clean_purpose("  complaint_handling ") == "complaint_handling"
    for code in PURPOSES:
        assert clean_purpose(code) == code


@pytest.mark.parametrize("purpose", ["lol-anything", "客户投诉处理", "Service", "kyc"])
def test_a_purpose_outside_the_catalogue_is_refused_with_the_list(purpose: str) -> None:
    with pytest.raises(InvalidPurpose, match="not a catalogue purpose") as refused:
        clean_purpose(purpose)
    assert ", ".join(PURPOSES) in str(refused.value)


def graphql(
    server: Server, purpose: str | None, *, header: str | None = None, customer: int = 1
) -> httpx.Response:
    """A read of the matrix person; the body is sent as ASCII JSON, so a lone
    surrogate arrives as the ``\\ud800`` escape a JSON client may send."""
    headers = {
        "Authorization": f"Bearer {server.token('admin')}",
        "Content-Type": "application/json",
    }
    if header is not None:
        headers["X-Purpose"] = header
    body = {"query": READ, "variables": {"id": str(customer), "purpose": purpose}}
    return httpx.post(f"{server.url}/graphql", content=json.dumps(body), headers=headers)


def test_a_bad_x_purpose_header_is_a_400_naming_it(
    server: Server, engine: Engine, matrix: Matrix
) -> None:
    for header, reason in [
        ("call%0Aback", "control characters"),
        ("a%00b", "control characters"),
        ("%E2%80%AEevil", "format characters"),
        ("x" * 300, "must be 1-256 characters, got 300"),
        ("lol-anything", "declare one of service, complaint_handling"),
    ]:
        response = graphql(server, None, header=header, customer=matrix.person)
        assert response.status_code == 400, (header, response.text)
        message = response.json()["error_description"]
        assert message.startswith("header X-Purpose ") and reason in message, message
    assert audit_rows(engine) == 0
    ok = graphql(server, None, header="complaint%5Fhandling", customer=matrix.person)
    assert ok.status_code == 200 and "errors" not in ok.json(), ok.text


def test_a_bad_purpose_argument_is_bad_user_input_naming_it(
    server: Server, engine: Engine, matrix: Matrix
) -> None:
    for purpose in ("\ud800", "call\u200bback", "\x07", "lol-anything"):
        body = graphql(server, purpose, customer=matrix.person).json()
        [error] = body["errors"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "purpose"}, error
        assert body["data"] == {"customer": None}
    assert audit_rows(engine) == 0


def test_one_bad_purpose_among_concurrent_reads_fails_only_its_own(
    server: Server, engine: Engine, matrix: Matrix
) -> None:
    token = server.token("admin")

    async def read(client: httpx.AsyncClient, purpose: str) -> dict[str, Any]:
        body = {"query": READ, "variables": {"id": str(matrix.person), "purpose": purpose}}
        response = await client.post(
            "/graphql",
            content=json.dumps(body),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def many() -> list[dict[str, Any]]:
        limits = httpx.Limits(max_connections=40)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as client:
            standing = ("service", "complaint_handling", "legal_obligation")
            purposes = [standing[i % 3] for i in range(40)]
            purposes[17] = "service\ud800"
            return await asyncio.gather(*(read(client, p) for p in purposes))

    results = asyncio.run(many())
    bad = results.pop(17)
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    codes = [e["extensions"]["code"] for r in results for e in r.get("errors", [])]
    assert codes == [], codes
    assert all(r["data"]["customer"]["phone"]["value"] for r in results)
    assert audit_rows(engine) == 39
    assert verify(engine).intact


def test_the_writer_fails_only_the_entry_that_cannot_be_written(engine: Engine) -> None:
    """Entries that got past every check and still cannot be written (here a detail
    the chain's UTF-8 encoding refuses) fail alone: their round is written again
    caller by caller."""
    writer = AuditWriter(engine)

    async def write(i: int) -> str:
        detail = {"note": "\udc80"} if i == 5 else {"n": str(i)}
        try:
            await writer.append([AuditEntry(principal=f"p{i}", action="read", detail=detail)])
        except AuditUnavailable:
            return "unavailable"
        return "ok"

    async def many() -> list[str]:
        return await asyncio.gather(*(write(i) for i in range(12)))

    outcomes = asyncio.run(many())
    assert outcomes == ["ok"] * 5 + ["unavailable"] + ["ok"] * 6
    assert audit_rows(engine) == 11
    assert verify(engine).intact
