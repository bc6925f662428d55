"""Who a case may be given to (``Case.assignees``): the staff who would see
the case and may work it, so that a supervisor reassigning it picks a person
rather than typing a name.

Candidates are the staff principals c360 knows: password accounts
(``staff:<name>``, unlocked), principals that signed in through single
sign-on within :data:`SEEN_WITHIN` (their roles and regions as their last
session carried them), the supervisor of the case's team and the owners of the
team's other open cases. One is offered when a role of theirs may move cases
and sees this case's region (:func:`c360.auth.policy.case_roles`). The list is
a help, not a gate: ``assignCase`` takes any principal, since a person from the
identity provider may not have signed in yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, select

from c360.auth.policy import case_roles
from c360.auth.policy_table import ROLE_POLICIES
from c360.auth.principal import Principal
from c360.platform.cases import models as m
from c360.platform.cases.workflow import OPEN_STATES
from c360.platform.models import utcnow
from c360.platform.staff_tables import staff_account, staff_session

SEEN_WITHIN = timedelta(days=90)
"""How recently a single-sign-on principal must have signed in to be offered."""

LIMIT = 100


def _works_cases(roles: Iterable[str]) -> frozenset[str]:
    return frozenset(
        r for r in roles if r in ROLE_POLICIES and "move_case" in ROLE_POLICIES[r].mutations
    )


def case_assignees(conn: Connection, case: Mapping[Any, Any]) -> list[str]:
    """The principals ``case`` may be given to, by name (at most :data:`LIMIT`)."""
    known: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    for name, role, regions in conn.execute(
        select(staff_account.c.name, staff_account.c.role, staff_account.c.regions).where(
            staff_account.c.locked.is_(False)
        )
    ):
        known[f"staff:{name}"] = (frozenset([role]), frozenset(regions or ()))
    since = utcnow() - SEEN_WITHIN
    for subject, roles, regions in conn.execute(
        select(staff_session.c.subject, staff_session.c.roles, staff_session.c.regions)
        .where(staff_session.c.created_at >= since, staff_session.c.account_id.is_(None))
        .order_by(staff_session.c.created_at)  # the newest session's roles win
    ):
        known[str(subject)] = (frozenset(roles or ()), frozenset(regions or ()))
    offered = {
        subject
        for subject, (roles, regions) in known.items()
        if case_roles(
            Principal(subject=subject, roles=_works_cases(roles), regions=regions),
            case["region"],
            None,
            supervises=False,
        )
    }
    if case["team"]:
        offered.update(
            conn.execute(select(m.case_team.c.supervisor).where(m.case_team.c.name == case["team"]))
            .scalars()
            .all()
        )
        offered.update(
            owner
            for owner in conn.execute(
                select(m.case.c.owner)
                .where(m.case.c.team == case["team"], m.case.c.state.in_(sorted(OPEN_STATES)))
                .distinct()
            ).scalars()
            if owner
        )
    offered.discard(case["owner"])
    return sorted(offered)[:LIMIT]
