"""Stewardship in one place: tags, notes, manual merge and split through
``c360.platform.stewardship``, each with its audit entry, one error type naming
the input at fault, and the same result from ``c360 split`` as from GraphQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from c360.cli.resolution import resolution_app
from c360.platform import tables as t
from c360.platform.audit_chain import verify
from c360.platform.customer_tags import CustomerTag, add_note, add_tag, remove_tag
from c360.platform.matching.tables import constraint, decision
from c360.platform.settings import get_settings
from c360.platform.sources import save_source
from c360.platform.stewardship import Actor, CurationError, merge, split
from c360.platform.tables import table_of
from tests.resolution_helpers import customer_of, ingest, org, person, record_id

STEWARD = Actor("steward@test", client="console", roles="admin", purpose="service")


@pytest.fixture
def sources(engine: Engine) -> Engine:
    for name, trust in (("web", 40), ("pos", 80)):
        save_source(engine, name, "offline", {}, trust=trust)
    return engine


def audit(engine: Engine) -> list[tuple[str, int | None, dict[str, object]]]:
    al = t.audit_log
    with engine.connect() as conn:
        return [
            (row.action, row.customer_id, dict(row.detail or {}))
            for row in conn.execute(
                select(al.c.action, al.c.customer_id, al.c.detail).order_by(al.c.id)
            )
        ]


def tags(engine: Engine) -> set[tuple[int, str]]:
    tag = table_of(CustomerTag)
    with engine.connect() as conn:
        return {(int(c), str(v)) for c, v in conn.execute(select(tag.c.customer_id, tag.c.tag))}


def test_tags_and_notes_follow_merges_and_are_audited_by_id(sources: Engine) -> None:
    engine = sources
    ingest(engine, "web", [person("a", name="欧阳明"), person("b", name="司马青")])
    a, b = customer_of(engine, "web", "a"), customer_of(engine, "web", "b")
    assert add_tag(engine, b, "vip", STEWARD)
    assert not add_tag(engine, b, "vip", STEWARD)  # already there: nothing written
    merge(engine, a, b, STEWARD)
    # a tag given to the merged id lands on the customer it means now
    assert add_tag(engine, b, "家属", STEWARD)
    assert tags(engine) == {(b, "vip"), (a, "家属")}
    note = add_note(engine, b, "prefers e-mail", STEWARD)
    # removing from the survivor removes it from the customers merged into it too
    assert remove_tag(engine, a, "VIP", STEWARD)
    assert not remove_tag(engine, a, "vip", STEWARD)
    assert tags(engine) == {(a, "家属")}
    entries = audit(engine)
    assert [(action, cid) for action, cid, _ in entries] == [
        ("tag", b),
        ("merge", a),
        ("tag", a),
        ("note", a),
        ("untag", a),
    ]
    assert entries[3][2] == {"roles": "admin", "note_id": note}
    assert set(entries[0][2]) == {"roles", "tag_id"}  # the id, never the text
    assert all("vip" not in str(detail) for _, _, detail in entries)
    assert verify(engine).intact
    with pytest.raises(CurationError) as unknown:
        add_tag(engine, 987654, "vip", STEWARD)
    assert unknown.value.argument == "customer"


def test_every_refusal_names_the_input_at_fault(sources: Engine) -> None:
    engine = sources
    ingest(engine, "web", [person("a", name="欧阳明"), person("b", name="司马青")])
    ingest(engine, "web", [org("o", name="杭州青山贸易有限公司")])
    a, b = customer_of(engine, "web", "a"), customer_of(engine, "web", "b")
    company = customer_of(engine, "web", "o", "orgs")

    def refused(call: object, *args: object, **kwargs: object) -> tuple[str, str]:
        with pytest.raises(CurationError) as caught:
            call(engine, *args, STEWARD, **kwargs)  # type: ignore[operator]
        return caught.value.argument, caught.value.reason

    assert refused(merge, a, a) == ("absorbed", f"customers {a} and {a} are already one")
    assert refused(merge, a, company)[0] == "absorbed"
    assert "not mergeable" in refused(merge, a, company)[1]
    assert refused(merge, 987654, a) == ("survivor", "customer 987654 does not exist")
    assert refused(merge, a, 987654) == ("absorbed", "customer 987654 does not exist")
    assert refused(merge, a, b, survivor=company)[0] == "survivor"
    assert refused(split, 987654)[0] == "record"
    assert "only record" in refused(split, record_id(engine, "web", "a"))[1]
    # nothing was written by any of them
    with engine.connect() as conn:
        assert conn.execute(select(decision)).first() is None
    assert audit(engine) == []


def test_c360_split_writes_what_the_graphql_split_writes(
    sources: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decision, its cannot-link constraint, and an audit entry on each of
    the two customers, from the command as from the mutation (one function)."""
    engine = sources
    ingest(engine, "web", [person("a", name="张伟", email="zw@example.com")])
    ingest(engine, "pos", [person("b", name="张伟", email="zw@example.com")])
    first = customer_of(engine, "web", "a")
    rid = record_id(engine, "pos", "b")
    monkeypatch.setenv("C360_DATABASE_URL", db_url)
    monkeypatch.setenv("C360_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            resolution_app, ["split", str(rid), "--by", "steward@test", "--reason", "two people"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    created = customer_of(engine, "pos", "b")
    assert created != first
    with engine.connect() as conn:
        [made] = conn.execute(select(decision)).all()
        kinds = [row.kind for row in conn.execute(select(constraint))]
    assert (made.kind, made.customer_id, made.other_customer_id, made.record_id) == (
        "split",
        created,
        first,
        rid,
    )
    assert (made.decided_by, made.reason) == ("steward@test", "two people")
    assert kinds == ["cannot_link"]
    assert [(action, cid) for action, cid, _ in audit(engine)] == [
        ("split", first),
        ("split", created),
    ]
