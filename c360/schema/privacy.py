"""The privacy part of the schema, for compliance staff: data-subject requests
(``privacyRequests``; ``openPrivacyRequest``, ``exportPerson``, ``erasePerson``,
``restrictPerson``, ``liftRestriction``) and a customer's consents with their
history (``customerConsents``; ``recordConsent``, ``withdrawConsent``).

Reads are policy fields: ``privacy_requests`` (the request list: ids, kinds,
deadlines — no personal value), ``consents`` and ``privacy_export`` (personal
data: clear only where the role reads them for the declared purpose, which
compliance declares, e.g. ``legal_obligation``; audited as clear reads). Every
mutation is in the policy's ``MUTATIONS`` and is audited by the platform
function it calls (the request, the erasure, the consent record).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Engine
from strawberry.scalars import JSON

from c360.platform.locks import write_transaction
from c360.platform.privacy.consent import (
    ConsentError,
    basis_row,
    history,
    record_basis,
    withdraw_basis,
)
from c360.platform.privacy.erasure import ErasureError, compact
from c360.platform.privacy.export import export_person
from c360.platform.privacy.requests import (
    KINDS,
    complete,
    erase_person,
    list_requests,
    open_request,
    request_to_fulfil,
)
from c360.platform.privacy.restriction import lift
from c360.schema.context import Subject
from c360.schema.credit_types import permit
from c360.schema.errors import BadUserInput, check_page_size, check_text
from c360.schema.mutations import allowed
from c360.schema.queries import check_purpose, customer_by_id, parse_customer_id
from c360.schema.types import Customer, Info


@strawberry.type(description="A data-subject request (export, erasure, restriction).")
class PrivacyRequestEntry:
    id: int
    customer_id: strawberry.ID
    kind: str = strawberry.field(description="export | erasure | restriction")
    status: str = strawberry.field(description="open | done | lifted")
    received_at: datetime
    due_at: datetime = strawberry.field(description="The deadline (15 days after receipt).")
    completed_at: datetime | None
    overdue: bool
    requested_by: str
    reason: str | None
    counts: JSON = strawberry.field(description="Rows removed or exported per table; no values.")

    @classmethod
    def of(cls, row: dict[str, Any]) -> PrivacyRequestEntry:
        return cls(
            id=int(row["id"]),
            customer_id=strawberry.ID(str(row["customer_id"])),
            kind=row["kind"],
            status=row["status"],
            received_at=row["received_at"],
            due_at=row["due_at"],
            completed_at=row["completed_at"],
            overdue=bool(row.get("overdue", False)),
            requested_by=row["requested_by"],
            reason=row["reason"],
            counts=JSON(row["counts"] or {}),
        )


@strawberry.type(description="A consent or other legal basis, as recorded (history kept).")
class ConsentEntry:
    id: int
    purpose: str
    basis: str = strawberry.field(description="consent | contract | legal_obligation | ...")
    evidence: str = strawberry.field(description="Where the proof is (form, file, source record).")
    recorded_by: str
    recorded_at: datetime = strawberry.field(description="When it was given (as its source says).")
    expires_at: datetime | None
    revoked_at: datetime | None = strawberry.field(description="When it was withdrawn, if so.")
    revoked_by: str | None
    active: bool

    @classmethod
    def of(cls, row: dict[str, Any]) -> ConsentEntry:
        return cls(
            id=int(row["id"]),
            purpose=row["purpose"],
            basis=row["basis"],
            evidence=row["evidence"],
            recorded_by=row["recorded_by"],
            recorded_at=row["recorded_at"],
            expires_at=row["expires_at"],
            revoked_at=row["revoked_at"],
            revoked_by=row["revoked_by"],
            active=row["revoked_at"] is None,
        )


@strawberry.type(description="An export package: everything held about the person.")
class PersonExport:
    request_id: int
    rows: int
    package: JSON = strawberry.field(description="The JSON package (c360 privacy export).")


@strawberry.type(description="What an erasure removed (counts only).")
class ErasureOutcome:
    request_id: int
    rows_removed: int
    suppressed_identifiers: int
    counts: JSON


async def _customer(info: Info, customer_id: strawberry.ID, purpose: str | None) -> Customer:
    customer = await customer_by_id(info, parse_customer_id(customer_id, "customerId"), purpose)
    if customer is None:
        raise BadUserInput("customerId", f"no customer has id {customer_id!r}")
    return customer


def _purpose(info: Info) -> str | None:
    """The purpose the request declared (X-Purpose), if any: fields that need one
    (compliance reads with a purpose) are refused without it."""
    return check_purpose(None, info)


@strawberry.type
class PrivacyQuery:
    @strawberry.field(
        description="Data-subject requests, earliest deadline first (`openOnly` for the "
        "open ones; `first` 1-100). Policy field privacy_requests."
    )
    async def privacy_requests(
        self, info: Info, open_only: bool = False, first: int = 50
    ) -> list[PrivacyRequestEntry] | None:
        check_page_size(first, "first")
        permit(info.context, "privacy_requests", Subject(None, purpose=_purpose(info)))
        rows = await asyncio.to_thread(list_requests, info.context.engine, open_only=open_only)
        return [PrivacyRequestEntry.of(r) for r in rows[:first]]

    @strawberry.field(
        description="Every consent and legal basis recorded for the customer (and ids "
        "merged into them), newest first, withdrawn ones included. Policy field consents."
    )
    async def customer_consents(
        self, info: Info, customer_id: strawberry.ID, purpose: str | None = None
    ) -> list[ConsentEntry] | None:
        declared = check_purpose(purpose, info)
        customer = await _customer(info, customer_id, declared)
        permit(info.context, "consents", customer.subject)
        rows = await asyncio.to_thread(_history, info.context.engine, customer.customer_id)
        return [ConsentEntry.of(r) for r in rows]


def _history(engine: Engine, customer_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return history(conn, customer_id)


def _export(
    engine: Engine, customer_id: int, actor: str, request_id: int | None
) -> tuple[int, dict[str, Any]]:
    request_id = request_to_fulfil(engine, customer_id, "export", request_id, requested_by=actor)
    with engine.connect() as conn:
        package = export_person(conn, customer_id)
    rows = sum(len(v) for v in package["tables"].values())
    complete(engine, request_id, {"rows": rows})
    return request_id, json.loads(json.dumps(package, ensure_ascii=False, default=str))


def _record(engine: Engine, customer_id: int, **kwargs: Any) -> dict[str, Any]:
    with write_transaction(engine) as conn:
        basis_id = record_basis(conn, customer_id, **kwargs)
        return next(r for r in history(conn, customer_id) if r["id"] == basis_id)


def _withdraw(engine: Engine, basis_id: int, actor: str) -> dict[str, Any]:
    with write_transaction(engine) as conn:
        withdraw_basis(conn, basis_id, revoked_by=actor)
        row = basis_row(conn, basis_id)
    assert row is not None
    return row


def _basis(engine: Engine, basis_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        return basis_row(conn, basis_id)


def _erase(
    engine: Engine, customer_id: int, actor: str, reason: str | None, request_id: int | None
) -> Any:
    request_id, counts = erase_person(
        engine, customer_id, actor=actor, reason=reason, request_id=request_id
    )
    compact(engine)
    return request_id, counts


def _field(message: str, default: str) -> tuple[str, str]:
    """``(argument, reason)`` of a platform error ``"field: reason"``."""
    name, sep, rest = message.partition(":")
    arguments = {
        "purpose": "purpose",
        "basis": "basis",
        "evidence": "evidence",
        "request_id": "requestId",
    }
    if sep and name in arguments:
        return arguments[name], rest.strip()
    return default, message


@strawberry.type
class PrivacyMutation:
    @strawberry.mutation(
        description="Record a data-subject request received now (kind export, erasure or "
        "restriction; a restriction is in force at once). Deadline: 15 days.",
        extensions=allowed("open_privacy_request"),
    )
    async def open_privacy_request(
        self, info: Info, customer_id: strawberry.ID, kind: str, reason: str | None = None
    ) -> PrivacyRequestEntry:
        if kind not in KINDS:
            raise BadUserInput("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
        why = check_text(reason, "reason", maximum=500) if reason is not None else None
        customer = await _customer(info, customer_id, _purpose(info))
        actor = info.context.principal.subject
        request_id = await asyncio.to_thread(
            open_request,
            info.context.engine,
            customer.customer_id,
            kind,
            requested_by=actor,
            reason=why,
        )
        rows = await asyncio.to_thread(list_requests, info.context.engine)
        return PrivacyRequestEntry.of(next(r for r in rows if r["id"] == request_id))

    @strawberry.mutation(
        description="Export everything held about the person (the JSON package of c360 "
        "privacy export), completing the open export request `requestId` (the one the "
        "person made) or, without one, an export request received now. Policy field "
        "privacy_export.",
        extensions=allowed("export_person"),
    )
    async def export_person(
        self, info: Info, customer_id: strawberry.ID, request_id: int | None = None
    ) -> PersonExport:
        customer = await _customer(info, customer_id, _purpose(info))
        permit(info.context, "privacy_export", customer.subject)
        try:
            fulfilled, package = await asyncio.to_thread(
                _export,
                info.context.engine,
                customer.customer_id,
                info.context.principal.subject,
                request_id,
            )
        except ErasureError as exc:
            raise BadUserInput(*_field(str(exc), "customerId")) from None
        rows = sum(len(v) for v in package["tables"].values())
        return PersonExport(request_id=fulfilled, rows=rows, package=JSON(package))

    @strawberry.mutation(
        description="Erase the person for good (every table, the index, suppression list "
        "so that no source brings them back), completing the open erasure request "
        "`requestId` or, without one, an erasure request received now. `confirm` must be "
        "true.",
        extensions=allowed("erase_person"),
    )
    async def erase_person(
        self,
        info: Info,
        customer_id: strawberry.ID,
        confirm: bool,
        reason: str | None = None,
        request_id: int | None = None,
    ) -> ErasureOutcome:
        if not confirm:
            raise BadUserInput("confirm", "erasure is final: pass confirm: true")
        why = check_text(reason, "reason", maximum=500) if reason is not None else None
        customer = await _customer(info, customer_id, _purpose(info))
        try:
            request_id, counts = await asyncio.to_thread(
                _erase,
                info.context.engine,
                customer.customer_id,
                info.context.principal.subject,
                why,
                request_id,
            )
        except ErasureError as exc:
            raise BadUserInput(*_field(str(exc), "customerId")) from None
        info.context.refresh_loaders()
        suppressed = int(counts.get("suppressed_identifiers", 0))
        return ErasureOutcome(
            request_id=request_id,
            rows_removed=sum(v for k, v in counts.items() if k != "suppressed_identifiers"),
            suppressed_identifiers=suppressed,
            counts=JSON(counts),
        )

    @strawberry.mutation(
        description="Restrict the person's processing (PIPL art. 47: stored only — no "
        "clear reads but for legal_obligation, out of search, not scored or enriched).",
        extensions=allowed("restrict_person"),
    )
    async def restrict_person(
        self, info: Info, customer_id: strawberry.ID, reason: str | None = None
    ) -> PrivacyRequestEntry:
        why = check_text(reason, "reason", maximum=500) if reason is not None else None
        customer = await _customer(info, customer_id, _purpose(info))
        request_id = await asyncio.to_thread(
            open_request,
            info.context.engine,
            customer.customer_id,
            "restriction",
            requested_by=info.context.principal.subject,
            reason=why,
        )
        rows = await asyncio.to_thread(list_requests, info.context.engine)
        return PrivacyRequestEntry.of(next(r for r in rows if r["id"] == request_id))

    @strawberry.mutation(
        description="Lift the person's open restriction; returns how many were lifted "
        "(refused when there is none).",
        extensions=allowed("lift_restriction"),
    )
    async def lift_restriction(
        self, info: Info, customer_id: strawberry.ID, reason: str | None = None
    ) -> int:
        why = check_text(reason, "reason", maximum=500) if reason is not None else None
        customer = await _customer(info, customer_id, _purpose(info))
        lifted = await asyncio.to_thread(
            lift,
            info.context.engine,
            customer.customer_id,
            actor=info.context.principal.subject,
            reason=why,
        )
        if not lifted:
            raise BadUserInput("customerId", f"customer {customer_id} has no open restriction")
        return lifted

    @strawberry.mutation(
        description="Record a consent (or another legal basis) of the customer for a "
        "catalogue purpose, with where the proof is; covers reads from the next request.",
        extensions=allowed("record_consent"),
    )
    async def record_consent(
        self,
        info: Info,
        customer_id: strawberry.ID,
        purpose: str,
        evidence: str,
        basis: str = "consent",
        expires_at: datetime | None = None,
    ) -> ConsentEntry:
        proof = check_text(evidence, "evidence", maximum=500)
        customer = await _customer(info, customer_id, check_purpose(None, info))
        try:
            row = await asyncio.to_thread(
                _record,
                info.context.engine,
                customer.customer_id,
                purpose=purpose,
                basis=basis,
                evidence=proof,
                recorded_by=info.context.principal.subject,
                expires_at=expires_at,
            )
        except ConsentError as exc:
            raise BadUserInput(*_field(str(exc), "customerId")) from None
        return ConsentEntry.of(row)

    @strawberry.mutation(
        description="Withdraw a recorded consent: effective from the next request; the "
        "record stays in the history with who withdrew it and when.",
        extensions=allowed("withdraw_consent"),
    )
    async def withdraw_consent(self, info: Info, consent_id: int) -> ConsentEntry:
        if consent_id < 1:
            raise BadUserInput("consentId", f"must be a consent id, got {consent_id}")
        found = await asyncio.to_thread(_basis, info.context.engine, consent_id)
        if found is None:
            raise BadUserInput("consentId", f"no consent has id {consent_id}")
        await _customer(info, strawberry.ID(str(found["customer_id"])), check_purpose(None, info))
        try:
            row = await asyncio.to_thread(
                _withdraw, info.context.engine, consent_id, info.context.principal.subject
            )
        except ConsentError as exc:
            raise BadUserInput("consentId", str(exc)) from None
        return ConsentEntry.of(row)
