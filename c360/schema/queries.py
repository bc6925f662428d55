"""The root ``Query``: a customer by id, any node by global id, and the pages of
active customers."""

from __future__ import annotations

import asyncio
import re

import strawberry
from strawberry import relay

from c360.schema.errors import BadUserInput, check_page_size
from c360.schema.loaders import fetch_active_customers
from c360.schema.types import Customer, CustomerConnection, CustomerKind, Info

CURSOR_PREFIX = "customers"
"""What a ``customers`` cursor says before its last id (base64 of ``customers:42``)."""

MAX_ID = 2**63 - 1
"""Ids beyond a 64-bit integer cannot exist; asking for one is answered with null."""

_DIGITS = re.compile(r"[0-9]+")


def parse_customer_id(value: str, argument: str = "id") -> int:
    """The numeric customer id in ``value``: a ``Customer`` global id, or the
    customer id itself as a decimal string. Anything else is :class:`BadUserInput`."""
    text = str(value).strip()
    if _DIGITS.fullmatch(text):
        return int(text)
    try:
        global_id = relay.GlobalID.from_id(text)
    except relay.GlobalIDValueError:
        raise BadUserInput(
            argument, f"{value!r} is neither a global id nor a numeric customer id"
        ) from None
    if global_id.type_name != "Customer":
        raise BadUserInput(
            argument, f"{value!r} is the id of a {global_id.type_name}, not of a Customer"
        )
    if not _DIGITS.fullmatch(global_id.node_id):
        raise BadUserInput(argument, f"{value!r} does not carry a numeric customer id")
    return int(global_id.node_id)


def parse_global_id(value: str, argument: str = "id") -> relay.GlobalID:
    """``value`` as a Relay global id, or :class:`BadUserInput`."""
    try:
        return relay.GlobalID.from_id(value)
    except relay.GlobalIDValueError:
        raise BadUserInput(argument, f"{value!r} is not a global id") from None


def encode_cursor(customer_id: int) -> str:
    return relay.to_base64(CURSOR_PREFIX, customer_id)


def decode_cursor(cursor: str, argument: str = "after") -> int:
    """The last customer id a ``customers`` cursor stands for, or :class:`BadUserInput`."""
    try:
        prefix, last_id = relay.from_base64(cursor)
    except ValueError:
        prefix, last_id = "", ""
    if prefix != CURSOR_PREFIX or not _DIGITS.fullmatch(last_id) or int(last_id) > MAX_ID:
        raise BadUserInput(argument, f"{cursor!r} is not a cursor of this connection")
    return int(last_id)


async def customer_by_id(info: Info, customer_id: int) -> Customer | None:
    """The customer ``customer_id`` resolves to (following merges), if any."""
    if customer_id > MAX_ID:
        return None
    row = await info.context.loaders.customer.load(customer_id)
    return Customer.from_row(row) if row is not None else None


@strawberry.type
class Query:
    @strawberry.field(
        description="A customer by global id or numeric customer id. The id of a "
        "customer merged into another resolves to the survivor; an unknown id is null."
    )
    async def customer(self, info: Info, id: strawberry.ID) -> Customer | None:
        return await customer_by_id(info, parse_customer_id(id, "id"))

    @strawberry.field(description="Any object by its global id (Relay).")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        global_id = parse_global_id(id, "id")
        if global_id.type_name == "Customer":
            return await customer_by_id(info, parse_customer_id(id, "id"))
        raise BadUserInput(
            "id", f"{id!r} is the id of a {global_id.type_name}, which this API does not serve"
        )

    @strawberry.field(
        description="Active customers (not merged into another) by customer id, "
        "`first` (1-100) at a time after the cursor `after`."
    )
    async def customers(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        kind: CustomerKind | None = None,
    ) -> CustomerConnection:
        check_page_size(first, "first")
        after_id = decode_cursor(after, "after") if after is not None else None
        kind_value = kind.value if kind is not None else None
        rows = await asyncio.to_thread(
            fetch_active_customers,
            info.context.engine,
            after_id=after_id,
            limit=first + 1,
            kind=kind_value,
        )
        page = [Customer.from_row(row) for row in rows[:first]]
        edges = [relay.Edge(cursor=encode_cursor(c.customer_id), node=c) for c in page]
        return CustomerConnection(
            edges=edges,
            page_info=relay.PageInfo(
                has_next_page=len(rows) > first,
                has_previous_page=after_id is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            kind_filter=kind_value,
        )
