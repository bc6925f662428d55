"""The refresher's check and score rows as stored: built per customer as plain
tuples and written with one ``executemany`` per table.

On SQLite the tuples already hold what the driver stores (JSON as text through
orjson, which writes a :class:`~.checks.Check` or
:class:`~.consistency.Comparison` dataclass exactly as its ``as_dict``; moments
in SQLAlchemy's own SQLite text format, so reads through the models are
unchanged): no per-row dicts, no per-value conversion pass, and rows of atomic
values that the garbage collector stops tracking at once. Other databases get
SQLAlchemy Core's multi-row insert of the same values as Python objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Table, insert

from c360.platform.bulk import sqlite_datetime
from c360.platform.verification.checks import CheckedValue
from c360.platform.verification.consistency import Comparison
from c360.platform.verification.models import authenticity_score, verification_check
from c360.platform.verification.score import Authenticity

CHECK_COLUMNS = ("customer_id", "attribute", "outcome", "checks", "facts", "checked_at")
SCORE_COLUMNS = (
    "customer_id",
    "score",
    "band",
    "policy_version",
    "reasons",
    "flags",
    "consistency",
    "address_digest",
    "computed_at",
)


def _text(value: Any) -> str:
    """JSON as :func:`c360.platform.db.dump_json` writes it (dataclasses as objects)."""
    return orjson.dumps(value, default=str).decode("utf-8")


class RefreshRows:
    """The check and score rows of one refresh, then :meth:`write`."""

    def __init__(self, conn: Connection, now: datetime) -> None:
        self.sqlite = conn.dialect.name == "sqlite"
        self.stamp: Any = sqlite_datetime(now) if self.sqlite else now
        self.checks: list[tuple[Any, ...]] = []
        self.scores: list[tuple[Any, ...]] = []

    def add_checks(self, customer_id: int, checks: Mapping[str, CheckedValue]) -> None:
        for attribute, value in checks.items():
            if self.sqlite:
                stored: tuple[Any, Any] = (_text(value.checks), _text(value.facts))
            else:
                stored = ([c.as_dict() for c in value.checks], value.facts)
            self.checks.append((customer_id, attribute, value.outcome, *stored, self.stamp))

    def add_score(
        self,
        customer_id: int,
        judged: Authenticity,
        policy_version: str,
        comparisons: Sequence[Comparison],
        address_digest: str | None,
    ) -> None:
        if self.sqlite:
            documents: tuple[Any, Any, Any] = (
                _text(judged.reasons),
                _text(judged.flags),
                _text(comparisons),
            )
        else:
            documents = (judged.reasons, judged.flags, [c.as_dict() for c in comparisons])
        self.scores.append(
            (
                customer_id,
                judged.score,
                judged.band,
                policy_version,
                *documents,
                address_digest,
                self.stamp,
            )
        )

    def write(self, conn: Connection) -> None:
        _insert(conn, verification_check, CHECK_COLUMNS, self.checks, self.sqlite)
        _insert(conn, authenticity_score, SCORE_COLUMNS, self.scores, self.sqlite)


def _insert(
    conn: Connection,
    table: Table,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    sqlite: bool,
) -> None:
    if not rows:
        return
    if sqlite:
        marks = ", ".join("?" for _ in columns)
        sql = f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({marks})'
        conn.exec_driver_sql(sql, rows)
    else:
        conn.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
