"""The customer's credit as GraphQL types (``Customer.credit``): score, grade,
probability of default, the limit, terms and measures the policy table gave,
the reason codes in words, the model version, and the history of decisions and
overrides; and a credit alert.

Each field is one row of the policy table (:mod:`c360.auth.policy`):
``credit_grade``, ``credit_score`` (points, base points, model version),
``credit_pd``, ``credit_reasons``, ``credit_limit`` (limit and terms),
``credit_measures`` (measures, manual review), ``credit_decisions`` (the
history, override reasons included) and ``credit_alert``. A refused field is
null with a ``FORBIDDEN`` error whether or not the customer has a score, so a
refusal tells nothing about the data; every clear read goes on the audit log.

This module does not import :mod:`c360.schema.types` (which imports it for the
``Customer.credit`` field).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Engine
from strawberry.scalars import JSON

from c360.auth.policy import Outcome
from c360.platform.risk import alerts as alert_store
from c360.platform.risk.decisions import decisions_of, latest_decision
from c360.platform.risk.judgment import current_score, reasons
from c360.schema.context import RequestContext, Subject
from c360.schema.errors import Forbidden, check_page_size
from c360.schema.loaded_rows import as_utc

Info = strawberry.Info[RequestContext, None]


def permit(context: RequestContext, field: str, subject: Subject) -> None:
    """Serve policy row ``field`` of ``subject`` only in clear: a refusal (or a
    mask, which no credit field has) is recorded and raised as ``FORBIDDEN``; a
    clear read of personal data is recorded for the audit log."""
    decision = context.decide(field, subject)
    if decision.outcome is not Outcome.CLEAR:
        reason = decision.reason or f'role may read "{field}" only masked, and it has no mask'
        context.access.refused(subject, decision.field, reason)
        raise Forbidden(decision.field, reason)
    if decision.personal:
        context.access.read(subject, decision.field)


def _time(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


@strawberry.type(description="A factor that cost the customer points: a reason code.")
class CreditReason:
    feature: str = strawberry.field(description="The scorecard feature (e.g. bureau_overdue).")
    text: str = strawberry.field(description="The reason in words staff can read out.")
    points: float = strawberry.field(description="Points it cost against an average customer.")


@strawberry.type(
    name="CreditDecision",
    description="A recommendation of the policy table, or a staff override of one.",
)
class CreditDecisionEntry:
    decision_id: int
    kind: str = strawberry.field(description="recommended | override")
    grade: str | None
    points: float | None
    credit_limit: float
    terms_days: int
    measures: list[str]
    manual_review: bool
    rule: str = strawberry.field(description="The policy rule: grade/organization size.")
    org_size: str
    exposure: float = strawberry.field(description="What the customer owed when decided.")
    model_version: int | None
    policy_version: str
    overrides: int | None = strawberry.field(description="The decision this one overrides.")
    reason: str | None = strawberry.field(description="Why staff overrode (overrides only).")
    decided_by: str
    decided_at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> CreditDecisionEntry:
        return cls(
            decision_id=int(row["id"]),
            kind=row["kind"],
            grade=row["grade"],
            points=row["points"],
            credit_limit=float(row["credit_limit"]),
            terms_days=int(row["terms_days"]),
            measures=list(row["measures"] or ()),
            manual_review=bool(row["manual_review"]),
            rule=row["rule"],
            org_size=row["org_size"],
            exposure=float(row["exposure"]),
            model_version=row["model_version"],
            policy_version=row["policy_version"],
            overrides=row["overrides"],
            reason=row["reason"],
            decided_by=row["decided_by"],
            decided_at=as_utc(row["decided_at"]),
        )


@strawberry.type(
    name="CreditAlert",
    description="A change in a customer's credit standing staff must look at (policy "
    "field credit_alert).",
)
class CreditAlertEntry:
    alert_id: int
    customer_id: int = strawberry.field(description="The customer it was raised for.")
    kind: str = strawberry.field(
        description="court_listing | registration_status | score_drop | new_overdue | grade_change"
    )
    severity: str = strawberry.field(description="high | medium | low")
    message: str
    stored_detail: strawberry.Private[Any]
    raised_at: datetime
    acknowledged: bool
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    acknowledgement: str | None = strawberry.field(description="The note staff left.")

    @strawberry.field(description="What changed: before / after values, the listing kind.")
    def detail(self) -> JSON:
        return self.stored_detail

    @classmethod
    def of(cls, row: dict[str, Any]) -> CreditAlertEntry:
        return cls(
            alert_id=int(row["id"]),
            customer_id=int(row["customer_id"]),
            kind=row["kind"],
            severity=row["severity"],
            message=row["message"],
            stored_detail=dict(row["detail"] or {}),
            raised_at=as_utc(row["raised_at"]),
            acknowledged=row["acknowledged_at"] is not None,
            acknowledged_at=_time(row["acknowledged_at"]),
            acknowledged_by=row["acknowledged_by"],
            acknowledgement=row["acknowledgement"],
        )


def _load(engine: Engine, customer_id: int) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    with engine.connect() as conn:
        return current_score(conn, customer_id), latest_decision(conn, customer_id)


async def credit_of(context: RequestContext, subject: Subject) -> CustomerCredit:
    """The credit of ``subject``'s customer (one read of its score and current
    decision; the history and alerts are read when asked for)."""
    assert subject.customer_id is not None
    score, decision = await asyncio.to_thread(_load, context.engine, subject.customer_id)
    return CustomerCredit(subject=subject, score=score, decision=decision)


@strawberry.type(
    description="The customer's credit under the business's own scorecard and the "
    "policy table. Each field is served as your role allows (agents: the grade and the "
    "measures; risk staff: everything, for a declared purpose; marketing: nothing); a "
    "refused field is null with a FORBIDDEN error."
)
class CustomerCredit:
    subject: strawberry.Private[Subject]
    score: strawberry.Private[dict[str, Any] | None]
    decision: strawberry.Private[dict[str, Any] | None]

    def _score(self, info: Info, field: str, key: str) -> Any:
        permit(info.context, field, self.subject)
        return None if self.score is None else self.score.get(key)

    def _decision(self, info: Info, field: str, key: str) -> Any:
        permit(info.context, field, self.subject)
        return None if self.decision is None else self.decision.get(key)

    @strawberry.field(description="scored | no_model (no scorecard in force) | unscored")
    def status(self, info: Info) -> str | None:
        permit(info.context, "credit_grade", self.subject)
        return "unscored" if self.score is None else str(self.score["status"])

    @strawberry.field(description="Grade A (best) to E (policy field credit_grade).")
    def grade(self, info: Info) -> str | None:
        value = self._score(info, "credit_grade", "grade")
        return None if value is None else str(value)

    @strawberry.field(description="Scorecard points (policy field credit_score).")
    def points(self, info: Info) -> float | None:
        return self._score(info, "credit_score", "points")

    @strawberry.field(
        description="The points an average customer gets; with the reason codes' and the "
        "other factors' points it adds up to `points` (credit_score)."
    )
    def base_points(self, info: Info) -> float | None:
        return self._score(info, "credit_score", "base_points")

    @strawberry.field(description="The scorecard version the score comes from (credit_score).")
    def model_version(self, info: Info) -> int | None:
        return self._score(info, "credit_score", "model_version")

    @strawberry.field(description="When the score was computed (credit_score).")
    def computed_at(self, info: Info) -> datetime | None:
        return _time(self._score(info, "credit_score", "computed_at"))

    @strawberry.field(description="Probability of default, 0-1 (policy field credit_pd).")
    def probability_of_default(self, info: Info) -> float | None:
        return self._score(info, "credit_pd", "pd")

    @strawberry.field(
        description="The reason codes: the factors that cost the customer the most points, "
        "costliest first, at most `first` (1-20) (policy field credit_reasons)."
    )
    def reasons(self, info: Info, first: int = 4) -> list[CreditReason] | None:
        check_page_size(first, "first", maximum=20)
        factors = self._score(info, "credit_reasons", "factors") or []
        return [
            CreditReason(feature=f["feature"], text=f["text"], points=float(f["points"]))
            for f in reasons(factors, limit=first)
        ]

    @strawberry.field(
        description="The credit limit in force (the latest decision or override; credit_limit)."
    )
    def credit_limit(self, info: Info) -> float | None:
        return self._decision(info, "credit_limit", "credit_limit")

    @strawberry.field(description="Payment terms in days (credit_limit).")
    def terms_days(self, info: Info) -> int | None:
        return self._decision(info, "credit_limit", "terms_days")

    @strawberry.field(
        description="Required risk-control measures: guarantee, collateral, refusal, manual "
        "review (policy field credit_measures)."
    )
    def measures(self, info: Info) -> list[str] | None:
        return list(self._decision(info, "credit_measures", "measures") or ())

    @strawberry.field(description="Whether the decision waits for a manual review.")
    def manual_review(self, info: Info) -> bool | None:
        value = self._decision(info, "credit_measures", "manual_review")
        return None if value is None else bool(value)

    @strawberry.field(
        description="Every decision and override, newest first, `first` (1-100) of them, "
        "each with its model version and reason (policy field credit_decisions)."
    )
    async def decisions(self, info: Info, first: int = 20) -> list[CreditDecisionEntry] | None:
        check_page_size(first, "first")
        permit(info.context, "credit_decisions", self.subject)
        assert self.subject.customer_id is not None
        rows = await asyncio.to_thread(_decisions, info.context.engine, self.subject.customer_id)
        return [CreditDecisionEntry.of(r) for r in rows[:first]]

    @strawberry.field(
        description="The customer's credit alerts, newest first: open ones unless `all` "
        "(policy field credit_alert)."
    )
    async def alerts(
        self, info: Info, all: bool = False, first: int = 20
    ) -> list[CreditAlertEntry] | None:
        check_page_size(first, "first")
        permit(info.context, "credit_alert", self.subject)
        assert self.subject.customer_id is not None
        merged = await info.context.loaders.merged_ids.load(self.subject.customer_id)
        ids = [self.subject.customer_id, *merged]
        rows = await asyncio.to_thread(_alerts, info.context.engine, ids, all, first)
        return [CreditAlertEntry.of(r) for r in rows]


def _decisions(engine: Engine, customer_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return decisions_of(conn, customer_id)


def _alerts(engine: Engine, ids: list[int], every: bool, first: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return alert_store.list_alerts(
            conn, state="all" if every else "open", customer_ids=ids, limit=first
        )
