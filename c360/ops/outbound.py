"""The policy table applied to outbound events.

An endpoint hears events as its role would see them in the API: only about
customers in the role's rows (an agent endpoint names its regions), only event
types whose subject the role may read (``credit.*`` needs ``credit_grade`` in
clear, ``credit.alert`` also ``credit_alert``, ``case.*`` needs ``event_text``),
and only the payload keys it reads in
clear — a webhook declares no purpose, so a field the role reads only with one
is left out."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from c360.auth.events import field_of_key, revealed_fields
from c360.auth.policy import field_access, role_rows
from c360.auth.policy_table import Access
from c360.auth.principal import ROLES, Principal
from c360.platform.outbound.delivery import DeliverySettings, OutboundWorker
from c360.platform.outbound.endpoints import Endpoint


class PolicyScreen:
    """:class:`~c360.platform.outbound.endpoints.Screen` by the policy table."""

    def refusal(self, role: str, event_type: str) -> str | None:
        if role not in ROLES:
            return f"role {role!r} is not one of {', '.join(ROLES)}"
        for field in sorted(revealed_fields(event_type)):
            if field_access(role, field) is not Access.CLEAR:
                return f"role {role} may not read {field} in clear, so it may not hear these events"
        return None

    def payload(
        self,
        endpoint: Endpoint,
        event_type: str,
        data: dict[str, Any],
        place: tuple[str | None, str | None] | None,
    ) -> dict[str, Any] | None:
        if self.refusal(endpoint.role, event_type):
            return None
        principal = Principal(
            subject=f"webhook:{endpoint.name}",
            roles=frozenset({endpoint.role}),
            regions=frozenset(endpoint.regions),
        )
        scope = role_rows(principal, endpoint.role)
        if place is None:
            if not scope.unrestricted:
                return None
        elif not scope.admits(*place):
            return None
        kept: dict[str, Any] = {}
        for key, value in data.items():
            field = field_of_key(key)
            if field is not None and field_access(endpoint.role, field) is not Access.CLEAR:
                continue
            kept[key] = value
        return kept


def outbound_worker(
    engine: Engine, settings: DeliverySettings | None = None, *, interval: float = 0.5
) -> OutboundWorker:
    """The delivery worker over ``engine`` with the policy screen (not started)."""
    return OutboundWorker(engine, PolicyScreen(), settings, interval=interval)
