"""The root ``Mutation``: tags and notes (front-line staff), manual merge and
split (data stewards), unmerge (admins). Which role may run which is the policy table's
(:data:`c360.auth.policy_table.ROLE_POLICIES`), asked by the :class:`MayRun`
permission on each field; a refusal is ``FORBIDDEN`` and goes on the audit log
like every change. Saving and evaluating segments (``createSegment``,
``evaluateSegment``) come from :class:`c360.schema.value.ValueMutation`, which
says who may.
"""

from __future__ import annotations

import asyncio
import unicodedata
from typing import Any

import strawberry
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

from c360.auth.policy import may_run
from c360.platform.customer_tags import TagError, add_note, add_tag, check_tag, remove_tag
from c360.platform.models import utcnow
from c360.platform.stewardship import Actor, CurationError, merge, split, unmerge
from c360.schema.context import Subject
from c360.schema.errors import BadUserInput, Forbidden, check_text
from c360.schema.loaded_rows import NoteEntry, as_utc
from c360.schema.queries import check_purpose, customer_by_id, parse_customer_id
from c360.schema.types import Customer, Info, Note
from c360.schema.value import ValueMutation


class MayRun(BasePermission):
    """The caller's roles and scopes allow mutation ``name`` (policy table). A
    refusal is recorded for the audit log and answered ``FORBIDDEN`` with the
    reason."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.message = f'you may not run "{name}"'

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        reason = may_run(info.context.principal, self.name)
        if reason is None:
            return True
        info.context.access.refused(Subject(None), f"mutation.{self.name}", reason)
        raise Forbidden(f"mutation.{self.name}", reason)


def allowed(name: str) -> list[FieldExtension]:
    return [PermissionExtension(permissions=[MayRun(name)], fail_silently=False)]


def _actor(info: Info, purpose: str | None = None) -> Actor:
    principal = info.context.principal
    return Actor(
        subject=principal.subject,
        client=principal.client_id,
        roles=",".join(sorted(principal.roles)),
        purpose=purpose,
    )


def _tag(value: str) -> str:
    try:
        return check_tag(value)
    except TagError as exc:
        raise BadUserInput("tag", str(exc)) from None


async def _target(info: Info, argument: str, value: strawberry.ID) -> Customer:
    """The active customer an id argument names, within the caller's rows."""
    customer = await customer_by_id(info, parse_customer_id(value, argument), None)
    if customer is None:
        raise BadUserInput(argument, f"no customer has id {value!r}")
    return customer


_ARGUMENTS = {
    "customer": "customerId",
    "survivor": "survivorId",
    "absorbed": "absorbedId",
    "record": "recordId",
}
"""The GraphQL argument behind each input a :class:`CurationError` names."""


async def _run(info: Info, function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        result = await asyncio.to_thread(function, info.context.engine, *args, **kwargs)
    except CurationError as exc:
        raise BadUserInput(_ARGUMENTS[exc.argument], exc.reason) from None
    info.context.refresh_loaders()
    return result


async def _reloaded(info: Info, customer_id: int, purpose: str | None) -> Customer | None:
    return await customer_by_id(info, customer_id, purpose)


@strawberry.type(description="A manual split: the customer the record left and the new one.")
class SplitResult:
    previous: Customer | None
    created: Customer | None


@strawberry.type(
    description="An unmerge: the customer given back its id and the one it had been merged into."
)
class UnmergeResult:
    restored: Customer | None
    previous: Customer | None


@strawberry.type
class Mutation(ValueMutation):  # createSegment, evaluateSegment: c360.schema.value
    @strawberry.mutation(
        description="Tag a customer (followed through merges). Returns the customer.",
        extensions=allowed("tag"),
    )
    async def tag_customer(
        self, info: Info, customer_id: strawberry.ID, tag: str
    ) -> Customer | None:
        label = _tag(tag)
        customer = await _target(info, "customerId", customer_id)
        await _run(info, add_tag, customer.customer_id, label, _actor(info))
        return await _reloaded(info, customer.customer_id, check_purpose(None, info))

    @strawberry.mutation(
        description="Remove a tag from a customer. Returns the customer.",
        extensions=allowed("untag"),
    )
    async def untag_customer(
        self, info: Info, customer_id: strawberry.ID, tag: str
    ) -> Customer | None:
        # A tag stored before tags were checked may not pass check_tag: it can still
        # be removed by its exact text.
        label = check_text(unicodedata.normalize("NFKC", tag), "tag", maximum=64)
        customer = await _target(info, "customerId", customer_id)
        await _run(info, remove_tag, customer.customer_id, label, _actor(info))
        return await _reloaded(info, customer.customer_id, check_purpose(None, info))

    @strawberry.mutation(
        description="Write a note on a customer (1-4000 characters). Returns the note.",
        extensions=allowed("note"),
    )
    async def add_note(self, info: Info, customer_id: strawberry.ID, text: str) -> Note:
        body = check_text(text, "text", maximum=4000)
        customer = await _target(info, "customerId", customer_id)
        note_id = await _run(info, add_note, customer.customer_id, body, _actor(info))
        entry = NoteEntry(
            note_id=note_id,
            customer_id=customer.customer_id,
            text=body,
            author=info.context.principal.subject,
            created_at=as_utc(utcnow()),
        )
        return Note(entry=entry, subject=customer.subject)

    @strawberry.mutation(
        description="Merge customer `absorbedId` into `survivorId` (a data steward's "
        "decision; the absorbed id redirects to the survivor from now on). An id merged "
        "earlier is followed to the customer it means now. Returns the survivor.",
        extensions=allowed("merge"),
    )
    async def merge_customers(
        self,
        info: Info,
        survivor_id: strawberry.ID,
        absorbed_id: strawberry.ID,
        reason: str | None = None,
    ) -> Customer | None:
        why = check_text(reason, "reason", maximum=1000) if reason is not None else None
        survivor = parse_customer_id(survivor_id, "survivorId")
        absorbed = parse_customer_id(absorbed_id, "absorbedId")
        await _target(info, "survivorId", survivor_id)
        await _target(info, "absorbedId", absorbed_id)
        kept = await _run(
            info,
            merge,
            survivor,
            absorbed,
            _actor(info, check_purpose(None, info)),
            reason=why,
            survivor=survivor,
        )
        return await _reloaded(info, kept, check_purpose(None, info))

    @strawberry.mutation(
        description="Undo the merge that absorbed customer `customerId` (automatic or "
        "manual): the id stops redirecting and gets back exactly its records, events and "
        "profile; later resolution keeps the two apart. Returns both customers.",
        extensions=allowed("unmerge"),
    )
    async def unmerge_customer(
        self, info: Info, customer_id: strawberry.ID, reason: str | None = None
    ) -> UnmergeResult:
        why = check_text(reason, "reason", maximum=1000) if reason is not None else None
        absorbed = parse_customer_id(customer_id, "customerId")
        await _target(info, "customerId", customer_id)
        purpose = check_purpose(None, info)
        previous = await _run(info, unmerge, absorbed, _actor(info, purpose), reason=why)
        return UnmergeResult(
            restored=await _reloaded(info, absorbed, purpose),
            previous=await _reloaded(info, previous, purpose),
        )

    @strawberry.mutation(
        description="Move source record `recordId` out of its customer into a new one "
        "(a data steward's decision). Returns both customers.",
        extensions=allowed("split"),
    )
    async def split_record(
        self, info: Info, record_id: int, reason: str | None = None
    ) -> SplitResult:
        why = check_text(reason, "reason", maximum=1000) if reason is not None else None
        if record_id < 1:
            raise BadUserInput("recordId", f"must be a record id, got {record_id}")
        previous, created = await _run(
            info, split, record_id, _actor(info, check_purpose(None, info)), reason=why
        )
        purpose = check_purpose(None, info)
        return SplitResult(
            previous=await _reloaded(info, previous, purpose),
            created=await _reloaded(info, created, purpose),
        )
