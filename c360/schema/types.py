"""The GraphQL object types: a customer with its golden attributes and their
lineage, its source records and its timeline.

Types hold stored values in private fields and present every personal one through
:func:`c360.schema.presentation.present_value` when a client reads it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Any, Self

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from c360.platform import models
from c360.schema.context import RequestContext
from c360.schema.errors import check_page_size
from c360.schema.loaders import LinkedRecord, TimelineEntry, as_utc, count_active_customers
from c360.schema.presentation import present_evidence, present_value

Info = strawberry.Info[RequestContext, None]


@strawberry.enum(description="Whether a customer is a natural person or an organization.")
class CustomerKind(Enum):
    PERSON = "person"
    ORGANIZATION = "organization"


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, str):
        try:
            return as_utc(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


@strawberry.type(description="One value a source record gave for an attribute.")
class AttributeValue:
    attribute: strawberry.Private[str]
    subject_kind: strawberry.Private[str]
    stored_value: strawberry.Private[Any]
    stored_external_id: strawberry.Private[str | None]
    chosen: bool = strawberry.field(description="Whether this is the surviving value.")
    verified: bool = strawberry.field(description="Whether the source verified this value.")
    source: str | None
    stream: str | None
    trust: int | None = strawberry.field(description="The source's trust, 0-100.")
    observed_at: datetime | None
    record_id: int | None = strawberry.field(description="The source record it came from.")

    @strawberry.field(description="The value (masked unless the reader may see it in clear).")
    def value(self, info: Info) -> str | None:
        return present_value(
            self.attribute, self.stored_value, info.context, subject_kind=self.subject_kind
        )

    @strawberry.field(description="The record's id in its source.")
    def external_id(self, info: Info) -> str | None:
        return present_value(
            "external_id", self.stored_external_id, info.context, subject_kind=self.subject_kind
        )

    @classmethod
    def from_lineage(cls, attribute: str, subject_kind: str, item: dict[str, Any]) -> Self:
        return cls(
            attribute=attribute,
            subject_kind=subject_kind,
            stored_value=item.get("value"),
            stored_external_id=item.get("external_id"),
            chosen=bool(item.get("chosen")),
            verified=bool(item.get("verified")),
            source=item.get("source"),
            stream=item.get("stream"),
            trust=_int_or_none(item.get("trust")),
            observed_at=_parse_time(item.get("observed_at")),
            record_id=_int_or_none(item.get("record_id")),
        )


@strawberry.type(
    description="The surviving value of one attribute of a customer, with every "
    "alternative value and where each came from."
)
class GoldenAttribute:
    name: str
    subject_kind: strawberry.Private[str]
    stored_value: strawberry.Private[str | None]
    verified: bool
    conflicting: bool = strawberry.field(description="Whether sources disagree on the value.")
    lineage: list[AttributeValue] = strawberry.field(
        description="Every source record's value, best first."
    )

    @strawberry.field(description="The value (masked unless the reader may see it in clear).")
    def value(self, info: Info) -> str | None:
        return present_value(
            self.name, self.stored_value, info.context, subject_kind=self.subject_kind
        )

    @classmethod
    def from_row(cls, row: models.GoldenAttribute, subject_kind: str) -> Self:
        return cls(
            name=row.name,
            subject_kind=subject_kind,
            stored_value=row.value,
            verified=row.verified,
            conflicting=row.conflicting,
            lineage=[
                AttributeValue.from_lineage(row.name, subject_kind, item)
                for item in row.lineage or ()
                if isinstance(item, dict)
            ],
        )


@strawberry.type(name="SourceRecord", description="A source record linked to a customer.")
class SourceRecordType:
    record: strawberry.Private[LinkedRecord]
    subject_kind: strawberry.Private[str]

    @strawberry.field
    def record_id(self) -> int:
        return self.record.record_id

    @strawberry.field
    def source(self) -> str:
        return self.record.source

    @strawberry.field
    def stream(self) -> str:
        return self.record.stream

    @strawberry.field(description="The record's id in its source.")
    def external_id(self, info: Info) -> str | None:
        return present_value(
            "external_id", self.record.external_id, info.context, subject_kind=self.subject_kind
        )

    @strawberry.field(description="accepted | quarantined")
    def status(self) -> str:
        return self.record.status

    @strawberry.field
    def observed_at(self) -> datetime | None:
        return self.record.observed_at

    @strawberry.field(description="How the record was linked: rule:id_number, new, manual…")
    def link_method(self) -> str:
        return self.record.link_method

    @strawberry.field
    def link_score(self) -> float:
        return self.record.link_score

    @strawberry.field
    def linked_at(self) -> datetime | None:
        return self.record.linked_at

    @strawberry.field(description="Why the record was linked: the rule or per-field weights.")
    def evidence(self, info: Info) -> JSON:
        return present_evidence(self.record.evidence, info.context, subject_kind=self.subject_kind)


@strawberry.type(description="An interaction on a customer's timeline.")
class TimelineEvent:
    entry: strawberry.Private[TimelineEntry]
    subject_kind: strawberry.Private[str]

    @strawberry.field(description="order, message, feedback, visit…")
    def event_type(self) -> str:
        return self.entry.event_type

    @strawberry.field
    def occurred_at(self) -> datetime | None:
        return self.entry.occurred_at

    @strawberry.field
    def amount(self) -> float | None:
        return self.entry.amount

    @strawberry.field
    def currency(self) -> str | None:
        return self.entry.currency

    @strawberry.field
    def channel(self) -> str | None:
        return self.entry.channel

    @strawberry.field
    def text(self, info: Info) -> str | None:
        return present_value("text", self.entry.text, info.context, subject_kind=self.subject_kind)

    @strawberry.field(description="The source the event came from.")
    def source(self) -> str:
        return self.entry.source


@strawberry.type(description="A person or organization in the unified customer graph.")
class Customer(relay.Node):
    customer_id: int = strawberry.field(
        description="The stable numeric id; ids of merged customers redirect to it."
    )
    kind: CustomerKind
    created_at: datetime
    updated_at: datetime
    stored_display_name: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: models.Customer) -> Self:
        assert row.id is not None
        return cls(
            customer_id=row.id,
            kind=CustomerKind(row.kind),
            created_at=as_utc(row.created_at),
            updated_at=as_utc(row.updated_at),
            stored_display_name=row.display_name,
        )

    @classmethod
    def resolve_id(cls, root: Self, *, info: strawberry.Info) -> str:
        return str(root.customer_id)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Customers by the numeric part of their global ids, following merges."""
        ids = [int(i) if i.isascii() and i.isdigit() else -1 for i in node_ids]
        rows = await info.context.loaders.customer.load_many(ids)
        nodes = [cls.from_row(row) if row is not None else None for row in rows]
        if required and any(node is None for node in nodes):
            raise ValueError("some customers do not exist")
        return nodes

    @property
    def _kind(self) -> str:
        return self.kind.value

    @strawberry.field(description="The customer's name (masked for a person).")
    def display_name(self, info: Info) -> str | None:
        return present_value(
            "name", self.stored_display_name, info.context, subject_kind=self._kind
        )

    @strawberry.field(description="Every golden attribute, by name.")
    async def attributes(self, info: Info) -> list[GoldenAttribute]:
        rows = await info.context.loaders.golden_attributes.load(self.customer_id)
        return [GoldenAttribute.from_row(row, self._kind) for row in rows]

    @strawberry.field(description="One golden attribute by name (phone, email, id_number…).")
    async def attribute(self, info: Info, name: str) -> GoldenAttribute | None:
        rows = await info.context.loaders.golden_attributes.load(self.customer_id)
        for row in rows:
            if row.name == name:
                return GoldenAttribute.from_row(row, self._kind)
        return None

    @strawberry.field(description="The source records linked to this customer.")
    async def source_records(self, info: Info) -> list[SourceRecordType]:
        records = await info.context.loaders.linked_records.load(self.customer_id)
        return [SourceRecordType(record=r, subject_kind=self._kind) for r in records]

    @strawberry.field(description="The newest events first.")
    async def timeline(self, info: Info, first: int = 20) -> list[TimelineEvent]:
        check_page_size(first, "first")
        entries = await info.context.loaders.timeline.load((self.customer_id, first))
        return [TimelineEvent(entry=e, subject_kind=self._kind) for e in entries]

    @strawberry.field(description="Ids of customers merged into this one (they redirect here).")
    async def merged_ids(self, info: Info) -> list[int]:
        return await info.context.loaders.merged_ids.load(self.customer_id)


@strawberry.type(description="A page of customers.")
class CustomerConnection(relay.Connection[Customer]):
    kind_filter: strawberry.Private[str | None]

    @strawberry.field(description="How many active customers match, across all pages.")
    async def total_count(self, info: Info) -> int:
        return await asyncio.to_thread(
            count_active_customers, info.context.engine, self.kind_filter
        )
