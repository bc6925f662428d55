"""Demo staff accounts: one per role, so the web workspace can be tried as
each of them. The agent serves the province with the most customers."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Engine, select

from c360.auth.principal import ROLES
from c360.auth.staff import AccountError, create_account
from c360.platform import tables as t


def busiest_province(engine: Engine) -> str:
    """The golden province most customers have (上海市 when none has one)."""
    counts: Counter[str] = Counter()
    with engine.connect() as conn:
        for (attributes,) in conn.execute(select(t.golden_profile.c.attributes)):
            value = ((attributes or {}).get("province") or {}).get("value")
            if value:
                counts[str(value)] += 1
    return counts.most_common(1)[0][0] if counts else "上海市"


def create_demo_accounts(engine: Engine) -> list[tuple[str, str, str, str | None]]:
    """``(name, role, region, password)`` for each role's demo account; the
    password is None for an account made by an earlier run (it was shown then)."""
    region = busiest_province(engine)
    made: list[tuple[str, str, str, str | None]] = []
    for role in ROLES:
        name = f"demo-{role}"
        regions = [region] if role == "agent" else []
        try:
            _, password = create_account(engine, name, role, regions)
        except AccountError:
            made.append((name, role, ", ".join(regions), None))
            continue
        made.append((name, role, ", ".join(regions), password))
    return made
