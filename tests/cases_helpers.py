"""Shared set-up of the case tests: customers with a region, a team with a
supervisor, and an injected clock (aware datetimes in Asia/Shanghai)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from c360.platform import tables as t
from c360.platform.cases import models as m
from c360.platform.cases.hours import TZ
from c360.platform.cases.intake import open_case, validate


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A moment, Beijing time."""
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


def add_customer(conn: Connection, province: str = "北京市", name: str = "张伟") -> int:
    key = conn.execute(
        insert(t.customer).values(kind="person", display_name=name)
    ).inserted_primary_key
    assert key is not None
    cid = int(key[0])
    conn.execute(
        insert(t.golden_profile).values(
            customer_id=cid,
            attributes={"province": {"value": province, "verified": False, "lineage": []}},
            conflicting=False,
        )
    )
    return cid


def add_team(conn: Connection, name: str = "beijing-care", supervisor: str = "sup-li") -> str:
    conn.execute(insert(m.case_team).values(name=name, supervisor=supervisor, region="北京市"))
    return name


def new_case(conn: Connection, customer_id: int, when: datetime, **fields: Any) -> int:
    data: dict[str, Any] = {
        "customer_id": customer_id,
        "kind": "complaint",
        "channel": "phone",
        "category": "delivery",
        "severity": "medium",
        "description": "包裹三天未到，客户来电催促",
    }
    data.update(fields)
    return open_case(conn, validate(data), actor="agent-wang", now=when)
