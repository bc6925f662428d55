"""Satisfaction surveys: a resolution asks for one (``case.survey_requested``,
see :mod:`.actions`); the answer — CSAT 1–5 and a comment, from the customer or
recorded by staff — is stored on the survey and the case, and a dissatisfied
answer (:data:`DISSATISFIED` or below) reopens the case when asked to."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from c360.platform.business_events import record_event
from c360.platform.cases import actions, hours
from c360.platform.cases import models as m
from c360.platform.cases.workflow import REOPENED, TRANSITIONS
from c360.platform.customers.ids import survivor_of
from c360.platform.models import utcnow

DISSATISFIED = 2
"""A CSAT at or below this is a dissatisfied answer."""


class SurveyInputError(ValueError):
    """A bad survey answer (the message names the field)."""


def record_answer(
    conn: Connection,
    case_id: int,
    csat: int,
    comment: str | None = None,
    *,
    actor: str,
    reopen_if_dissatisfied: bool = True,
    now: datetime | None = None,
) -> bool:
    """Store the answer to the case's latest survey (one is created when staff
    record an answer without a request); return whether the case was reopened."""
    now = hours.as_utc(now or utcnow())
    if isinstance(csat, bool) or not isinstance(csat, int) or not 1 <= csat <= 5:
        raise SurveyInputError(f"csat: {csat!r} is not a whole number from 1 to 5")
    if comment is not None and len(comment) > 2000:
        raise SurveyInputError("comment: is longer than 2000 characters")
    row = actions.load(conn, case_id)
    survey_id = conn.execute(
        select(func.max(m.case_survey.c.id)).where(
            m.case_survey.c.case_id == case_id, m.case_survey.c.answered_at.is_(None)
        )
    ).scalar()
    values = {"answered_at": now, "csat": csat, "comment": comment, "recorded_by": actor}
    if survey_id is None:
        conn.execute(insert(m.case_survey).values(case_id=case_id, requested_at=now, **values))
    else:
        conn.execute(update(m.case_survey).where(m.case_survey.c.id == survey_id).values(values))
    conn.execute(update(m.case).where(m.case.c.id == case_id).values(csat=csat, updated_at=now))
    record_event(
        conn, "case.survey_answered", row["customer_id"], {"case_id": case_id, "csat": csat}, at=now
    )
    if reopen_if_dissatisfied and csat <= DISSATISFIED and REOPENED in TRANSITIONS[row["state"]]:
        actions.move(conn, case_id, REOPENED, actor=actor, now=now, note=f"CSAT {csat}")
        return True
    return False


def satisfaction(conn: Connection, customer_ids: Collection[int]) -> dict[int, tuple[float, int]]:
    """Each customer's mean CSAT and number of answers over its cases (merged-away
    ids' cases count for their survivor): the value capability's satisfaction input."""
    survivors = survivor_of(conn, customer_ids)
    wanted = set(survivors.values())
    folded: dict[int, list[int]] = {}
    every_id = [cid for cid, s in survivors.items()]
    for cid, csat in conn.execute(
        select(m.case.c.customer_id, m.case_survey.c.csat)
        .join(m.case_survey, m.case_survey.c.case_id == m.case.c.id)
        .where(m.case_survey.c.csat.is_not(None), m.case.c.customer_id.in_(every_id))
    ):
        folded.setdefault(survivors[cid], []).append(csat)
    return {c: (sum(v) / len(v), len(v)) for c, v in folded.items() if c in wanted}
