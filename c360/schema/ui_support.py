"""GraphQL the staff workspace needs that no capability module answers:

* ``matchExplanation(customerId, otherId)`` — before an administrator merges two
  customers, why the match model would (or would not) take them for the same
  person;
* ``caseWorkflow`` — the case state machine as data (each state's name staff
  know it by, the moves from it, which only a supervisor makes), so the page
  offers exactly the moves the workflow allows instead of keeping its own copy.

Every source record of one customer is scored against every record of the
other with the model in force (:func:`c360.platform.matching.explain.explain_pair`),
comparison by comparison: which level each comparison landed on and how many
bits of evidence it weighed, the prior, the sum (the match weight) and its
probability. The answer names comparisons and levels, never the compared
values (the page shows values through ``customer``, under the field policy).

It prepares a merge, so it is allowed to whoever may run ``merge`` (the policy
table's :data:`~c360.auth.policy_table.ROLE_POLICIES`); both customers must be in the
caller's rows.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import strawberry

from c360.platform.cases.workflow import OPEN_STATES, STATE_LABELS, SUPERVISOR_MOVES, TRANSITIONS
from c360.platform.matching.explain import explain_customer, explain_pair
from c360.schema.errors import BadUserInput
from c360.schema.mutations import allowed
from c360.schema.queries import customer_by_id, parse_customer_id
from c360.schema.types import Info

MAX_PAIRS = 12
"""Most record pairs answered (the best first): enough to decide, bounded work."""
MAX_RECORDS = 8
"""Records of each customer compared (a customer with more, by its first 8: each
pair is one model scoring)."""


@strawberry.type(description="Where one comparison of a record pair landed, and what it weighed.")
class MatchComparison:
    comparison: str
    level: str
    weight: float = strawberry.field(description="bits of evidence (term frequency included)")


@strawberry.type(description="One record of each customer, scored by the model in force.")
class RecordPairScore:
    record_id: int
    other_record_id: int
    source: str = strawberry.field(description="source/stream of `recordId`")
    other_source: str = strawberry.field(description="source/stream of `otherRecordId`")
    probability: float
    match_weight: float = strawberry.field(description="prior plus every comparison, in bits")
    prior_weight: float
    least_weight: float = strawberry.field(
        description="the most negative comparison weight: 0 when nothing disagrees"
    )
    comparisons: list[MatchComparison]


@strawberry.type(
    description="Why the match model would or would not take two customers for one: "
    "their record pairs, best first."
)
class MatchExplanation:
    customer_id: strawberry.ID
    other_id: strawberry.ID
    probability: float = strawberry.field(description="the best pair's probability (0 if none)")
    pairs: list[RecordPairScore]
    compared_pairs: int = strawberry.field(description="pairs scored (of the same kind)")
    different_kinds: bool = strawberry.field(
        description="a person and an organization: the model compares neither"
    )


@dataclass(frozen=True, slots=True)
class _Record:
    record_id: int
    source: str


def _records(info: Info, customer_id: int) -> list[_Record]:
    explanation = explain_customer(info.context.engine, customer_id)
    return [
        _Record(link.record_id, f"{link.source}/{link.stream}")
        for link in explanation.links[:MAX_RECORDS]
    ]


def _explain(info: Info, mine: int, theirs: int) -> tuple[list[RecordPairScore], int, bool]:
    pairs: list[RecordPairScore] = []
    kinds_differ = False
    others = _records(info, theirs)
    for a in _records(info, mine):
        for b in others:
            try:
                score = explain_pair(info.context.engine, a.record_id, b.record_id)
            except ValueError:  # a person against an organization
                kinds_differ = True
                continue
            pairs.append(
                RecordPairScore(
                    record_id=a.record_id,
                    other_record_id=b.record_id,
                    source=a.source,
                    other_source=b.source,
                    probability=score.probability,
                    match_weight=score.match_weight,
                    prior_weight=score.prior_weight,
                    least_weight=score.least_weight,
                    comparisons=[
                        MatchComparison(comparison=o.comparison, level=o.level, weight=o.weight)
                        for o in score.outcomes
                    ],
                )
            )
    pairs.sort(key=lambda p: (-p.match_weight, p.record_id, p.other_record_id))
    return pairs, len(pairs), kinds_differ and not pairs


@strawberry.type(description="One state of the case workflow and the moves from it.")
class CaseWorkflowState:
    state: str = strawberry.field(description="The state's value (lower case), e.g. in_progress.")
    name: str = strawberry.field(description="Its CaseState enum name, e.g. IN_PROGRESS.")
    label: str = strawberry.field(description="The name staff know it by: 受理, 处理中…")
    open: bool = strawberry.field(description="Whether a case here is still being handled.")
    moves: list[str] = strawberry.field(description="The states a case may move to from here.")
    supervisor_moves: list[str] = strawberry.field(
        description="Those of `moves` only the team's supervisor makes (escalation)."
    )


def _workflow() -> list[CaseWorkflowState]:
    return [
        CaseWorkflowState(
            state=state,
            name=state.upper(),
            label=label,
            open=state in OPEN_STATES,
            moves=list(TRANSITIONS.get(state, ())),
            supervisor_moves=[s for s in TRANSITIONS.get(state, ()) if s in SUPERVISOR_MOVES],
        )
        for state, label in STATE_LABELS.items()
    ]


@strawberry.type
class Query:
    @strawberry.field(
        description="The case workflow: every state, its label and the moves from it "
        "(the rules, not any case: no policy field)."
    )
    def case_workflow(self) -> list[CaseWorkflowState]:
        return _workflow()

    @strawberry.field(
        description="Why the match model would or would not take customers `customerId` "
        "and `otherId` for the same (before a manual merge). Whoever may merge may ask.",
        extensions=allowed("merge"),
    )
    async def match_explanation(
        self, info: Info, customer_id: strawberry.ID, other_id: strawberry.ID
    ) -> MatchExplanation | None:
        mine = parse_customer_id(customer_id, "customerId")
        theirs = parse_customer_id(other_id, "otherId")
        found = []
        for argument, value in (("customerId", mine), ("otherId", theirs)):
            customer = await customer_by_id(info, value, None)
            if customer is None:
                raise BadUserInput(argument, f"no customer has id {value}")
            found.append(customer.customer_id)
        if found[0] == found[1]:
            raise BadUserInput("otherId", "both ids name the same customer")
        pairs, compared, kinds_differ = await asyncio.to_thread(_explain, info, found[0], found[1])
        return MatchExplanation(
            customer_id=strawberry.ID(str(found[0])),
            other_id=strawberry.ID(str(found[1])),
            probability=pairs[0].probability if pairs else 0.0,
            pairs=pairs[:MAX_PAIRS],
            compared_pairs=compared,
            different_kinds=kinds_differ,
        )


__all__ = ["CaseWorkflowState", "MatchExplanation", "Query"]
