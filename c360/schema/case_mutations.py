"""The case mutations staff use (投诉处理): ``openCase`` (record a call),
``moveCase``, ``assignCase``, ``escalateCase`` and ``recordSurvey``, each
checked against the policy as :mod:`c360.schema.cases` describes, its input
errors naming the argument at fault.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import strawberry
from sqlalchemy import Engine

from c360.auth.policy import may_run_on_case
from c360.platform.cases import actions, surveys
from c360.platform.cases.intake import CaseInputError, open_case, validate
from c360.platform.cases.workflow import SUPERVISOR_MOVES, IllegalMove
from c360.schema.case_types import CaseNode, CaseState
from c360.schema.cases import INPUT_ARGUMENTS, one_case
from c360.schema.errors import BadUserInput, Forbidden, check_text
from c360.schema.mutations import allowed
from c360.schema.queries import check_purpose, customer_by_id, parse_customer_id
from c360.schema.types import Info


@strawberry.input(description="A case staff record (e.g. from a call).")
class OpenCaseInput:
    customer_id: strawberry.ID
    channel: str = strawberry.field(
        description="phone, web, email, wechat, store, app, letter, other"
    )
    category: str = strawberry.field(
        description="billing, delivery, product_quality, service_attitude, privacy, account, other"
    )
    description: str
    kind: str = strawberry.field(default="complaint", description="complaint, suggestion, inquiry")
    severity: str = strawberry.field(default="medium", description="low, medium, high, critical")
    owner: str | None = strawberry.field(
        default=None, description="The staff principal handling it (default: you)."
    )
    team: str | None = None
    attachments: list[str] | None = None


def _with_case(engine: Engine, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with engine.begin() as conn:
        return function(conn, *args, **kwargs)


async def _change(
    info: Info, case_id: int, mutation: str, function: Callable[..., Any], **kwargs: Any
) -> CaseNode:
    """Run ``function`` on the case if the caller sees it and may run ``mutation``
    on it; the case as it is afterwards."""
    node, reader = await one_case(info, case_id, check_purpose(None, info))
    reason = may_run_on_case(info.context.principal, mutation, supervises=node.team in reader.teams)
    if reason is not None:
        info.context.access.refused(node.subject, f"mutation.{mutation}", reason)
        raise Forbidden(f"mutation.{mutation}", reason)
    try:
        await asyncio.to_thread(
            _with_case,
            info.context.engine,
            function,
            case_id,
            actor=info.context.principal.subject,
            **kwargs,
        )
    except IllegalMove as exc:
        raise BadUserInput("state", str(exc)) from None
    except (CaseInputError, surveys.SurveyInputError, ValueError) as exc:
        field, _, message = str(exc).partition(": ")
        raise BadUserInput(INPUT_ARGUMENTS.get(field, field), message) from None
    info.context.refresh_loaders()
    refreshed, _ = await one_case(info, case_id, check_purpose(None, info))
    return refreshed


def _open(engine: Engine, data: dict[str, Any], actor: str) -> int:
    with engine.begin() as conn:
        return open_case(conn, validate(data), actor=actor)


@strawberry.type
class CasesMutation:
    @strawberry.mutation(
        description="Open a case (state 受理 accepted) for a customer, e.g. from a call; "
        "returns it with its SLA deadlines.",
        extensions=allowed("open_case"),
    )
    async def open_case(self, info: Info, case: OpenCaseInput) -> CaseNode:
        customer = await customer_by_id(
            info, parse_customer_id(case.customer_id, "customerId"), check_purpose(None, info)
        )
        if customer is None:
            raise BadUserInput("customerId", f"no customer has id {case.customer_id!r}")
        description = check_text(case.description, "description", maximum=20_000)
        data = {
            "customer_id": customer.customer_id,
            "kind": case.kind,
            "channel": case.channel,
            "category": case.category,
            "severity": case.severity,
            "description": description,
            "attachments": case.attachments or [],
            "owner": case.owner or info.context.principal.subject,
            "team": case.team,
        }
        try:
            case_id = await asyncio.to_thread(
                _open, info.context.engine, data, info.context.principal.subject
            )
        except CaseInputError as exc:
            raise BadUserInput(INPUT_ARGUMENTS.get(exc.field, exc.field), exc.reason) from None
        node, _ = await one_case(info, case_id, check_purpose(None, info))
        return node

    @strawberry.mutation(
        description="Move a case through the workflow; an illegal move is refused naming "
        "the allowed ones. Escalating is the team supervisor's (escalateCase).",
        extensions=allowed("move_case"),
    )
    async def move_case(
        self, info: Info, case_id: int, state: CaseState, note: str | None = None
    ) -> CaseNode:
        text = check_text(note, "note", maximum=2000) if note is not None else None
        mutation = "escalate_case" if state.value in SUPERVISOR_MOVES else "move_case"
        return await _change(info, case_id, mutation, actions.move, target=state.value, note=text)

    @strawberry.mutation(
        description="Give a case to another owner and/or team (the team's supervisor).",
        extensions=allowed("assign_case"),
    )
    async def assign_case(
        self, info: Info, case_id: int, owner: str | None = None, team: str | None = None
    ) -> CaseNode:
        if owner is None and team is None:
            raise BadUserInput("owner", "give an owner, a team or both")
        who = check_text(owner, "owner", maximum=128) if owner is not None else None
        where = check_text(team, "team", maximum=64) if team is not None else None
        return await _change(info, case_id, "assign_case", actions.assign, owner=who, team=where)

    @strawberry.mutation(
        description="Escalate a case to its team's supervisor (the supervisor's, or an "
        "administrator's, decision).",
        extensions=allowed("escalate_case"),
    )
    async def escalate_case(self, info: Info, case_id: int, note: str | None = None) -> CaseNode:
        text = check_text(note, "note", maximum=2000) if note is not None else None
        return await _change(info, case_id, "escalate_case", actions.escalate, note=text)

    @strawberry.mutation(
        description="Record the customer's satisfaction answer (CSAT 1-5, a comment); a "
        "dissatisfied answer (2 or less) reopens the case unless `reopen` is false.",
        extensions=allowed("record_survey"),
    )
    async def record_survey(
        self,
        info: Info,
        case_id: int,
        csat: int,
        comment: str | None = None,
        reopen: bool = True,
    ) -> CaseNode:
        text = check_text(comment, "comment", maximum=2000) if comment is not None else None
        if not 1 <= csat <= 5:
            raise BadUserInput("csat", f"must be a whole number from 1 to 5, got {csat}")
        return await _change(
            info,
            case_id,
            "record_survey",
            _survey,
            csat=csat,
            comment=text,
            reopen=reopen,
        )


def _survey(
    conn: Any, case_id: int, *, actor: str, csat: int, comment: str | None, reopen: bool
) -> bool:
    return surveys.record_answer(
        conn, case_id, csat, comment, actor=actor, reopen_if_dissatisfied=reopen
    )


__all__ = ["CasesMutation", "OpenCaseInput"]
