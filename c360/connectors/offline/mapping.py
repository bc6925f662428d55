"""From a row's ``header -> value`` to a record's ``fields``.

A :class:`ColumnMapping` knows, for one file spec, which header means which
canonical attribute: the spec's ``columns`` first, then its ``events.columns``,
then the built-in table for the spec's kind (:mod:`.headers`), then the built-in
event headers (only when ``events`` is set). For a given header row it makes a
:class:`Plan`, computed once and applied to every row:

* each canonical attribute takes the first non-empty value among the columns
  that map to it, in header order (so ``手机`` empty but ``联系电话`` set still
  gives a phone); the other columns mapped to it are passed through too;
* every header that maps to nothing is passed through under its folded name
  (``会员等级`` -> ``会员等级``, ``Store Code`` -> ``storecode``), as are
  ``_extra_N`` cells, so nothing the file says is lost;
* the id column (``id_column``, else the first column mapping to ``id``) becomes
  the external id and is not repeated in ``fields``.

Values become strings, stripped of surrounding whitespace and otherwise
untouched: phones, dates and ids are normalized by the platform, for every
connector alike. Empty values are left out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from c360.connectors.offline.config import ID, FileSpec
from c360.connectors.offline.headers import BUILTIN_HEADERS, EVENT_COLUMN_HEADERS, fold
from c360.platform.records import ATTRIBUTES_BY_KIND

Candidates = tuple[tuple[str, tuple[str, ...]], ...]


def text(value: Any) -> str:
    """A value read from a file as the string ``fields`` carries."""
    kind = type(value)
    if kind is str:
        return value.strip()
    if value is None:
        return ""
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return str(int(value)) if value.is_integer() else repr(value)
    if kind in (dict, list):
        return json.dumps(value, ensure_ascii=False)
    return str(value).strip()


@dataclass(frozen=True, slots=True)
class Plan:
    """How the rows under one header become fields."""

    headers: tuple[str, ...]
    id_header: str | None
    canonical: Candidates
    """attribute -> the headers that may give it, best first."""
    passthrough: tuple[tuple[str, str], ...]
    """header -> field name, for headers kept under their own (folded) name."""
    event: Candidates
    """event attribute -> headers, for the spec's ``events``."""
    mapped: int
    """How many headers map to an attribute (for ``check()``)."""


class ColumnMapping:
    """The header knowledge of one file spec."""

    def __init__(self, spec: FileSpec) -> None:
        self.kind = spec.kind
        self._attributes = set(ATTRIBUTES_BY_KIND[spec.kind]) | {ID}
        builtin = {h: a for h, a in BUILTIN_HEADERS[spec.kind].items() if a in self._attributes}
        self._explicit = {fold(h): a for h, a in spec.columns.items()}
        self._builtin = builtin
        self._id_column = fold(spec.id_column) if spec.id_column else None
        self.id_column_label = spec.id_column
        if spec.events is not None:
            self._event_explicit = {fold(h): a for h, a in spec.events.columns.items()}
            self._event_builtin = dict(EVENT_COLUMN_HEADERS)
        else:
            self._event_explicit, self._event_builtin = {}, {}
        self.plan = lru_cache(maxsize=1024)(self._plan)

    def knows(self, header: str) -> bool:
        """Is ``header`` one this spec maps (used to find the header row)?"""
        key = fold(header)
        return (
            key in self._explicit
            or key in self._builtin
            or key == self._id_column
            or key in self._event_explicit
            or key in self._event_builtin
        )

    def has_id_column(self, headers: Sequence[str]) -> bool:
        return self._id_column is None or any(fold(h) == self._id_column for h in headers)

    def _target(self, key: str) -> tuple[str, str] | None:
        """(``record``|``event``, attribute) for a folded header, by precedence."""
        if key in self._explicit:
            return "record", self._explicit[key]
        if key in self._event_explicit:
            return "event", self._event_explicit[key]
        if key in self._builtin:
            return "record", self._builtin[key]
        if key in self._event_builtin:
            return "event", self._event_builtin[key]
        return None

    def _plan(self, headers: tuple[str, ...]) -> Plan:
        folded = [fold(h) for h in headers]
        targets = [self._target(k) for k in folded]
        if self._id_column is not None:
            wanted = [i for i, k in enumerate(folded) if k == self._id_column]
        else:
            wanted = [i for i, t in enumerate(targets) if t == ("record", ID)]
        id_index = wanted[0] if wanted else None
        explicit = {**self._explicit, **self._event_explicit}
        # explicit mappings outrank built-in ones for the same attribute
        ranked = sorted(range(len(headers)), key=lambda i: (folded[i] not in explicit, i))
        canonical: dict[str, list[str]] = {}
        event: dict[str, list[str]] = {}
        kept: set[int] = set()
        for i in ranked:
            target = targets[i]
            if i == id_index and (target is None or target[1] == ID):
                continue  # the external id, nothing more
            if target is None or target[1] == ID:
                kept.add(i)  # unmapped, or a second id-like column: keep it as data
                continue
            where, attribute = target
            bucket = canonical if where == "record" else event
            if attribute in bucket:
                kept.add(i)  # a second column for the same attribute: keep it too
            bucket.setdefault(attribute, []).append(headers[i])
        taken = set(self._attributes) | set(canonical)
        passthrough: list[tuple[str, str]] = []
        for i in sorted(kept):
            name = headers[i] if headers[i].startswith("_") else folded[i] or headers[i]
            candidate, n = name, 1
            while candidate in taken:
                n += 1
                candidate = f"{name}_{n}"
            taken.add(candidate)
            passthrough.append((headers[i], candidate))
        return Plan(
            headers=headers,
            id_header=headers[id_index] if id_index is not None else None,
            canonical=tuple((a, tuple(hs)) for a, hs in canonical.items()),
            passthrough=tuple(passthrough),
            event=tuple((a, tuple(hs)) for a, hs in event.items()),
            mapped=sum(1 for t in targets if t is not None),
        )


def pick(values: dict[str, Any], candidates: Candidates) -> dict[str, str]:
    """For each attribute, the first non-empty value among its headers."""
    found: dict[str, str] = {}
    get = values.get
    for attribute, headers in candidates:
        for header in headers:
            value = get(header)
            if value is None:
                continue
            value = value.strip() if type(value) is str else text(value)
            if value:
                found[attribute] = value
                break
    return found


def passthrough(values: dict[str, Any], plan: Plan, into: dict[str, str]) -> None:
    """Add the unmapped columns' non-empty values to ``into``."""
    get = values.get
    for header, name in plan.passthrough:
        value = get(header)
        if value is None:
            continue
        value = value.strip() if type(value) is str else text(value)
        if value:
            into[name] = value
