"""The verification part of the schema: ``checkDocument`` (grade one resident id,
USCC or registration number typed by staff), ``verificationOverdue`` (the
customers whose verification is past due or whose bureau answer expired, for
the scheduler and for staff) and the mutation ``verifyAttribute`` (staff vouch
for — or refute — an attribute's current value: who, when, how, evidence;
audited). A customer's own authenticity is ``Customer.authenticity``
(:mod:`c360.schema.verification_types`).

Policy: ``verification_state`` governs the list and the checks (the list leaves
out customers outside the caller's rows or not covered for the purpose, each
refusal recorded); ``verify`` is in the policy's ``MUTATIONS`` (agents and
admins) and needs the caller to read the customer's verification state.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import Engine
from strawberry.scalars import JSON

from c360.auth.policy import Outcome
from c360.platform.verification.documents import check_document
from c360.platform.verification.state import (
    METHODS,
    Overdue,
    StaffVerification,
    VerificationError,
    overdue_verifications,
    verify_attribute,
)
from c360.schema.context import Subject
from c360.schema.credit_types import permit
from c360.schema.errors import BadUserInput, check_page_size, check_text
from c360.schema.mutations import _actor, allowed
from c360.schema.queries import check_purpose, customer_by_id, parse_customer_id
from c360.schema.types import Info, record_outside_scope, visible_rows
from c360.schema.verification_types import AttributeVerification, VerificationCheck

MAX_DOCUMENT = 64


@strawberry.enum(description="How staff verified an attribute.")
class VerificationMethod(Enum):
    DOCUMENT_SEEN = "document_seen"
    VIDEO_CALL = "video_call"
    CALLBACK = "callback"
    SMS_CODE = "sms_code"
    BANK_CARD = "bank_card"
    REGISTRY_LOOKUP = "registry_lookup"
    SITE_VISIT = "site_visit"
    OTHER = "other"


assert {m.value for m in VerificationMethod} == set(METHODS)


@strawberry.type(description="One document graded: pass / warn / fail with every check.")
class DocumentCheck:
    kind: str = strawberry.field(description="id_number | uscc | registration_number")
    value: str = strawberry.field(
        description="As checked (an upgraded 15-digit id: 18 characters)."
    )
    outcome: str
    checks: list[VerificationCheck]
    stored_facts: strawberry.Private[Any]

    @strawberry.field(
        description="What the number says: birth date, gender, region, registration "
        "authority, organization kind."
    )
    def facts(self) -> JSON:
        return self.stored_facts


@strawberry.type(description="A verification past due, or a customer whose bureau answer expired.")
class OverdueVerification:
    customer_id: int
    attribute: str = strawberry.field(description="The attribute, or credit_result (stale).")
    status: str
    due_at: datetime
    reason: str


def _overdue(engine: Engine, limit: int) -> list[Overdue]:
    with engine.connect() as conn:
        return overdue_verifications(conn, limit=limit)


@strawberry.type
class VerificationQuery:
    @strawberry.field(
        description="Grade one resident id / residence permit number, unified social credit "
        "code or 15-digit registration number (not stored; policy field verification_state)."
    )
    def check_document(self, info: Info, text: str) -> DocumentCheck:
        permit(info.context, "verification_state", Subject(None, purpose=info.context.purpose))
        value = check_text(text, "text", maximum=MAX_DOCUMENT)
        checked = check_document(value)
        return DocumentCheck(
            kind=checked.attribute,
            value=checked.value,
            outcome=checked.outcome,
            checks=[
                VerificationCheck(check=c.check, outcome=c.outcome, reason=c.reason)
                for c in checked.checks
            ],
            stored_facts=checked.facts,
        )

    @strawberry.field(
        description="Verifications past their due date and customers whose credit-bureau answer "
        "expired, oldest first, `first` (1-100) of them, within your rows (policy field "
        "verification_state)."
    )
    async def verification_overdue(
        self, info: Info, first: int = 20, purpose: str | None = None
    ) -> list[OverdueVerification]:
        check_page_size(first, "first")
        declared = check_purpose(purpose, info)
        permit(info.context, "verification_state", Subject(None, purpose=declared))
        rows = await asyncio.to_thread(_overdue, info.context.engine, first * 5)
        customers = await info.context.loaders.customer.load_many([r.customer_id for r in rows])
        roles_of = await visible_rows(info, customers)
        ids = [c.id for c in customers if c is not None and c.id is not None]
        await asyncio.to_thread(info.context.prime_coverage, ids, declared)
        served: list[OverdueVerification] = []
        for row, customer, roles in zip(rows, customers, roles_of, strict=True):
            if customer is None or customer.id is None:
                continue
            if not roles:
                record_outside_scope(info, customer.id, declared)
                continue
            subject = Subject(customer.id, customer.kind, declared, roles)
            decision = info.context.decide("verification_state", subject)
            if decision.outcome is not Outcome.CLEAR:
                info.context.access.refused(subject, decision.field, decision.reason)
                continue
            info.context.access.read(subject, decision.field)
            served.append(
                OverdueVerification(
                    customer_id=customer.id,
                    attribute=row.attribute,
                    status=row.status,
                    due_at=row.due_at,
                    reason=row.reason,
                )
            )
            if len(served) == first:
                break
        return served


_VERIFY_ARGUMENTS = {
    "attribute": "attribute",
    "how": "how",
    "evidence": "evidence",
    "reason": "reason",
    "customerId": "customerId",
}


def _verify(
    engine: Engine, customer_id: int, attribute: str, **kwargs: object
) -> StaffVerification:
    return verify_attribute(engine, customer_id, attribute, **kwargs)  # type: ignore[arg-type]


@strawberry.type
class VerificationMutation:
    @strawberry.mutation(
        description="Record that you verified the current value of a customer's attribute "
        "(name, id_number, uscc, phone, email, address, birth_date, legal_representative): "
        "how, and a reference to the evidence (at most 512 characters, never the document "
        "itself); or, with failed: true, that it is false (reason required). Audited; the "
        "authenticity score is recomputed.",
        extensions=allowed("verify"),
    )
    async def verify_attribute(
        self,
        info: Info,
        customer_id: strawberry.ID,
        attribute: str,
        how: VerificationMethod,
        evidence: str | None = None,
        failed: bool = False,
        reason: str | None = None,
    ) -> AttributeVerification:
        declared = check_purpose(None, info)
        customer = await customer_by_id(
            info, parse_customer_id(customer_id, "customerId"), declared
        )
        if customer is None:
            raise BadUserInput("customerId", f"no customer has id {customer_id!r}")
        permit(info.context, "verification_state", customer.subject)
        if reason is not None:
            reason = check_text(reason, "reason", maximum=500)
        try:
            done = await asyncio.to_thread(
                _verify,
                info.context.engine,
                customer.customer_id,
                attribute,
                actor=_actor(info, declared or "identity_verification"),
                method=how.value,
                evidence=evidence,
                failed=failed,
                reason=reason,
            )
        except VerificationError as exc:
            raise BadUserInput(
                _VERIFY_ARGUMENTS.get(exc.argument, exc.argument), exc.reason
            ) from None
        info.context.refresh_loaders()
        return AttributeVerification(
            attribute=done.attribute,
            status=done.status,
            verified_by=done.verified_by,
            verified_at=done.verified_at,
            method=done.method,
            evidence=done.evidence,
            reason=reason,
            due_at=done.due_at,
            outcome=None,
            checks=None,
        )
