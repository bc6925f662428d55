"""The GraphQL object types: a customer with its golden attributes, source
records (their types are :mod:`c360.schema.record_types`'), timeline, related
customers, tags and notes.

Types hold stored values in private fields and present every personal one through
:func:`c360.schema.presentation.present_value` when a client reads it, for the
:class:`~c360.schema.context.Subject` (customer, kind, purpose) it belongs to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from enum import Enum
from typing import Self

import strawberry
from strawberry import relay

from c360.auth.policy import Outcome, covering_roles, roles_seeing
from c360.platform import models
from c360.schema.case_types import CustomerCases, cases_on_customer
from c360.schema.context import RequestContext, Subject
from c360.schema.credit_types import CustomerCredit, credit_of
from c360.schema.customer_pages import CustomerSelection, count_active_customers
from c360.schema.errors import BadUserInput, Forbidden, check_page_size
from c360.schema.loaded_rows import NoteEntry, Relation, as_utc
from c360.schema.presentation import present_value
from c360.schema.record_types import GoldenAttribute, SourceRecordType
from c360.schema.searching import CustomerFacetField
from c360.schema.timeline_types import TimelineEvent, customer_timeline
from c360.schema.value_types import CustomerValue, customer_value
from c360.schema.verification_types import CustomerAuthenticity, authenticity_for

Info = strawberry.Info[RequestContext, None]


@strawberry.enum(description="Whether a customer is a natural person or an organization.")
class CustomerKind(Enum):
    PERSON = "person"
    ORGANIZATION = "organization"


@strawberry.type(description="A note a member of staff wrote about the customer.")
class Note:
    entry: strawberry.Private[NoteEntry]
    subject: strawberry.Private[Subject]

    @strawberry.field
    def note_id(self) -> int:
        return self.entry.note_id

    @strawberry.field(description="The note (policy field note).")
    def text(self, info: Info) -> str | None:
        return present_value("note", self.entry.text, info.context, self.subject)

    @strawberry.field(description="Who wrote it (the token subject).")
    def author(self) -> str:
        return self.entry.author

    @strawberry.field
    def created_at(self) -> datetime | None:
        return self.entry.created_at


@strawberry.enum(description="How two customers are related.")
class RelationKind(Enum):
    WORKS_AT = "works_at"
    LEGAL_REPRESENTATIVE_OF = "legal_representative_of"
    REFERRED_BY = "referred_by"
    SHARES_PHONE = "shares_phone"
    SHARES_EMAIL = "shares_email"
    SHARES_ADDRESS = "shares_address"
    SHARES_DEVICE = "shares_device"
    SHARES_IDENTIFIER = "shares_identifier"
    """A strong identifier (id number, credit code, WeChat id) held by two
    customers kept apart."""


@strawberry.enum(description="Which way a directed relation points.")
class RelationDirection(Enum):
    OUTGOING = "outgoing"
    """This customer works at / represents / was referred by the related one."""
    INCOMING = "incoming"
    """The related customer works at / represents / was referred by this one."""
    MUTUAL = "mutual"
    """A shared identifier."""


@strawberry.type(description="Another customer related to this one (an edge of the graph).")
class RelatedCustomer:
    relation: strawberry.Private[Relation]
    subject: strawberry.Private[Subject]
    node: Customer = strawberry.field(description="The related customer.")

    @strawberry.field
    def kind(self) -> RelationKind:
        return RelationKind(self.relation.kind)

    @strawberry.field
    def direction(self) -> RelationDirection:
        return RelationDirection(self.relation.direction)

    @strawberry.field(
        description="The attribute the relation rests on: phone, email, address, "
        "device_id, company, legal_representative, referrer, id_number, uscc, wechat_id"
    )
    def via(self) -> str:
        return self.relation.attribute

    @strawberry.field(description="How the relation was found (never a value).")
    def basis(self) -> str:
        return self.relation.basis

    @strawberry.field(
        description="The value it rests on: clear, masked or refused, as your role allows."
    )
    def value(self, info: Info) -> str | None:
        return present_value(
            self.relation.attribute, self.relation.value, info.context, self.subject
        )


def parse_node_number(node_id: str) -> int:
    """The customer id of a ``Customer`` node id's numeric part; ``-1`` (no
    customer) for anything that is not a 64-bit decimal."""
    if node_id.isascii() and node_id.isdigit() and len(node_id) <= 19:
        return int(node_id)
    return -1


async def visible_rows(info: Info, rows: list[models.Customer | None]) -> list[frozenset[str]]:
    """For each customer row, the caller's roles that see it (empty: not
    visible; a missing row is never visible); one batched load of the golden
    province and city, only when some role is region-limited."""
    context = info.context
    principal = context.principal
    if context.row_scope.unrestricted and covering_roles(principal) == principal.roles:
        return [principal.roles if row is not None else frozenset() for row in rows]
    ids = [row.id for row in rows if row is not None and row.id is not None]
    golden = dict(zip(ids, await context.loaders.golden_attributes.load_many(ids), strict=True))
    out: list[frozenset[str]] = []
    for row in rows:
        if row is None or row.id is None:
            out.append(frozenset())
            continue
        values = {a.name: a.value for a in golden[row.id]}
        out.append(roles_seeing(principal, values.get("province"), values.get("city")))
    return out


def _named(
    rows: list[models.GoldenAttribute], name: str, subject: Subject
) -> GoldenAttribute | None:
    for row in rows:
        if row.name == name:
            return GoldenAttribute.from_row(row, subject)
    return None


def record_outside_scope(info: Info, customer_id: int, purpose: str | None) -> None:
    """Put on the audit log that ``customer_id`` is outside the caller's rows;
    the caller is answered as for an unknown id (null), so an id outside one's
    region tells nothing about whether it exists."""
    reason = f"customer {customer_id} is outside your rows ({info.context.row_scope.describe()})"
    info.context.access.refused(Subject(customer_id, purpose=purpose), "row", reason)


@strawberry.type(description="A person or organization in the unified customer graph.")
class Customer(relay.Node):
    customer_id: int = strawberry.field(
        description="The stable numeric id; ids of merged customers redirect to it."
    )
    kind: CustomerKind
    created_at: datetime
    updated_at: datetime
    stored_display_name: strawberry.Private[str | None]
    purpose: strawberry.Private[str | None]
    viewer_roles: strawberry.Private[frozenset[str]]
    """The caller's roles that see this customer: its fields are decided by them."""

    @classmethod
    def from_row(
        cls, row: models.Customer, purpose: str | None, viewer_roles: frozenset[str]
    ) -> Self:
        assert row.id is not None
        return cls(
            customer_id=row.id,
            kind=CustomerKind(row.kind),
            created_at=as_utc(row.created_at),
            updated_at=as_utc(row.updated_at),
            stored_display_name=row.display_name,
            purpose=purpose,
            viewer_roles=viewer_roles,
        )

    @classmethod
    def resolve_id(cls, root: Self, *, info: strawberry.Info) -> str:
        return str(root.customer_id)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Customers by the numeric part of their global ids, following merges;
        customers outside the caller's rows are null, as unknown ids are."""
        ids = [parse_node_number(i) for i in node_ids]
        rows = await info.context.loaders.customer.load_many(ids)
        visible = await visible_rows(info, rows)
        nodes: list[Self | None] = []
        for row, roles in zip(rows, visible, strict=True):
            if row is not None and not roles:
                assert row.id is not None
                record_outside_scope(info, row.id, info.context.purpose)
                row = None
            nodes.append(cls.from_row(row, info.context.purpose, roles) if row else None)
        if required and any(node is None for node in nodes):
            raise ValueError("some customers do not exist")
        return nodes

    @property
    def subject(self) -> Subject:
        return Subject(self.customer_id, self.kind.value, self.purpose, self.viewer_roles)

    @strawberry.field(description="The customer's name (a person's as your role allows).")
    def display_name(self, info: Info) -> str | None:
        return present_value("name", self.stored_display_name, info.context, self.subject)

    @strawberry.field(
        description="The golden attributes you may read, by name. Attributes your role "
        "never reads are left out (not even their names or flags are served); those it "
        "reads only for a declared purpose are listed, refused until you declare one."
    )
    async def attributes(self, info: Info) -> list[GoldenAttribute]:
        rows = await info.context.loaders.golden_attributes.load(self.customer_id)
        subject = self.subject
        listed = []
        for row in rows:
            decision = info.context.decide(row.name, subject)
            if decision.outcome is Outcome.REFUSED and not decision.needs_purpose:
                continue
            listed.append(GoldenAttribute.from_row(row, subject))
        return listed

    @strawberry.field(
        description="One golden attribute by name (phone, email, id_number…); null if the "
        "customer has none. One your role may not read is refused whether or not it exists."
    )
    def attribute(self, info: Info, name: str) -> GoldenAttribute | None:
        subject = self.subject
        decision = info.context.decide(name, subject)
        if decision.outcome is Outcome.REFUSED:
            info.context.access.refused(subject, decision.field, decision.reason)
            raise Forbidden(decision.field, decision.reason)
        loaders = info.context.loaders
        loaded = loaders.loaded(loaders.golden_attributes, self.customer_id)
        if loaded is not None:  # a page primed with its profiles: answered at once
            return _named(loaded[0], name, subject)
        # Else an awaitable, which graphql-core awaits as it would an async resolver's.
        return self._attribute_loading(info, name, subject)  # type: ignore[return-value]

    async def _attribute_loading(
        self, info: Info, name: str, subject: Subject
    ) -> GoldenAttribute | None:
        rows = await info.context.loaders.golden_attributes.load(self.customer_id)
        return _named(rows, name, subject)

    @strawberry.field(description="The source records linked to this customer.")
    async def source_records(self, info: Info) -> list[SourceRecordType]:
        records = await info.context.loaders.linked_records.load(self.customer_id)
        return [SourceRecordType(record=r, subject=self.subject) for r in records]

    @strawberry.field(
        description="The newest entries first, `first` (1-100) of them: events, case changes, "
        "tier and stage transitions."
    )
    async def timeline(self, info: Info, first: int = 20) -> list[TimelineEvent]:
        return await customer_timeline(info, self.subject, first)

    @strawberry.field(description="Ids of customers merged into this one (they redirect here).")
    async def merged_ids(self, info: Info) -> list[int]:
        return await info.context.loaders.merged_ids.load(self.customer_id)

    @strawberry.field(description="The customer's tags (and those of customers merged into it).")
    async def tags(self, info: Info) -> list[str]:
        present_value("tags", None, info.context, self.subject)  # refuses if the policy does
        return await info.context.loaders.tags.load(self.customer_id)

    @strawberry.field(description="The newest notes first, `first` (1-100) of them.")
    async def notes(self, info: Info, first: int = 20) -> list[Note]:
        check_page_size(first, "first")
        entries = await info.context.loaders.notes.load((self.customer_id, first))
        return [Note(entry=e, subject=self.subject) for e in entries]

    @strawberry.field(
        description="The customer's credit: grade, score, PD, limit, terms, measures, reason "
        "codes, decisions and alerts, each field as your role allows."
    )
    async def credit(self, info: Info) -> CustomerCredit:
        return await credit_of(info.context, self.subject)

    @strawberry.field(
        description="The customer's value: RFM, CLV, P(alive), next purchase, tier, lifecycle "
        "stage with reasons and history, tags, satisfaction, each field as your role allows."
    )
    async def value(self, info: Info) -> CustomerValue:
        return await customer_value(info.context, self.subject)

    @strawberry.field(
        description="Is the customer real? The authenticity score and band, its reason codes, "
        "fraud flags, the consistency matrix and each attribute's verification state, each "
        "field as your role allows."
    )
    async def authenticity(self, info: Info) -> CustomerAuthenticity:
        return await authenticity_for(info.context, self.subject)

    @strawberry.field(
        description="The customer's cases (and those of ids merged into it), newest first: "
        "the open ones unless `openOnly` is false, with how many are open and the worst "
        "SLA state; only the cases you may see are listed."
    )
    async def cases(self, info: Info, open_only: bool = True, first: int = 20) -> CustomerCases:
        return await cases_on_customer(info, self.subject, open_only=open_only, first=first)

    @strawberry.field(
        description="Related customers (edges of the customer graph), `first` (1-100) of "
        "them; customers outside your rows are left out."
    )
    async def related(self, info: Info, first: int = 20) -> list[RelatedCustomer]:
        check_page_size(first, "first")
        relations = (await info.context.loaders.related.load(self.customer_id))[:first]
        rows = await info.context.loaders.customer.load_many([r.customer_id for r in relations])
        visible = await visible_rows(info, rows)
        out = []
        for relation, row, roles in zip(relations, rows, visible, strict=True):
            if row is None or not roles or row.id == self.customer_id:
                continue
            out.append(
                RelatedCustomer(
                    relation=relation,
                    subject=self.subject,
                    node=Customer.from_row(row, self.purpose, roles),
                )
            )
        return out


@strawberry.type(description="How one part of the search text matched a customer.")
class SearchMatch:
    field: str = strawberry.field(
        description="name, name_pinyin, name_initials, phone, email, email_local, "
        "company, uscc, member_no, wechat_id or region"
    )
    kind: str = strawberry.field(description="exact, prefix, suffix, substring or fuzzy")
    term: str = strawberry.field(description="The part of the search text, as understood")


@strawberry.type(description="A customer in a page, with how it matched a search.")
class CustomerEdge(relay.Edge[Customer]):
    score: float | None = strawberry.field(
        default=None,
        description="Relevance for a search (comparable within one result list); "
        "null when listing without search text",
    )
    matches: list[SearchMatch] = strawberry.field(
        default_factory=list, description="Which fields the search text matched, and how"
    )


@strawberry.type(description="One value of a facet and how many matching customers have it.")
class FacetValue:
    value: str
    count: int


@strawberry.type(description="Counts of the matching customers by one dimension.")
class Facet:
    field: str
    values: list[FacetValue]


FacetCounter = Callable[[list[str]], Awaitable[dict[str, list[tuple[str, int]]]]]
"""Counts the connection's matches by the given facet fields."""


@strawberry.type(description="A page of customers.")
class CustomerConnection(relay.Connection[Customer]):
    edges: list[CustomerEdge] = strawberry.field(  # type: ignore[assignment]  # a richer edge
        description="The customers of this page"
    )
    selection: strawberry.Private[CustomerSelection | None] = None
    search_total: strawberry.Private[int | None] = None
    facet_counter: strawberry.Private[FacetCounter | None] = None
    search_notes: list[str] = strawberry.field(
        default_factory=list,
        description="What the search ignored or assumed in the text (e.g. a fragment "
        "too short to search phones by)",
    )

    @strawberry.field(description="How many customers match, across all pages.")
    async def total_count(self, info: Info) -> int:
        if self.search_total is not None:
            return self.search_total
        assert self.selection is not None
        return await asyncio.to_thread(count_active_customers, info.context.engine, self.selection)

    @strawberry.field(
        description="Counts of all matching customers (every page) by each dimension in "
        "`fields`, the most frequent values first. Counting by a dimension your role "
        "does not read in clear is refused."
    )
    async def facets(self, info: Info, fields: list[CustomerFacetField]) -> list[Facet]:
        if self.facet_counter is None:
            raise BadUserInput(
                "facets",
                "not available when filtering by phone, email, idNumber, uscc or conflicting",
            )
        names = list(dict.fromkeys(f.value for f in fields))
        counts = await self.facet_counter(names)
        return [
            Facet(field=name, values=[FacetValue(value=v, count=c) for v, c in counts[name]])
            for name in names
        ]
