"""The root ``Query``: a customer by id, any node by global id, and the pages of
active customers, filtered within the caller's rows."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

import strawberry
from graphql import FieldNode, FragmentSpreadNode, SelectionNode
from strawberry import relay

from c360.platform.audit import InvalidPurpose, clean_purpose
from c360.schema.context import Subject
from c360.schema.cursors import cursor_number, number_cursor
from c360.schema.customer_filter import CustomerFilter, search_request, selection_for
from c360.schema.customer_pages import fetch_active_customers
from c360.schema.errors import (
    BadUserInput,
    Forbidden,
    SearchUnavailable,
    check_page_size,
    check_text,
)
from c360.schema.searching import (
    PERSONAL_SEARCH_FIELDS,
    CustomerSort,
    SearchCursor,
    SearchRequest,
    outcome_of,
    plan_fields,
    run_search,
)
from c360.schema.types import (
    Customer,
    CustomerConnection,
    CustomerEdge,
    CustomerKind,
    FacetCounter,
    Info,
    SearchMatch,
    record_outside_scope,
    visible_rows,
)
from c360.search.contract import SearchBackend

CURSOR_PREFIX = "customers"
"""What a ``customers`` cursor says before its last id (base64 of ``customers:42``)."""

MAX_ID = 2**63 - 1
"""Ids beyond a 64-bit integer cannot exist; asking for one is answered with null."""

MAX_ID_DIGITS = len(str(MAX_ID))

_DIGITS = re.compile(r"[0-9]+")

T = TypeVar("T")


def parse_customer_id(value: str, argument: str = "id") -> int:
    """The numeric customer id in ``value``: a ``Customer`` global id, or the
    customer id itself as a decimal string. Anything else is :class:`BadUserInput`."""
    text = str(value).strip()
    if _DIGITS.fullmatch(text):
        if len(text) > MAX_ID_DIGITS:
            raise BadUserInput(argument, f"a customer id has at most {MAX_ID_DIGITS} digits")
        return int(text)
    try:
        global_id = relay.GlobalID.from_id(text)
    except relay.GlobalIDValueError:
        raise BadUserInput(
            argument, f"{value!r} is neither a global id nor a numeric customer id"
        ) from None
    if global_id.type_name != "Customer":
        raise BadUserInput(
            argument, f"{value!r} is the id of a {global_id.type_name}, not of a Customer"
        )
    if not _DIGITS.fullmatch(global_id.node_id) or len(global_id.node_id) > MAX_ID_DIGITS:
        raise BadUserInput(argument, f"{value!r} does not carry a numeric customer id")
    return int(global_id.node_id)


def parse_global_id(value: str, argument: str = "id") -> relay.GlobalID:
    """``value`` as a Relay global id, or :class:`BadUserInput`."""
    try:
        return relay.GlobalID.from_id(value)
    except relay.GlobalIDValueError:
        raise BadUserInput(argument, f"{value!r} is not a global id") from None


def encode_cursor(customer_id: int) -> str:
    return number_cursor(CURSOR_PREFIX, customer_id)


def decode_cursor(cursor: str, argument: str = "after") -> int:
    """The last customer id a ``customers`` cursor stands for, or :class:`BadUserInput`."""
    last_id = cursor_number(cursor, CURSOR_PREFIX, "this connection", argument=argument)
    if last_id > MAX_ID:
        raise BadUserInput(argument, f"{cursor!r} is not a cursor of this connection")
    return last_id


def check_purpose(purpose: str | None, info: Info) -> str | None:
    """The purpose a field reads under: its ``purpose`` argument, else the
    request's ``X-Purpose`` header, else none."""
    if purpose is None:
        return info.context.purpose
    try:  # the same rules as the X-Purpose header (c360.platform.audit.clean_purpose)
        return clean_purpose(purpose)
    except InvalidPurpose as exc:
        raise BadUserInput("purpose", str(exc)) from None


async def customer_by_id(info: Info, customer_id: int, purpose: str | None) -> Customer | None:
    """The customer ``customer_id`` resolves to (following merges), if any; one
    outside the caller's rows is refused."""
    if customer_id > MAX_ID:
        return None
    row = await info.context.loaders.customer.load(customer_id)
    if row is None:
        return None
    [roles] = await visible_rows(info, [row])
    if not roles:
        assert row.id is not None
        record_outside_scope(info, row.id, purpose)
        return None
    await prime_coverage(info, [row], purpose)
    return Customer.from_row(row, purpose, roles)


async def prime_coverage(info: Info, rows: list[Any], purpose: str | None) -> None:
    """Read, off the event loop and in one go, whether consent or a legal basis
    covers ``purpose`` for the customers of a page (the policy asks per value)."""
    ids = [row.id for row in rows if row is not None and row.id is not None]
    await asyncio.to_thread(info.context.prime_coverage, ids, purpose)


ATTRIBUTE_FIELDS = frozenset({"attribute", "attributes"})
"""The ``Customer`` fields that read its golden profile."""


def selects_any(info: Info, names: frozenset[str]) -> bool:
    """Whether the field being resolved selects, at any depth (fragments
    included), a field named one of ``names``."""
    raw = info._raw_info
    fragments = raw.fragments
    seen: set[str] = set()
    pending: list[SelectionNode] = [
        s for node in raw.field_nodes if node.selection_set for s in node.selection_set.selections
    ]
    while pending:
        selection = pending.pop()
        if isinstance(selection, FieldNode):
            if selection.name.value in names:
                return True
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen or name not in fragments:
                continue
            seen.add(name)
            pending.extend(fragments[name].selection_set.selections)
            continue
        selections = getattr(selection, "selection_set", None)  # a field's, an inline fragment's
        if selections is not None:
            pending.extend(selections.selections)
    return False


def search_backend(info: Info) -> SearchBackend:
    """The app's search backend, or :class:`SearchUnavailable`."""
    provider = info.context.search_backend
    if provider is None:
        raise SearchUnavailable("this server was started without a search index")
    try:
        return provider()
    except Exception as exc:  # opening an index can fail in many ways; all mean the same
        raise SearchUnavailable(f"{type(exc).__name__}: {exc}") from exc


def facet_counter(info: Info, request: SearchRequest | Callable[[], SearchRequest]) -> FacetCounter:
    """Counts the matches of ``request`` by facet, through the index (a
    callable request is built only when facets are asked for)."""

    async def count(names: list[str]) -> dict[str, list[tuple[str, int]]]:
        nonlocal request
        if callable(request):
            request = request()
        page, _ = await guarded(
            info,
            request,
            run_search(search_backend(info), request, first=1, after=None, facets=names),
        )
        return {name: [(f.value, f.count) for f in page.facets.get(name, [])] for name in names}

    return count


async def guarded(info: Info, request: SearchRequest, work: Awaitable[T]) -> T:
    """``work``, with a refusal it raises put on the audit log."""
    try:
        return await work
    except Forbidden as exc:
        info.context.access.refused(Subject(None, purpose=request.purpose), exc.what, exc.reason)
        raise


async def search_connection(
    info: Info, request: SearchRequest, first: int, after: str | None
) -> CustomerConnection:
    """A page of customers found through the search index."""
    start = SearchCursor.decode(after, "after") if after is not None else None
    searched = await guarded(info, request, asyncio.to_thread(plan_fields, request))
    for field_name in sorted(searched & PERSONAL_SEARCH_FIELDS):
        info.context.access.searched(request.purpose, f"search.{field_name}")
    backend = search_backend(info)
    page, begun = await guarded(
        info, request, run_search(backend, request, first=first, after=start)
    )
    outcome = outcome_of(page, begun, first)
    rows = await info.context.loaders.customer.load_many([hit[0] for hit in outcome.hits])
    visible = await visible_rows(info, rows)
    await prime_coverage(info, list(rows), request.purpose)
    edges: list[CustomerEdge] = []
    seen: set[int] = set()
    for (_, score, matches), cursor, row, roles in zip(
        outcome.hits, outcome.cursors, rows, visible, strict=True
    ):
        # The index may lag a merge (two hits, one survivor) or an erasure (no row).
        if row is None or not roles or row.id in seen:
            continue
        assert row.id is not None
        seen.add(row.id)
        edges.append(
            CustomerEdge(
                cursor=cursor,
                node=Customer.from_row(row, request.purpose, roles),
                score=score,
                matches=[SearchMatch(field=f, kind=k, term=t) for f, k, t in matches],
            )
        )
    return CustomerConnection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=outcome.has_next,
            has_previous_page=start is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        search_total=outcome.total,
        facet_counter=facet_counter(info, request),
        search_notes=list(outcome.notes),
    )


@strawberry.type
class Query:
    @strawberry.field(
        description="A customer by global id or numeric customer id. The id of a "
        "customer merged into another resolves to the survivor; an unknown id is null. "
        "`purpose` declares why you read it (overrides the X-Purpose header)."
    )
    async def customer(
        self, info: Info, id: strawberry.ID, purpose: str | None = None
    ) -> Customer | None:
        reason = check_purpose(purpose, info)
        return await customer_by_id(info, parse_customer_id(id, "id"), reason)

    @strawberry.field(description="Any object by its global id (Relay).")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        global_id = parse_global_id(id, "id")
        if global_id.type_name == "Customer":
            return await customer_by_id(info, parse_customer_id(id, "id"), info.context.purpose)
        raise BadUserInput(
            "id", f"{id!r} is the id of a {global_id.type_name}, which this API does not serve"
        )

    @strawberry.field(
        description="Active customers (not merged into another), `first` (1-100) at a "
        "time after the cursor `after`, meeting `filter`, within the rows your role "
        "sees. Without `search` they are listed by customer id from the database. "
        "With `search` (free text: a name or part of one, its pinyin or initials, a "
        "phone's last digits, an e-mail, a company), a `sort` other than CUSTOMER_ID, "
        "or an index-only filter (tier, riskLevel, lifecycleStage, source), they come "
        "from the search index, best match first. Searching by a field your role does "
        "not read in clear is refused. `purpose` declares why you read them."
    )
    async def customers(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        kind: CustomerKind | None = None,
        filter: CustomerFilter | None = None,
        search: str | None = None,
        sort: CustomerSort | None = None,
        purpose: str | None = None,
    ) -> CustomerConnection:
        check_page_size(first, "first")
        reason = check_purpose(purpose, info)
        text = check_text(search, "search", maximum=200, minimum=0) if search is not None else None
        uses_index = (
            text is not None
            or (sort is not None and sort is not CustomerSort.CUSTOMER_ID)
            or (filter is not None and bool(filter.index_arguments()))
        )
        if uses_index:
            request = search_request(info, text or "", filter, kind, sort, reason)
            return await search_connection(info, request, first, after)
        after_id = decode_cursor(after, "after") if after is not None else None
        selection = selection_for(info, filter, reason)
        if kind is not None:
            if selection.kind is not None and selection.kind != kind.value:
                raise BadUserInput("kind", "contradicts filter.kind")
            selection = replace(selection, kind=kind.value)
        rows = await asyncio.to_thread(
            fetch_active_customers,
            info.context.engine,
            after_id=after_id,
            limit=first + 1,
            selection=selection,
        )
        listed = rows[:first]
        if selects_any(info, ATTRIBUTE_FIELDS):  # one read for the page, then no awaiting
            ids = [row.id for row in listed if row.id is not None]
            await info.context.loaders.golden_attributes.load_many(ids)
        viewers = await visible_rows(info, list(listed))
        await prime_coverage(info, list(listed), reason)
        page = [
            Customer.from_row(row, reason, roles)
            for row, roles in zip(listed, viewers, strict=True)
            if roles
        ]
        edges = [CustomerEdge(cursor=encode_cursor(c.customer_id), node=c) for c in page]
        counter = None
        if filter is None or not filter.identity_arguments():
            counter = facet_counter(
                info, lambda: search_request(info, "", filter, kind, None, reason)
            )
        return CustomerConnection(
            edges=edges,
            page_info=relay.PageInfo(
                has_next_page=len(rows) > first,
                has_previous_page=after_id is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            selection=selection,
            facet_counter=counter,
        )
