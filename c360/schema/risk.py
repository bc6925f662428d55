"""The credit part of the schema: the credit-alert list (``creditAlerts``) and
the mutations ``acknowledgeAlert`` and ``overrideCreditDecision``. A customer's
own credit is ``Customer.credit`` (:mod:`c360.schema.credit_types`).

Alerts are policy field ``credit_alert``: the list is refused to a caller whose
roles do not read it, alerts of customers outside the caller's rows or not
covered for the declared purpose are left out (and the refusal recorded), and
every alert served is a clear read on the audit log. Both mutations are in the
policy's ``MUTATIONS`` (risk staff and admins) and need the caller to read what
they change.
"""

from __future__ import annotations

import asyncio
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import Engine

from c360.auth.policy import Outcome
from c360.platform.risk import alerts as alert_store
from c360.platform.risk.decisions import decisions_of, override
from c360.schema.context import Subject
from c360.schema.credit_types import CreditAlertEntry, CreditDecisionEntry, permit
from c360.schema.cursors import cursor_number, number_cursor
from c360.schema.errors import BadUserInput, check_page_size, check_text
from c360.schema.mutations import allowed
from c360.schema.queries import check_purpose, customer_by_id, parse_customer_id
from c360.schema.types import Info, record_outside_scope, visible_rows

DEFAULT_ALERT_PURPOSE = "risk_control"
"""The purpose the audit log records for an acknowledgement when the caller (a
role that reads alerts without one) declared none."""
DEFAULT_OVERRIDE_PURPOSE = "credit_assessment"
MAX_MEASURES = 20


@strawberry.enum(description="Which credit alerts to list.")
class AlertState(Enum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ALL = "all"


@strawberry.enum(description="What changed in a customer's credit standing.")
class AlertKind(Enum):
    COURT_LISTING = "court_listing"
    REGISTRATION_STATUS = "registration_status"
    SCORE_DROP = "score_drop"
    NEW_OVERDUE = "new_overdue"
    GRADE_CHANGE = "grade_change"


ALERT_CURSOR = "creditAlert"


@strawberry.type(description="A page of credit alerts, newest first.")
class CreditAlertPage:
    nodes: list[CreditAlertEntry]
    total_count: int = strawberry.field(
        description="How many alerts match across all pages (before leaving out those "
        "outside your rows)."
    )
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")
    has_next_page: bool


def _page(
    engine: Engine,
    state: str,
    kind: str | None,
    customer_ids: list[int] | None,
    before_id: int | None,
    first: int,
) -> tuple[list[dict[str, Any]], int]:
    with engine.connect() as conn:
        rows = alert_store.list_alerts(
            conn,
            state=state,
            kind=kind,
            customer_ids=customer_ids,
            before_id=before_id,
            limit=first + 1,
        )
        total = alert_store.count_alerts(conn, state=state, kind=kind, customer_ids=customer_ids)
    return rows, total


async def _visible_alerts(
    info: Info, rows: list[dict[str, Any]], purpose: str | None
) -> list[CreditAlertEntry]:
    """The alerts whose customer the caller sees and may read credit alerts of
    under ``purpose`` (each left out one is recorded as refused)."""
    context = info.context
    customers = await context.loaders.customer.load_many([r["customer_id"] for r in rows])
    roles_of = await visible_rows(info, customers)
    ids = [c.id for c in customers if c is not None and c.id is not None]
    await asyncio.to_thread(context.prime_coverage, ids, purpose)
    served = []
    for row, customer, roles in zip(rows, customers, roles_of, strict=True):
        if customer is None or customer.id is None:
            continue  # erased, or an id that never resolved
        if not roles:
            record_outside_scope(info, customer.id, purpose)
            continue
        subject = Subject(customer.id, customer.kind, purpose, roles)
        decision = context.decide("credit_alert", subject)
        if decision.outcome is not Outcome.CLEAR:
            context.access.refused(subject, decision.field, decision.reason)
            continue
        context.access.read(subject, decision.field)
        served.append(CreditAlertEntry.of({**row, "customer_id": customer.id}))
    return served


@strawberry.type
class RiskQuery:
    @strawberry.field(
        description="Credit alerts, newest first: by state (default open), kind and "
        "customer (its merged ids included), `first` (1-100) per page after cursor `after`. "
        "Policy field credit_alert (risk staff read it for a declared purpose)."
    )
    async def credit_alerts(
        self,
        info: Info,
        state: AlertState = AlertState.OPEN,
        kind: AlertKind | None = None,
        customer_id: strawberry.ID | None = None,
        first: int = 20,
        after: str | None = None,
        purpose: str | None = None,
    ) -> CreditAlertPage | None:
        check_page_size(first, "first")
        declared = check_purpose(purpose, info)
        before_id = (
            cursor_number(after, ALERT_CURSOR, "creditAlerts") if after is not None else None
        )
        permit_list = Subject(None, purpose=declared)
        permit(info.context, "credit_alert", permit_list)
        customer_ids: list[int] | None = None
        if customer_id is not None:
            customer = await customer_by_id(
                info, parse_customer_id(customer_id, "customerId"), declared
            )
            if customer is None:
                raise BadUserInput("customerId", f"no customer has id {customer_id!r}")
            merged = await info.context.loaders.merged_ids.load(customer.customer_id)
            customer_ids = [customer.customer_id, *merged]
        rows, total = await asyncio.to_thread(
            _page,
            info.context.engine,
            state.value,
            kind.value if kind else None,
            customer_ids,
            before_id,
            first,
        )
        more = len(rows) > first
        rows = rows[:first]
        nodes = await _visible_alerts(info, rows, declared)
        return CreditAlertPage(
            nodes=nodes,
            total_count=total,
            end_cursor=number_cursor(ALERT_CURSOR, int(rows[-1]["id"])) if rows else None,
            has_next_page=more,
        )


def _acknowledge(
    engine: Engine, alert_id: int, actor: str, note: str, purpose: str
) -> dict[str, Any]:
    with engine.begin() as conn:
        return alert_store.acknowledge(conn, alert_id, actor=actor, note=note, purpose=purpose)


def _get_alert(engine: Engine, alert_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        return alert_store.get_alert(conn, alert_id)


def _override(engine: Engine, customer_id: int, **kwargs: Any) -> dict[str, Any]:
    with engine.begin() as conn:
        decision_id = override(conn, customer_id, **kwargs)
        return next(r for r in decisions_of(conn, customer_id) if r["id"] == decision_id)


_OVERRIDE_ARGUMENTS = {"limit": "creditLimit", "terms": "termsDays", "reason": "reason"}


@strawberry.type
class RiskMutation:
    @strawberry.mutation(
        description="Mark a credit alert as seen, with an optional note (1-500 characters). "
        "An alert is acknowledged once; a second time is refused naming who did it.",
        extensions=allowed("acknowledge_alert"),
    )
    async def acknowledge_alert(
        self, info: Info, alert_id: int, note: str | None = None
    ) -> CreditAlertEntry:
        text = check_text(note, "note", maximum=500) if note is not None else ""
        if alert_id < 1:
            raise BadUserInput("alertId", f"must be an alert id, got {alert_id}")
        declared = check_purpose(None, info)
        purpose = declared or DEFAULT_ALERT_PURPOSE
        row = await asyncio.to_thread(_get_alert, info.context.engine, alert_id)
        customer = await customer_by_id(info, int(row["customer_id"]), declared) if row else None
        if row is None or customer is None:
            raise BadUserInput("alertId", f"no credit alert has id {alert_id}")
        permit(info.context, "credit_alert", customer.subject)
        actor = info.context.principal.subject
        try:
            done = await asyncio.to_thread(
                _acknowledge, info.context.engine, alert_id, actor, text, purpose
            )
        except (LookupError, ValueError) as exc:
            raise BadUserInput("alertId", str(exc)) from None
        return CreditAlertEntry.of({**done, "customer_id": customer.customer_id})

    @strawberry.mutation(
        description="Override the customer's current credit decision: a new limit, terms "
        "and/or measures, with the reason (required, 1-4000 characters). Recorded with "
        "the model and policy versions beside the decision it overrides.",
        extensions=allowed("override_credit"),
    )
    async def override_credit_decision(
        self,
        info: Info,
        customer_id: strawberry.ID,
        reason: str,
        credit_limit: float | None = None,
        terms_days: int | None = None,
        measures: list[str] | None = None,
    ) -> CreditDecisionEntry:
        why = check_text(reason, "reason", maximum=4000)
        if measures is not None:
            if len(measures) > MAX_MEASURES:
                raise BadUserInput("measures", f"at most {MAX_MEASURES} measures")
            measures = [check_text(m, "measures", maximum=200) for m in measures]
        if credit_limit is None and terms_days is None and measures is None:
            raise BadUserInput(
                "creditLimit", "an override changes creditLimit, termsDays or measures"
            )
        declared = check_purpose(None, info)
        purpose = declared or DEFAULT_OVERRIDE_PURPOSE
        customer = await customer_by_id(
            info, parse_customer_id(customer_id, "customerId"), declared
        )
        if customer is None:
            raise BadUserInput("customerId", f"no customer has id {customer_id!r}")
        permit(info.context, "credit_decisions", customer.subject)
        try:
            row = await asyncio.to_thread(
                _override,
                info.context.engine,
                customer.customer_id,
                credit_limit=credit_limit,
                terms_days=terms_days,
                measures=measures,
                reason=why,
                actor=info.context.principal.subject,
                purpose=purpose,
            )
        except LookupError as exc:
            raise BadUserInput("customerId", str(exc)) from None
        except ValueError as exc:
            field, _, message = str(exc).partition(":")
            argument = _OVERRIDE_ARGUMENTS.get(field, "creditLimit")
            raise BadUserInput(argument, message.strip()) from None
        info.context.refresh_loaders()
        return CreditDecisionEntry.of(row)
