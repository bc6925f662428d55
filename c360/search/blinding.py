"""What the search index holds of sensitive identifiers when field encryption
is on (:mod:`c360.platform.field_encryption`): keyed blind indexes, never the
values.

Phones, e-mail addresses, their local parts and id numbers are indexed as
HMAC blind indexes under a key per index field (and, for tails, per tail
length), so exact and tail searches still find them: a query's values go through
the same :func:`index_terms` as a document's. The four-digit phone tail has its
own truncated index (:func:`~c360.platform.field_encryption.tail_index`), which
many people share. E-mail prefixes are not indexed at all, since every prefix
of an address up to its whole is the address. The stored part of a document
(what a hit is shown and explained from) is sealed whole.

Both backends call these, so what one indexes the other queries alike.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from c360.platform.field_encryption import (
    PREFIX,
    blind_index,
    enabled,
    open_sealed,
    seal,
    tail_index,
)

BLINDED_FIELDS = frozenset(
    {"phone", "phone_suffix", "email", "email_local", "id_number", "id_suffix"}
)
"""Index fields whose terms are blind indexes when encryption is on."""
UNINDEXED_FIELDS = frozenset({"email_prefix"})
"""Index fields left empty when encryption is on."""
_TAILS = frozenset({"phone_suffix", "id_suffix"})
STORED_CONTEXT = "search.stored"


def _term(field: str, value: str) -> str:
    value = value.lower()  # as the keyword analyzer indexes it
    if field == "phone_suffix" and len(value) == 4:
        return tail_index("search.phone_tail", value)
    if field in _TAILS:
        return blind_index(f"search.{field}.{len(value)}", value)
    return blind_index(f"search.{field}", value)


def blinded(field: str) -> bool:
    """Whether ``field``'s terms are not the values themselves (encryption on)."""
    return (field in BLINDED_FIELDS or field in UNINDEXED_FIELDS) and enabled()


def index_terms(field: str, values: Iterable[str]) -> list[str]:
    """The terms ``values`` of index field ``field`` are indexed and looked up
    as: the values themselves, or with encryption on their blind indexes
    (nothing for an :data:`UNINDEXED_FIELDS` field, whose query terms then
    match nothing)."""
    if not blinded(field):
        return list(values)
    return [_term(field, v) for v in values]


def seal_stored(plain: bytes) -> bytes:
    """A document's stored part as the index keeps it."""
    if not enabled():
        return plain
    return seal(STORED_CONTEXT, plain).encode("ascii")


def open_stored(kept: bytes | str | None) -> dict[str, object]:
    """A document's stored part as :func:`seal_stored` kept it, decoded."""
    raw = kept.encode() if isinstance(kept, str) else (kept or b"{}")
    if raw.startswith(PREFIX.encode()):
        return dict(orjson.loads(open_sealed(STORED_CONTEXT, raw.decode("ascii"))))
    return dict(orjson.loads(raw))


__all__ = [
    "BLINDED_FIELDS",
    "UNINDEXED_FIELDS",
    "blinded",
    "index_terms",
    "open_stored",
    "seal_stored",
]
