"""The first steps of every search, whichever backend runs it: check the page
request and the policy, plan the query, and answer at once when the plan can
match nothing."""

from __future__ import annotations

import time
from collections.abc import Sequence

from c360.search.contract import SearchFilters, SearchPage, check_page_request
from c360.search.plan import QueryPlan
from c360.search.policy import DEFAULT_POLICY, SearchPolicy, check_filters
from c360.search.query import plan_query


def plan_search(
    query: str,
    filters: SearchFilters | None,
    first: int,
    facets: Sequence[str],
    policy: SearchPolicy | None,
) -> tuple[QueryPlan, SearchPolicy]:
    """Validate a search request against the policy and plan its query."""
    policy = policy or DEFAULT_POLICY
    check_page_request(first, facets)
    plan = plan_query(query, policy)
    check_filters(policy, [name for name, _ in (filters.items() if filters else ())])
    check_filters(policy, facets)
    return plan, policy


def empty_page(plan: QueryPlan, facets: Sequence[str], started: float) -> SearchPage:
    """The answer to a query that can match nothing (with the planner's notes)."""
    return SearchPage(
        hits=[],
        total=0,
        next_cursor=None,
        facets={name: [] for name in facets},
        notes=plan.notes,
        took_ms=(time.perf_counter() - started) * 1000,
    )
