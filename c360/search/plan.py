"""The query plan every backend compiles: clauses (one way a fragment may match
one index field), terms (a fragment: any clause, or all of its parts), the plan
(every term), the weights clauses carry, and how a hit is explained from a
document's searchable lists — by the same code for every backend.

:mod:`c360.search.query` makes plans from what staff typed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from rapidfuzz.distance import OSA

from c360.search.contract import FieldMatch, MatchKind
from c360.search.fields import EDGE_MAX, FIELDS_BY_NAME
from c360.search.readings import name_skeletons


class Op(StrEnum):
    """How a clause compares its values with a field's indexed terms."""

    TERM = "term"
    """Any of ``values`` is a term of the field (keyword, edge or suffix fields)."""
    ALL = "all"
    """Every one of ``values`` is a term of the field (n-grams: a substring)."""
    FUZZY = "fuzzy"
    """A term within ``distance`` edits (a transposition counts one) of ``values[0]``."""
    OVERLAP = "overlap"
    """At least ``minimum`` of ``values`` are terms of the field."""


class TokenKind(StrEnum):
    HAN = "han"
    LATIN = "latin"
    DIGITS = "digits"
    EMAIL = "email"
    ID_NUMBER = "id_number"
    IDENTIFIER = "identifier"
    GROUP = "group"


@dataclass(frozen=True, slots=True)
class Clause:
    """One way a fragment may match: ``op`` on the index field ``index_field``."""

    field: str
    """The policy's name for what is searched (``name``, ``phone``, ``id_number``…)."""
    label: str
    """What a hit's explanation calls it (``name_pinyin``, ``phone``…)."""
    index_field: str
    op: Op
    values: tuple[str, ...]
    weight: float
    match: MatchKind
    distance: int = 0
    minimum: int = 0

    @property
    def source(self) -> str:
        return FIELDS_BY_NAME[self.index_field].source


@dataclass(frozen=True, slots=True)
class Term:
    """One fragment of the query: matches if any clause matches (best one scores;
    ``clauses`` are ordered best first), or — an alternative reading — if every one
    of ``parts`` matches (their mean score counts)."""

    text: str
    kind: TokenKind
    clauses: tuple[Clause, ...] = ()
    parts: tuple[Term, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.clauses and not self.parts

    def fields(self) -> set[str]:
        found = {c.field for c in self.clauses}
        for part in self.parts:
            found |= part.fields()
        return found


@dataclass(frozen=True, slots=True)
class QueryPlan:
    """The understood query: every term must match."""

    text: str
    terms: tuple[Term, ...]
    notes: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """No free text: only filters decide (every customer matches)."""
        return not self.terms and not self.text.strip()

    @property
    def matches_nothing(self) -> bool:
        """Text was typed but none of it can be searched (see ``notes``)."""
        return not self.terms and bool(self.text.strip())

    def fields(self) -> set[str]:
        found: set[str] = set()
        for term in self.terms:
            found |= term.fields()
        return found

    def explain(self, data: Mapping[str, Sequence[str]]) -> tuple[FieldMatch, ...]:
        """Which fields of a document (its searchable lists, see
        :meth:`~c360.search.documents.CustomerDocument.searchable`) each term
        matched, and how: the best match per term, in query order."""
        found: list[FieldMatch] = []
        for term in self.terms:
            found.extend(_explain_term(term, data))
        return tuple(dict.fromkeys(found))


def _explain_term(term: Term, data: Mapping[str, Sequence[str]]) -> list[FieldMatch]:
    """The best match of one term: its first matching clause (clauses are ordered
    best first), unless its parts match better."""
    best = next((c for c in term.clauses if _clause_matches(c, data)), None)
    if term.parts and (best is None or best.weight < _PARTS_CEILING):
        explained = [_explain_term(part, data) for part in term.parts]
        if all(explained):
            weights = [_best_weight(p, data) for p in term.parts]
            if best is None or sum(weights) / len(weights) > best.weight:
                return [m for ms in explained for m in ms]
    return [FieldMatch(best.label, best.match, term.text)] if best is not None else []


_PARTS_CEILING = 100.0
"""No clause weighs more: parts can only beat a best clause lighter than this."""


def _best_weight(term: Term, data: Mapping[str, Sequence[str]]) -> float:
    return next((c.weight for c in term.clauses if _clause_matches(c, data)), 0.0)


def _clause_matches(clause: Clause, data: Mapping[str, Sequence[str]]) -> bool:
    source = clause.source
    if source == "phone_suffixes":
        values: Sequence[str] = data.get("phones", ())
    elif source == "id_suffixes":
        values = data.get("id_numbers", ())
    elif source == "name_skeletons":
        values = [s for name in data.get("names", ()) for s in name_skeletons(name)]
    else:
        values = data.get(source, ())
    if not values:
        return False
    analysis = FIELDS_BY_NAME[clause.index_field].analysis
    if clause.op is Op.TERM:
        wanted = clause.values
        if source in ("phone_suffixes", "id_suffixes"):
            return any(v.endswith(w) for v in values for w in wanted)
        if analysis == "edge":
            return any(v.startswith(w) for v in values for w in wanted)
        return any(w in values for w in wanted)
    if clause.op is Op.ALL:
        return any(all(g in v for g in clause.values) for v in values)
    if clause.op is Op.OVERLAP:
        return any(sum(g in v for g in clause.values) >= clause.minimum for v in values)
    target = clause.values[0]
    if analysis == "edge":
        n = len(target)
        return any(
            OSA.distance(v[:k], target) <= clause.distance
            for v in values
            for k in range(max(1, n - clause.distance), n + clause.distance + 1)
        )
    return any(OSA.distance(v, target) <= clause.distance for v in values)


# ---------------------------------------------------------------- weights

EXACT, PREFIX, SUFFIX, SUBSTRING, FUZZY = (
    MatchKind.EXACT,
    MatchKind.PREFIX,
    MatchKind.SUFFIX,
    MatchKind.SUBSTRING,
    MatchKind.FUZZY,
)


def make_clause(
    field: str,
    label: str,
    index_field: str,
    values: str | Sequence[str],
    weight: float,
    match: MatchKind,
    op: Op = Op.TERM,
    *,
    distance: int = 0,
    minimum: int = 0,
) -> Clause | None:
    vals = (values,) if isinstance(values, str) else tuple(dict.fromkeys(values))
    vals = tuple(v for v in vals if v)
    if not vals:
        return None
    if FIELDS_BY_NAME[index_field].analysis == "edge" and any(len(v) > EDGE_MAX for v in vals):
        return None
    return Clause(field, label, index_field, op, vals, weight, match, distance, minimum)


def best_first(*items: Clause | None) -> tuple[Clause, ...]:
    """The clauses given, best (heaviest) first."""
    return tuple(sorted((c for c in items if c is not None), key=lambda c: -c.weight))


def fuzzy_distance(text: str) -> int:
    """Edits tolerated in a Latin fragment: none below 5 letters (``wang`` would
    match half the country), else one (a transposition counts one)."""
    return 0 if len(text) < 5 else 1


__all__ = [
    "EXACT",
    "FUZZY",
    "PREFIX",
    "SUBSTRING",
    "SUFFIX",
    "Clause",
    "Op",
    "QueryPlan",
    "Term",
    "TokenKind",
    "best_first",
    "fuzzy_distance",
    "make_clause",
]
