"""Which active customers a page of ``customers(...)`` lists
(:class:`CustomerSelection`: kind, identity keys, tag, region, row scope), the
keyset-paged queries that read them, their count, and the customers a list of
ids means now (merged ids followed), each run in a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import configure_mappers

from c360.platform import models
from c360.platform.customer_tags import TAG
from c360.platform.customers.ids import survivor_of
from c360.schema.loaded_rows import CUSTOMER, GOLDEN, IDENTITY_KEY


@dataclass(frozen=True, slots=True)
class CustomerSelection:
    """Which active customers a page lists: every condition must hold.

    ``identity_keys`` are groups of identity keys (``p:phoneany:+86…``); a
    customer matches a group when it owns any key of it. ``regions`` are the
    spellings of a region the customer's golden ``province`` or ``city`` must
    have (the caller's row scope), ``province`` / ``city`` exact values."""

    kind: str | None = None
    identity_keys: tuple[tuple[str, ...], ...] = ()
    tag: str | None = None
    province: str | None = None
    city: str | None = None
    regions: tuple[str, ...] = ()
    conflicting: bool | None = None


def _golden_value(name: str) -> ColumnElement[str]:
    return GOLDEN.c.attributes[(name, "value")].as_string()


def _owns_tag(tag: str) -> ColumnElement[bool]:
    """The customer (or a customer merged into it) carries ``tag``."""
    absorbed = CUSTOMER.alias("tagged")
    return or_(
        exists().where(TAG.c.customer_id == CUSTOMER.c.id, TAG.c.tag == tag),
        exists().where(
            absorbed.c.merged_into == CUSTOMER.c.id,
            TAG.c.customer_id == absorbed.c.id,
            TAG.c.tag == tag,
        ),
    )


def _conditions(selection: CustomerSelection) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [CUSTOMER.c.merged_into.is_(None)]
    if selection.kind is not None:
        conditions.append(CUSTOMER.c.kind == selection.kind)
    for keys in selection.identity_keys:
        conditions.append(
            exists().where(
                IDENTITY_KEY.c.customer_id == CUSTOMER.c.id, IDENTITY_KEY.c.key.in_(keys)
            )
        )
    if selection.tag is not None:
        conditions.append(_owns_tag(selection.tag))
    golden: list[ColumnElement[bool]] = []
    if selection.province is not None:
        golden.append(_golden_value("province") == selection.province)
    if selection.city is not None:
        golden.append(_golden_value("city") == selection.city)
    if selection.regions:
        golden.append(
            or_(
                _golden_value("province").in_(selection.regions),
                _golden_value("city").in_(selection.regions),
            )
        )
    if selection.conflicting is not None:
        golden.append(GOLDEN.c.conflicting.is_(selection.conflicting))
    if golden:
        conditions.append(exists().where(GOLDEN.c.customer_id == CUSTOMER.c.id, *golden))
    return conditions


# The statements below are built once: building a statement costs more Python
# than running it on SQLite, and a statement built once is compiled once (its
# lists are expanding parameters).

_mappers_ready = False


def _configure_mappers() -> None:
    """Instrument the model classes (what the ORM does before its first query),
    so rows built with ``model_construct`` read like loaded ones."""
    global _mappers_ready
    configure_mappers()
    _mappers_ready = True


_CUSTOMER_COLUMNS = (
    CUSTOMER.c.id,
    CUSTOMER.c.kind,
    CUSTOMER.c.display_name,
    CUSTOMER.c.merged_into,
    CUSTOMER.c.created_at,
    CUSTOMER.c.updated_at,
)


def _customer(row: Any) -> models.Customer:
    """A customer row as the model, without the ORM's per-row bookkeeping (the
    schema only reads it)."""
    if not _mappers_ready:
        _configure_mappers()
    return models.Customer.model_construct(
        id=row.id,
        kind=row.kind,
        display_name=row.display_name,
        merged_into=row.merged_into,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _unselective(selection: CustomerSelection) -> bool:
    return selection == CustomerSelection()


_FIRST_PAGE = (
    select(*_CUSTOMER_COLUMNS)
    .where(CUSTOMER.c.merged_into.is_(None))
    .order_by(CUSTOMER.c.id)
    .limit(bindparam("limit"))
)
_NEXT_PAGE = (
    select(*_CUSTOMER_COLUMNS)
    .where(CUSTOMER.c.merged_into.is_(None), CUSTOMER.c.id > bindparam("after_id"))
    .order_by(CUSTOMER.c.id)
    .limit(bindparam("limit"))
)


def fetch_active_customers(
    engine: Engine, *, after_id: int | None, limit: int, selection: CustomerSelection
) -> list[models.Customer]:
    """Up to ``limit`` active (never merged away) customers of ``selection`` with
    ids above ``after_id``, by id: keyset pagination, so deep pages cost what the
    first does."""
    parameters: dict[str, Any] = {"limit": limit}
    if _unselective(selection):
        statement: Any = _FIRST_PAGE if after_id is None else _NEXT_PAGE
    else:
        statement = select(*_CUSTOMER_COLUMNS).where(and_(*_conditions(selection)))
        if after_id is not None:
            statement = statement.where(CUSTOMER.c.id > bindparam("after_id"))
        statement = statement.order_by(CUSTOMER.c.id).limit(bindparam("limit"))
    if after_id is not None:
        parameters["after_id"] = after_id
    with engine.connect() as conn:
        return [_customer(row) for row in conn.execute(statement, parameters)]


def count_active_customers(engine: Engine, selection: CustomerSelection) -> int:
    """How many active customers ``selection`` holds."""
    statement = select(func.count()).select_from(CUSTOMER).where(and_(*_conditions(selection)))
    with engine.connect() as conn:
        return int(conn.execute(statement).scalar_one())


_CUSTOMERS_BY_ID = select(*_CUSTOMER_COLUMNS).where(
    CUSTOMER.c.id.in_(bindparam("ids", expanding=True))
)


def fetch_survivors(engine: Engine, ids: Sequence[int]) -> list[models.Customer | None]:
    """For each id, the customer it resolves to after following merges
    (:func:`~c360.platform.customers.ids.survivor_of`), or ``None`` when the id
    is unknown or its redirects loop. One query when none of them was merged."""
    with engine.connect() as conn:
        rows = {
            row.id: _customer(row)
            for row in conn.execute(_CUSTOMERS_BY_ID, {"ids": sorted(set(ids))})
        }
        merged = [cid for cid, c in rows.items() if c.merged_into is not None]
        survivors = {cid: cid for cid, c in rows.items() if c.merged_into is None}
        if merged:
            survivors.update(survivor_of(conn, merged))
            missing = sorted(set(survivors.values()) - rows.keys())
            if missing:
                rows.update(
                    (row.id, _customer(row))
                    for row in conn.execute(_CUSTOMERS_BY_ID, {"ids": missing})
                )
    return [rows.get(survivors[i]) if i in survivors else None for i in ids]


__all__ = [
    "CustomerSelection",
    "count_active_customers",
    "fetch_active_customers",
    "fetch_survivors",
]
