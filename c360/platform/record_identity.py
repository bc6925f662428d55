"""Which stored source record a row is: its id, source, stream, the source's own
id, its kind and its status — the fields every listing of records (a customer's
linked records, the background report's sources, quarantine, the backlog)
reads and shows together, named once here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from c360.platform import tables as t

_SR = t.source_record

RECORD_IDENTITY_COLUMNS = (
    _SR.c.id,
    _SR.c.source_name,
    _SR.c.stream,
    _SR.c.external_id,
    _SR.c.kind,
    _SR.c.status,
)
"""The ``source_record`` columns :func:`identity_of` reads from a row."""


@dataclass(frozen=True, slots=True)
class RecordIdentity:
    """A stored record as its listings name it."""

    record_id: int
    source: str
    stream: str
    external_id: str
    kind: str
    status: str


def identity_of(row: Any) -> dict[str, Any]:
    """The :class:`RecordIdentity` fields of a row selected with
    :data:`RECORD_IDENTITY_COLUMNS`, as keyword arguments."""
    return {
        "record_id": row.id,
        "source": row.source_name,
        "stream": row.stream,
        "external_id": row.external_id,
        "kind": row.kind,
        "status": row.status,
    }


__all__ = ["RECORD_IDENTITY_COLUMNS", "RecordIdentity", "identity_of"]
