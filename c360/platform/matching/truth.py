"""Truth files: a user's own ground truth (which records are one entity), read and
matched to the stored records so that ``c360 resolve --evaluate TRUTH.csv`` can
score any database.

A truth file is CSV (UTF-8, with a header) with the columns ``external_id`` and
``entity_id`` and, optionally, ``source`` and ``stream``: a row says the record
with that external id (in that source and stream, when given) belongs to that
entity. Rows without ``source`` / ``stream`` match the one stored record with
that external id; an external id that several records share is then
*ambiguous* and left out (add the columns), one no record has is *unknown*.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, select

from c360.platform import tables as t
from c360.platform.sql import chunks

REQUIRED = ("external_id", "entity_id")
OPTIONAL = ("source", "stream")


class TruthFileError(ValueError):
    """A truth file that cannot be read; the message names the line and column."""


@dataclass(slots=True)
class Truth:
    """The truth rows matched to stored records."""

    entities: dict[tuple[str, str, str], str] = field(default_factory=dict)
    """``(source, stream, external_id) -> entity`` of every row that names one record."""
    unknown: int = 0
    ambiguous: int = 0


Key = tuple[str | None, str | None, str]


def read_truth(path: Path) -> dict[Key, str]:
    """``(source or None, stream or None, external_id) -> entity`` from a truth file."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise TruthFileError(f"{path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise TruthFileError(f"{path}: not UTF-8 (byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = set(reader.fieldnames or ())
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise TruthFileError(
            f"{path}: missing column {', '.join(missing)} (a truth file has "
            "external_id and entity_id, and optionally source and stream)"
        )
    found: dict[Key, str] = {}
    for line, row in enumerate(reader, start=2):
        ext, entity = (row.get("external_id") or "").strip(), (row.get("entity_id") or "")
        if not ext or not entity.strip():
            name = "external_id" if not ext else "entity_id"
            raise TruthFileError(f"{path}: line {line}: {name} is empty")
        key = (
            (row.get("source") or "").strip() or None,
            (row.get("stream") or "").strip() or None,
            ext,
        )
        if found.get(key, entity.strip()) != entity.strip():
            raise TruthFileError(f"{path}: line {line}: external_id {ext!r} is given two entities")
        found[key] = entity.strip()
    return found


def match_truth(conn: Connection, rows: Mapping[Key, str]) -> Truth:
    """The truth rows matched to the stored records (see the module docstring)."""
    sr = t.source_record
    stored: dict[str, list[tuple[str, str]]] = {}
    for chunk in chunks(sorted({ext for _, _, ext in rows})):
        for source, stream, ext in conn.execute(
            select(sr.c.source_name, sr.c.stream, sr.c.external_id).where(
                sr.c.external_id.in_(chunk)
            )
        ):
            stored.setdefault(ext, []).append((source, stream))
    truth = Truth()
    for (source, stream, ext), entity in rows.items():
        hits = [
            (s, st) for s, st in stored.get(ext, []) if source in (None, s) and stream in (None, st)
        ]
        if not hits:
            truth.unknown += 1
        elif len(hits) > 1:
            truth.ambiguous += 1
        else:
            truth.entities[(hits[0][0], hits[0][1], ext)] = entity
    return truth


__all__ = ["Truth", "TruthFileError", "match_truth", "read_truth"]
