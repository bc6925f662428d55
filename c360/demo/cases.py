"""The demo's complaints and feedback: a team per province (the busiest one
supervised by ``demo-agent``, so the demo's agent can reassign and escalate),
and a few hundred cases across the categories (fewer in a small demo), opened
over the last four months and worked through the real workflow with realistic
timings — answered within or after the first-response target, waiting on the customer now and then,
resolved early or late, some surveyed (a dissatisfied answer reopens), the
recent ones still open — then one SLA pass, which escalates the breaches.

:func:`prepare_cases` does it (idempotent: a second run adds nothing);
:func:`case_figures` is the demo's summary line.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, func, insert, select

from c360.platform import tables as t
from c360.platform.cases import actions, hours, sla, surveys
from c360.platform.cases import models as m
from c360.platform.cases.intake import CATEGORIES, open_case, validate
from c360.platform.cases.report import build_report
from c360.platform.cases.workflow import (
    CLOSED,
    IN_PROGRESS,
    OPEN_STATES,
    RESOLVED,
    WAITING,
)

CASES = 300
"""Cases of the default demo; a smaller world gets one per customer whose
province is known (a case belongs to a province's team)."""
DEMO_SUPERVISOR = "demo-agent"
_WORDS = {
    "billing": "账单多扣了一笔费用，要求退款",
    "delivery": "快递三天未到，物流信息不更新",
    "product_quality": "收到的商品有破损，要求换货",
    "service_attitude": "门店店员态度不好",
    "privacy": "未经同意收到营销短信，要求删除手机号",
    "account": "会员积分无法使用",
    "other": "建议增加周末的客服时间",
}
_KINDS = ("complaint", "complaint", "complaint", "complaint", "inquiry")
_SEVERITY = (("low", 0.3), ("medium", 0.45), ("high", 0.2), ("critical", 0.05))


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def _customers(engine: Engine) -> list[tuple[int, str]]:
    """(customer id, province) of every unmerged customer with a province."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.customer.c.id, t.golden_profile.c.attributes)
            .join(t.golden_profile, t.golden_profile.c.customer_id == t.customer.c.id)
            .where(t.customer.c.merged_into.is_(None))
            .order_by(t.customer.c.id)
        ).all()
    out = []
    for cid, attributes in rows:
        province = ((attributes or {}).get("province") or {}).get("value")
        if province:
            out.append((int(cid), str(province)))
    return out


def prepare_cases(engine: Engine, seed: int, *, now: datetime | None = None) -> list[str]:
    """Teams and worked cases (nothing when the demo's cases exist already);
    lines for the demo's output."""
    now = hours.as_utc(now or datetime.now(UTC))
    with engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(m.case)).scalar_one():
            return []
    customers = _customers(engine)
    if not customers:
        return []
    rng = random.Random(seed + 19)
    provinces = Counter(p for _, p in customers)
    with engine.begin() as conn:
        for n, (province, _) in enumerate(provinces.most_common()):
            supervisor = DEMO_SUPERVISOR if n == 0 else f"supervisor-{n}"
            conn.execute(
                insert(m.case_team).values(name=f"care-{province}", supervisor=supervisor,
                                           region=province)
            )  # fmt: skip
    cases = min(CASES, len(customers))
    for _ in range(cases):
        cid, province = rng.choice(customers)
        category = rng.choice(CATEGORIES)
        severity = _pick(rng, _SEVERITY)
        opened = now - timedelta(days=120 * rng.random() ** 1.3, minutes=rng.randint(0, 600))
        data = {
            "customer_id": cid,
            "kind": "suggestion" if category == "other" else rng.choice(_KINDS),
            "channel": rng.choice(("phone", "phone", "web", "wechat", "app", "store", "email")),
            "category": category, "severity": severity, "description": _WORDS[category],
            "owner": f"agent-{rng.randint(1, 12)}", "team": f"care-{province}",
        }  # fmt: skip
        with engine.begin() as conn:
            case_id = open_case(conn, validate(data), actor="demo", now=opened)
            _work(conn, case_id, rng, opened, now)
    with engine.begin() as conn:
        fired = sla.evaluate(conn, now)
    return [
        f"cases: {cases} opened over 120 days in {len(provinces)} teams; SLA pass: "
        f"{fired.warned} warnings, {fired.breached} breaches escalated"
    ]


def _work(
    conn: Connection, case_id: int, rng: random.Random, opened: datetime, now: datetime
) -> None:
    """Move one case through the workflow at plausible moments before ``now``."""
    row = actions.load(conn, case_id)
    actor = row["owner"] or "demo"
    moment = hours.add_working_seconds(
        opened, row["first_response_target_s"] * rng.uniform(0.1, 1.6)
    )
    if moment >= now:
        return  # not answered yet
    actions.move(conn, case_id, IN_PROGRESS, actor=actor, now=moment)
    if rng.random() < 0.25:
        moment = hours.add_working_seconds(moment, 3600 * rng.uniform(0.5, 4))
        if moment >= now:
            return
        actions.move(conn, case_id, WAITING, actor=actor, now=moment, note="等客户补充照片")
        moment += timedelta(hours=rng.uniform(2, 48))
        if moment >= now:
            return
        actions.move(conn, case_id, IN_PROGRESS, actor=actor, now=moment)
    share = rng.uniform(0.2, 1.5)
    resolved = hours.add_working_seconds(moment, row["resolution_target_s"] * share * 0.8)
    if resolved >= now:
        return
    actions.move(conn, case_id, RESOLVED, actor=actor, now=resolved)
    if rng.random() < 0.6:
        answered = resolved + timedelta(hours=rng.uniform(1, 72))
        if answered >= now:
            return
        csat = rng.choices((1, 2, 3, 4, 5), (0.08, 0.1, 0.17, 0.3, 0.35))[0]
        surveys.record_answer(conn, case_id, csat, None, actor="survey", now=answered)
        if csat <= surveys.DISSATISFIED:
            return  # reopened: in progress again
    closed = resolved + timedelta(days=rng.uniform(1, 5))
    if closed < now and actions.load(conn, case_id)["state"] == RESOLVED:
        actions.move(conn, case_id, CLOSED, actor=actor, now=closed)


def case_figures(engine: Engine, *, now: datetime | None = None) -> list[str]:
    """SLA attainment and the rest of the report, for the demo's summary."""
    now = hours.as_utc(now or datetime.now(UTC))
    with engine.connect() as conn:
        report = build_report(conn, now - timedelta(days=180), now + timedelta(seconds=1))
        open_now = conn.execute(
            select(func.count()).where(m.case.c.state.in_(sorted(OPEN_STATES)))
        ).scalar_one()
    if not report.total:
        return []
    pct = lambda v: "-" if v is None else f"{v:.1%}"  # noqa: E731
    return [
        f"cases: {report.total} ({open_now} open) sla_attainment={pct(report.sla_attainment)} "
        f"first_response_attainment={pct(report.first_response_attainment)} "
        f"median_first_response_h={report.median_first_response_h} "
        f"median_resolution_h={report.median_resolution_h} csat={report.csat_mean} "
        f"repeat_complainants={report.repeat_complainants}"
    ]
