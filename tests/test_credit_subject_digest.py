"""The credit subject digest is an HMAC under a key outside the database, and
migration 0006 re-keys the plain SHA-256 digests earlier versions stored: from
the USCC (organizations), from the linked customer's resident id when it
reproduces the old digest (people), else with a keyed stand-in that leaves
nothing to brute-force."""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from c360.connectors.credit.enrich import enrich_customer, lookup
from c360.connectors.credit.ledger import LEDGER
from c360.connectors.credit.legal_bases import record_legal_basis
from c360.connectors.credit.results import RESULTS
from c360.connectors.credit.subjects import masked, subject_hash
from c360.platform import tables as t
from c360.platform.db import migrate
from c360.platform.models import utcnow
from c360.platform.secret_keys import SUBJECT_KEY, forget_cached_keys, load_key
from c360.platform.sources import save_source
from tests.helpers import credit_code, resident_id

ZHANG = resident_id("110101", "19900307", "123")
GONE = resident_id("310101", "19851120", "456")
ACME = credit_code("91110108MA01ABCDE")


def old_digest(kind: str, subject_id: str) -> str:
    """What versions before 0006 stored: a plain SHA-256 with a fixed prefix."""
    return hashlib.sha256(f"c360-credit-subject:{kind}:{subject_id}".encode()).hexdigest()


def test_the_digest_is_keyed() -> None:
    one, two = os.urandom(32), os.urandom(32)
    digest = subject_hash("person", ZHANG, key=one)
    assert digest == subject_hash("person", ZHANG, key=one)
    assert digest != subject_hash("person", ZHANG, key=two)
    assert digest != old_digest("person", ZHANG)
    # Without the key, knowing the id's structure gets nowhere: the digest is not
    # the plain one any candidate would be checked against.
    assert subject_hash("person", ZHANG) != old_digest("person", ZHANG)
    assert subject_hash("person", ZHANG) == subject_hash("person", ZHANG, key=load_key(SUBJECT_KEY))


def test_the_key_comes_from_its_own_file_when_no_variable_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from c360.platform.settings import get_settings

    monkeypatch.delenv("C360_SUBJECT_KEY", raising=False)
    monkeypatch.setenv("C360_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    forget_cached_keys()
    try:
        digest = subject_hash("person", ZHANG)
        key = bytes.fromhex((tmp_path / "keys" / "credit-subject-key").read_text().strip())
        assert digest == subject_hash("person", ZHANG, key=key)
        assert not (tmp_path / "keys" / "audit-key").exists()  # a key of its own
    finally:
        get_settings.cache_clear()
        forget_cached_keys()


def customer(conn: Any, kind: str, **attributes: str) -> int:
    cid = conn.execute(
        insert(t.customer)
        .values(kind=kind, created_at=utcnow(), updated_at=utcnow())
        .returning(t.customer.c.id)
    ).scalar_one()
    conn.execute(
        insert(t.golden_profile).values(
            customer_id=cid,
            updated_at=utcnow(),
            conflicting=False,
            attributes={k: {"value": v} for k, v in attributes.items()},
        )
    )
    return int(cid)


def old_result(conn: Any, kind: str, subject: str, customer_id: int | None) -> int:
    """A cached answer and its ledger row, as an earlier version stored them."""
    now = utcnow()
    result_id = conn.execute(
        insert(RESULTS)
        .values(
            source_name="bureau",
            provider="demo-bureau",
            customer_id=customer_id,
            subject_kind=kind,
            subject_hash=old_digest(kind, subject),
            subject_ref=masked(kind, subject),
            purpose="credit_assessment",
            found=True,
            score=712,
            retrieved_at=now,
            expires_at=now + timedelta(days=30),
        )
        .returning(RESULTS.c.id)
    ).scalar_one()
    conn.execute(
        insert(LEDGER).values(
            source_name="bureau",
            day="2026-12-01",
            at=now,
            actor="someone",
            customer_id=customer_id,
            subject_kind=kind,
            subject_hash=old_digest(kind, subject),
            purpose="credit_assessment",
            outcome="charged",
            cost=5.0,
            result_id=result_id,
        )
    )
    return int(result_id)


def digests(engine: Engine) -> dict[int, tuple[str, str]]:
    """result id -> (its digest, its ledger row's digest)."""
    with engine.connect() as conn:
        ledger = dict(conn.execute(select(LEDGER.c.result_id, LEDGER.c.subject_hash)).all())
        return {
            row.id: (row.subject_hash, ledger[row.id])
            for row in conn.execute(select(RESULTS.c.id, RESULTS.c.subject_hash))
        }


def test_migration_rekeys_stored_digests(at_0005: Engine) -> None:
    # Nothing listens on port 9: a lookup that misses the cache cannot succeed,
    # so one that succeeds was answered from the migrated rows.
    save_source(
        at_0005,
        "bureau",
        "credit",
        {"base_url": "http://127.0.0.1:9", "http": {"max_attempts": 1}},
    )
    with at_0005.begin() as conn:
        zhang = customer(conn, "person", name="张伟", id_number=ZHANG)
        erased = customer(conn, "person", name="某人")  # the id number is no longer held
        acme = customer(conn, "organization", name="Acme", uscc=ACME)
        person_row = old_result(conn, "person", ZHANG, zhang)
        gone_row = old_result(conn, "person", GONE, erased)
        org_row = old_result(conn, "organization", ACME, acme)
    old = digests(at_0005)

    migrate(at_0005)
    new = digests(at_0005)
    key = load_key(SUBJECT_KEY)
    assert new[person_row] == (subject_hash("person", ZHANG, key=key),) * 2
    assert new[org_row] == (subject_hash("organization", ACME, key=key),) * 2
    # Unrecoverable: a keyed stand-in, the same in the cache and the ledger, and
    # neither the old digest nor anything a lookup computes.
    stand_in = hmac.new(
        key, f"c360-credit-subject-unrecovered:{old[gone_row][0]}".encode(), hashlib.sha256
    ).hexdigest()
    assert new[gone_row] == (stand_in, stand_in)
    every = {d for pair in new.values() for d in pair}
    assert not every & {d for pair in old.values() for d in pair}
    with at_0005.connect() as conn:
        refs = set(conn.execute(select(RESULTS.c.subject_ref)).scalars())
    assert masked("person", GONE) in refs and GONE not in refs  # masked text kept

    # The migrated rows answer lookups from the cache.
    record_legal_basis(
        at_0005,
        zhang,
        purpose="credit_assessment",
        basis="consent",
        evidence="form 7",
        recorded_by="test",
    )
    outcome = enrich_customer(at_0005, zhang, purpose="credit_assessment", actor="test")
    assert (outcome.outcome, outcome.result["id"]) == ("cached", person_row)
    outcome = lookup(at_0005, "organization", ACME, purpose="credit_assessment", actor="test")
    assert (outcome.outcome, outcome.result["id"]) == ("cached", org_row)
