"""THE policy table: per role, which fields it reads in clear, masked or not at
all, which rows it sees, which mutations it runs, and where it must declare a
purpose. Everything that serves customer data asks here (the GraphQL schema,
and search through :func:`may_search` / :func:`row_scope`); nothing else checks
roles.

Reading the table::

    C  clear                       M  masked (refused when the field has no mask)
    P  clear, purpose required     H  hidden: refused (null + FORBIDDEN)

A field is a canonical attribute name (``phone``, ``id_number``…) or one of the
non-attribute fields below (``external_id``, ``event_text``, ``note``, ``tags``).
An organization's ``name`` is public registration data (``organization_name``);
attributes listed in :data:`PUBLIC_ATTRIBUTES` are clear to every role; any
other attribute (a source's pass-through column) follows the ``other`` row.

A principal with several roles sees the rows any of its roles sees, and a
field of a customer is served as the best of the roles *that see that
customer* (:func:`roles_seeing`): an agent of 北京 who is also in marketing sees
a 上海 customer through marketing alone, so that customer's phone is masked.
Decisions that are not about one customer (what may be searched) count only
the roles that see every row the principal sees (:func:`covering_roles`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from c360.auth.policy_table import (
    FIELD_MASKS,
    FIELDS,
    ORGANIZATION_PUBLIC,
    PERSONAL_FIELDS,
    PUBLIC_ATTRIBUTES,
    ROLE_POLICIES,
    SUPERVISED_MUTATIONS,
    Access,
    Rows,
)
from c360.auth.principal import READ_SCOPE, ROLES, WRITE_SCOPE, Principal
from c360.platform.normalize.china import region_forms
from c360.platform.regions import region_term


class Outcome(Enum):
    """How one value is served."""

    CLEAR = "clear"
    MASKED = "masked"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's answer for one field: serve it clear, masked, or refuse it
    (``reason`` says why, naming the field and never a value)."""

    outcome: Outcome
    field: str
    reason: str = ""
    needs_purpose: bool = False
    """Refused only because no purpose was declared (declaring one would do)."""

    @property
    def personal(self) -> bool:
        return self.field in PERSONAL_FIELDS


def policy_field(attribute: str, subject_kind: str = "person") -> str:
    """The row of the table that governs ``attribute`` of a subject of
    ``subject_kind`` (``person`` / ``organization``)."""
    if subject_kind == "organization" and attribute in ORGANIZATION_PUBLIC:
        return "organization_name"
    if attribute in FIELDS:
        return attribute
    if attribute in PUBLIC_ATTRIBUTES:
        return "public"
    return "other"


def field_access(role: str, field: str) -> Access:
    """The cell of the table for ``role`` and ``field`` (a row name)."""
    row = FIELDS.get(field, FIELDS["other"])
    return row[ROLES.index(role)]


def _roles(principal: Principal) -> list[str]:
    return [role for role in ROLES if role in principal.roles]


_RANK = {Outcome.CLEAR: 2, Outcome.MASKED: 1, Outcome.REFUSED: 0}


def decide(
    principal: Principal,
    attribute: str,
    *,
    subject_kind: str = "person",
    purpose: str | None = None,
    roles: frozenset[str] | None = None,
) -> Decision:
    """How ``attribute`` of a subject of ``subject_kind`` is served to
    ``principal`` under ``purpose`` (``None``: none declared), counting only
    ``roles`` among its roles: those that see the customer (:func:`roles_seeing`);
    by default those that see every row it sees (:func:`covering_roles`)."""
    field = policy_field(attribute, subject_kind)
    if not principal.has_scope(READ_SCOPE):
        return Decision(
            Outcome.REFUSED, field, f'the token\'s scopes do not include "{READ_SCOPE}"'
        )
    counted = covering_roles(principal) if roles is None else roles & principal.roles
    best: Decision | None = None
    for role in ROLES:
        if role not in counted:
            continue
        decision = _decide_for_role(role, field, attribute, purpose)
        if best is None or _RANK[decision.outcome] > _RANK[best.outcome]:
            best = decision
    if best is None:
        reason = (
            "the token carries no c360 role"
            if not _roles(principal)
            else "none of the token's roles sees this customer"
        )
        return Decision(Outcome.REFUSED, field, reason)
    return best


def _decide_for_role(role: str, field: str, attribute: str, purpose: str | None) -> Decision:
    access = field_access(role, field)
    label = attribute if field in ("public", "other", "organization_name") else field
    if access is Access.CLEAR:
        return Decision(Outcome.CLEAR, field)
    if access is Access.CLEAR_WITH_PURPOSE:
        if purpose:
            return Decision(Outcome.CLEAR, field)
        return Decision(
            Outcome.REFUSED,
            field,
            f'role {role} reads "{label}" only for a declared purpose: pass the "purpose" '
            "argument or the X-Purpose header",
            needs_purpose=True,
        )
    if access is Access.MASKED and attribute in FIELD_MASKS:
        return Decision(Outcome.MASKED, field)
    return Decision(Outcome.REFUSED, field, f'role {role} may not read "{label}"')


def uncovered(decision: Decision, attribute: str, purpose: str) -> Decision:
    """``decision`` for a customer whose consent or legal bases do not cover
    ``purpose`` (PIPL art. 13): a clear personal value is masked where a mask
    exists, else refused, and the reason says which purpose is not covered."""
    if decision.outcome is not Outcome.CLEAR or not decision.personal:
        return decision
    reason = (
        f'no consent or legal basis of this customer covers purpose "{purpose}" '
        f'for "{decision.field}"'
    )
    if attribute in FIELD_MASKS:
        return Decision(Outcome.MASKED, decision.field, reason)
    return Decision(Outcome.REFUSED, decision.field, reason)


def may_search(
    principal: Principal,
    attribute: str,
    *,
    subject_kind: str = "person",
    purpose: str | None = None,
) -> bool:
    """Whether ``principal`` may search or filter by ``attribute``: only by what
    it reads in clear, so a search never tells a reader what a mask hides."""
    decision = decide(principal, attribute, subject_kind=subject_kind, purpose=purpose)
    return decision.outcome is Outcome.CLEAR


def search_refusal(
    principal: Principal,
    attributes: Iterable[str],
    *,
    subject_kind: str = "person",
    purpose: str | None = None,
) -> Decision | None:
    """The first refusal among searching by ``attributes``, or ``None``."""
    for attribute in attributes:
        decision = decide(principal, attribute, subject_kind=subject_kind, purpose=purpose)
        if decision.outcome is not Outcome.CLEAR:
            reason = decision.reason or f'"{attribute}" is served to you masked'
            return Decision(Outcome.REFUSED, decision.field, f"cannot search by it: {reason}")
    return None


NO_REGION = "\uffff"
"""A region term no customer has: the filter of a scope that admits nothing
(a noncharacter, which ``fold_text`` removes from every stored value; and
unlike NUL, PostgreSQL text can hold it)."""


@functools.lru_cache(maxsize=1024)
def _region_terms(regions: frozenset[str]) -> tuple[str, ...]:
    """:attr:`RowScope.region_terms` of ``regions``, worked out once per set of
    regions: it is asked for every customer row a request checks."""
    if not regions:
        return (NO_REGION,)
    canonical = (region_term(region) for region in sorted(regions))
    return tuple(dict.fromkeys(form for term in canonical for form in region_forms(term)))


@dataclass(frozen=True, slots=True)
class RowScope:
    """Which customers are seen: all (``regions is None``), or those whose
    golden ``province`` or ``city`` is one of ``regions`` (none when empty)."""

    regions: frozenset[str] | None = None

    @property
    def unrestricted(self) -> bool:
        return self.regions is None

    @property
    def sees_nothing(self) -> bool:
        return self.regions is not None and not self.regions

    def admits(self, province: str | None, city: str | None) -> bool:
        """Whether a customer with this ``province`` and ``city`` is visible."""
        if self.regions is None:
            return True
        terms = self.region_terms
        return province in terms or city in terms

    def covers(self, other: RowScope) -> bool:
        """Whether every row ``other`` admits, this admits too."""
        if self.regions is None:
            return True
        if other.regions is None:
            return False
        return {region_term(r) for r in other.regions} <= {region_term(r) for r in self.regions}

    @property
    def region_terms(self) -> tuple[str, ...]:
        """The values a database or index filter matches province and city
        against: each region canonical as normalization stores it (a claim
        ``北京`` is ``北京市``) and its short forms, which records landed before
        places were stored canonically still hold; ``()`` when unrestricted (no
        filter), :data:`NO_REGION` when the scope admits nothing."""
        if self.regions is None:
            return ()
        return _region_terms(self.regions)

    def describe(self) -> str:
        """The scope for messages: ``北京, 上海`` or ``no region``."""
        if self.regions is None:
            return "every region"
        return ", ".join(sorted(self.regions)) or "no region"


def role_rows(principal: Principal, role: str) -> RowScope:
    """The rows ``role`` sees for ``principal``: all, or its regions (none
    when a region-limited role comes without a region)."""
    if ROLE_POLICIES[role].rows is Rows.ALL:
        return RowScope()
    return RowScope(frozenset(principal.regions))


def row_scope(principal: Principal) -> RowScope:
    """The rows ``principal`` sees: those any of its roles sees."""
    scopes = [role_rows(principal, role) for role in _roles(principal)]
    if not scopes:
        return RowScope(frozenset())
    if any(scope.unrestricted for scope in scopes):
        return RowScope()
    return RowScope(frozenset().union(*(scope.regions or () for scope in scopes)))


def roles_seeing(principal: Principal, province: str | None, city: str | None) -> frozenset[str]:
    """The roles of ``principal`` that see a customer of this ``province`` and
    ``city`` (empty: the customer is not visible)."""
    return frozenset(
        role for role in _roles(principal) if role_rows(principal, role).admits(province, city)
    )


def covering_roles(principal: Principal) -> frozenset[str]:
    """The roles of ``principal`` that see every row it sees: the ones that
    decide what it may search by, so a search never reaches a row through a
    role that could not read the field searched."""
    whole = row_scope(principal)
    return frozenset(role for role in _roles(principal) if role_rows(principal, role).covers(whole))


def may_run(principal: Principal, mutation: str) -> str | None:
    """``None`` if ``principal`` may run ``mutation``, else the reason it may not."""
    roles = _roles(principal)
    if not roles:
        return "the token carries no c360 role"
    if not principal.has_scope(WRITE_SCOPE):
        return f'the token\'s scopes do not include "{WRITE_SCOPE}"'
    if not any(mutation in ROLE_POLICIES[role].mutations for role in roles):
        return f"role {', '.join(roles)} may not {mutation}"
    return None


def may_run_on_case(principal: Principal, mutation: str, *, supervises: bool) -> str | None:
    """:func:`may_run` for a mutation of one case: one of
    :data:`SUPERVISED_MUTATIONS` also needs the caller to supervise the case's
    team (``supervises``) unless a role that sees every row allows it."""
    reason = may_run(principal, mutation)
    if reason is not None or mutation not in SUPERVISED_MUTATIONS or supervises:
        return reason
    for role in _roles(principal):
        policy = ROLE_POLICIES[role]
        if mutation in policy.mutations and policy.rows is Rows.ALL:
            return None
    return f"only the supervisor of the case's team may {mutation.replace('_case', '')} it"


def case_roles(
    principal: Principal, region: str | None, owner: str | None, *, supervises: bool
) -> frozenset[str]:
    """The roles of ``principal`` that see a case of ``region`` owned by
    ``owner``: a role seeing every row sees every case; a region-limited one the
    cases of its regions, those assigned to the caller and those of a team the
    caller supervises."""
    own = supervises or (owner is not None and owner == principal.subject)
    return frozenset(
        role for role in _roles(principal) if own or role_rows(principal, role).admits(region, None)
    )


def policy_matrix() -> dict[str, dict[str, str]]:
    """The table as plain data, ``{field: {role: access}}`` (docs, tests, tools)."""
    return {
        field: {role: cells[i].value for i, role in enumerate(ROLES)}
        for field, cells in FIELDS.items()
    }


__all__ = [
    "NO_REGION",
    "Decision",
    "Outcome",
    "RowScope",
    "case_roles",
    "covering_roles",
    "decide",
    "field_access",
    "may_run",
    "may_run_on_case",
    "may_search",
    "policy_field",
    "policy_matrix",
    "role_rows",
    "roles_seeing",
    "row_scope",
    "search_refusal",
    "uncovered",
]
