"""The search contract: what every search backend does, in the words of the staff
who use it.

A backend stores one :class:`~c360.search.documents.CustomerDocument` per active
customer and answers :meth:`SearchBackend.search`: free text (a fragment of a
name, its pinyin or initials, a phone tail, an e-mail, a company) plus
structured :class:`SearchFilters`, returning a :class:`SearchPage` of
:class:`SearchHit` (customer id, score, which fields matched and how), facet
counts and an opaque cursor for the next page.

The free text is understood once, by :func:`c360.search.query.plan_query`, into a
backend-neutral plan; every backend compiles that same plan into constant-score
clauses (exact > prefix > suffix > substring > fuzzy), so two backends rank the
same documents the same way. The GraphQL ``customers(search:, filter:)`` field and
the staff tools use only this module's types.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from c360.search.documents import CustomerDocument

__all__ = [
    "FACET_FIELDS",
    "FACET_SIZE",
    "MAX_PAGE_SIZE",
    "MAX_RESULT_WINDOW",
    "FacetCount",
    "FieldMatch",
    "IndexStats",
    "InvalidCursorError",
    "MatchKind",
    "Rebuild",
    "SearchBackend",
    "SearchError",
    "SearchFilters",
    "SearchHit",
    "SearchPage",
    "SearchPolicy",
    "SearchUnavailableError",
    "SortOrder",
]

MAX_PAGE_SIZE = 1000
"""The most hits one page may ask for (``first``)."""

MAX_RESULT_WINDOW = 10_000
"""How deep cursors may page into one result list (as OpenSearch's
``index.max_result_window``): past it, refine the query or the filters."""

FACET_SIZE = 20
"""How many values a facet lists (the most frequent first)."""

FACET_FIELDS: tuple[str, ...] = (
    "kind",
    "tags",
    "tier",
    "risk_level",
    "lifecycle_stage",
    "province",
    "city",
    "source",
    "authenticity_band",
    "authenticity_score",
    "case_status",
)
"""The structured dimensions a search can filter on and count (facets).
``authenticity_score`` holds the score 0-100 as text (``"85"``): a range filter
is the set of its values. ``case_status`` lists ``open_case``, ``open_complaint``,
``sla_warning`` / ``sla_breached`` for a customer with open cases."""


class SearchError(Exception):
    """A search could not be answered as asked (the message says why)."""


@runtime_checkable
class SearchPolicy(Protocol):
    """What one caller may do with search."""

    @property
    def name(self) -> str:
        """Who this policy is for, as error messages name it (a role)."""
        ...

    def may_search(self, field: str) -> bool:
        """Whether free text may be matched against ``field`` (one of
        :data:`SEARCH_FIELDS`) and filters / facets use it (one of
        :data:`~c360.search.contract.FACET_FIELDS`)."""
        ...

    def may_see(self, field: str) -> bool:
        """Whether hits may carry the display value ``field`` (one of
        :data:`CARD_FIELDS`) — in clear; masking is the presentation's concern."""
        ...


class InvalidCursorError(SearchError, ValueError):
    """An ``after`` cursor that this backend did not hand out, or bad paging."""


class SearchUnavailableError(SearchError):
    """The search backend cannot be reached or is not writable right now."""


class MatchKind(StrEnum):
    """How a query fragment matched a field, best first."""

    EXACT = "exact"
    """The whole value (``张伟`` = 张伟, ``zw`` = the initials of 张伟)."""
    PREFIX = "prefix"
    """The start of the value (``张伟`` in 张伟东, ``zhangw`` in zhangweidong)."""
    SUFFIX = "suffix"
    """The end of the value (the last digits of a phone)."""
    SUBSTRING = "substring"
    """Inside the value (``伟东`` in 张伟东, ``腾讯`` in 深圳腾讯科技)."""
    FUZZY = "fuzzy"
    """Close to the value: a typo (``zhangwie``), a homophone (张卫 for 张伟), a
    company name with a wrong character."""


@dataclass(frozen=True, slots=True)
class FieldMatch:
    """One fragment of the query (``term``) matched ``field`` in this way."""

    field: str
    """``name``, ``name_pinyin``, ``name_initials``, ``phone``, ``email``,
    ``email_local``, ``id_number``, ``company``, ``company_pinyin``, ``uscc``,
    ``member_no``, ``wechat_id`` or ``region``."""
    kind: MatchKind
    term: str
    """The query fragment, as understood (``13800138000`` for ``+86 138-0013-8000``)."""


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One customer found."""

    customer_id: int
    score: float
    """Sum over the query's fragments of the best match tier: comparable within one
    result list (and across backends), not across queries."""
    matches: tuple[FieldMatch, ...] = ()
    """Which fields matched and how (the best match of each fragment first)."""
    card: Mapping[str, str] = field(default_factory=dict)
    """Display values (``name``, ``phone``, ``email``, ``company``, ``province``,
    ``city``…) *in clear*, only those the caller's policy lets them see. Masking
    for display is the presentation's job (``c360.auth.masking``)."""


@dataclass(frozen=True, slots=True)
class FacetCount:
    value: str
    count: int


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of results."""

    hits: list[SearchHit]
    total: int
    """How many customers match in all (every page)."""
    next_cursor: str | None
    """Pass as ``after`` for the next page; ``None`` on the last page."""
    facets: Mapping[str, list[FacetCount]] = field(default_factory=dict)
    """Per requested facet field, the most frequent values among *all* matches."""
    notes: tuple[str, ...] = ()
    """What the query understanding ignored or assumed, for the user (e.g. a
    three-digit fragment is too short to search phones by)."""
    took_ms: float = 0.0

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


def _values(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Structured filters: each dimension accepts any of its values (OR); the
    dimensions combine with AND. An empty dimension does not filter.

    ``regions`` is a row scope rather than a facet: the customer's golden
    province *or* city is one of its values, exactly as written (the caller
    passes every spelling, e.g. ``("北京", "北京市")``). It combines with the other
    dimensions by AND, is not counted as a facet and is not checked against the
    search policy (it narrows what the caller sees; it is the caller's own scope,
    e.g. an agent's region from their token).

    ``tags``, ``tier``, ``risk_level`` and ``lifecycle_stage`` are filled by the
    insights work; until then no document carries them and filtering by them
    finds nothing."""

    kind: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    tier: tuple[str, ...] = ()
    risk_level: tuple[str, ...] = ()
    lifecycle_stage: tuple[str, ...] = ()
    province: tuple[str, ...] = ()
    city: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    authenticity_band: tuple[str, ...] = ()
    authenticity_score: tuple[str, ...] = ()
    case_status: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()

    @classmethod
    def of(cls, **dimensions: str | Iterable[str] | None) -> SearchFilters:
        """``SearchFilters.of(city="杭州", kind=["person"], regions=["北京", "北京市"])``:
        single values or lists; an unknown dimension is a :class:`SearchError`
        naming it."""
        known = (*FACET_FIELDS, "regions")
        unknown = sorted(set(dimensions) - set(known))
        if unknown:
            raise SearchError(f"unknown filter {unknown[0]!r}; filters are {', '.join(known)}")
        return cls(**{k: _values(v) for k, v in dimensions.items()})

    def items(self) -> list[tuple[str, tuple[str, ...]]]:
        """The facet dimensions in use, with their accepted values (not
        :attr:`regions`, which is a row scope)."""
        return [(name, getattr(self, name)) for name in FACET_FIELDS if getattr(self, name)]


class SortOrder(StrEnum):
    RELEVANCE = "relevance"
    """Best match first; equal scores by customer id (an empty query: by id)."""
    UPDATED = "updated"
    """Most recently changed customer first."""
    CUSTOMER_ID = "customer_id"
    """Oldest customer id first."""


@dataclass(frozen=True, slots=True)
class IndexStats:
    backend: str
    documents: int
    index: str
    """Where: the directory (embedded) or the concrete index behind the alias."""
    size_bytes: int | None = None
    segments: int | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


class Rebuild(ABC):
    """A fresh, empty index being filled while searches keep using the live one;
    :meth:`swap` makes it live at once, :meth:`abandon` throws it away."""

    @abstractmethod
    def add(self, documents: Sequence[CustomerDocument]) -> None: ...

    @abstractmethod
    def swap(self) -> str:
        """Make the new index the live one; returns its name."""

    @abstractmethod
    def abandon(self) -> None: ...

    def __enter__(self) -> Rebuild:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abandon()


class SearchBackend(ABC):
    """A customer search index. Writes are idempotent by customer id; a write
    method returns once its changes are durable and visible to searches."""

    name: str

    @abstractmethod
    def bulk(self, upserts: Sequence[CustomerDocument] = (), deletes: Iterable[int] = ()) -> None:
        """Replace the documents of ``upserts`` (by customer id) and remove the
        customers ``deletes``; removing an absent customer is not an error."""

    def index(self, document: CustomerDocument) -> None:
        """Add or replace one customer's document."""
        self.bulk([document])

    def delete(self, customer_id: int) -> None:
        """Remove one customer (merged away, erased); absent is fine."""
        self.bulk((), [customer_id])

    @abstractmethod
    def search(
        self,
        query: str = "",
        filters: SearchFilters | None = None,
        *,
        sort: SortOrder = SortOrder.RELEVANCE,
        first: int = 20,
        after: str | None = None,
        facets: Sequence[str] = (),
        policy: SearchPolicy | None = None,
    ) -> SearchPage:
        """Customers matching ``query`` and ``filters``, ``first`` at a time after
        the cursor ``after``, with counts for the ``facets`` asked for.

        ``policy`` (default :data:`c360.search.policy.DEFAULT_POLICY`) decides
        which fields the caller may search and filter by (asking for another is
        :class:`~c360.search.policy.SearchForbiddenError`, whatever the index holds)
        and which display values the hits carry."""

    @abstractmethod
    def begin_rebuild(self) -> Rebuild:
        """Start filling a fresh index beside the live one (``c360 reindex``)."""

    @abstractmethod
    def stats(self) -> IndexStats: ...

    @abstractmethod
    def health(self) -> dict[str, Any]:
        """``{"status": "ok" | "error", ...}``; never raises."""

    def writing(self) -> Any:
        """A context manager holding this process's writer open across many
        :meth:`bulk` calls (the indexer's drain); backends without writer state
        return a no-op."""
        return nullcontext()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files, writers and connections."""

    def __enter__(self) -> SearchBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_page_request(first: int, facets: Sequence[str]) -> None:
    """Reject a page size or facet name no backend serves."""
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise SearchError(f"first must be between 1 and {MAX_PAGE_SIZE}, got {first}")
    unknown = [f for f in facets if f not in FACET_FIELDS]
    if unknown:
        raise SearchError(f"unknown facet {unknown[0]!r}; facets are {', '.join(FACET_FIELDS)}")
