"""Mutations over real HTTP: tags and notes (front-line staff), manual merge and
split (administrators), each allowed by the policy table only, each on the
audit log, bad input answered naming the argument."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from c360.platform.audit_chain import verify
from c360.platform.models import AuditLog, Event, SourceRecord
from c360.platform.stewardship import CurationDecision
from tests.api_helpers import Api, Server
from tests.policy_helpers import PERSON, RELATIVE, Matrix

TAG = """
mutation($id: ID!, $tag: String!) { tagCustomer(customerId: $id, tag: $tag) { customerId tags } }
"""
UNTAG = "mutation($id: ID!, $tag: String!) { untagCustomer(customerId: $id, tag: $tag) { tags } }"
NOTE = """
mutation($id: ID!, $text: String!) { addNote(customerId: $id, text: $text) { noteId text author } }
"""
MERGE = """
mutation($s: ID!, $a: ID!, $why: String) {
  mergeCustomers(survivorId: $s, absorbedId: $a, reason: $why) {
    customerId mergedIds tags
    name: attribute(name: "name") { value conflicting lineage { value } }
    sourceRecords { externalId }
  }
}
"""
SPLIT = """
mutation($r: Int!) {
  splitRecord(recordId: $r, reason: "two people") {
    previous { customerId displayName sourceRecords { externalId } timeline { text } }
    created { customerId displayName sourceRecords { externalId linkMethod explanation }
              timeline { text } }
  }
}
"""
ONE = "query($id: ID!) { customer(id: $id) { customerId mergedIds tags notes { text } } }"


def forbidden(api: Api, query: str, variables: dict[str, Any], field: str) -> None:
    body = api.post(query, variables).json()
    [error] = body["errors"]
    assert error["extensions"] == {"code": "FORBIDDEN", "field": field}, error


def bad_input(api: Api, query: str, variables: dict[str, Any], argument: str) -> str:
    error = api.errors(query, variables)[0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}, error
    return str(error["message"])


def audit_actions(engine: Engine) -> list[tuple[str, int | None]]:
    with Session(engine) as session:
        rows = session.exec(select(AuditLog).order_by(col(AuditLog.id))).all()
    return [(r.action, r.customer_id) for r in rows if r.action not in ("read", "refuse")]


def test_agents_tag_and_untag(server: Server, matrix: Matrix, engine: Engine) -> None:
    agent = server.api("agent", region="北京")
    person = str(matrix.person)
    tagged = agent.query(TAG, {"id": person, "tag": " 回访 "})["tagCustomer"]
    assert tagged == {"customerId": matrix.person, "tags": ["vip", "回访"]}
    again = agent.query(TAG, {"id": person, "tag": "回访"})["tagCustomer"]
    assert again["tags"] == ["vip", "回访"]  # tagging twice changes nothing
    assert agent.query(UNTAG, {"id": person, "tag": "vip"})["untagCustomer"]["tags"] == ["回访"]
    assert audit_actions(engine) == [("tag", matrix.person), ("untag", matrix.person)]
    assert "may not run" not in str(agent.query(ONE, {"id": person}))


@pytest.mark.parametrize(
    ("tag", "reason"),
    [("", "must be 1-32 characters"), ("x" * 65, "got 65"), ("a\x00b", "only letters")],
)
def test_bad_tags_name_the_argument(server: Server, matrix: Matrix, tag: str, reason: str) -> None:
    message = bad_input(
        server.api("agent", region="北京"), TAG, {"id": str(matrix.person), "tag": tag}, "tag"
    )
    assert reason in message


def test_agents_write_notes(server: Server, matrix: Matrix, engine: Engine) -> None:
    agent = server.api("agent", subject="agent-0042", region="北京")
    note = agent.query(NOTE, {"id": str(matrix.person), "text": "客户投诉物流太慢"})["addNote"]
    assert note["text"] == "客户投诉物流太慢" and note["author"] == "agent-0042"
    notes = agent.query(ONE, {"id": str(matrix.person)})["customer"]["notes"]
    assert [n["text"] for n in notes] == ["客户投诉物流太慢", "客户要求下周回访"]
    bad_input(agent, NOTE, {"id": str(matrix.person), "text": "  "}, "text")
    bad_input(agent, NOTE, {"id": "987654", "text": "hello"}, "customerId")


def test_roles_run_only_their_mutations(server: Server, matrix: Matrix, engine: Engine) -> None:
    person, relative = str(matrix.person), str(matrix.relative)
    forbidden(server.api("compliance"), TAG, {"id": person, "tag": "x"}, "mutation.tag")
    forbidden(server.api("risk"), TAG, {"id": person, "tag": "x"}, "mutation.tag")
    forbidden(server.api("marketing"), NOTE, {"id": person, "text": "x"}, "mutation.note")
    for role in ("agent", "marketing", "risk", "compliance"):
        forbidden(server.api(role), MERGE, {"s": person, "a": relative}, "mutation.merge")
        forbidden(server.api(role), SPLIT, {"r": 1}, "mutation.split")
    server.api("marketing").query(TAG, {"id": person, "tag": "campaign-618"})
    server.api("risk").query(NOTE, {"id": person, "text": "overdue twice"})
    # Nothing refused was written; every refusal is on record.
    assert audit_actions(engine) == [("tag", matrix.person), ("note", matrix.person)]
    with Session(engine) as session:
        refusals = session.exec(select(AuditLog).where(AuditLog.action == "refuse")).all()
    assert len(refusals) == 11


def test_agents_cannot_tag_outside_their_region(server: Server, matrix: Matrix) -> None:
    agent = server.api("agent", region="上海")
    outside = bad_input(agent, TAG, {"id": str(matrix.person), "tag": "x"}, "customerId")
    unknown = bad_input(agent, TAG, {"id": "987654", "tag": "x"}, "customerId")
    assert outside.replace(str(matrix.person), "?") == unknown.replace("987654", "?")


def test_admin_merges_and_the_absorbed_id_redirects(
    server: Server, matrix: Matrix, engine: Engine
) -> None:
    admin = server.api("admin", subject="steward-1", purpose="service")
    server.api("agent", region="北京").query(TAG, {"id": str(matrix.relative), "tag": "家属"})
    merged = admin.query(
        MERGE, {"s": str(matrix.person), "a": str(matrix.relative), "why": "same household id"}
    )["mergeCustomers"]
    assert merged["customerId"] == matrix.person
    assert merged["mergedIds"] == [matrix.relative]
    assert sorted(merged["tags"]) == ["vip", "家属"]  # tags follow the merge
    assert merged["name"]["conflicting"] is True
    assert sorted(v["value"] for v in merged["name"]["lineage"]) == sorted(
        [PERSON["name"], RELATIVE["name"]]
    )
    assert {r["externalId"] for r in merged["sourceRecords"]} == {"CRM-EXT-0001", "REL-EXT-1"}
    # The absorbed id now resolves to the survivor, for every role.
    redirected = server.api("marketing").query(
        "query($id: ID!) { customer(id: $id) { customerId } }", {"id": str(matrix.relative)}
    )["customer"]
    assert redirected["customerId"] == matrix.person
    with Session(engine) as session:
        [decision] = session.exec(select(CurationDecision)).all()
    assert (decision.kind, decision.customer_id, decision.other_customer_id) == (
        "merge",
        matrix.person,
        matrix.relative,
    )
    assert decision.decided_by == "steward-1" and decision.reason == "same household id"
    assert ("merge", matrix.person) in audit_actions(engine)
    assert verify(engine).intact
    # Merging it again, into itself, across kinds or from nowhere is refused.
    again = bad_input(
        admin, MERGE, {"s": str(matrix.person), "a": str(matrix.relative)}, "absorbedId"
    )
    assert f"was merged into {matrix.person}" in again
    bad_input(admin, MERGE, {"s": str(matrix.person), "a": str(matrix.person)}, "absorbedId")
    bad_input(admin, MERGE, {"s": str(matrix.person), "a": str(matrix.organization)}, "absorbedId")
    bad_input(admin, MERGE, {"s": "987654", "a": str(matrix.person)}, "survivorId")
    bad_input(admin, MERGE, {"s": "nonsense", "a": str(matrix.person)}, "survivorId")


def test_admin_splits_a_record_into_a_new_customer(
    server: Server, matrix: Matrix, engine: Engine
) -> None:
    admin = server.api("admin", purpose="service")
    admin.query(MERGE, {"s": str(matrix.person), "a": str(matrix.relative)})
    with Session(engine) as session:
        record = session.exec(
            select(SourceRecord).where(SourceRecord.external_id == "REL-EXT-1")
        ).one()
        order = SourceRecord(
            source_name="crm",
            stream="orders",
            external_id="ORD-9",
            kind="event",
            attributes={"subject_external_id": "REL-EXT-1", "subject_stream": "contacts"},
            content_hash="o" * 64,
            status="accepted",
        )
        session.add(order)
        session.flush()
        assert order.id is not None and record.id is not None
        session.add(
            Event(
                record_id=order.id,
                customer_id=matrix.person,
                source_name="crm",
                event_type="order",
                text="李娜的订单",
            )
        )
        session.commit()
        record_id = record.id
    result = admin.query(SPLIT, {"r": record_id})["splitRecord"]
    previous, created = result["previous"], result["created"]
    assert previous["customerId"] == matrix.person
    assert [r["externalId"] for r in previous["sourceRecords"]] == ["CRM-EXT-0001"]
    assert previous["displayName"] == PERSON["name"]
    assert created["customerId"] not in (matrix.person, matrix.relative)
    assert created["displayName"] == RELATIVE["name"]
    [moved] = created["sourceRecords"]
    assert moved["externalId"] == "REL-EXT-1" and moved["linkMethod"] == "manual:split"
    assert "manual split" in moved["explanation"]
    assert [e["text"] for e in created["timeline"]] == ["李娜的订单"]
    assert "李娜的订单" not in [e["text"] for e in previous["timeline"]]
    with Session(engine) as session:
        kinds = [d.kind for d in session.exec(select(CurationDecision)).all()]
    assert kinds == ["merge", "split"]
    assert ("split", matrix.person) in audit_actions(engine)
    assert ("split", created["customerId"]) in audit_actions(engine)
    # A customer's only record cannot be split off; unknown records are named.
    message = bad_input(admin, SPLIT, {"r": record_id}, "recordId")
    assert "only record" in message
    bad_input(admin, SPLIT, {"r": 987654}, "recordId")
    bad_input(admin, SPLIT, {"r": 0}, "recordId")
