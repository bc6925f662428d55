"""A customer's verification and authenticity as GraphQL types
(``Customer.authenticity``): the score 0-100 and band, every contribution
(reason codes with weights), the fraud flags, the cross-source consistency
matrix, each attribute's verification state and its graded checks.

Policy rows (:mod:`c360.auth.policy`): ``authenticity_band`` (the band —
marketing may read it, to keep fabricated accounts out of campaigns, and nothing
else), ``authenticity_score`` (score, policy version, date),
``authenticity_reasons`` (reasons, flags, consistency) and
``verification_state`` (states and checks). Inside those, what names a value is
served only where the caller reads that attribute in clear: a consistency
cell's ``detail`` (e.g. two birth dates) under the aspect's attribute, an
attribute's individual checks under the attribute. A refused field is null with
``FORBIDDEN`` whether or not the customer has a score.

This module does not import :mod:`c360.schema.types` (which imports it).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Engine, select
from strawberry.scalars import JSON

from c360.auth.policy import Outcome
from c360.platform import tables as t
from c360.platform.verification.judgment import authenticity_of, checks_of
from c360.platform.verification.state import VERIFIABLE, states_of
from c360.schema.context import RequestContext, Subject
from c360.schema.credit_types import permit
from c360.schema.errors import BadUserInput
from c360.schema.loaded_rows import as_utc

Info = strawberry.Info[RequestContext, None]

ASPECT_ATTRIBUTE = {
    "region": "province",
    "birth_date": "birth_date",
    "gender": "gender",
    "name": "name",
    "legal_representative": "legal_representative",
    "registration": "public",
}
"""The attribute whose policy decides whether a consistency cell's detail is served."""


def reads_clear(context: RequestContext, attribute: str, subject: Subject) -> bool:
    """Whether the caller reads ``attribute`` of ``subject`` in clear (recorded
    as a read when it is personal)."""
    decision = context.decide(attribute, subject)
    if decision.outcome is not Outcome.CLEAR:
        return False
    if decision.personal:
        context.access.read(subject, decision.field)
    return True


@strawberry.type(description="One contribution to the authenticity score: a reason code.")
class AuthenticityReason:
    code: str = strawberry.field(description="e.g. DOC_ID_VALID, FLAG_VELOCITY, SOURCES_AGREE")
    weight: int = strawberry.field(description="Points added (or taken, when negative).")
    text: str
    attribute: str | None


@strawberry.type(description="A fraud flag: a finding that makes the customer look fabricated.")
class FraudFlag:
    flag: str = strawberry.field(
        description="shared_identifier | id_birth_date_mismatch | id_gender_mismatch | "
        "velocity | region_contradiction | virtual_operator_phone | disposable_email | "
        "court_enforcement | dishonest_debtor | organization_deregistered"
    )
    severity: str = strawberry.field(description="high | medium | low")
    text: str
    stored_detail: strawberry.Private[Any]

    @strawberry.field(description="The evidence: counts, the attribute, the regions compared.")
    def detail(self) -> JSON:
        return self.stored_detail


@strawberry.type(description="One cell of the consistency matrix.")
class ConsistencyCell:
    aspect: str = strawberry.field(
        description="region | birth_date | gender | name | registration | legal_representative"
    )
    left: str
    right: str
    verdict: str = strawberry.field(description="agree | contradict")
    detail: str | None = strawberry.field(
        description="What was compared, in values; null where your role does not read the "
        "aspect's attribute in clear."
    )


@strawberry.type(description="One check of an attribute's value.")
class VerificationCheck:
    check: str
    outcome: str = strawberry.field(description="pass | warn | fail")
    reason: str


@strawberry.type(description="An attribute's verification state and graded checks.")
class AttributeVerification:
    attribute: str
    status: str = strawberry.field(
        description="unverified | verified_source | verified_staff | failed"
    )
    verified_by: str | None = strawberry.field(
        description="The staff member, or source:<name>, or c360-checks for failed checks."
    )
    verified_at: datetime | None
    method: str | None = strawberry.field(description="How: document_seen, callback, …")
    evidence: str | None = strawberry.field(description="A reference to the evidence.")
    reason: str | None
    due_at: datetime | None = strawberry.field(description="When it must be verified again.")
    outcome: str | None = strawberry.field(description="The checks' outcome: pass | warn | fail")
    checks: list[VerificationCheck] | None = strawberry.field(
        description="The individual checks; null where your role does not read the "
        "attribute in clear."
    )


def _time(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def _load(
    engine: Engine, customer_id: int
) -> tuple[dict[str, Any] | None, dict[str, Any], dict[str, Any]]:
    """The score row, the states (an attribute without a stored state is
    unverified) and the checks of one customer."""
    with engine.connect() as conn:
        score = authenticity_of(conn, [customer_id]).get(customer_id)
        states = states_of(conn, [customer_id]).get(customer_id, {})
        checks = checks_of(conn, [customer_id]).get(customer_id, {})
        golden = conn.execute(
            select(t.golden_profile.c.attributes).where(
                t.golden_profile.c.customer_id == customer_id
            )
        ).scalar()
    for attribute in VERIFIABLE:
        item = (golden or {}).get(attribute)
        if isinstance(item, dict) and item.get("value") not in (None, ""):
            states.setdefault(attribute, {"status": "unverified"})
    return score, states, checks


async def authenticity_for(context: RequestContext, subject: Subject) -> CustomerAuthenticity:
    """The authenticity of ``subject``'s customer (one read of its rows)."""
    assert subject.customer_id is not None
    score, states, checks = await asyncio.to_thread(_load, context.engine, subject.customer_id)
    return CustomerAuthenticity(subject=subject, row=score, states=states, checks=checks)


@strawberry.type(
    description="Is this customer real, and can we prove it? The authenticity score with its "
    "reasons, fraud flags, the consistency matrix and verification states, each served as "
    "your role allows (agents: all; marketing: the band only; risk: all; compliance: with a "
    "declared purpose)."
)
class CustomerAuthenticity:
    subject: strawberry.Private[Subject]
    row: strawberry.Private[dict[str, Any] | None]
    states: strawberry.Private[dict[str, Any]]
    checks: strawberry.Private[dict[str, Any]]

    def _get(self, info: Info, field: str, key: str) -> Any:
        permit(info.context, field, self.subject)
        return None if self.row is None else self.row.get(key)

    @strawberry.field(description="0-100 (policy field authenticity_score); null if not judged.")
    def score(self, info: Info) -> int | None:
        value = self._get(info, "authenticity_score", "score")
        return None if value is None else int(value)

    @strawberry.field(description="pass | review | fail (policy field authenticity_band).")
    def band(self, info: Info) -> str | None:
        return self._get(info, "authenticity_band", "band")

    @strawberry.field(description="The verification policy version the score used.")
    def policy_version(self, info: Info) -> str | None:
        return self._get(info, "authenticity_score", "policy_version")

    @strawberry.field(description="When the score was computed.")
    def computed_at(self, info: Info) -> datetime | None:
        return _time(self._get(info, "authenticity_score", "computed_at"))

    @strawberry.field(
        description="Every contribution, most costly first; the policy's base plus the weights "
        "is the score before clipping to 0-100 (policy field authenticity_reasons)."
    )
    def reasons(self, info: Info) -> list[AuthenticityReason] | None:
        rows = self._get(info, "authenticity_reasons", "reasons") or []
        return [
            AuthenticityReason(
                code=r["code"],
                weight=int(r["weight"]),
                text=r["text"],
                attribute=r.get("attribute"),
            )
            for r in rows
        ]

    @strawberry.field(description="The fraud flags (policy field authenticity_reasons).")
    def flags(self, info: Info) -> list[FraudFlag] | None:
        rows = self._get(info, "authenticity_reasons", "flags") or []
        return [
            FraudFlag(
                flag=f["flag"],
                severity=f["severity"],
                text=f["text"],
                stored_detail=dict(f.get("detail") or {}),
            )
            for f in rows
        ]

    @strawberry.field(
        description="What the sources agree and disagree on (policy field authenticity_reasons)."
    )
    def consistency(self, info: Info) -> list[ConsistencyCell] | None:
        rows = self._get(info, "authenticity_reasons", "consistency") or []
        out = []
        for cell in rows:
            attribute = ASPECT_ATTRIBUTE.get(cell["aspect"], "other")
            shown = reads_clear(info.context, attribute, self.subject)
            out.append(
                ConsistencyCell(
                    aspect=cell["aspect"],
                    left=cell["left"],
                    right=cell["right"],
                    verdict=cell["verdict"],
                    detail=cell["detail"] if shown else None,
                )
            )
        return out

    @strawberry.field(
        description="Each attribute's verification state and checks (policy field "
        "verification_state)."
    )
    def verifications(self, info: Info) -> list[AttributeVerification] | None:
        permit(info.context, "verification_state", self.subject)
        out = []
        for attribute in sorted(set(self.states) | set(self.checks)):
            state = self.states.get(attribute, {})
            checked = self.checks.get(attribute)
            detail = None
            if checked is not None and reads_clear(info.context, attribute, self.subject):
                detail = [
                    VerificationCheck(check=c["check"], outcome=c["outcome"], reason=c["reason"])
                    for c in checked["checks"]
                ]
            out.append(
                AttributeVerification(
                    attribute=attribute,
                    status=state.get("status", "unverified"),
                    verified_by=state.get("verified_by"),
                    verified_at=_time(state.get("verified_at")),
                    method=state.get("method"),
                    evidence=state.get("evidence"),
                    reason=state.get("reason") if detail is not None or checked is None else None,
                    due_at=_time(state.get("due_at")),
                    outcome=checked["outcome"] if checked else None,
                    checks=detail,
                )
            )
        return out


BANDS = ("pass", "review", "fail")


def band_filter(value: str | None) -> tuple[str, ...]:
    """``filter.authenticityBand`` as search filter values."""
    if value is None:
        return ()
    if value not in BANDS:
        raise BadUserInput("filter.authenticityBand", f"must be one of {', '.join(BANDS)}")
    return (value,)


def score_filter(minimum: int | None, maximum: int | None) -> tuple[str, ...]:
    """``filter.authenticityScoreMin`` / ``Max`` (0-100, inclusive) as the set of
    score values the index holds as text."""
    if minimum is None and maximum is None:
        return ()
    for name, value in (("Min", minimum), ("Max", maximum)):
        if value is not None and not 0 <= value <= 100:
            raise BadUserInput(f"filter.authenticityScore{name}", "must be between 0 and 100")
    low, high = minimum if minimum is not None else 0, maximum if maximum is not None else 100
    if low > high:
        raise BadUserInput("filter.authenticityScoreMin", "is above filter.authenticityScoreMax")
    return tuple(str(n) for n in range(low, high + 1))
