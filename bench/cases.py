"""How fast are the case SLA clocks, the case report and the open-case list?

Builds a seeded SQLite database of ``--cases`` cases (default 100,000) over
``--customers`` customers in six provinces, opened over 180 days with the
category, severity and channel mix of a consumer business; about a quarter are
still open (accepted, in progress, waiting on the customer, escalated,
reopened), the rest resolved or closed with first-response and resolution
times in working hours (Chinese working days, :mod:`c360.platform.cases.hours`)
and a CSAT for some. Rows are bulk-inserted with the deadlines the intake
computes (:func:`c360.platform.cases.sla.targets_for`,
:func:`~c360.platform.cases.hours.add_working_seconds`), not opened one by one.

Then it measures, each ``--repeat`` times (medians):

* ``sla_eval_cases_per_s``: :func:`c360.platform.cases.sla.evaluate` over every
  open case at one moment (warnings and breach escalations written, in a
  transaction rolled back so each repeat sees the same cases);
* ``report_ms``: :func:`c360.platform.cases.report.build_report` of the last 90 days;
* ``open_list_p99_ms``: the real app served by uvicorn on loopback, an agent of
  one province asking GraphQL ``cases(first: 20)`` (the open cases of its
  region, earliest due first, with their SLA clocks) ``--requests`` times,
  one after another on a keep-alive connection; p50 and p99.

The last line is ``sla_eval_cases_per_s=… report_ms=… open_list_p99_ms=…``.

    python bench/cases.py                 # 100,000 cases
    python bench/cases.py --smoke         # 2,000 cases, for CI
"""

from __future__ import annotations

import sys
from pathlib import Path

# ``python bench/cases.py`` puts bench/ first on sys.path, where bench/graphql.py
# would shadow the graphql package the served app imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from sqlalchemy import Engine, insert  # noqa: E402

from c360.app import create_app  # noqa: E402
from c360.auth.config import AuthSettings  # noqa: E402
from c360.platform import tables as t  # noqa: E402
from c360.platform.cases import hours, sla  # noqa: E402
from c360.platform.cases import models as m  # noqa: E402
from c360.platform.cases.intake import CATEGORIES  # noqa: E402
from c360.platform.cases.report import build_report  # noqa: E402
from c360.platform.cases.workflow import CHANNELS  # noqa: E402
from c360.platform.db import make_engine, migrate  # noqa: E402

PROVINCES = ("北京市", "上海市", "广东省", "浙江省", "江苏省", "四川省")
SEVERITIES = (("low", 0.3), ("medium", 0.45), ("high", 0.2), ("critical", 0.05))
OPEN_MIX = (("accepted", 0.25), ("in_progress", 0.4), ("waiting_on_customer", 0.2),
            ("escalated", 0.1), ("reopened", 0.05))  # fmt: skip
NOW = datetime(2025, 6, 30, 10, 0, tzinfo=hours.TZ)
LIST_QUERY = (
    "query { cases(first: 20) { nodes { caseId category severity state owner "
    "sla { state remainingHours due } } } }"
)


def pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def build(engine: Engine, customers: int, cases: int, seed: int) -> int:
    """The customers, the teams and the cases; returns how many are open."""
    rng = random.Random(seed)
    with engine.begin() as conn:
        conn.execute(
            insert(t.customer),
            [
                {"id": i, "kind": "person", "display_name": f"客户{i}"}
                for i in range(1, customers + 1)
            ],
        )
        conn.execute(
            insert(t.golden_profile),
            [
                {
                    "customer_id": i,
                    "attributes": {"province": {"value": PROVINCES[i % len(PROVINCES)]}},
                    "conflicting": False,
                }
                for i in range(1, customers + 1)
            ],
        )
        conn.execute(
            insert(m.case_team),
            [{"name": f"care-{p}", "supervisor": f"sup-{n}", "region": p}
             for n, p in enumerate(PROVINCES)],
        )  # fmt: skip
    rows: list[dict[str, Any]] = []
    open_count = 0
    for _ in range(cases):
        customer = rng.randint(1, customers)
        province = PROVINCES[customer % len(PROVINCES)]
        category = rng.choice(CATEGORIES)
        severity = pick(rng, SEVERITIES)
        first_t, resolution_t = sla.targets_for(category, severity)
        opened = hours.as_utc(NOW - timedelta(days=180 * rng.random() ** 1.5))
        # most open cases are recent (a fortnight); a few have dragged on for months
        recent = opened > hours.as_utc(NOW - timedelta(days=14))
        is_open = (recent and rng.random() < 0.7) or rng.random() < 0.02
        row: dict[str, Any] = {
            "customer_id": customer, "kind": rng.choice(("complaint", "complaint", "inquiry",
                                                          "suggestion")),
            "channel": rng.choice(CHANNELS), "category": category, "severity": severity,
            "description": "客户反映的问题", "attachments": [],
            "owner": f"agent-{rng.randint(1, 60)}", "team": f"care-{province}",
            "region": province, "opened_at": opened, "updated_at": opened,
            "first_response_target_s": first_t, "resolution_target_s": resolution_t,
            "first_response_due": hours.add_working_seconds(opened, first_t),
            "resolution_due": hours.add_working_seconds(opened, resolution_t),
            "paused_s": 0.0, "reopen_count": 0,
        }  # fmt: skip
        answered = hours.add_working_seconds(opened, first_t * rng.uniform(0.2, 1.4))
        if is_open:
            open_count += 1
            state = pick(rng, OPEN_MIX)
            row["state"] = state
            if state != "accepted" and answered < hours.as_utc(NOW):
                row["first_response_at"] = answered
                row["first_response_s"] = hours.working_seconds(opened, answered)
            if state == "waiting_on_customer":
                row["paused_since"] = max(opened, hours.as_utc(NOW - timedelta(hours=5)))
        else:
            resolved = hours.add_working_seconds(opened, resolution_t * rng.uniform(0.1, 1.5))
            row.update(
                state=rng.choice(("resolved", "closed", "closed")),
                first_response_at=answered,
                first_response_s=hours.working_seconds(opened, answered),
                resolved_at=resolved,
                resolution_s=hours.working_seconds(opened, resolved),
                csat=rng.choice((None, None, 1, 2, 3, 4, 4, 5, 5, 5)),
            )
        rows.append(row)
    rows.sort(key=lambda r: r["opened_at"])  # cases are opened, so stored, in time order
    columns = {c.name for c in m.case.columns}
    for start in range(0, len(rows), 5000):
        part = [{k: r.get(k) for k in columns if k != "id"} for r in rows[start : start + 5000]]
        with engine.begin() as conn:
            conn.execute(insert(m.case), part)
    return open_count


def evaluate_rate(engine: Engine, repeat: int) -> tuple[float, float, sla.Evaluation]:
    """Cases per second of the first pass (which fires every warning and breach
    the seeded history holds, rolled back so each repeat fires them again) and of
    a pass after it (the scheduler's steady state: clocks read, little to fire)."""
    first, steady = [], []
    fired = sla.Evaluation()
    for _ in range(repeat):
        with engine.connect() as conn:
            transaction = conn.begin()
            started = time.perf_counter()
            fired = sla.evaluate(conn, NOW)
            first.append(time.perf_counter() - started)
            started = time.perf_counter()
            sla.evaluate(conn, NOW + timedelta(minutes=5))
            steady.append(time.perf_counter() - started)
            transaction.rollback()
    return (
        fired.evaluated / statistics.median(first),
        fired.evaluated / statistics.median(steady),
        fired,
    )


def report_ms(engine: Engine, repeat: int) -> float:
    timings = []
    for _ in range(max(repeat, 3)):
        with engine.connect() as conn:
            started = time.perf_counter()
            build_report(conn, NOW - timedelta(days=90), NOW)
            timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


@contextmanager
def serving(engine: Engine, directory: Path) -> Iterator[tuple[str, Any]]:
    settings = AuthSettings(
        data_dir=directory,
        signing_key_path=directory / "token-signing-key.json",
        rate_limit_per_minute=0,
    )
    app = create_app(engine, auth=settings)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", app
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def list_latency(engine: Engine, directory: Path, requests: int) -> tuple[float, float]:
    with serving(engine, directory) as (url, app):
        token = app.state.auth.issuer.issue(
            subject="bench:agent", roles=["agent"], region="上海",
            scopes=["customers:read", "customers:write"],
        )  # fmt: skip
        headers = {"Authorization": f"Bearer {token}", "X-Purpose": "complaint_handling"}
        timings = []
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            for i in range(requests + 10):
                started = time.perf_counter()
                response = client.post("/graphql", json={"query": LIST_QUERY})
                elapsed = time.perf_counter() - started
                body = response.json()
                assert "errors" not in body and len(body["data"]["cases"]["nodes"]) == 20, body
                if i >= 10:  # the first requests warm the server up
                    timings.append(elapsed * 1000)
    return percentile(timings, 0.5), percentile(timings, 0.99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--smoke", action="store_true", help="2,000 cases, 50 requests")
    args = parser.parse_args()
    if args.smoke:
        args.cases, args.customers, args.requests, args.repeat = 2000, 500, 50, 1
    with tempfile.TemporaryDirectory(prefix="c360-bench-cases-") as tmp:
        directory = Path(tmp)
        engine = make_engine(f"sqlite:///{directory / 'c360.db'}")
        migrate(engine)
        started = time.perf_counter()
        open_count = build(engine, args.customers, args.cases, args.seed)
        print(f"cases={args.cases} open={open_count} build_s={time.perf_counter() - started:.1f}")
        first_rate, rate, fired = evaluate_rate(engine, args.repeat)
        print(
            f"sla_evaluated={fired.evaluated} warned={fired.warned} breached={fired.breached} "
            f"first_pass_cases_per_s={first_rate:.0f} sla_eval_cases_per_s={rate:.0f}"
        )
        report = report_ms(engine, args.repeat)
        print(f"report_ms={report:.1f}")
        p50, p99 = list_latency(engine, directory, args.requests)
        print(f"open_list_p50_ms={p50:.1f} open_list_p99_ms={p99:.1f}")
        engine.dispose()
    load = (
        " ".join(Path("/proc/loadavg").read_text().split()[:3])
        if os.path.exists("/proc/loadavg")
        else "-"
    )
    print(f"loadavg={load}")
    print(
        f"cases={args.cases} sla_eval_cases_per_s={rate:.0f} report_ms={report:.1f} "
        f"open_list_p50_ms={p50:.1f} open_list_p99_ms={p99:.1f}"
    )


if __name__ == "__main__":
    main()
