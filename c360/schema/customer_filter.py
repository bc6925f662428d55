"""The ``filter`` of ``customers(...)``: what it may say (phone, e-mail, id
number and USCC as identity keys, tag, region, tier, risk, stage, authenticity,
case status…), each value checked with the field at fault named, and what it
becomes: a database selection within the caller's rows
(:func:`selection_for`) or a search request (:func:`search_request`).
"""

from __future__ import annotations

from typing import Literal

import strawberry

from c360.auth.policy import search_refusal
from c360.platform.identity_rules import identity_key
from c360.platform.normalize import (
    NormalizationError,
    fold_text,
    normalize_email,
    normalize_phone,
    normalize_resident_id,
    normalize_uscc,
)
from c360.platform.normalize.china import canonical_region_name
from c360.schema.context import Subject
from c360.schema.customer_pages import CustomerSelection
from c360.schema.errors import (
    BadUserInput,
    Forbidden,
    check_text,
)
from c360.schema.searching import (
    CallerSearchPolicy,
    CustomerSort,
    SearchRequest,
)
from c360.schema.types import (
    CustomerKind,
    Info,
)
from c360.schema.verification_types import band_filter, score_filter
from c360.search.contract import SearchFilters, SortOrder


@strawberry.input(
    description="Conditions a customer must all meet. Filtering by a field your role "
    "does not read in clear is refused (FORBIDDEN), so a filter never reveals what a "
    "mask hides."
)
class CustomerFilter:
    kind: CustomerKind | None = None
    phone: str | None = strawberry.field(default=None, description="A person's phone, any format")
    email: str | None = None
    id_number: str | None = strawberry.field(default=None, description="Resident id number")
    uscc: str | None = strawberry.field(default=None, description="Unified social credit code")
    tag: str | None = None
    province: str | None = None
    city: str | None = None
    conflicting: bool | None = strawberry.field(
        default=None, description="Customers whose sources disagree on some attribute"
    )
    tier: str | None = strawberry.field(default=None, description="Value tier (search index)")
    risk_level: str | None = strawberry.field(default=None, description="Risk level (search index)")
    lifecycle_stage: str | None = strawberry.field(
        default=None, description="Lifecycle stage (search index)"
    )
    source: str | None = strawberry.field(
        default=None, description="Has a record from this source (search index)"
    )
    authenticity_band: str | None = strawberry.field(
        default=None, description="Authenticity band pass | review | fail (search index)"
    )
    authenticity_score_min: int | None = strawberry.field(
        default=None, description="Authenticity score at least (0-100, search index)"
    )
    authenticity_score_max: int | None = strawberry.field(
        default=None, description="Authenticity score at most (0-100, search index)"
    )
    case_status: str | None = strawberry.field(
        default=None,
        description="open_case, open_complaint, sla_warning or sla_breached: customers with "
        "open cases, open complaints, or open cases in that SLA state (search index)",
    )

    def identity_arguments(self) -> list[str]:
        """The arguments only the database path answers (exact identifiers, conflicts)."""
        named = [
            ("phone", self.phone),
            ("email", self.email),
            ("idNumber", self.id_number),
            ("uscc", self.uscc),
            ("conflicting", self.conflicting),
        ]
        return [f"filter.{name}" for name, value in named if value is not None]

    def index_arguments(self) -> list[str]:
        """The arguments only the search index answers."""
        named = [
            ("tier", self.tier),
            ("riskLevel", self.risk_level),
            ("lifecycleStage", self.lifecycle_stage),
            ("source", self.source),
            ("authenticityBand", self.authenticity_band),
            ("authenticityScoreMin", self.authenticity_score_min),
            ("authenticityScoreMax", self.authenticity_score_max),
            ("caseStatus", self.case_status),
        ]
        return [f"filter.{name}" for name, value in named if value is not None]


def _identity(attribute: str, value: str) -> tuple[str, ...]:
    """The identity keys that hold ``value`` of ``attribute``, normalized as
    ingest normalizes it; :class:`BadUserInput` naming ``filter.<field>`` if it
    cannot be."""
    argument = f"filter.{FILTER_ARGUMENTS[attribute]}"
    try:
        if attribute == "phone":
            return (identity_key("person", "phoneany", normalize_phone(value)),)
        if attribute == "email":
            email = normalize_email(value)
            return (
                identity_key("person", "email", email),
                identity_key("organization", "email", email),
            )
        if attribute == "id_number":
            return (identity_key("person", "ric", normalize_resident_id(value).number),)
        return (identity_key("organization", "uscc", normalize_uscc(value)),)
    except NormalizationError as exc:
        raise BadUserInput(argument, exc.reason) from None


FILTER_ARGUMENTS = {
    "phone": "phone",
    "email": "email",
    "id_number": "idNumber",
    "uscc": "uscc",
}


def selection_for(
    info: Info, where: CustomerFilter | None, purpose: str | None
) -> CustomerSelection:
    """The selection a filter stands for, within the caller's rows; filtering by
    a field the caller does not read in clear is refused."""
    regions = info.context.row_scope.region_terms
    if where is None:
        return CustomerSelection(regions=regions)
    searched = [
        (attribute, value)
        for attribute, value in (
            ("phone", where.phone),
            ("email", where.email),
            ("id_number", where.id_number),
            ("uscc", where.uscc),
        )
        if value is not None
    ]
    for attribute, _ in searched:
        kind = "organization" if attribute == "uscc" else "person"
        refusal = search_refusal(
            info.context.principal, [attribute], subject_kind=kind, purpose=purpose
        )
        if refusal is not None:
            argument = f"filter.{FILTER_ARGUMENTS[attribute]}"
            info.context.access.refused(Subject(None, purpose=purpose), argument, refusal.reason)
            raise Forbidden(argument, refusal.reason)
        info.context.access.searched(purpose, f"filter.{FILTER_ARGUMENTS[attribute]}")
    keys = tuple(_identity(attribute, value) for attribute, value in searched)
    tag = check_text(where.tag, "filter.tag", maximum=64) if where.tag is not None else None
    return CustomerSelection(
        kind=where.kind.value if where.kind is not None else None,
        identity_keys=keys,
        tag=tag,
        province=_region(where.province, "province"),
        city=_region(where.city, "city"),
        regions=regions,
        conflicting=where.conflicting,
    )


def _region(value: str | None, level: Literal["province", "city"]) -> str | None:
    """A province or city filter in the spelling normalization stores (``上海`` is
    ``上海市``), so that it compares values, not spellings."""
    return None if value is None else canonical_region_name(fold_text(value), level)


def _regions(
    value: str | None, argument: str, level: Literal["province", "city"]
) -> tuple[str, ...]:
    """:func:`_region` of a filter given as one value (or none)."""
    return tuple(canonical_region_name(fold_text(v), level) for v in _one(value, argument))


def _one(value: str | None, argument: str) -> tuple[str, ...]:
    if value is None:
        return ()
    return (check_text(value, argument, maximum=128),)


def search_request(
    info: Info,
    text: str,
    where: CustomerFilter | None,
    kind: CustomerKind | None,
    sort: CustomerSort | None,
    purpose: str | None,
) -> SearchRequest:
    """The search a ``customers`` call asks of the index: its text, its filters,
    and the caller's rows as the ``regions`` scope."""
    if where is not None and where.identity_arguments():
        raise BadUserInput(
            where.identity_arguments()[0],
            "cannot be combined with search, sort or index filters: put the value in "
            "the search text instead",
        )
    kinds = {k.value for k in (kind, where.kind if where else None) if k is not None}
    if len(kinds) > 1:
        raise BadUserInput("kind", "contradicts filter.kind")
    filters = SearchFilters(
        kind=tuple(kinds),
        tags=_one(where.tag if where else None, "filter.tag"),
        tier=_one(where.tier if where else None, "filter.tier"),
        risk_level=_one(where.risk_level if where else None, "filter.riskLevel"),
        lifecycle_stage=_one(where.lifecycle_stage if where else None, "filter.lifecycleStage"),
        province=_regions(where.province if where else None, "filter.province", "province"),
        city=_regions(where.city if where else None, "filter.city", "city"),
        source=_one(where.source if where else None, "filter.source"),
        authenticity_band=band_filter(where.authenticity_band if where else None),
        authenticity_score=score_filter(
            where.authenticity_score_min if where else None,
            where.authenticity_score_max if where else None,
        ),
        case_status=_one(where.case_status if where else None, "filter.caseStatus"),
        regions=info.context.row_scope.region_terms,
    )
    if sort is None:
        order = SortOrder.RELEVANCE if text else SortOrder.CUSTOMER_ID
    else:
        order = SortOrder(sort.value)
    return SearchRequest(
        text=text,
        filters=filters,
        sort=order,
        policy=CallerSearchPolicy(info.context.principal, purpose),
    )


__all__ = ["FILTER_ARGUMENTS", "CustomerFilter", "search_request", "selection_for"]
