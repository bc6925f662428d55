"""``customers(search:, filter:)``: customer search served through the search
contract (:mod:`c360.search.contract`) and nothing else.

This module owns three things:

* :class:`CallerSearchPolicy` — the caller's role policy (:mod:`c360.auth.policy`)
  seen as a :class:`~c360.search.policy.SearchPolicy`: a field may be searched,
  filtered or counted only if the caller reads it in clear (under the declared
  purpose), so a search never tells a reader what a mask hides;
* :class:`SearchRequest` — what one ``customers`` call asks the backend (text,
  structured filters, the caller's row scope as ``regions``, sort);
* :func:`search_page` — the page of customers, resolved from the database by id
  in the backend's order (merged ids followed, duplicates and rows outside the
  caller's scope dropped), with a cursor on every edge.

Every edge gets a cursor: ``(backend cursor the page started after, hits to
skip)``, so resuming after any edge re-asks the backend for the same page and
skips what was already served; the last edge carries the backend's own
next-page cursor.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import strawberry
from strawberry import relay

from c360.auth.policy import Outcome, decide
from c360.auth.principal import Principal
from c360.schema.errors import BadUserInput, Forbidden, SearchUnavailable
from c360.search.contract import (
    SearchBackend,
    SearchError,
    SearchFilters,
    SearchPage,
    SearchUnavailableError,
    SortOrder,
)
from c360.search.policy import SearchForbiddenError
from c360.search.query import plan_query

SEARCH_CURSOR_PREFIX = "search"

MAX_SKIP = 500
"""The most hits a cursor may skip into its backend page (a page is at most 100
customers, so an honest cursor skips fewer)."""

SEARCH_FIELD_POLICY: dict[str, tuple[str, str]] = {
    # search, filter, facet or display field: (policy attribute, whose it is)
    "name": ("name", "person"),
    "phone": ("phone", "person"),
    "email": ("email", "person"),
    "id_number": ("id_number", "person"),
    "wechat_id": ("wechat_id", "person"),
    "company": ("company", "person"),
    "uscc": ("uscc", "organization"),
    "member_no": ("member_no", "person"),
    "region": ("province", "person"),
    "province": ("province", "person"),
    "city": ("city", "person"),
    "kind": ("public", "person"),
    "source": ("public", "person"),
    "tags": ("tags", "person"),
    "tier": ("tier", "person"),
    "risk_level": ("risk_level", "person"),
    "lifecycle_stage": ("lifecycle_stage", "person"),
    "authenticity_band": ("authenticity_band", "person"),
    "authenticity_score": ("authenticity_score", "person"),
    "case_status": ("case", "person"),
}
"""How the policy table governs each field search knows. ``name`` is judged as a
person's name (stricter than an organization's, which is public): a role that may
not read people's names may not search by name."""

PERSONAL_SEARCH_FIELDS = frozenset({"name", "phone", "email", "id_number", "wechat_id"})
"""Fields whose use in a search is personal data and goes on the audit log."""


@dataclass(frozen=True, slots=True)
class CallerSearchPolicy:
    """The caller's role policy as a search policy."""

    principal: Principal
    purpose: str | None = None

    @property
    def name(self) -> str:
        return f"role {', '.join(sorted(self.principal.roles)) or '(none)'}"

    def _clear(self, field: str) -> bool:
        mapped = SEARCH_FIELD_POLICY.get(field)
        if mapped is None:
            return False  # a field the table does not govern is not searchable
        attribute, kind = mapped
        decision = decide(self.principal, attribute, subject_kind=kind, purpose=self.purpose)
        return decision.outcome is Outcome.CLEAR

    def may_search(self, field: str) -> bool:
        return self._clear(field)

    def may_see(self, field: str) -> bool:
        return self._clear(field)


@strawberry.enum(description="How search results are ordered.")
class CustomerSort(Enum):
    RELEVANCE = "relevance"
    UPDATED = "updated"
    CUSTOMER_ID = "customer_id"


@strawberry.enum(description="A dimension search results can be counted by.")
class CustomerFacetField(Enum):
    KIND = "kind"
    TAGS = "tags"
    TIER = "tier"
    RISK_LEVEL = "risk_level"
    LIFECYCLE_STAGE = "lifecycle_stage"
    PROVINCE = "province"
    CITY = "city"
    SOURCE = "source"
    AUTHENTICITY_BAND = "authenticity_band"
    AUTHENTICITY_SCORE = "authenticity_score"
    CASE_STATUS = "case_status"


FACET_ARGUMENTS = {
    "kind": "filter.kind",
    "tags": "filter.tag",
    "tier": "filter.tier",
    "risk_level": "filter.riskLevel",
    "lifecycle_stage": "filter.lifecycleStage",
    "province": "filter.province",
    "city": "filter.city",
    "source": "filter.source",
    "authenticity_band": "filter.authenticityBand",
    "authenticity_score": "filter.authenticityScoreMin",
    "case_status": "filter.caseStatus",
}
"""The GraphQL argument each search filter dimension comes from (for errors)."""


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """One search as the backend is asked it."""

    text: str
    filters: SearchFilters
    sort: SortOrder
    policy: CallerSearchPolicy

    @property
    def purpose(self) -> str | None:
        """The purpose the caller declared (the policy judges under it)."""
        return self.policy.purpose


@dataclass(frozen=True, slots=True)
class SearchCursor:
    """Where a page of a search resumes: after the backend cursor ``after``,
    skipping ``skip`` hits."""

    after: str | None
    skip: int

    def encode(self) -> str:
        return relay.to_base64(SEARCH_CURSOR_PREFIX, json.dumps([self.after, self.skip]))

    @classmethod
    def decode(cls, cursor: str, argument: str = "after") -> SearchCursor:
        try:
            prefix, body = relay.from_base64(cursor)
            after, skip = json.loads(body) if prefix == SEARCH_CURSOR_PREFIX else (None, -1)
        except (ValueError, TypeError):
            after, skip = None, -1
        if not (after is None or isinstance(after, str)) or not isinstance(skip, int):
            skip = -1
        if not 0 <= skip <= MAX_SKIP:
            raise BadUserInput(argument, f"{cursor!r} is not a cursor of this search")
        return cls(after, skip)


@dataclass
class SearchOutcome:
    """A page of customer ids in rank order, with what the page says overall."""

    hits: list[tuple[int, float, tuple[tuple[str, str, str], ...]]]
    """(customer id, score, (field, match kind, term) per matched field)."""
    total: int
    has_next: bool
    cursors: list[str]
    notes: tuple[str, ...]
    took_ms: float


def plan_fields(request: SearchRequest) -> frozenset[str]:
    """The fields the query text will be matched against, for this caller; a
    fragment that can only mean a forbidden field is :class:`Forbidden`."""
    try:
        plan = plan_query(request.text, request.policy)
    except SearchForbiddenError as exc:
        raise Forbidden(f"search.{exc.field}", refusal(request, exc.field)) from None
    return frozenset(plan.fields())


def refusal(request: SearchRequest, field: str) -> str:
    """Why ``field`` may not be searched — without the text searched (the reason
    goes on the audit log, which holds no values)."""
    how = "filter or count by" if field in FACET_ARGUMENTS else "search by"
    return f"{request.policy.name} may not {how} {field}: it is not served to you in clear" + (
        "" if request.purpose else " (a declared purpose may allow it)"
    )


async def run_search(
    backend: SearchBackend,
    request: SearchRequest,
    *,
    first: int,
    after: SearchCursor | None,
    facets: Sequence[str] = (),
) -> tuple[SearchPage, SearchCursor]:
    """The backend's page for ``request`` from ``after``: ``first`` hits past
    ``after.skip`` (the page it returns is the one the cursors count from)."""
    start = after or SearchCursor(None, 0)
    try:
        page = await asyncio.to_thread(
            backend.search,
            request.text,
            request.filters,
            sort=request.sort,
            first=first + start.skip,
            after=start.after,
            facets=list(facets),
            policy=request.policy,
        )
    except SearchForbiddenError as exc:
        argument = FACET_ARGUMENTS.get(exc.field, f"search.{exc.field}")
        if exc.field in facets:
            argument = f"facets.{exc.field}"
        raise Forbidden(argument, refusal(request, exc.field)) from None
    except SearchUnavailableError as exc:
        raise SearchUnavailable(str(exc)) from None
    except SearchError as exc:
        raise BadUserInput("after" if after is not None else "search", str(exc)) from None
    return page, start


def outcome_of(page: SearchPage, start: SearchCursor, first: int) -> SearchOutcome:
    """The served part of ``page`` (past ``start.skip``) with a cursor per hit."""
    served = page.hits[start.skip : start.skip + first]
    cursors = [SearchCursor(start.after, start.skip + i + 1).encode() for i in range(len(served))]
    has_next = page.next_cursor is not None or len(page.hits) > start.skip + first
    if served and page.next_cursor is not None and start.skip + len(served) == len(page.hits):
        cursors[-1] = SearchCursor(page.next_cursor, 0).encode()
    return SearchOutcome(
        hits=[
            (
                hit.customer_id,
                hit.score,
                tuple((m.field, m.kind.value, m.term) for m in hit.matches),
            )
            for hit in served
        ],
        total=page.total,
        has_next=has_next,
        cursors=cursors,
        notes=page.notes,
        took_ms=page.took_ms,
    )
