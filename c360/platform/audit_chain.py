"""Checking the audit chain (:mod:`c360.platform.audit`): :func:`verify` walks
it row by row under the audit key and reports every break, and an
:class:`Anchor` (the length and last hash, printed by ``c360 audit anchor`` and
kept somewhere else) makes a wiped or truncated log fail the check too, which the
``audit_head`` row alone cannot (whoever deletes rows can rewrite the head).
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from c360.platform.audit import AUDIT_HEAD, AUDIT_LOG, GENESIS, audit_key, entry_hash
from c360.platform.secret_keys import key_id

_ANCHOR = re.compile(r"(\d{1,18}):([0-9a-f]{64})")


@dataclass(frozen=True, slots=True)
class Anchor:
    """A point of the chain kept outside the database: after ``entries`` rows the
    chain's hash was ``last_hash``. Written ``<entries>:<last hash>``."""

    entries: int
    last_hash: str

    def __str__(self) -> str:
        return f"{self.entries}:{self.last_hash}"

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """An anchor from its text (as ``c360 audit anchor`` prints it), or
        :class:`ValueError` saying what is wrong."""
        match = _ANCHOR.fullmatch(text.strip().lower())
        if match is None:
            raise ValueError(
                "an anchor is <rows>:<64 hex digits>, as `c360 audit anchor` prints it"
            )
        entries, last_hash = int(match.group(1)), match.group(2)
        if entries == 0 and last_hash != GENESIS:
            raise ValueError(f"an anchor of 0 rows has the hash {GENESIS}")
        return cls(entries, last_hash)


@dataclass
class ChainReport:
    """What :func:`verify` found."""

    entries: int = 0
    problems: list[str] = field(default_factory=list)
    last_hash: str = GENESIS
    key_id: str = ""

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def anchor(self) -> Anchor:
        """The chain's end as an anchor to keep elsewhere."""
        return Anchor(self.entries, self.last_hash)


def verify(
    engine: Engine,
    *,
    expect: Anchor | None = None,
    key: bytes | None = None,
    max_problems: int = 50,
) -> ChainReport:
    """Walk the chain in id order and report every row whose content no longer
    matches its hash (edited, or forged without the key), whose link does not
    match the row before it (deleted, inserted or reordered rows), an end that
    does not match the head (rows deleted from the end), and, given an anchor
    ``expect``, a chain that does not hold the anchored row with the anchored
    hash at the anchored position (wiped, truncated, or rebuilt). Rows added
    after the anchored one are fine."""
    key = key if key is not None else audit_key()
    report = ChainReport(key_id=key_id(key))
    prev = GENESIS
    previous_id: int | None = None
    anchored: str | None = GENESIS if expect is not None and expect.entries == 0 else None
    columns = [
        AUDIT_LOG.c.id,
        AUDIT_LOG.c.at,
        AUDIT_LOG.c.principal,
        AUDIT_LOG.c.client,
        AUDIT_LOG.c.action,
        AUDIT_LOG.c.purpose,
        AUDIT_LOG.c.customer_id,
        AUDIT_LOG.c.fields,
        AUDIT_LOG.c.detail,
        AUDIT_LOG.c.prev_hash,
        AUDIT_LOG.c.hash,
    ]

    def problem(text: str) -> None:
        if len(report.problems) < max_problems:
            report.problems.append(text)

    with engine.connect() as conn:
        head = conn.execute(
            select(AUDIT_HEAD.c.last_hash, AUDIT_HEAD.c.entries, AUDIT_HEAD.c.key_id)
        ).first()
        if head is not None and head.key_id is not None and head.key_id != report.key_id:
            problem(
                f"the chain was written with audit key id {head.key_id}, but the key in use "
                f"has id {report.key_id}: set C360_AUDIT_KEY or restore keys/audit-key "
                "(or the head was edited)"
            )
        result = conn.execution_options(yield_per=2000).execute(
            select(*columns).order_by(AUDIT_LOG.c.id)
        )
        for row in result:
            report.entries += 1
            where = f"row {row.id}"
            if row.prev_hash != prev:
                after = f"row {previous_id}" if previous_id is not None else "the start"
                problem(
                    f"{where}: does not link to {after} (a row before it was deleted, "
                    "inserted or edited)"
                )
            expected = entry_hash(
                row.prev_hash,
                key=key,
                at=row.at,
                principal=row.principal,
                client=row.client,
                action=row.action,
                purpose=row.purpose,
                customer_id=row.customer_id,
                fields=list(row.fields or ()),
                detail=dict(row.detail or {}),
            )
            if not hmac.compare_digest(expected, row.hash):
                # Edited, or written by someone without the key: either way edited.
                problem(f"{where}: content does not match its hash (the row was edited)")
            if expect is not None and report.entries == expect.entries:
                anchored = row.hash
                if row.hash != expect.last_hash:
                    problem(
                        f"{where}, the chain's row {expect.entries:,}, has hash "
                        f"{row.hash[:12]}…, but the anchor says {expect.last_hash[:12]}… "
                        "(the log was rewritten or replaced since the anchor was taken)"
                    )
            prev = row.hash
            previous_id = row.id
    report.last_hash = prev
    if head is None:
        if report.entries:
            problem("the audit head is missing")
    elif head.last_hash != prev or head.entries != report.entries:
        problem(
            f"the chain ends after {report.entries} rows at {prev[:12]}…, but the head "
            f"says {head.entries} rows ending at {head.last_hash[:12]}… "
            "(rows were deleted from the end, or the head was edited)"
        )
    if expect is not None and anchored is None:
        problem(
            f"the anchor is at row {expect.entries:,}, but the chain has only "
            f"{report.entries:,} rows (the log was truncated or wiped since the anchor "
            "was taken)"
        )
    return report


__all__ = ["Anchor", "ChainReport", "verify"]
