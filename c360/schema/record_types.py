"""The GraphQL types of where a customer's data came from: each golden
attribute with every value a source record gave for it (its lineage), and the
source records linked to the customer with how they were linked
(:func:`explain_link`), every personal value through the policy seam.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

import strawberry
from strawberry.scalars import JSON

from c360.platform import models
from c360.schema.context import RequestContext, Subject
from c360.schema.loaded_rows import LinkedRecord, as_utc
from c360.schema.presentation import present_evidence, present_value

Info = strawberry.Info[RequestContext, None]


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
    subject: strawberry.Private[Subject]
    stored_value: strawberry.Private[Any]
    stored_external_id: strawberry.Private[str | None]
    chosen: bool = strawberry.field(description="Whether this is the surviving value.")
    verified: bool = strawberry.field(description="Whether the source verified this value.")
    source: str | None
    stream: str | None
    trust: int | None = strawberry.field(description="The source's trust, 0-100.")
    observed_at: datetime | None
    record_id: int | None = strawberry.field(description="The source record it came from.")

    @strawberry.field(description="The value: clear, masked or refused, as your role allows.")
    def value(self, info: Info) -> str | None:
        return present_value(self.attribute, self.stored_value, info.context, self.subject)

    @strawberry.field(description="The record's id in its source.")
    def external_id(self, info: Info) -> str | None:
        return present_value("external_id", self.stored_external_id, info.context, self.subject)

    @classmethod
    def from_lineage(cls, attribute: str, subject: Subject, item: dict[str, Any]) -> Self:
        return cls(
            attribute=attribute,
            subject=subject,
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
    subject: strawberry.Private[Subject]
    stored_value: strawberry.Private[str | None]
    stored_lineage: strawberry.Private[list[dict[str, Any]]]
    verified: bool
    conflicting: bool = strawberry.field(description="Whether sources disagree on the value.")

    @strawberry.field(description="The value: clear, masked or refused, as your role allows.")
    def value(self, info: Info) -> str | None:
        return present_value(self.name, self.stored_value, info.context, self.subject)

    @strawberry.field(description="Every source record's value, best first.")
    def lineage(self) -> list[AttributeValue]:
        return [
            AttributeValue.from_lineage(self.name, self.subject, item)
            for item in self.stored_lineage
            if isinstance(item, dict)
        ]

    @classmethod
    def from_row(cls, row: models.GoldenAttribute, subject: Subject) -> Self:
        return cls(
            name=row.name,
            subject=subject,
            stored_value=row.value,
            stored_lineage=list(row.lineage or ()),
            verified=row.verified,
            conflicting=row.conflicting,
        )


_KEY_WORDS = {
    "ric": "id number",
    "uscc": "unified social credit code",
    "email": "e-mail",
    "phone": "phone and name",
    "phoneany": "phone (alone)",
    "wechat": "WeChat id",
    "namedob": "name and birth date",
    "orgname": "company name",
}


def explain_link(method: str, evidence: dict[str, Any]) -> str:
    """Why a record belongs to its customer, in words, naming rules, identifier
    kinds, customer ids and weights, never a value."""
    if method.startswith("manual"):
        moved = evidence.get("split_from")
        return "moved here by a data steward (manual split)" + (
            f" from customer {moved}" if isinstance(moved, int) else ""
        )
    if method == "new":
        text = "started this customer: no strong identifier matched an existing customer"
        cannot = [c for c in evidence.get("cannot_link") or () if isinstance(c, int)]
        if cannot:
            text += (
                "; customers "
                + ", ".join(map(str, cannot))
                + " matched but carry a different id number"
            )
        return text
    rule = str(evidence.get("rule") or method.removeprefix("rule:"))
    comparisons = evidence.get("comparisons")
    if isinstance(comparisons, list):
        probability = evidence.get("probability")
        text = "linked by the match model"
        if isinstance(probability, int | float):
            text += f" (probability {probability:.2f})"
        parts = [
            f"{item.get('comparison')} {item.get('level')} {item['weight']:+.2f}"
            for item in comparisons
            if isinstance(item, dict) and isinstance(item.get("weight"), int | float)
        ]
        return text + (": " + ", ".join(parts) if parts else "")
    text = f"linked by rule {rule}"
    keys = [_KEY_WORDS.get(str(k), str(k)) for k in evidence.get("keys") or ()]
    if keys:
        text += ": same " + ", ".join(dict.fromkeys(keys))
    matched = [c for c in evidence.get("matched_customers") or () if isinstance(c, int)]
    if len(matched) > 1:
        text += "; customers " + ", ".join(map(str, matched)) + " were merged by this record"
    fields = evidence.get("fields")
    if isinstance(fields, dict):
        weights = [
            f"{name} {item['weight']:+.2f}"
            for name, item in sorted(fields.items())
            if isinstance(item, dict) and isinstance(item.get("weight"), int | float)
        ]
        if weights:
            text += "; field weights " + ", ".join(weights)
    return text


@strawberry.type(name="SourceRecord", description="A source record linked to a customer.")
class SourceRecordType:
    record: strawberry.Private[LinkedRecord]
    subject: strawberry.Private[Subject]

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
        return present_value("external_id", self.record.external_id, info.context, self.subject)

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

    @strawberry.field(
        description="Why the record was linked: the rule or per-field weights, with "
        "values presented as your role allows (refused ones left out)."
    )
    def evidence(self, info: Info) -> JSON:
        return present_evidence(self.record.evidence, info.context, self.subject)

    @strawberry.field(description="Why the record belongs to this customer, in words.")
    def explanation(self) -> str:
        return explain_link(self.record.link_method, self.record.evidence)


__all__ = ["AttributeValue", "GoldenAttribute", "SourceRecordType", "explain_link"]
