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
Backends compile the plan (:mod:`c360.search.plan`) into constant-score
queries, so every backend ranks alike, and hits are explained
(:meth:`~c360.search.plan.QueryPlan.explain`) by the same code. The clauses of
names, readings and company names are :mod:`c360.search.name_clauses`'.

A policy (:mod:`c360.search.policy`) removes clauses on fields the caller may not
search; a fragment left with nothing to search is refused — from the shape of the
query alone, never from what the index holds.
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace

from c360.platform.normalize import (
    NormalizationError,
    fold_text,
    normalize_email,
    normalize_phone,
    normalize_resident_id,
)
from c360.platform.normalize.china import HAN_CHARACTERS, canonical_region
from c360.search.documents import (
    ID_SUFFIX_LENGTHS,
    PHONE_SUFFIX_LENGTHS,
)
from c360.search.name_clauses import (
    BRACKETED_RE,
    bracketed_company_clauses,
    han_clauses,
    latin_clauses,
)
from c360.search.plan import (
    EXACT,
    PREFIX,
    SUBSTRING,
    SUFFIX,
    Clause,
    QueryPlan,
    Term,
    TokenKind,
    best_first,
    make_clause,
)
from c360.search.policy import DEFAULT_POLICY, SearchForbiddenError, SearchPolicy

__all__ = ["MAX_FRAGMENTS", "MAX_QUERY_CHARS", "PHONE_TAIL_MIN", "plan_query"]

MAX_QUERY_CHARS = 200
MAX_FRAGMENTS = 8
PHONE_TAIL_MIN = 4


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
        items.append(make_clause("member_no", "member_no", "member_no", digits, 95, EXACT))
        # An all-digit e-mail local part: a QQ number (``1774228885@qq.com``).
        items.append(make_clause("email", "email_local", "email_local", digits, 95, EXACT))
        if len(digits) >= 5:
            items.append(make_clause("email", "email_local", "email_prefix", digits, 55, PREFIX))
    if valid:
        items.append(make_clause("phone", "phone", "phone", valid, 100, EXACT))
        national = valid
        n = len(national)
    if PHONE_TAIL_MIN <= n <= 13:
        tail = national[-PHONE_SUFFIX_LENGTHS[-1] :]
        items.append(make_clause("phone", "phone", "phone_suffix", tail, 60, SUFFIX))
    if n in ID_SUFFIX_LENGTHS and written_as_phone is None:
        items.append(make_clause("id_number", "id_number", "id_suffix", national, 40, SUFFIX))
    return best_first(*items)


def _id_clauses(text: str) -> tuple[Clause, ...]:
    """An 18-character number: an id number if its check digit says so (sensitive),
    else a unified social credit code or a member number. Decided from the text
    alone, so a refusal tells nothing about the index."""
    try:
        normalize_resident_id(text)
    except NormalizationError:
        pass
    else:
        return best_first(make_clause("id_number", "id_number", "id_number", text, 100, EXACT))
    return best_first(
        make_clause("uscc", "uscc", "uscc", text, 100, EXACT),
        make_clause("member_no", "member_no", "member_no", text, 95, EXACT),
    )


def _email_clauses(text: str) -> tuple[Clause, ...]:
    local, _, domain = text.rpartition("@")
    try:
        address = normalize_email(text)
    except NormalizationError:
        address = None
    items: list[Clause | None] = []
    if address is not None:
        items.append(make_clause("email", "email", "email", address.lower(), 100, EXACT))
    items.append(make_clause("email", "email", "email_prefix", text, 60, PREFIX))
    if local and not domain:
        items.append(make_clause("email", "email_local", "email_local", local, 95, EXACT))
    return best_first(*items)


def _identifier_clauses(text: str) -> tuple[Clause, ...]:
    items: list[Clause | None] = [
        make_clause("wechat_id", "wechat_id", "wechat_id", text, 95, EXACT),
        make_clause("member_no", "member_no", "member_no", text, 95, EXACT),
        make_clause("email", "email_local", "email_local", text, 95, EXACT),
        make_clause("email", "email_local", "email_prefix", text, 55, PREFIX),
    ]
    if _USCC_RE.fullmatch(text):
        items.append(make_clause("uscc", "uscc", "uscc", text, 100, EXACT))
    return best_first(*items)


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
                best_first(make_clause("id_number", "id_number", "id_suffix", piece, 40, SUFFIX)),
            )
        runs = _RUN_RE.findall(piece)
        if not runs:
            self.note(f"ignored {piece!r}: no letters, characters or digits")
            return None
        if len(runs) == 1 and runs[0] == piece:
            return self.run_single(piece)
        if piece.isascii():
            clauses = _identifier_clauses(piece)
        elif BRACKETED_RE.search(piece):  # 彩虹(北京)化妆品有限公司: one company name
            clauses = bracketed_company_clauses(piece)
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
            return Term(run, TokenKind.HAN, han_clauses(run), _place_parts(run))
        if _LATIN_ONLY_RE.fullmatch(run):
            if len(run) == 1:
                self.note(f"ignored {run!r}: one letter is too short to search by")
                return None
            return Term(run, TokenKind.LATIN, latin_clauses(run))
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
            best_first(make_clause("region", "region", "region", name, 40, SUBSTRING)),
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
