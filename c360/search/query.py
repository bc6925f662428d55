"""Query understanding, shared by every backend: what did staff mean by what they typed?

:func:`plan_query` folds the input (full-width to half-width, case), splits it into
fragments and classifies each one:

==================  =====================================================
fragment            searched as
==================  =====================================================
``张伟``             a name: whole, start, inside (张伟东), sounding alike
                    (张炜; any reading of any character) or nearly (张林
                    for 张玲), one character wrong (张伟西 for 张伟东); a
                    company name (core, start, inside, one character off);
                    a province or city
``zhangwei``        pinyin of a name (whole, start, with a typo:
                    ``zhangwie``; under five letters, two letters swapped:
                    ``lnia``), initials (``zw``), an e-mail local part, a
                    company's pinyin, a WeChat id or member number
``8000``            the last 4+ digits of a phone; the whole national number
                    (``+86 138-0013-8000``); a member number; the end of an id
                    number (sensitive)
``a@b.cn``          an e-mail address (whole, or its start when incomplete)
``1101…663X``       an id number (sensitive) or a unified social credit code
``zw8000``          an identifier as typed, *or* its parts (``zw`` and ``8000``)
==================  =====================================================

Every fragment must match (AND); within a fragment the best clause counts
(exact 100 > same sound as the characters typed 75 > prefix ~70 > suffix 60 >
substring ~50 > fuzzy ~30; an organization's own name a little above a person's
employer at the same tier), and a document's score is the sum over fragments.
Backends compile the plan into constant-score queries, so every backend ranks
alike, and hits are explained (:meth:`QueryPlan.explain`) by the same code.

A policy (:mod:`c360.search.policy`) removes clauses on fields the caller may not
search; a fragment left with nothing to search is refused — from the shape of the
query alone, never from what the index holds.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from rapidfuzz.distance import OSA

from c360.platform.normalize import (
    NormalizationError,
    fold_text,
    normalize_company_name,
    normalize_email,
    normalize_phone,
    normalize_resident_id,
)
from c360.platform.normalize.china import HAN_CHARACTERS, LEGAL_FORMS, canonical_region
from c360.search.contract import FieldMatch, MatchKind
from c360.search.documents import (
    ID_SUFFIX_LENGTHS,
    PHONE_SUFFIX_LENGTHS,
    SKELETON_MAX_CHARS,
    char_readings,
    name_skeletons,
    person_readings,
)
from c360.search.fields import EDGE_MAX, FIELDS_BY_NAME, NGRAM_MAX, grams
from c360.search.policy import DEFAULT_POLICY, SearchForbiddenError, SearchPolicy

__all__ = [
    "MAX_FRAGMENTS",
    "MAX_QUERY_CHARS",
    "Clause",
    "Op",
    "QueryPlan",
    "Term",
    "TokenKind",
    "plan_query",
]

MAX_QUERY_CHARS = 200
MAX_FRAGMENTS = 8
PHONE_TAIL_MIN = 4


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


def _clause(
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


def _clauses(*items: Clause | None) -> tuple[Clause, ...]:
    """The clauses given, best (heaviest) first."""
    return tuple(sorted((c for c in items if c is not None), key=lambda c: -c.weight))


def _fuzzy_distance(text: str) -> int:
    """Edits tolerated in a Latin fragment: none below 5 letters (``wang`` would
    match half the country), else one (a transposition counts one)."""
    return 0 if len(text) < 5 else 1


# ---------------------------------------------------------------- fragments

_RUN_RE = re.compile(f"[{HAN_CHARACTERS}]+|[a-z]+|[0-9]+")
_HAN_ONLY_RE = re.compile(f"[{HAN_CHARACTERS}]+")
_LATIN_ONLY_RE = re.compile("[a-z]+")
_PHONE_TEXT_RE = re.compile(r"[+0-9(][0-9 +\-().]*")
_PHONE_PUNCTUATION_RE = re.compile(r"[ \-().+]")
_ID_RE = re.compile(r"[0-9]{17}[0-9x]")
_ID_TAIL_RE = re.compile(r"[0-9]{3}x|[0-9]{5}x")
_USCC_RE = re.compile(r"[0-9a-hj-np-rtuwxy]{18}")
_SEPARATORS_RE = re.compile(r"[\s,;，；、|/]+")
_COMPANY_WORDS = (
    "公司",
    "集团",
    "有限",
    "股份",
    "合伙",
    "科技",
    "贸易",
    "实业",
    "银行",
    "商行",
    "工作室",
    "事务所",
    "中心",
    "工厂",
    "门店",
    "酒店",
    "医院",
    "学校",
    "协会",
)


@functools.lru_cache(maxsize=4096)
def _han_clauses(text: str) -> tuple[Clause, ...]:
    companyish = any(word in text for word in _COMPANY_WORDS)
    items: list[Clause | None] = [
        _clause("name", "name", "name_exact", text, 100, EXACT),
        _clause("name", "name", "name_prefix", text, 70, PREFIX),
        _clause("name", "name", "name_ngram", grams(text, NGRAM_MAX), 50, SUBSTRING, Op.ALL),
        _clause("region", "region", "region", text, 40, SUBSTRING),
    ]
    if not companyish:
        # Typos in Chinese come from input methods: a character that sounds the
        # same (张炜 for 张伟) — the very reading, so an exact pinyin match, below
        # the characters themselves and above a longer name — or nearly the same
        # (张林 for 张玲: ``lin`` / ``ling``), a fuzzy one.
        readings = _typed_readings(text)
        items.append(_clause("name", "name_pinyin", "name_pinyin", readings, 75, EXACT))
        # A wrong character of another sound (the input method's next
        # candidate): one character off, below every reading-based match.
        items.append(_clause("name", "name", "name_skeleton", name_skeletons(text), 28, FUZZY))
        if readings and len(readings[0]) >= 5:
            items.append(
                _clause(
                    "name",
                    "name_pinyin",
                    "name_pinyin",
                    readings[0],
                    30,
                    FUZZY,
                    Op.FUZZY,
                    distance=1,
                )
            )
    company = _company(text)
    if company is not None:
        for family, offset in _COMPANY_FAMILIES:
            items += _han_company_clauses(family, offset, company)
    return _clauses(*items)


READINGS_MAX = 16
"""The most same-sound readings one Chinese fragment is searched by."""


def _typed_readings(text: str) -> tuple[str, ...]:
    """Every reading staff may have meant by ``text``: the readings of it as a
    person's name (surname-aware, see
    :func:`~c360.search.documents.person_readings`), then those with any
    character read another way (``杨博乐``: ``yangbole`` and ``yangboyue``; an
    input method offers 乐 for ``yue`` too). At most :data:`READINGS_MAX`."""
    readings, _ = person_readings(text)
    found = dict.fromkeys(readings)
    if 2 <= len(text) <= SKELETON_MAX_CHARS:
        options = [char_readings(ch) or ("",) for ch in text]
        combos = [""]
        for choices in options:
            combos = [c + r for c in combos for r in choices][: READINGS_MAX * 4]
        for combo in combos:
            if len(found) >= READINGS_MAX:
                break
            found.setdefault(combo)
    found.pop("", None)
    return tuple(found)


_COMPANY_FAMILIES = (("company", 0), ("employer", -8))
"""An organization's own name, and a person's employer a little below it."""


def _han_company_clauses(
    family: str, offset: float, company: tuple[str, str, str, str]
) -> list[Clause | None]:
    display, core, reading, loose = company
    items: list[Clause | None] = [
        _clause("company", family, f"{family}_exact", (display, core), 90 + offset, EXACT),
        _clause("company", family, f"{family}_prefix", core, 65 + offset, PREFIX),
    ]
    if len(core) >= 2:
        items.append(
            _clause(
                "company", family, f"{family}_ngram", grams(core, 2), 45 + offset, SUBSTRING, Op.ALL
            )
        )
    bigrams = grams(loose, 2)
    if len(bigrams) >= 4 and family == "company":  # a misspelt name shares most 2-grams
        items.append(
            _clause(
                "company",
                family,
                f"{family}_ngram",
                bigrams,
                28 + offset,
                FUZZY,
                Op.OVERLAP,
                minimum=max(2, -(-len(bigrams) * 3 // 5)),
            )
        )
    if family == "company":  # one automaton each: employers share the 2-grams
        # the loose core (a misspelt legal form dropped), and the core as typed
        # when that differs (``科团股份有限公司`` only looks like a misspelt
        # ``集团股份有限公司``)
        for variant in dict.fromkeys((loose, core)):
            if len(variant) >= 4:
                items.append(
                    _clause(
                        "company",
                        family,
                        f"{family}_exact",
                        variant,
                        30 + offset,
                        FUZZY,
                        Op.FUZZY,
                        distance=1,
                    )
                )
    if len(core) >= 3:
        items.append(
            _clause("company", f"{family}_pinyin", f"{family}_pinyin", reading, 32 + offset, FUZZY)
        )
    return items


@functools.lru_cache(maxsize=4096)
def _bracketed_company_clauses(text: str) -> tuple[Clause, ...]:
    """A company name with a bracketed part (a region, or a misspelt one)."""
    company = _company(text)
    if company is None:
        return ()
    items: list[Clause | None] = []
    for family, offset in _COMPANY_FAMILIES:
        items += _han_company_clauses(family, offset, company)
    return _clauses(*items)


@functools.lru_cache(maxsize=4096)
def _company(text: str) -> tuple[str, str, str, str] | None:
    """``(display, core, pinyin, loose core)`` of a company name as typed; the loose
    core also drops a misspelt legal form (``股亚有限公司``, ``有为责任公司``), and the
    pinyin is the loose core's."""
    try:
        company = normalize_company_name(text)
    except NormalizationError:
        return None
    core = company.core.lower()
    display = company.display.lower()
    loose, reading = core, company.pinyin
    for form in LEGAL_FORMS:
        size = next(
            (
                k
                for k in (len(form), len(form) + 1, len(form) - 1)
                if len(display) - k >= 2 and OSA.distance(display[-k:], form) <= 1
            ),
            None,
        )
        if size is not None:
            try:
                shorter = normalize_company_name(display[:-size])
            except NormalizationError:
                break
            if len(shorter.core) < len(core):
                loose, reading = shorter.core.lower(), shorter.pinyin
            break
    if _BRACKETED_RE.search(loose):
        # What is left in brackets was not a region name: most likely a misspelt
        # one (``彩虹(悲京)化妆品``), so the loose core goes without it.
        try:
            unbracketed = normalize_company_name(_BRACKETED_RE.sub("", display))
        except NormalizationError:
            unbracketed = None
        if unbracketed is not None and len(unbracketed.core) >= 2:
            loose, reading = unbracketed.core.lower(), unbracketed.pinyin
    return display, core, reading, loose


_BRACKETED_RE = re.compile(r"[(（][^()（）]{1,8}[)）]")


@functools.lru_cache(maxsize=4096)
def _latin_clauses(text: str) -> tuple[Clause, ...]:
    n = len(text)
    distance = _fuzzy_distance(text)
    items: list[Clause | None] = [
        _clause("name", "name_pinyin", "name_pinyin", text, 100, EXACT),
        _clause("name", "name", "name_exact", text, 100, EXACT),
        _clause("email", "email_local", "email_local", text, 95, EXACT),
        _clause("wechat_id", "wechat_id", "wechat_id", text, 95, EXACT),
        _clause("member_no", "member_no", "member_no", text, 95, EXACT),
        _clause("company", "company", "company_exact", text, 90, EXACT),
        _clause("company", "company_pinyin", "company_pinyin", text, 85, EXACT),
        _clause("company", "employer", "employer_exact", text, 82, EXACT),
        _clause("company", "employer_pinyin", "employer_pinyin", text, 77, EXACT),
    ]
    if 2 <= n <= 6:
        items.append(_clause("name", "name_initials", "name_initials", text, 85, EXACT))
        items.append(_clause("name", "name_initials", "name_initials_prefix", text, 60, PREFIX))
    if n >= 2:
        items.append(_clause("name", "name_pinyin", "name_pinyin_prefix", text, 70, PREFIX))
    if n >= 3:
        items += [
            _clause("company", "company", "company_prefix", text, 65, PREFIX),
            _clause("company", "employer", "employer_prefix", text, 57, PREFIX),
            _clause("email", "email_local", "email_prefix", text, 55, PREFIX),
        ]
    if not distance and n >= 3:
        # Too short for an edit distance (``wang`` would match half the
        # country), but two letters swapped is the commonest slip: ``liib``.
        swapped = [
            text[:i] + text[i + 1] + text[i] + text[i + 2 :]
            for i in range(n - 1)
            if text[i] != text[i + 1]
        ]
        items.append(_clause("name", "name_pinyin", "name_pinyin", swapped, 30, FUZZY))
    if distance:
        items += [
            _clause(
                "name",
                "name_pinyin",
                "name_pinyin",
                text,
                30,
                FUZZY,
                Op.FUZZY,
                distance=distance,
            ),
            _clause(
                "company",
                "company_pinyin",
                "company_pinyin",
                text,
                25,
                FUZZY,
                Op.FUZZY,
                distance=distance,
            ),
        ]
    return _clauses(*items)


def _national(digits: str, original: str) -> tuple[str, str | None]:
    """The digits without a country code, and the valid national number if it is one."""
    national = digits
    if digits.startswith("0086"):
        national = digits[4:]
    elif digits.startswith("86") and ("+" in original or len(digits) == 13):
        national = digits[2:]
    valid: str | None = None
    if len(national) >= 7:
        try:
            e164 = normalize_phone(original if original.strip() else national)
        except NormalizationError:
            e164 = None
        if e164 is not None:
            valid = e164[3:] if e164.startswith("+86") else e164.lstrip("+")
    return national, valid


@functools.lru_cache(maxsize=4096)
def _digit_clauses(digits: str, written_as_phone: str | None = None) -> tuple[Clause, ...]:
    """Clauses for a run of digits; ``written_as_phone`` is the text when it was
    typed as a phone (``+86``, spaces, dashes): then only phones are searched."""
    national, valid = _national(digits, written_as_phone or digits)
    n = len(national)
    items: list[Clause | None] = []
    if written_as_phone is None:
        items.append(_clause("member_no", "member_no", "member_no", digits, 95, EXACT))
        # An all-digit e-mail local part: a QQ number (``1774228885@qq.com``).
        items.append(_clause("email", "email_local", "email_local", digits, 95, EXACT))
        if len(digits) >= 5:
            items.append(_clause("email", "email_local", "email_prefix", digits, 55, PREFIX))
    if valid:
        items.append(_clause("phone", "phone", "phone", valid, 100, EXACT))
        national = valid
        n = len(national)
    if PHONE_TAIL_MIN <= n <= 13:
        tail = national[-PHONE_SUFFIX_LENGTHS[-1] :]
        items.append(_clause("phone", "phone", "phone_suffix", tail, 60, SUFFIX))
    if n in ID_SUFFIX_LENGTHS and written_as_phone is None:
        items.append(_clause("id_number", "id_number", "id_suffix", national, 40, SUFFIX))
    return _clauses(*items)


def _id_clauses(text: str) -> tuple[Clause, ...]:
    """An 18-character number: an id number if its check digit says so (sensitive),
    else a unified social credit code or a member number. Decided from the text
    alone, so a refusal tells nothing about the index."""
    try:
        normalize_resident_id(text)
    except NormalizationError:
        pass
    else:
        return _clauses(_clause("id_number", "id_number", "id_number", text, 100, EXACT))
    return _clauses(
        _clause("uscc", "uscc", "uscc", text, 100, EXACT),
        _clause("member_no", "member_no", "member_no", text, 95, EXACT),
    )


def _email_clauses(text: str) -> tuple[Clause, ...]:
    local, _, domain = text.rpartition("@")
    try:
        address = normalize_email(text)
    except NormalizationError:
        address = None
    items: list[Clause | None] = []
    if address is not None:
        items.append(_clause("email", "email", "email", address.lower(), 100, EXACT))
    items.append(_clause("email", "email", "email_prefix", text, 60, PREFIX))
    if local and not domain:
        items.append(_clause("email", "email_local", "email_local", local, 95, EXACT))
    return _clauses(*items)


def _identifier_clauses(text: str) -> tuple[Clause, ...]:
    items: list[Clause | None] = [
        _clause("wechat_id", "wechat_id", "wechat_id", text, 95, EXACT),
        _clause("member_no", "member_no", "member_no", text, 95, EXACT),
        _clause("email", "email_local", "email_local", text, 95, EXACT),
        _clause("email", "email_local", "email_prefix", text, 55, PREFIX),
    ]
    if _USCC_RE.fullmatch(text):
        items.append(_clause("uscc", "uscc", "uscc", text, 100, EXACT))
    return _clauses(*items)


class _Planner:
    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)

    def run(self, piece: str) -> Term | None:
        """The term for one whitespace-free piece of the query."""
        if "@" in piece:
            return Term(piece, TokenKind.EMAIL, _email_clauses(piece))
        if _ID_RE.fullmatch(piece):
            return Term(piece, TokenKind.ID_NUMBER, _id_clauses(piece))
        if _ID_TAIL_RE.fullmatch(piece):
            return Term(
                piece,
                TokenKind.ID_NUMBER,
                _clauses(_clause("id_number", "id_number", "id_suffix", piece, 40, SUFFIX)),
            )
        runs = _RUN_RE.findall(piece)
        if not runs:
            self.note(f"ignored {piece!r}: no letters, characters or digits")
            return None
        if len(runs) == 1 and runs[0] == piece:
            return self.run_single(piece)
        if piece.isascii():
            clauses = _identifier_clauses(piece)
        elif _BRACKETED_RE.search(piece):  # 彩虹(北京)化妆品有限公司: one company name
            clauses = _bracketed_company_clauses(piece)
        else:
            clauses = ()
        inner = _Planner()
        parts = tuple(t for t in (inner.run_single(r) for r in runs) if t is not None)
        if inner.notes:  # a part too short to search by: the parts do not stand for the piece
            parts = ()
        if not clauses:
            self.notes.extend(n for n in inner.notes if n not in self.notes)
            if len(parts) == 1:
                return parts[0]
        return Term(piece, TokenKind.IDENTIFIER, clauses, parts if len(parts) > 1 else ())

    def run_single(self, run: str) -> Term | None:
        if _HAN_ONLY_RE.fullmatch(run):
            return Term(run, TokenKind.HAN, _han_clauses(run), _place_parts(run))
        if _LATIN_ONLY_RE.fullmatch(run):
            if len(run) == 1:
                self.note(f"ignored {run!r}: one letter is too short to search by")
                return None
            return Term(run, TokenKind.LATIN, _latin_clauses(run))
        if run.isdigit():
            if len(run) < PHONE_TAIL_MIN:
                self.note(
                    f"ignored {run!r}: give at least {PHONE_TAIL_MIN} digits to search phones by"
                )
                return None
            return Term(run, TokenKind.DIGITS, _digit_clauses(run))
        self.note(f"ignored {run!r}")
        return None


@functools.lru_cache(maxsize=4096)
def _place_parts(text: str) -> tuple[Term, ...]:
    """A province and a city typed as one word (``湖北武汉``, ``湖北省武汉市``, as
    some sources write a place): the two regions, both to match."""
    place = canonical_region(text, "city")
    if place is None or not (place.province and place.city) or place.province == place.city:
        return ()
    return tuple(
        Term(
            name,
            TokenKind.HAN,
            _clauses(_clause("region", "region", "region", name, 40, SUBSTRING)),
        )
        for name in (place.province.lower(), place.city.lower())
    )


def _pieces(text: str) -> list[list[str]]:
    """Whitespace-separated pieces, grouped when adjacent pieces are all Chinese
    characters or all Latin letters (``张 伟``, ``zhang wei``: one name typed
    with a space)."""
    groups: list[list[str]] = []
    for piece in _SEPARATORS_RE.split(text):
        if not piece:
            continue
        script = (
            "han"
            if _HAN_ONLY_RE.fullmatch(piece)
            else "latin"
            if (_LATIN_ONLY_RE.fullmatch(piece))
            else None
        )
        if script and groups and _script(groups[-1][-1]) == script:
            groups[-1].append(piece)
        else:
            groups.append([piece])
    return groups


def _script(piece: str) -> str | None:
    if _HAN_ONLY_RE.fullmatch(piece):
        return "han"
    if _LATIN_ONLY_RE.fullmatch(piece):
        return "latin"
    return None


def _phone_digits(folded: str) -> str | None:
    """The digits of a query that is one phone number written with ``+86``, spaces,
    dashes or brackets (a plain digit run is an ordinary fragment)."""
    if not _PHONE_TEXT_RE.fullmatch(folded) or not _PHONE_PUNCTUATION_RE.search(folded):
        return None
    digits = re.sub(r"\D", "", folded)
    return digits if len(digits) >= PHONE_TAIL_MIN else None


def _restrict(term: Term, policy: SearchPolicy) -> Term:
    """``term`` without what ``policy`` may not search; refuses a term that could
    only mean forbidden fields."""
    clauses = tuple(c for c in term.clauses if policy.may_search(c.field))
    parts: tuple[Term, ...] = ()
    if term.parts:
        try:
            parts = tuple(_restrict(p, policy) for p in term.parts)
        except SearchForbiddenError:
            parts = ()
    if not clauses and not parts:
        denied = sorted({c.field for c in term.clauses} | term.fields())
        field = denied[0] if denied else "this field"
        raise SearchForbiddenError(field, policy.name, f"{term.text!r} can only match {field}")
    return replace(term, clauses=clauses, parts=parts)


def plan_query(text: str | None, policy: SearchPolicy | None = None) -> QueryPlan:
    """Understand ``text`` for a caller with ``policy`` (default:
    :data:`~c360.search.policy.DEFAULT_POLICY`). Raises
    :class:`~c360.search.policy.SearchForbiddenError` for a fragment the caller may
    not search by."""
    policy = policy or DEFAULT_POLICY
    raw = text or ""
    planner = _Planner()
    if len(raw) > MAX_QUERY_CHARS:
        planner.note(f"only the first {MAX_QUERY_CHARS} characters were searched")
        raw = raw[:MAX_QUERY_CHARS]
    folded = fold_text(raw).lower()
    terms: list[Term] = []
    digits = _phone_digits(folded)
    if digits is not None:
        terms.append(Term(digits, TokenKind.DIGITS, _digit_clauses(digits, folded)))
        folded = ""
    for group in _pieces(folded):
        if len(terms) >= MAX_FRAGMENTS:
            planner.note(f"only the first {MAX_FRAGMENTS} fragments were searched")
            break
        if len(group) == 1:
            term = planner.run(group[0])
        else:
            joined = "".join(group)
            whole = planner.run(joined)
            parts = tuple(t for t in (planner.run(p) for p in group) if t is not None)
            if whole is None:
                term = None
            else:
                term = Term(" ".join(group), TokenKind.GROUP, whole.clauses, parts)
        if term is not None and not term.empty:
            terms.append(term)
    restricted = tuple(_restrict(term, policy) for term in terms)
    return QueryPlan(text=text or "", terms=restricted, notes=tuple(planner.notes))
