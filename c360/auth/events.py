"""What hearing a business event reveals, in the policy table's terms: shared by
outbound webhooks (:mod:`c360.ops.outbound`) and GraphQL subscriptions
(:mod:`c360.schema.subscriptions`), so a listener of either kind hears an event
only where its role reads what the event says.

An event's *type* can reveal a field (that a customer has a credit alert is the
``credit_alert`` judgment, whatever the payload holds), and its payload keys
can carry a field's value under another name (``grade`` is ``credit_grade``).
"""

from __future__ import annotations

from c360.auth.policy_table import FIELDS

AREA_FIELDS: dict[str, str] = {
    "credit": "credit_grade",
    "risk": "risk_level",
    "case": "event_text",
    "segment": "segment",  # who is in a campaign audience (c360.platform.value.segments)
}
"""The policy field an event area reveals; other areas reveal only ids and codes
every role reads (``public``)."""

EVENT_FIELDS: dict[str, str] = {
    "credit.alert": "credit_alert",
}
"""Event types that reveal a field of their own beyond their area's: that a
customer has a credit alert is the ``credit_alert`` judgment, which an agent or
marketing never reads (and risk only with a purpose, which a listener does not
declare), whatever the payload holds."""

KEY_FIELDS: dict[str, str] = {
    "grade": "credit_grade",
    "previous_grade": "credit_grade",
    "score": "credit_score",
    "limit": "credit_limit",
    "risk_level": "risk_level",
}
"""Payload keys that carry a policy field's value under another name."""


def revealed_fields(event_type: str) -> set[str]:
    """The policy fields hearing ``event_type`` reveals; for ``area.*``, those of
    every event type of the area."""
    area = event_type.split(".", 1)[0]
    fields = {AREA_FIELDS[area]} if area in AREA_FIELDS else set()
    if event_type.endswith(".*"):
        fields |= {f for kind, f in EVENT_FIELDS.items() if kind.startswith(area + ".")}
    elif event_type in EVENT_FIELDS:
        fields.add(EVENT_FIELDS[event_type])
    return fields


def field_of_key(key: str) -> str | None:
    """The policy field a payload key carries (``None``: an id or a code)."""
    if key in FIELDS:
        return key
    return KEY_FIELDS.get(key)


__all__ = ["AREA_FIELDS", "EVENT_FIELDS", "KEY_FIELDS", "field_of_key", "revealed_fields"]
