"""The customer's timeline (``Customer.timeline``): what happened to the
customer, newest first, from three places — the events its sources sent
(orders, messages, feedback, visits), the changes of its cases (opened,
moved, assigned, escalated, breached, surveyed) and its tier and lifecycle
transitions.

Each part is read as its own policy says: an event's text is ``event_text``; a
case change appears only to a caller who may see that case (its ``case`` row
and :func:`c360.auth.policy.case_roles`), its text is ``case_text``; a value
transition is read by whoever reads the customer's tier and stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Self

import strawberry

from c360.auth.policy import Outcome
from c360.platform.cases.workflow import STATE_LABELS
from c360.platform.models import utcnow
from c360.schema.case_types import CaseNode, case_reader, present_case_text
from c360.schema.context import Subject
from c360.schema.errors import check_page_size
from c360.schema.loaded_rows import TimelineEntry, as_utc
from c360.schema.presentation import present_value

Info = strawberry.Info

_NEVER = datetime.min.replace(tzinfo=UTC)


@strawberry.type(description="An interaction or a change on a customer's timeline.")
class TimelineEvent:
    subject: strawberry.Private[Subject]
    stored_text: strawberry.Private[str | None]
    text_field: strawberry.Private[str]
    # Plain fields, not resolvers: a 360 view serves twenty of these per customer.
    origin: str = strawberry.field(
        description="event (sent by a source), case (a change of one of its cases) or value "
        "(a tier or lifecycle-stage transition)."
    )
    event_type: str = strawberry.field(
        description="order, message, feedback, visit… for events; case_opened, case_moved, "
        "case_assigned, case_sla_breached… for cases; tier_changed or stage_changed for value."
    )
    occurred_at: datetime | None
    amount: float | None
    currency: str | None
    channel: str | None
    source: str = strawberry.field(description="The source the event came from (case, value).")
    detail: str | None = strawberry.field(
        description="What changed, for a case or value entry: states by name (受理 → 处理中), "
        "the tier or stage before and after with the rule's reason."
    )
    case: CaseNode | None = strawberry.field(description="The case of a case entry.")

    @classmethod
    def of(cls, entry: TimelineEntry, subject: Subject) -> Self:
        return cls(
            subject=subject,
            stored_text=entry.text,
            text_field="event_text",
            origin="event",
            event_type=entry.event_type,
            occurred_at=entry.occurred_at,
            amount=entry.amount,
            currency=entry.currency,
            channel=entry.channel,
            source=entry.source,
            detail=None,
            case=None,
        )

    @classmethod
    def of_case(cls, change: Mapping[Any, Any], node: CaseNode) -> Self:
        text = node.row["description"] if change["action"] == "opened" else change["note"]
        return cls(
            subject=node.subject,
            stored_text=text,
            text_field="case_text",
            origin="case",
            event_type=f"case_{change['action']}",
            occurred_at=as_utc(change["at"]),
            amount=None,
            currency=None,
            channel=node.channel,
            source="case",
            detail=_case_detail(change, node),
            case=node,
        )

    @classmethod
    def of_value(cls, change: dict[str, Any], subject: Subject) -> Self:
        before = change["from_value"] or "—"
        return cls(
            subject=subject,
            stored_text=None,
            text_field="",  # no text: nothing for the policy to decide
            origin="value",
            event_type=f"{change['kind']}_changed",
            occurred_at=as_utc(change["at"]),
            amount=None,
            currency=None,
            channel=None,
            source="value",
            detail=f"{before} → {change['to_value']} ({change['reason']})",
            case=None,
        )

    @strawberry.field(
        description="What the customer wrote or said (policy field event_text); for a case "
        "entry its description or the change's note (policy field case_text)."
    )
    async def text(self, info: Info) -> str | None:
        if not self.text_field:
            return None
        if self.text_field == "case_text":
            return await present_case_text(info, self.stored_text, self.subject)
        return present_value(self.text_field, self.stored_text, info.context, self.subject)


def _case_detail(change: Mapping[Any, Any], node: CaseNode) -> str:
    """The change of a case in words: its kind and category when opened, the
    states by name when moved, each changed field otherwise."""
    if change["action"] == "opened":
        return f"{node.kind} · {node.category} · {node.severity}"
    parts = []
    for name, value in sorted((change["changes"] or {}).items()):
        if name == "state" and isinstance(value, list) and len(value) == 2:
            parts.append(" → ".join(STATE_LABELS.get(str(v), str(v)) for v in value))
        elif isinstance(value, list) and len(value) == 2:
            parts.append(f"{name}: {value[0] if value[0] is not None else '—'} → {value[1]}")
        else:
            parts.append(name)
    return "; ".join(parts) or change["action"]


async def customer_timeline(info: Info, subject: Subject, first: int) -> list[TimelineEvent]:
    """The newest ``first`` entries of ``subject``'s timeline, newest first
    (entries without a time last)."""
    check_page_size(first, "first")
    assert subject.customer_id is not None
    loaders = info.context.loaders
    key = (subject.customer_id, first)
    entries = [TimelineEvent.of(e, subject) for e in await loaders.timeline.load(key)]
    changes = await loaders.case_changes.load(key)
    if changes:
        reader = await case_reader(info, subject.purpose)
        now = utcnow()
        nodes: dict[int, CaseNode | None] = {}
        for case, change in changes:
            if case["id"] not in nodes:
                nodes[case["id"]] = reader.node(case, subject.customer_id, subject.kind, now)[0]
            node = nodes[case["id"]]
            if node is not None:
                entries.append(TimelineEvent.of_case(change, node))
    if info.context.decide("public", subject).outcome is Outcome.CLEAR:
        entries.extend(
            TimelineEvent.of_value(row, subject) for row in await loaders.value_changes.load(key)
        )
    entries.sort(key=lambda e: e.occurred_at or _NEVER, reverse=True)
    return entries[:first]
