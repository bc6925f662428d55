"""The credit lookup ledger: one :class:`~c360.platform.connector_tables.CreditLookup`
row per attempt (charged, cached, refused or failed), dated by the China day the
daily budget is counted on."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert

from c360.platform.connector_tables import CreditLookup
from c360.platform.tables import table_of

CHINA = ZoneInfo("Asia/Shanghai")
LEDGER = table_of(CreditLookup)


def china_day(now: datetime) -> str:
    """The ledger's day for ``now``: the date in China, where the budget is set."""
    return now.astimezone(CHINA).strftime("%Y-%m-%d")


def ledger_row(conn: Connection, **values: Any) -> int:
    """Insert one ledger row; its id (a reservation is settled through it)."""
    return int(conn.execute(insert(LEDGER).values(**values).returning(LEDGER.c.id)).scalar_one())
