"""The audit log: every clear read of personal data, every refusal and every
write is on record (who, which customer, which fields, when, client, purpose;
never a value), hash-chained, and ``c360 audit verify`` finds an edited or a
deleted row. If the log cannot be written, nothing is served."""

from __future__ import annotations

import itertools
import json
import threading
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from c360.auth.principal import SCOPES
from c360.cli.auth import app as auth_cli
from c360.platform.audit import AuditEntry, append_now
from c360.platform.audit_chain import verify
from c360.platform.clients import create_client
from c360.platform.models import AuditLog
from c360.platform.settings import get_settings
from tests.api_helpers import Server
from tests.policy_helpers import EXTERNAL_ID, NOTE_TEXT, PERSON, Matrix

READ = """
query($id: ID!, $purpose: String) {
  customer(id: $id, purpose: $purpose) {
    displayName
    phone: attribute(name: "phone") { value }
    idNumber: attribute(name: "id_number") { value }
    gender: attribute(name: "gender") { value }
    notes { text }
  }
}
"""


def rows(engine: Engine) -> list[AuditLog]:
    with Session(engine) as session:
        return list(session.exec(select(AuditLog).order_by(col(AuditLog.id))).all())


def test_clear_reads_are_recorded_with_who_what_when_and_why(
    server: Server, engine: Engine, matrix: Matrix
) -> None:
    create_client(engine, "service-desk", role="agent", scopes=list(SCOPES), region="北京")
    agent = server.api("agent", region="北京", subject="agent-0007", client_id="service-desk")
    agent.query(READ, {"id": str(matrix.person), "purpose": "service"})
    [entry] = rows(engine)
    assert entry.action == "read"
    assert (entry.principal, entry.client) == ("agent-0007", "service-desk")
    assert entry.customer_id == matrix.person
    assert entry.purpose == "service"
    # Agents read names, phones and notes in clear; the id number is masked and the
    # gender is not personal data of note, so neither is on the entry.
    assert entry.fields == ["name", "note", "phone"]
    assert entry.detail["roles"] == "agent"
    assert entry.at is not None and entry.hash and entry.prev_hash == "0" * 64

    # The purpose can come from the X-Purpose header: percent-encoded, or raw
    # UTF-8 as curl sends it.
    server.api(
        "agent", region="北京", subject="agent-0007", purpose=quote("complaint_handling")
    ).query(READ, {"id": str(matrix.person)})
    assert rows(engine)[-1].purpose == "complaint_handling"
    raw = httpx.post(
        f"{server.url}/graphql",
        json={"query": READ, "variables": {"id": str(matrix.person)}},
        headers=[
            (b"authorization", f"Bearer {server.token('agent', region='北京')}".encode()),
            (b"x-purpose", b"service"),
        ],
    )
    assert raw.status_code == 200 and "errors" not in raw.json()
    assert rows(engine)[-1].purpose == "service"


def test_masked_reads_are_not_clear_reads(server: Server, engine: Engine, matrix: Matrix) -> None:
    marketing = server.api("marketing")
    marketing.post(
        'query($id: ID!) { customer(id: $id) { displayName phone: attribute(name: "phone") '
        "{ value } } }",
        {"id": str(matrix.person)},
    )
    assert rows(engine) == []


def test_refusals_are_recorded(server: Server, engine: Engine, matrix: Matrix) -> None:
    server.api("marketing", subject="mk-1").post(READ, {"id": str(matrix.person)})
    [refusal] = [r for r in rows(engine) if r.action == "refuse"]
    assert refusal.principal == "mk-1"
    assert refusal.customer_id == matrix.person
    assert refusal.fields == ["id_number", "note"]
    assert "role marketing may not read" in refusal.detail["reason"]
    # A refused search and a refused mutation are on record too.
    server.api("marketing", subject="mk-1").post(
        '{ customers(filter: {idNumber: "110101199003071234"}) { totalCount } }'
    )
    server.api("compliance", subject="co-1").post(
        'mutation($id: ID!) { tagCustomer(customerId: $id, tag: "x") { tags } }',
        {"id": str(matrix.person)},
    )
    refused = [(r.principal, r.fields) for r in rows(engine) if r.action == "refuse"]
    assert ("mk-1", ["filter.idNumber"]) in refused
    assert ("co-1", ["mutation.tag"]) in refused


def test_writes_are_recorded_in_their_transaction(
    server: Server, engine: Engine, matrix: Matrix
) -> None:
    agent = server.api("agent", region="北京", subject="agent-9")
    agent.query(
        'mutation($id: ID!) { tagCustomer(customerId: $id, tag: "回访") { customerId } }',
        {"id": str(matrix.person)},
    )
    agent.query(
        'mutation($id: ID!) { addNote(customerId: $id, text: "客户说明天再联系") { noteId } }',
        {"id": str(matrix.person)},
    )
    actions = [(r.action, r.principal, r.customer_id) for r in rows(engine) if r.action != "read"]
    assert actions == [("tag", "agent-9", matrix.person), ("note", "agent-9", matrix.person)]
    note = next(r for r in rows(engine) if r.action == "note")
    assert "客户说明天再联系" not in json.dumps(note.detail, ensure_ascii=False)


def test_no_personal_value_is_ever_written_to_the_log(
    server: Server, engine: Engine, matrix: Matrix
) -> None:
    for role in ("agent", "marketing", "risk", "compliance", "admin"):
        server.api(role, purpose="legal_obligation").post(READ, {"id": str(matrix.person)})
        server.api(role).post(READ, {"id": str(matrix.person)})
    dumped = json.dumps([r.model_dump(mode="json") for r in rows(engine)], ensure_ascii=False)
    for value in [*PERSON.values(), EXTERNAL_ID, NOTE_TEXT]:
        if value not in ("male", "北京市"):
            assert value not in dumped, value
    assert verify(engine).intact


# --- the chain ------------------------------------------------------------------------


def _fill(engine: Engine, n: int = 6) -> None:
    append_now(
        engine,
        [
            AuditEntry(principal=f"p{i}", action="read", customer_id=i, fields=["phone"])
            for i in range(n)
        ],
    )


def test_an_intact_chain_verifies(engine: Engine) -> None:
    _fill(engine)
    report = verify(engine)
    assert report.intact and report.entries == 6
    chain = rows(engine)
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(chain))


def test_an_edited_row_is_found(engine: Engine) -> None:
    _fill(engine)
    third = rows(engine)[2]
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET purpose = 'nothing to see' WHERE id = :id"),
            {"id": third.id},
        )
    report = verify(engine)
    assert not report.intact
    assert report.problems == [
        f"row {third.id}: content does not match its hash (the row was edited)"
    ]


def test_an_edited_row_with_a_recomputed_hash_breaks_the_next_link(engine: Engine) -> None:
    _fill(engine)
    chain = rows(engine)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET hash = :h WHERE id = :id"),
            {"h": "f" * 64, "id": chain[2].id},
        )
    problems = verify(engine).problems
    assert any(f"row {chain[2].id}: content does not match" in p for p in problems)
    assert any(f"row {chain[3].id}: does not link to row {chain[2].id}" in p for p in problems)


def test_a_deleted_row_is_found(engine: Engine) -> None:
    _fill(engine)
    chain = rows(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": chain[3].id})
    problems = verify(engine).problems
    assert problems[0].startswith(f"row {chain[4].id}: does not link to row {chain[2].id}")
    assert any("the head says 6 rows" in p for p in problems)


def test_rows_deleted_from_the_end_are_found(engine: Engine) -> None:
    _fill(engine)
    chain = rows(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id >= :id"), {"id": chain[4].id})
    [problem] = verify(engine).problems
    assert "the chain ends after 4 rows" in problem and "the head says 6 rows" in problem


def test_concurrent_appends_keep_one_chain(engine: Engine) -> None:
    def write(worker: int) -> None:
        for i in range(10):
            append_now(engine, [AuditEntry(principal=f"w{worker}", action="read", customer_id=i)])

    threads = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = verify(engine)
    assert report.intact, report.problems
    assert report.entries == 60


def test_audit_verify_command(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C360_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        _fill(engine)
        runner = CliRunner()
        ok = runner.invoke(auth_cli, ["audit", "verify"])
        assert ok.exit_code == 0, ok.output
        assert "audit log intact: 6 entries" in ok.output
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET principal = 'someone else' WHERE id = 2"))
            conn.execute(text("DELETE FROM audit_log WHERE id = 4"))
        damaged = runner.invoke(auth_cli, ["audit", "verify"])
        assert damaged.exit_code == 1
        assert "audit log damaged" in damaged.output
        assert "row 2: content does not match its hash" in damaged.output
        assert "row 5: does not link to row 3" in damaged.output
    finally:
        get_settings.cache_clear()


def test_nothing_is_served_when_the_audit_log_cannot_be_written(
    server: Server, engine: Engine, matrix: Matrix
) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE audit_head"))
    response = server.api("agent", region="北京").raw(READ, {"id": str(matrix.person)})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "AUDIT_UNAVAILABLE"
    assert PERSON["phone"] not in response.text and PERSON["name"] not in response.text


def test_searches_by_personal_fields_are_recorded(
    server: Server, engine: Engine, matrix: Matrix
) -> None:
    agent = server.api("agent", region="北京", subject="agent-3")
    agent.query(
        'query { customers(filter: {phone: "13800138000"}, purpose: "service") '
        "{ edges { node { customerId } } } }"
    )
    [search] = [r for r in rows(engine) if r.action == "search"]
    assert (search.principal, search.purpose, search.fields) == (
        "agent-3",
        "service",
        ["filter.phone"],
    )
    assert "13800138000" not in json.dumps(search.detail)
