"""The case part of the schema (投诉处理): the case list (mine, my teams',
breaching soon, by state, paged), one case with its history and SLA clock, the
cases report, and the mutations staff use — ``openCase`` (record a call),
``moveCase``, ``assignCase``, ``escalateCase`` and ``recordSurvey``.

Access is the policy table's: a case is field ``case`` and its text
``case_text``; which cases a caller sees is
:func:`c360.auth.policy.case_roles` (agents: their regions, their own cases and
their teams'); reassigning and escalating need the team's supervisor
(:func:`c360.auth.policy.may_run_on_case`); the report is ``case_report``
(aggregates, which marketing reads too).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import strawberry
from sqlalchemy import ColumnElement, Engine, RowMapping, func, or_, select

from c360.auth.policy import field_access, role_rows
from c360.auth.policy_table import Access
from c360.auth.principal import ROLES, Principal
from c360.platform.cases import actions
from c360.platform.cases import models as m
from c360.platform.cases.report import build_report
from c360.platform.cases.workflow import OPEN_STATES
from c360.platform.models import utcnow
from c360.schema.case_types import CaseNode, CaseReader, CaseState, case_reader
from c360.schema.context import Subject
from c360.schema.credit_types import permit
from c360.schema.cursors import cursor_number, number_cursor
from c360.schema.errors import BadUserInput, check_page_size, check_text
from c360.schema.queries import check_purpose, customer_by_id, parse_customer_id
from c360.schema.types import Info

H = Access.HIDDEN
CURSOR = "cases"
MAX_PAGE = 100

INPUT_ARGUMENTS = {
    "customer_id": "customerId",
    "kind": "kind",
    "channel": "channel",
    "category": "category",
    "severity": "severity",
    "description": "description",
    "attachments": "attachments",
    "owner": "owner",
    "team": "team",
}


@strawberry.input(description="Which cases to list; conditions combine with AND.")
class CaseFilter:
    mine: bool = strawberry.field(default=False, description="Cases you own.")
    my_teams: bool = strawberry.field(default=False, description="Cases of teams you supervise.")
    team: str | None = None
    states: list[CaseState] | None = strawberry.field(
        default=None, description="These states (default: the open ones)."
    )
    breaching_within_hours: float | None = strawberry.field(
        default=None,
        description="Open cases whose resolution falls due within this many hours, or is "
        "already past (paused cases excluded).",
    )
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="The customer's cases (its merged ids included)."
    )
    category: str | None = None


@strawberry.type(description="A page of cases, the most urgent (earliest due) first.")
class CasePage:
    nodes: list[CaseNode]
    end_cursor: str | None
    has_next_page: bool
    count_query: strawberry.Private[Callable[[], int]]

    @strawberry.field(description="How many cases match across all pages.")
    async def total_count(self) -> int:
        return await asyncio.to_thread(self.count_query)


def _scope(info: Info, teams: frozenset[str], purpose: str | None) -> ColumnElement[bool] | None:
    """The SQL condition of the cases the caller sees (``None``: all), or
    ``FORBIDDEN`` when none of its roles reads cases."""
    principal: Principal = info.context.principal
    permit(info.context, "case", Subject(None, purpose=purpose))
    readers = [r for r in ROLES if r in principal.roles and field_access(r, "case") is not H]
    if any(role_rows(principal, r).unrestricted for r in readers):
        return None
    terms = sorted({t for r in readers for t in role_rows(principal, r).region_terms})
    conditions: list[ColumnElement[bool]] = [m.case.c.owner == principal.subject]
    if terms:
        conditions.append(m.case.c.region.in_(terms))
    if teams:
        conditions.append(m.case.c.team.in_(sorted(teams)))
    return or_(*conditions)


def _conditions(
    where: CaseFilter, info: Info, reader: CaseReader, customer_ids: list[int] | None
) -> list[ColumnElement[bool]]:
    c = m.case.c
    out: list[ColumnElement[bool]] = []
    if where.mine:
        out.append(c.owner == info.context.principal.subject)
    if where.my_teams:
        out.append(c.team.in_(sorted(reader.teams)))
    if where.team is not None:
        out.append(c.team == check_text(where.team, "filter.team", maximum=64))
    if where.category is not None:
        out.append(c.category == check_text(where.category, "filter.category", maximum=32))
    if where.breaching_within_hours is not None:
        hours = where.breaching_within_hours
        if not 0 <= hours <= 24 * 366:
            raise BadUserInput("filter.breachingWithinHours", f"must be 0-8784, got {hours}")
        out.append(c.resolution_due <= utcnow() + timedelta(hours=hours))
        out.append(c.paused_since.is_(None))
    if customer_ids is not None:
        out.append(c.customer_id.in_(customer_ids))
    return out


def _fetch(
    engine: Engine,
    states: list[str],
    conditions: list[ColumnElement[bool]],
    offset: int,
    first: int,
) -> list[RowMapping]:
    """The page after ``offset``, earliest due first: one query per state, each
    walking the (state, resolution_due) index in order and stopping at the page's
    end (one query over every state would fetch and sort all the region's
    cases), merged here."""
    c = m.case.c
    wanted = offset + first + 1
    rows: list[RowMapping] = []
    with engine.connect() as conn:
        for state in states:
            query = (
                select(m.case)
                .where(c.state == state, *conditions)
                .order_by(c.resolution_due, c.id)
                .limit(wanted)
            )
            rows += [r._mapping for r in conn.execute(query)]
    rows.sort(key=lambda r: (r["resolution_due"] is not None, r["resolution_due"], r["id"]))
    return rows[offset:wanted]


def _count(engine: Engine, conditions: list[ColumnElement[bool]]) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(m.case).where(*conditions)).scalar_one()
        )


async def nodes_of(
    info: Info, reader: CaseReader, rows: list[RowMapping], now: datetime
) -> list[CaseNode]:
    """The cases of ``rows`` the caller may see, each under its customer's
    survivor (one batched load of the customers)."""
    customers = await info.context.loaders.customer.load_many([r["customer_id"] for r in rows])
    ids = [c.id for c in customers if c is not None and c.id is not None]
    await asyncio.to_thread(info.context.prime_coverage, ids, reader.purpose)
    out = []
    for row, customer in zip(rows, customers, strict=True):
        if customer is None or customer.id is None:
            continue
        node, _ = reader.node(row, customer.id, customer.kind, now)
        if node is not None:
            out.append(node)
    return out


async def one_case(info: Info, case_id: int, purpose: str | None) -> tuple[CaseNode, CaseReader]:
    """The case ``case_id`` if the caller sees it, else :class:`BadUserInput`
    (a case outside one's rows answers as an unknown id)."""
    if case_id < 1:
        raise BadUserInput("caseId", f"must be a case id, got {case_id}")
    row = await asyncio.to_thread(_load, info.context.engine, case_id)
    reader = await case_reader(info, purpose)
    if row is not None:
        nodes = await nodes_of(info, reader, [row], utcnow())
        if nodes:
            return nodes[0], reader
    raise BadUserInput("caseId", f"no case has id {case_id}")


def _load(engine: Engine, case_id: int) -> RowMapping | None:
    with engine.connect() as conn:
        try:
            return actions.load(conn, case_id)
        except actions.UnknownCase:
            return None


@strawberry.type(description="A count by one dimension of the report.")
class CaseCount:
    key: str
    count: int


@strawberry.type(description="A category with more cases in the later half of the period.")
class RisingCategory:
    category: str
    later: int
    earlier: int


def _counts(counts: dict[str, int]) -> list[CaseCount]:
    return [CaseCount(key=k, count=v) for k, v in counts.items()]


@strawberry.type(
    description="The case analysis of one period (aggregates: policy field case_report)."
)
class CaseReport:
    since: datetime
    until: datetime
    total: int
    by_category: list[CaseCount]
    by_channel: list[CaseCount]
    by_region: list[CaseCount]
    by_month: list[CaseCount]
    sla_attainment: float | None = strawberry.field(
        description="Share of the period's resolved cases resolved within target."
    )
    first_response_attainment: float | None
    median_first_response_hours: float | None = strawberry.field(description="Working hours.")
    median_resolution_hours: float | None = strawberry.field(description="Working hours.")
    csat_mean: float | None
    csat_answers: int
    repeat_complainants: int = strawberry.field(
        description="Customers (merged ids folded) with two or more complaints."
    )
    rising_categories: list[RisingCategory]


def _report(engine: Engine, since: datetime, until: datetime) -> CaseReport:
    with engine.connect() as conn:
        r = build_report(conn, since, until)
    return CaseReport(
        since=r.since,
        until=r.until,
        total=r.total,
        by_category=_counts(r.by_category),
        by_channel=_counts(r.by_channel),
        by_region=_counts(r.by_region),
        by_month=_counts(r.by_month),
        sla_attainment=r.sla_attainment,
        first_response_attainment=r.first_response_attainment,
        median_first_response_hours=r.median_first_response_h,
        median_resolution_hours=r.median_resolution_h,
        csat_mean=r.csat_mean,
        csat_answers=r.csat_answers,
        repeat_complainants=r.repeat_complainants,
        rising_categories=[
            RisingCategory(category=c, later=a, earlier=b) for c, a, b in r.rising_categories
        ],
    )


@strawberry.type
class CasesQuery:
    @strawberry.field(
        description="Cases you may see, the earliest due first: open ones unless "
        "`filter.states` says otherwise; `first` (1-100) per page after `after`."
    )
    async def cases(
        self,
        info: Info,
        filter: CaseFilter | None = None,
        first: int = 20,
        after: str | None = None,
        purpose: str | None = None,
    ) -> CasePage:
        check_page_size(first, "first", maximum=MAX_PAGE)
        declared = check_purpose(purpose, info)
        offset = cursor_number(after, CURSOR, "cases", max_digits=9) if after is not None else 0
        where = filter or CaseFilter()
        reader = await case_reader(info, declared)
        scope = _scope(info, reader.teams, declared)
        customer_ids: list[int] | None = None
        if where.customer_id is not None:
            customer = await customer_by_id(
                info, parse_customer_id(where.customer_id, "filter.customerId"), declared
            )
            if customer is None:
                raise BadUserInput("filter.customerId", f"no customer has id {where.customer_id!r}")
            merged = await info.context.loaders.merged_ids.load(customer.customer_id)
            customer_ids = [customer.customer_id, *merged]
        conditions = _conditions(where, info, reader, customer_ids)
        states = [s.value for s in where.states] if where.states else sorted(OPEN_STATES)
        if where.breaching_within_hours is not None:
            states = [s for s in states if s in OPEN_STATES]
        if scope is not None:
            conditions.append(scope)
        engine = info.context.engine
        rows = await asyncio.to_thread(_fetch, engine, states, conditions, offset, first)
        more = len(rows) > first
        rows = rows[:first]
        nodes = await nodes_of(info, reader, rows, utcnow())
        return CasePage(
            nodes=nodes,
            end_cursor=number_cursor(CURSOR, offset + len(rows)) if rows else None,
            has_next_page=more,
            count_query=lambda: _count(engine, [m.case.c.state.in_(states), *conditions]),
        )

    @strawberry.field(
        description="One case with its history, surveys and SLA clock; null if there is "
        "none you may see."
    )
    async def case(self, info: Info, case_id: int, purpose: str | None = None) -> CaseNode | None:
        declared = check_purpose(purpose, info)
        permit(info.context, "case", Subject(None, purpose=declared))
        try:
            node, _ = await one_case(info, case_id, declared)
        except BadUserInput:
            return None
        return node

    @strawberry.field(
        description="The case analysis of the last `days` (1-3660) days until `until` "
        "(default now): volume by category, channel, region and month, SLA attainment, "
        "median working hours to first response and resolution, CSAT, repeat "
        "complainants, rising categories."
    )
    async def cases_report(
        self, info: Info, days: int = 90, until: datetime | None = None
    ) -> CaseReport:
        if not 1 <= days <= 3660:
            raise BadUserInput("days", f"must be between 1 and 3660, got {days}")
        end = until or utcnow()
        if end.tzinfo is None:
            raise BadUserInput("until", "must carry a time zone (e.g. 2025-01-31T00:00:00+08:00)")
        permit(info.context, "case_report", Subject(None, purpose=info.context.purpose))
        return await asyncio.to_thread(
            _report, info.context.engine, end - timedelta(days=days), end
        )


__all__ = ["INPUT_ARGUMENTS", "CaseFilter", "CasePage", "CaseReport", "CasesQuery", "one_case"]
