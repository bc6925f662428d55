"""The verification package's stored checks as validity rows of the
data-quality report: per golden attribute (``verification.phone``) and per
named check (``verification.phone.virtual_operator``), how many customers'
values passed, warned or failed, as the ``authenticity`` refresher last
computed them (``verification_check``). Their source is ``golden``: they judge
the surviving value of each customer, not one source's record."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from sqlalchemy import Connection, select

from c360.platform.verification.models import verification_check

SOURCE = "golden"

CheckCounts = tuple[str, str, int, int, int]
"""``(source, check, passed, warned, failed)``."""


def verification_validity(conn: Connection) -> Iterator[CheckCounts]:
    """Pass / warn / fail counts of every stored verification check."""
    vc = verification_check
    counts: Counter[tuple[str, str]] = Counter()
    for attribute, outcome, checks in conn.execution_options(yield_per=2000).execute(
        select(vc.c.attribute, vc.c.outcome, vc.c.checks)
    ):
        counts[(f"verification.{attribute}", str(outcome))] += 1
        for check in checks or ():
            if isinstance(check, dict) and check.get("check"):
                name = f"verification.{attribute}.{check['check']}"
                counts[(name, str(check.get("outcome")))] += 1
    for name in sorted({name for name, _ in counts}):
        yield (SOURCE, name, counts[(name, "pass")], counts[(name, "warn")], counts[(name, "fail")])


__all__ = ["SOURCE", "CheckCounts", "verification_validity"]
