"""The audit chain is keyed: a row edited and the chain recomputed without the
key does not verify; an anchor kept elsewhere catches a wiped, truncated or
rebuilt log; the key lives outside the database (an environment variable, or a
0600 file in the data dir's key store); migration 0006 re-chains an old
unkeyed log only if it verifies; and every CLI read of personal data
(``c360 explain``, ``c360 search``) is on the log as ``cli:<os user>``."""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, text
from typer.testing import Result

from c360.platform.audit import (
    AUDIT_LOG,
    GENESIS,
    AuditEntry,
    AuditUnavailable,
    append_now,
    audit_key,
    entry_hash,
)
from c360.platform.audit_chain import Anchor, verify
from c360.platform.db import make_engine, migrate
from c360.platform.secret_keys import (
    AUDIT_KEY,
    SecretKeyError,
    forget_cached_keys,
    key_id,
    load_key,
)
from c360.platform.settings import get_settings
from c360.platform.sources import save_source
from c360.search.embedded import EmbeddedSearch
from c360.search.indexer import Indexer
from tests.cli_helpers import InProcessCli, in_process_env
from tests.search_helpers import customer_of, ingest, person


def fill(engine: Engine, n: int = 6, start: int = 0) -> None:
    append_now(
        engine,
        [
            AuditEntry(principal=f"p{i}", action="read", customer_id=i, fields=["phone"])
            for i in range(start, start + n)
        ],
    )


def chain(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT * FROM audit_log ORDER BY id")).mappings())


def as_json(value: Any) -> Any:
    """A JSON column as read with plain SQL: text on SQLite, parsed on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


def plain_hash(prev: str, row: Any) -> str:
    """The unkeyed SHA-256 of earlier versions (what an attacker can recompute)."""
    at = row["at"]
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    fields, detail = as_json(row["fields"]), as_json(row["detail"])
    content = json.dumps(
        [
            prev,
            at.astimezone(UTC).isoformat(timespec="microseconds"),
            row["principal"],
            row["client"],
            row["action"],
            row["purpose"],
            row["customer_id"],
            fields,
            detail,
        ],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(content.encode()).hexdigest()


def rewrite_chain(engine: Engine, digest: Any) -> None:
    """Recompute every row's link and hash and the head with ``digest``, as
    someone with write access to the database would after editing a row."""
    prev = GENESIS
    rows = chain(engine)
    with engine.begin() as conn:
        for row in rows:
            new = digest(prev, row)
            conn.execute(
                text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE id = :id"),
                {"p": prev, "h": new, "id": row["id"]},
            )
            prev = new
        conn.execute(
            text("UPDATE audit_head SET last_hash = :h, entries = :n"), {"h": prev, "n": len(rows)}
        )


def test_an_edited_row_with_the_whole_chain_recomputed_does_not_verify(engine: Engine) -> None:
    fill(engine)
    third = chain(engine)[2]["id"]
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET principal = 'nobody' WHERE id = :id"), {"id": third}
        )
    # Recomputed as the chain used to be computed (plain SHA-256): every link and
    # the head agree, and yet every row's content fails its keyed hash.
    rewrite_chain(engine, plain_hash)
    report = verify(engine)
    assert not report.intact
    assert f"row {third}: content does not match its hash (the row was edited)" in report.problems
    # Recomputed with a key of the attacker's own: no better.
    other_key = os.urandom(32)

    def keyed_by_attacker(prev: str, row: Any) -> str:
        return entry_hash(
            prev,
            key=other_key,
            at=row["at"] if not isinstance(row["at"], str) else datetime.fromisoformat(row["at"]),
            principal=row["principal"],
            client=row["client"],
            action=row["action"],
            purpose=row["purpose"],
            customer_id=row["customer_id"],
            fields=as_json(row["fields"]),
            detail=as_json(row["detail"]),
        )

    rewrite_chain(engine, keyed_by_attacker)
    assert len(verify(engine).problems) == 6


def test_a_chain_written_with_another_key_is_neither_appended_to_nor_verified(
    engine: Engine,
) -> None:
    fill(engine, 2)
    stranger = os.urandom(32)
    with pytest.raises(AuditUnavailable, match=f"has id {key_id(stranger)}"):
        append_now(engine, [AuditEntry(principal="x", action="read")], key=stranger)
    report = verify(engine, key=stranger)
    assert report.problems[0].startswith(
        f"the chain was written with audit key id {key_id(audit_key())}"
    )
    assert verify(engine).intact and verify(engine).entries == 2


def test_an_anchor_catches_truncation_and_a_rebuilt_log(engine: Engine) -> None:
    fill(engine, 6)
    anchor = verify(engine).anchor
    fill(engine, 2, start=6)  # rows after the anchored one are fine
    assert verify(engine, expect=anchor).intact
    assert Anchor.parse(str(anchor)) == anchor

    # Truncated to 4 rows, the head moved back: the chain itself is consistent
    # (no anchor can tell), but the anchored 6th row is gone.
    rows = chain(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id > :id"), {"id": rows[3]["id"]})
        conn.execute(
            text("UPDATE audit_head SET last_hash = :h, entries = 4"), {"h": rows[3]["hash"]}
        )
    assert verify(engine).intact
    [problem] = verify(engine, expect=anchor).problems
    assert "the anchor is at row 6, but the chain has only 4 rows" in problem

    # Wiped and written again from scratch, even with the real key: 8 rows again,
    # but the 6th is not the anchored one.
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
        conn.execute(text("UPDATE audit_head SET last_hash = :g, entries = 0"), {"g": GENESIS})
    fill(engine, 8)
    assert verify(engine).intact
    [problem] = verify(engine, expect=anchor).problems
    assert "the chain's row 6, has hash" in problem and "rewritten or replaced" in problem


def c360(env: dict[str, str], *args: str) -> Result:
    """``c360 args`` in this process, as a ``c360`` process with environment ``env``
    would run them (the commands' answers are under test, not a process start)."""
    done = InProcessCli()(list(args), **in_process_env(env))
    if done.exception is not None and not isinstance(done.exception, SystemExit):
        raise done.exception  # a crash, not an answer (exit code 1 like a deliberate one)
    return done


@pytest.fixture
def cli_env(tmp_path: Path) -> Iterator[tuple[Engine, dict[str, str]]]:
    """An SQLite database in a data dir, and the environment of a `c360` process
    using it (with the session's audit key)."""
    url = f"sqlite:///{tmp_path / 'c360.db'}"
    engine = make_engine(url)
    migrate(engine)
    env = dict(os.environ, C360_DATABASE_URL=url, C360_DATA_DIR=str(tmp_path))
    env.pop("C360_SEARCH_DIR", None)
    env["C360_SEARCH_BACKEND"] = "embedded"
    yield engine, env
    engine.dispose()


def test_audit_anchor_and_verify_expect_commands(cli_env: tuple[Engine, dict[str, str]]) -> None:
    engine, env = cli_env
    fill(engine, 3)
    anchored = c360(env, "audit", "anchor")
    assert anchored.exit_code == 0, anchored.stderr
    anchor = anchored.stdout.strip()
    assert anchor == f"3:{chain(engine)[-1]['hash']}"
    fill(engine, 1, start=3)
    ok = c360(env, "audit", "verify", "--expect", anchor)
    assert ok.exit_code == 0, ok.stderr
    assert "audit log intact: 4 entries" in ok.stdout and "holds the anchor 3:" in ok.stdout

    with engine.begin() as conn:  # wiped, head and all
        conn.execute(text("DELETE FROM audit_log"))
        conn.execute(text("DELETE FROM audit_head"))
    wiped = c360(env, "audit", "verify", "--expect", anchor)
    assert wiped.exit_code == 1
    assert "the anchor is at row 3, but the chain has only 0 rows" in wiped.stderr

    bad = c360(env, "audit", "verify", "--expect", "3:not-a-hash")
    assert bad.exit_code == 2 and "--expect" in bad.stderr and "64 hex digits" in bad.stderr


def test_a_bad_audit_key_in_the_environment_is_named_not_shown(
    cli_env: tuple[Engine, dict[str, str]],
) -> None:
    _, env = cli_env
    bad = c360({**env, "C360_AUDIT_KEY": "s3cr3t-but-short"}, "audit", "verify")
    assert bad.exit_code == 2
    assert "C360_AUDIT_KEY" in bad.stderr and "s3cr3t" not in bad.stderr + bad.stdout


def test_the_key_file_is_made_private_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("C360_AUDIT_KEY", raising=False)
    monkeypatch.setenv("C360_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    forget_cached_keys()
    try:
        key = audit_key()
        path = tmp_path / "data" / "keys" / "audit-key"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert len(key) == 32 and bytes.fromhex(path.read_text().strip()) == key
        forget_cached_keys()
        assert audit_key() == key  # read back, not generated again

        # The digest depends on the key.
        common: dict[str, Any] = {
            "at": datetime(2026, 1, 1, tzinfo=UTC),
            "principal": "p",
            "client": None,
            "action": "read",
            "purpose": None,
            "customer_id": 1,
            "fields": ["phone"],
            "detail": {},
        }
        assert entry_hash(GENESIS, key=key, **common) != entry_hash(
            GENESIS, key=os.urandom(32), **common
        )

        # A key from the environment wins over the file: hex or base64, 32+ bytes.
        monkeypatch.setenv("C360_AUDIT_KEY", "ab" * 32)
        assert audit_key() == bytes.fromhex("ab" * 32)
        monkeypatch.setenv("C360_AUDIT_KEY", "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=")
        assert len(audit_key()) == 32
        monkeypatch.setenv("C360_AUDIT_KEY", "ab" * 16)
        with pytest.raises(SecretKeyError, match="C360_AUDIT_KEY holds 16 bytes"):
            audit_key()
        monkeypatch.delenv("C360_AUDIT_KEY")
        with pytest.raises(SecretKeyError, match="no key in"):
            load_key(AUDIT_KEY, data_dir=tmp_path / "elsewhere", create=False)
    finally:
        get_settings.cache_clear()
        forget_cached_keys()


# --- migration 0006 -------------------------------------------------------------------


def write_old_chain(engine: Engine, n: int) -> str:
    """``n`` rows chained as earlier versions chained them; returns the last hash."""
    prev = GENESIS
    with engine.begin() as conn:
        for i in range(n):
            row = {
                "at": datetime(2026, 1, 1, 9, i, tzinfo=UTC),
                "principal": f"agent-{i}",
                "client": "desk",
                "action": "read",
                "purpose": "回访",
                "customer_id": i,
                "fields": ["name", "phone"],
                "detail": {"roles": "agent"},
            }
            digest = plain_hash(prev, row)
            conn.execute(insert(AUDIT_LOG).values(**row, prev_hash=prev, hash=digest))
            prev = digest
        conn.execute(
            text("UPDATE audit_head SET last_hash = :h, entries = :n"), {"h": prev, "n": n}
        )
    return prev


def test_migration_rechains_an_intact_old_chain_under_the_key(at_0005: Engine) -> None:
    old_last = write_old_chain(at_0005, 4)
    migrate(at_0005)
    report = verify(at_0005)
    assert report.intact, report.problems
    assert report.entries == 5
    rows = chain(at_0005)
    assert [r["principal"] for r in rows[:4]] == [f"agent-{i}" for i in range(4)]
    record = rows[-1]
    assert record["action"] == "audit.rechain" and record["principal"] == "c360-migration"
    detail = (
        record["detail"] if isinstance(record["detail"], dict) else json.loads(record["detail"])
    )
    assert detail == {"rows": 4, "old_last_hash": old_last, "old_chain_intact": True}
    fill(at_0005, 1)  # and the chain goes on
    assert verify(at_0005).intact


def test_migration_refuses_to_rechain_a_damaged_old_chain(
    at_0005: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_old_chain(at_0005, 3)
    with at_0005.begin() as conn:
        conn.execute(text("UPDATE audit_log SET principal = 'edited' WHERE customer_id = 1"))
    with pytest.raises(RuntimeError, match="does not verify under its old rules"):
        migrate(at_0005)
    with at_0005.connect() as conn:  # nothing changed: still at 0005, still damaged
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0005"
    monkeypatch.setenv("C360_AUDIT_RECHAIN_DAMAGED", "1")
    migrate(at_0005)
    assert verify(at_0005).intact
    record = chain(at_0005)[-1]
    detail = (
        record["detail"] if isinstance(record["detail"], dict) else json.loads(record["detail"])
    )
    assert detail["old_chain_intact"] is False
    assert any("content does not match" in p for p in detail["old_chain_problems"])


# --- CLI reads --------------------------------------------------------------------------


def test_explain_and_search_are_on_the_audit_log(cli_env: tuple[Engine, dict[str, str]]) -> None:
    engine, env = cli_env
    save_source(engine, "crm", "offline", {}, trust=60)
    save_source(engine, "shop", "offline", {}, trust=50)
    ingest(engine, "crm", [person("a", name="张伟", phone="13800138000", email="zw@qq.com")])
    ingest(engine, "shop", [person("b", name="张伟", phone="13800138000", email="zw@qq.com")])
    cid = customer_of(engine, "crm", "a")
    with EmbeddedSearch(Path(env["C360_DATA_DIR"]) / "search") as index:
        Indexer(engine, index).drain()
    user = f"cli:{getpass.getuser()}"

    refused = c360(env, "explain", str(cid))
    assert refused.exit_code == 2 and "--purpose" in refused.stderr
    assert chain(engine) == []

    shown = c360(env, "explain", str(cid), "--purpose", "service")
    assert shown.exit_code == 0, shown.stderr
    found = c360(env, "search", "8000", "--purpose", "service")
    assert found.exit_code == 0, found.stderr
    assert "138****8000" in found.stdout

    read, search = chain(engine)
    assert (read["principal"], read["action"], read["purpose"], read["customer_id"]) == (
        user,
        "read",
        "service",
        cid,
    )
    assert (search["principal"], search["action"], search["purpose"]) == (
        user,
        "search",
        "service",
    )
    fields = (
        search["fields"] if isinstance(search["fields"], list) else json.loads(search["fields"])
    )
    assert fields == ["search.phone"]
    assert str(cid) in str(search["detail"])
    logged = json.dumps(
        [[r["principal"], r["purpose"], r["fields"], r["detail"]] for r in chain(engine)],
        default=str,
        ensure_ascii=False,
    )
    for value in ("13800138000", "8000", "zw@qq.com", "张伟"):
        assert value not in logged
    assert c360(env, "audit", "verify").exit_code == 0
