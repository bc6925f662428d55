"""Business events are recorded with the change that caused them, or not at all."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from c360.platform.business_events import InvalidEvent, business_event, record_event


def test_an_event_exists_only_if_its_transaction_commits(engine: Engine) -> None:
    with engine.begin() as conn:
        first = record_event(conn, "case.opened", 7, {"case_id": 3, "category": "billing"})
    with pytest.raises(RuntimeError), engine.begin() as conn:
        record_event(conn, "case.opened", 8, {"case_id": 4})
        raise RuntimeError("the change failed")
    with engine.connect() as conn:
        rows = conn.execute(select(business_event)).mappings().all()
    assert [(r["id"], r["customer_id"], r["data"]) for r in rows] == [
        (first, 7, {"case_id": 3, "category": "billing"})
    ]


@pytest.mark.parametrize("bad", ["opened", "Case.Opened", "case.", "case opened", "x." * 40])
def test_an_event_type_that_is_not_area_dot_what_is_refused(engine: Engine, bad: str) -> None:
    with pytest.raises(InvalidEvent, match="event_type"), engine.begin() as conn:
        record_event(conn, bad, 1)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(business_event)).scalar() == 0
