"""Normalized attributes sealed value by value at rest (GB/T 35273-2020 §6.3).

A record's normalized attributes and a customer's golden profile are JSON
documents that SQL still reads by path (the customer list filters on the golden
``province`` and ``city``), so they are not sealed whole as a payload is: with
field encryption on (:mod:`c360.platform.field_encryption`), the value of each
*sensitive* attribute (:data:`SEALED_ATTRIBUTES`: resident id, phone, e-mail,
address, bank card, an event's free text) is sealed on its own, under the key of
its table and attribute (``source_record.attributes.phone``), and everything
else stays as it was. In a golden profile that is the surviving value and every
lineage entry's value; verified flags, sources and record ids stay clear.

Exact-match lookups never read these values: identity keys and blocking keys are
keyed blind indexes (:func:`c360.platform.field_encryption.blind_index`).
Readers through the column types see clear values; a reader of raw SQL opens a
document with :func:`open_any_stored`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson
from sqlalchemy import JSON, Dialect
from sqlalchemy.types import TypeDecorator

from c360.platform.field_encryption import (
    SealedAtRest,
    current_master,
    enabled,
    is_sealed,
    master_keys,
    open_sealed,
    open_stored,
    seal,
    sealed_key_id,
)

SEALED_ATTRIBUTES = frozenset({"id_number", "phone", "email", "address", "bank_card", "text"})
"""The attributes sealed at rest: the sensitive personal information GB/T 35273
names (identity document, contact details, address, bank card) and free text,
which may hold any of them."""


Step = Callable[[str, Any], Any]


def _sealer() -> Step:
    """Seals the values of one document. A value repeated in it (a golden
    profile's value is also its chosen lineage entry's) is sealed once: the
    document says they are equal anyway."""
    master = current_master()  # once per document: it is looked up per call otherwise
    done: dict[tuple[str, bytes], str] = {}

    def step(context: str, value: Any) -> Any:
        if value is None or is_sealed(value):
            return value
        plain = orjson.dumps(value)
        sealed = done.get((context, plain))
        if sealed is None:
            sealed = done[(context, plain)] = seal(context, plain, master=master)
        return sealed

    return step


def _opener() -> Step:
    masters = master_keys()
    done: dict[str, Any] = {}

    def step(context: str, value: Any) -> Any:
        if not is_sealed(value):
            return value
        if value not in done:
            done[value] = orjson.loads(open_sealed(context, value, masters=masters))
        return done[value]

    return step


def _map_flat(context: str, attributes: Mapping[str, Any], step: Step) -> dict[str, Any]:
    out = dict(attributes)
    for name in SEALED_ATTRIBUTES.intersection(out):
        out[name] = step(f"{context}.{name}", out[name])
    return out


def seal_attributes(context: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
    """A flat ``{name: value}`` document with its sensitive values sealed."""
    return _map_flat(context, attributes, _sealer())


def open_attributes(context: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
    """A flat document as :func:`seal_attributes` stored it, opened."""
    return _map_flat(context, attributes, _opener())


def _map_golden(context: str, golden: Mapping[str, Any], step: Step) -> dict[str, Any]:
    out = dict(golden)
    for name in SEALED_ATTRIBUTES.intersection(out):
        item = out[name]
        if not isinstance(item, dict):
            continue
        where = f"{context}.{name}"
        changed = dict(item)
        changed["value"] = step(where, item.get("value"))
        lineage = item.get("lineage")
        if isinstance(lineage, list):
            changed["lineage"] = [
                {**entry, "value": step(where, entry.get("value"))}
                if isinstance(entry, dict)
                else entry
                for entry in lineage
            ]
        out[name] = changed
    return out


def seal_golden(context: str, golden: Mapping[str, Any]) -> dict[str, Any]:
    """A golden profile (``{name: {value, …, lineage}}``) with its sensitive values sealed."""
    return _map_golden(context, golden, _sealer())


def open_golden(context: str, golden: Mapping[str, Any]) -> dict[str, Any]:
    """A golden profile as :func:`seal_golden` stored it, opened."""
    return _map_golden(context, golden, _opener())


def _has_sealed_values(document: Mapping[str, Any], golden: bool) -> bool:
    for name in SEALED_ATTRIBUTES.intersection(document):
        item = document[name]
        if is_sealed(item.get("value") if golden and isinstance(item, dict) else item):
            return True
    return False


def _stored_values(document: Mapping[str, Any], golden: bool) -> list[Any]:
    """The sensitive values of a document as stored (lineage values included)."""
    found: list[Any] = []
    for name in SEALED_ATTRIBUTES.intersection(document):
        item = document[name]
        if not golden:
            found.append(item)
        elif isinstance(item, dict):
            found.append(item.get("value"))
            found += [e.get("value") for e in item.get("lineage") or () if isinstance(e, dict)]
    return [v for v in found if v is not None]


class SealedAttributes(SealedAtRest, TypeDecorator[Any]):
    """A JSON document of attributes whose sensitive values are sealed at rest
    when encryption is on: flat (``{name: value}``) or, with ``golden``, a
    golden profile. Values written while it was off read as they are."""

    impl = JSON
    cache_ok = True

    def __init__(self, context: str, *, golden: bool = False) -> None:
        super().__init__()
        self.context = context
        self.golden = golden

    def needs_reseal(self, stored: Any, current: str) -> bool:
        if not isinstance(stored, dict):
            return False
        return any(
            not is_sealed(v) or sealed_key_id(v) != current
            for v in _stored_values(stored, self.golden)
        )

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if not isinstance(value, dict) or not enabled():
            return value
        return (seal_golden if self.golden else seal_attributes)(self.context, value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if not isinstance(value, dict) or not _has_sealed_values(value, self.golden):
            return value
        return (open_golden if self.golden else open_attributes)(self.context, value)


def open_any_stored(context: str, value: Any) -> Any:
    """A value as read without the column type (a reflected table), opened
    whichever way it was sealed: whole (:func:`open_stored`) or, for a document
    of attributes, value by value under ``<context>.<attribute>``."""
    value = open_stored(context, value)
    if not isinstance(value, dict):
        return value
    for name in SEALED_ATTRIBUTES.intersection(value):
        item = value[name]
        if is_sealed(item) or (isinstance(item, dict) and is_sealed(item.get("value"))):
            golden = isinstance(item, dict)
            return (open_golden if golden else open_attributes)(context, value)
    return value


__all__ = [
    "SEALED_ATTRIBUTES",
    "SealedAttributes",
    "open_any_stored",
    "open_attributes",
    "open_golden",
    "seal_attributes",
    "seal_golden",
]
