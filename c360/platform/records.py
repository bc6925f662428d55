"""The shapes that cross from a connector into the platform.

A connector yields :class:`IncomingRecord` objects (one customer, company or
interaction as the source knows it) and :class:`Checkpoint` objects (a state the
connector can resume from once everything before it is committed).

``fields`` holds the source's values already *mapped* to canonical attribute
names (see :data:`PERSON_ATTRIBUTES` and friends) but *not* normalized: the
platform normalizes and validates them, so every connector gets the same rules.
``raw`` is the record exactly as the source gave it and is stored untouched —
within the :class:`RecordLimits` (:func:`enforce_limits`): a value too big, or a
field past the column limit, is *rejected* (left out, with its reason in
``rejected``) while the rest of the record is kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import orjson

RecordKind = Literal["person", "organization", "event"]

PERSON_ATTRIBUTES: tuple[str, ...] = (
    "name",
    "phone",
    "email",
    "id_number",
    "birth_date",
    "gender",
    "address",
    "city",
    "province",
    "company",
    "job_title",
    "wechat_id",
    "member_no",
)
"""Canonical attributes of a person."""

ORGANIZATION_ATTRIBUTES: tuple[str, ...] = (
    "name",
    "uscc",
    "phone",
    "email",
    "address",
    "city",
    "province",
    "legal_representative",
    "registered_capital",
    "industry",
    "website",
)
"""Canonical attributes of an organization (company)."""

EVENT_ATTRIBUTES: tuple[str, ...] = (
    "event_type",
    "occurred_at",
    "amount",
    "currency",
    "channel",
    "text",
    "subject_external_id",
    "subject_stream",
    "phone",
    "email",
    "name",
    # a consent stream's (event type ``consent``; c360.platform.privacy.consent)
    "purpose",
    "action",
    "basis",
    "evidence",
    "expires_at",
)
"""Canonical attributes of an interaction (order, message, feedback, visit).

``subject_external_id`` names the person or organization record, in the same
source, the event belongs to; failing that, ``phone`` / ``email`` identify the
customer through the identity keys."""

EVENT_TYPES: tuple[str, ...] = (
    "signup",
    "order",
    "message",
    "feedback",
    "visit",
    "comment",
    "like",
    "invoice",
    "payment",
    "overdue",
    "default",
    "consent",  # a consent stream: granted / withdrawn, per purpose (privacy.consent)
)

ATTRIBUTES_BY_KIND: dict[str, tuple[str, ...]] = {
    "person": PERSON_ATTRIBUTES,
    "organization": ORGANIZATION_ATTRIBUTES,
    "event": EVENT_ATTRIBUTES,
}


@dataclass(slots=True)
class IncomingRecord:
    """One record read from a source, keyed by ``(source, stream, external_id)``."""

    stream: str
    external_id: str
    kind: RecordKind
    fields: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict)
    verified_fields: frozenset[str] = frozenset()
    """Attributes the source vouches for (e.g. a phone confirmed by SMS)."""
    observed_at: str | None = None
    """When the source last changed this record (ISO 8601), if it says."""
    problems: dict[str, str] = field(default_factory=dict)
    """Problems the connector already found (field -> reason), e.g. an unparsable row.
    A record with problems is quarantined, never dropped."""
    rejected: dict[str, str] = field(default_factory=dict)
    """Values left out of the record (field -> reason) because they broke a
    :class:`RecordLimits` limit; the rest of the record is used. Filled by
    :func:`enforce_limits` (and by connectors that bound what they read)."""


@dataclass(slots=True, frozen=True)
class Checkpoint:
    """Connector state covering every record yielded before it on this stream."""

    stream: str
    state: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RecordLimits:
    """How big one record, one profile and one spreadsheet may be. The defaults
    are those of :class:`~c360.platform.settings.Settings` (``C360_MAX_*``,
    ``C360_XLSX_*``), where each is explained."""

    max_columns: int = 500
    max_value_bytes: int = 64 * 1024
    max_record_bytes: int = 1024 * 1024
    max_profile_attributes: int = 1000
    xlsx_max_uncompressed_bytes: int = 200 * 1024 * 1024
    xlsx_max_ratio: int = 100
    xlsx_max_rows: int = 1_000_000


COLUMNS_KEY = "_columns"
"""The ``rejected`` key of the fields past :attr:`RecordLimits.max_columns` (one
reason for all of them)."""
_KEY_SHOWN = 64


def value_bytes(value: Any) -> int:
    """UTF-8 bytes of a value as it will be stored (JSON for nested values)."""
    kind = type(value)
    if kind is str:
        return len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))
    if value is None or kind is bool or kind is int or kind is float:
        return len(str(value))
    try:
        return len(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str))
    except (TypeError, orjson.JSONEncodeError):
        return len(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8", "replace"))


def shown_key(key: str) -> str:
    """A field name short enough to name in a reason."""
    return key if len(key) <= _KEY_SHOWN else key[:_KEY_SHOWN] + "…"


def _bound(
    values: dict[str, Any], first: tuple[str, ...], limits: RecordLimits
) -> tuple[dict[str, Any] | None, dict[str, str], dict[str, int]]:
    """``values`` within the limits: ``(kept or None when nothing changed,
    reasons, bytes of each oversize value)``. Keys in ``first`` are kept first
    (a record's canonical attributes outrank its extras), the rest in order."""
    sizes = [(k, value_bytes(k) + value_bytes(v)) for k, v in values.items()]
    if len(sizes) <= limits.max_columns:
        total = 0
        for _, size in sizes:
            if size > limits.max_value_bytes:
                break
            total += size
        else:
            if total <= limits.max_record_bytes:
                return None, {}, {}
    size_of = dict(sizes)
    order = [k for k in first if k in size_of] + [k for k in size_of if k not in first]
    kept: dict[str, Any] = {}
    reasons: dict[str, str] = {}
    oversize: dict[str, int] = {}
    budget = limits.max_record_bytes
    for position, key in enumerate(order):
        if len(kept) >= limits.max_columns:
            rest = len(order) - position
            reasons[COLUMNS_KEY] = (
                f"{rest:,} fields past the limit of {limits.max_columns:,} fields per record "
                f"(C360_MAX_RECORD_COLUMNS) were rejected, from {shown_key(key)!r} on"
            )
            break
        size = size_of[key]
        if size > limits.max_value_bytes:
            reasons[shown_key(key)] = (
                f"rejected: {size:,} bytes, over the limit of {limits.max_value_bytes:,} "
                "bytes per value (C360_MAX_VALUE_BYTES)"
            )
            oversize[key] = size
            continue
        if size > budget:
            reasons[shown_key(key)] = (
                f"rejected: the record is over the limit of {limits.max_record_bytes:,} bytes "
                "per record (C360_MAX_RECORD_BYTES) with it"
            )
            oversize[key] = size
            continue
        budget -= size
        kept[key] = values[key]
    return kept, reasons, oversize


def enforce_limits(record: IncomingRecord, limits: RecordLimits) -> IncomingRecord:
    """``record`` within ``limits``: a field too big, or past the column limit, is
    left out of ``fields`` and named in ``rejected`` with its reason; ``raw`` is
    bounded the same way (an oversize value replaced by a note of its size, so the
    column is still seen). Returns ``record`` itself when it is within limits."""
    fields, reasons, _ = _bound(record.fields, ATTRIBUTES_BY_KIND.get(record.kind, ()), limits)
    raw, _, oversize = _bound(record.raw, (), limits)
    if fields is None and raw is None:
        return record
    if raw is not None:
        for key, size in oversize.items():
            raw[key] = f"[rejected: {size:,} bytes]"
    return replace(
        record,
        fields=record.fields if fields is None else fields,
        raw=record.raw if raw is None else raw,
        rejected={**record.rejected, **reasons},
    )
