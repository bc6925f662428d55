"""``c360 cases``: complaints and feedback from the command line — open, list,
show (the description is personal data: shown for a declared purpose and put on
the audit log), move, assign, escalate, survey, teams, report and ``sla-check``
(evaluate every open case's SLA clock: warnings, breach escalations)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from c360.cli.reading import require_coverage
from c360.cli.support import (
    audit_command,
    console,
    fail,
    open_engine,
    shown_time,
    user_errors,
)
from c360.platform.audit import InvalidPurpose, clean_purpose, cli_principal
from c360.platform.cases import actions, hours, sla, surveys
from c360.platform.cases import models as m
from c360.platform.cases.intake import CaseInputError, open_case, validate
from c360.platform.cases.report import build_report
from c360.platform.cases.workflow import OPEN_STATES, STATE_LABELS, IllegalMove

cases_app = typer.Typer(
    help="Complaints and feedback (投诉处理): cases, SLAs, surveys.", no_args_is_help=True
)

ERRORS = (CaseInputError, IllegalMove, surveys.SurveyInputError, InvalidPurpose)


def _now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"--now: {value!r} is not an ISO date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=hours.TZ)


NowOption = Annotated[
    str | None, typer.Option("--now", help="evaluate at this moment (ISO; default: now)")
]


@cases_app.command("open")
def open_command(
    customer_id: Annotated[int, typer.Option("--customer", help="customer id")],
    channel: Annotated[
        str, typer.Option(help="phone, web, email, wechat, store, app, letter, other")
    ],
    category: Annotated[str, typer.Option(help="billing, delivery, product_quality, ...")],
    description: Annotated[str, typer.Option(help="what the customer said")],
    kind: Annotated[str, typer.Option(help="complaint, suggestion, inquiry")] = "complaint",
    severity: Annotated[str, typer.Option(help="low, medium, high, critical")] = "medium",
    owner: Annotated[str | None, typer.Option(help="staff principal handling it")] = None,
    team: Annotated[str | None, typer.Option(help="team handling it")] = None,
    attachment: Annotated[
        list[str] | None, typer.Option(help="a reference (URL, file key)")
    ] = None,
) -> None:
    """Open a case (state 受理 accepted)."""
    engine = open_engine()
    with user_errors(*ERRORS), engine.begin() as conn:
        new = validate(
            {
                "customer_id": customer_id,
                "kind": kind,
                "channel": channel,
                "category": category,
                "severity": severity,
                "description": description,
                "owner": owner,
                "team": team,
                "attachments": attachment or [],
            }
        )
        case_id = open_case(conn, new, actor=cli_principal())
        row = actions.load(conn, case_id)
    console.print(f"case {case_id} opened; resolution due {shown_time(row['resolution_due'])} UTC")


@cases_app.command("list")
def list_command(
    state: Annotated[str | None, typer.Option(help="only this state (default: open ones)")] = None,
    owner: Annotated[str | None, typer.Option(help="only this owner")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    now: NowOption = None,
) -> None:
    """The cases with their SLA state (no description: see ``show``)."""
    moment = _now(now)
    if state is not None and state not in STATE_LABELS:
        raise fail(f"--state: {state!r} is not one of {', '.join(STATE_LABELS)}")
    engine = open_engine()
    query = select(m.case).order_by(m.case.c.resolution_due).limit(limit)
    query = (
        query.where(m.case.c.state == state)
        if state
        else query.where(m.case.c.state.in_(sorted(OPEN_STATES)))
    )
    if owner:
        query = query.where(m.case.c.owner == owner)
    with engine.connect() as conn:
        rows = [r._mapping for r in conn.execute(query)]
    table = Table(
        "id", "customer", "kind", "category", "severity", "state", "owner", "SLA", "due (UTC)"
    )
    for row in rows:
        clock = sla.clock(row, moment)
        due = shown_time(clock.due)
        table.add_row(
            str(row["id"]),
            str(row["customer_id"]),
            row["kind"],
            row["category"],
            row["severity"],
            f"{row['state']} {STATE_LABELS[row['state']]}",
            row["owner"] or "-",
            clock.state,
            due,
        )
    console.print(table)


@cases_app.command("show")
def show_command(
    case_id: int,
    purpose: Annotated[
        str, typer.Option(help="why you read the case text (e.g. complaint_handling)")
    ],
    now: NowOption = None,
) -> None:
    """One case with its description, history and SLA clock (audited)."""
    engine = open_engine()
    with user_errors(*ERRORS):
        declared = clean_purpose(purpose)
        with engine.connect() as conn:
            row = actions.load(conn, case_id)
            history = actions.history(conn, case_id)
        require_coverage(engine, row["customer_id"], declared, command="cases show")
        audit_command(
            engine,
            action="case.show",
            purpose=declared,
            customer_id=row["customer_id"],
            fields=("case_text",),
            detail={"case_id": case_id},
        )
    clock = sla.clock(row, _now(now))
    console.print(
        f"case {case_id} · {row['kind']} · {row['category']} · {row['severity']} · "
        f"{row['state']} ({STATE_LABELS[row['state']]}) · SLA {clock.state}"
    )
    console.print(
        f"customer {row['customer_id']} · channel {row['channel']} · "
        f"owner {row['owner'] or '-'} · team {row['team'] or '-'}"
    )
    console.print(row["description"], highlight=False, markup=False)
    for ref in row["attachments"]:
        console.print(f"attachment: {ref}", highlight=False, markup=False)
    for change in history:
        console.print(
            f"{shown_time(change['at'])} {change['actor']} {change['action']} "
            f"{json.dumps(change['changes'], ensure_ascii=False)}",
            highlight=False,
            markup=False,
        )


@cases_app.command("move")
def move_command(
    case_id: int,
    state: Annotated[str, typer.Argument(help="the state to move to")],
    note: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Move a case through the workflow (illegal moves are refused with the allowed ones)."""
    engine = open_engine()
    with user_errors(*ERRORS), engine.begin() as conn:
        row = actions.move(conn, case_id, state, actor=cli_principal(), note=note)
    console.print(f"case {case_id} is {row['state']} ({STATE_LABELS[row['state']]})")


@cases_app.command("assign")
def assign_command(
    case_id: int,
    owner: Annotated[str | None, typer.Option(help="staff principal")] = None,
    team: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Give a case to an owner and/or team."""
    if owner is None and team is None:
        raise fail("--owner or --team: give at least one")
    engine = open_engine()
    with user_errors(*ERRORS), engine.begin() as conn:
        row = actions.assign(conn, case_id, owner=owner, team=team, actor=cli_principal())
    console.print(f"case {case_id}: owner {row['owner'] or '-'}, team {row['team'] or '-'}")


@cases_app.command("escalate")
def escalate_command(case_id: int, note: Annotated[str | None, typer.Option()] = None) -> None:
    """Escalate a case to its team's supervisor."""
    engine = open_engine()
    with user_errors(*ERRORS), engine.begin() as conn:
        row = actions.escalate(conn, case_id, actor=cli_principal(), note=note)
    console.print(f"case {case_id} escalated to {row['owner'] or 'no supervisor (no team)'}")


@cases_app.command("survey")
def survey_command(
    case_id: int,
    csat: Annotated[int, typer.Option(help="1 (very dissatisfied) to 5 (very satisfied)")],
    comment: Annotated[str | None, typer.Option()] = None,
    no_reopen: Annotated[
        bool, typer.Option("--no-reopen", help="do not reopen on a bad score")
    ] = False,
) -> None:
    """Record the customer's satisfaction answer (a bad one reopens the case)."""
    engine = open_engine()
    with user_errors(*ERRORS), engine.begin() as conn:
        reopened = surveys.record_answer(
            conn,
            case_id,
            csat,
            comment,
            actor=cli_principal(),
            reopen_if_dissatisfied=not no_reopen,
        )
    console.print(f"case {case_id}: CSAT {csat} recorded" + ("; case reopened" if reopened else ""))


@cases_app.command("team")
def team_command(
    name: str,
    supervisor: Annotated[str, typer.Option(help="the supervisor's principal (token subject)")],
    region: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create or update a team and its supervisor."""
    engine = open_engine()
    with engine.begin() as conn:
        conn.execute(m.case_team.delete().where(m.case_team.c.name == name))
        conn.execute(m.case_team.insert().values(name=name, supervisor=supervisor, region=region))
    console.print(f"team {name}: supervisor {supervisor}")


@cases_app.command("sla-check")
def sla_check_command(now: NowOption = None) -> None:
    """Evaluate the SLA clock of every open case: store warnings, escalate breaches (once)."""
    moment = _now(now)
    engine = open_engine()
    with engine.begin() as conn:
        result = sla.evaluate(conn, moment)
    console.print(
        f"evaluated={result.evaluated} warned={result.warned} breached={result.breached} "
        f"first_response_breached={result.first_response_breached}"
    )


@cases_app.command("report")
def report_command(
    days: Annotated[int, typer.Option(min=1, max=3660, help="period: the last N days")] = 90,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    now: NowOption = None,
) -> None:
    """The analysis: volume, SLA attainment, median times, CSAT, repeat
    complainants, rising categories."""
    until = _now(now)
    engine = open_engine()
    with user_errors(), engine.connect() as conn:
        report = build_report(conn, until - timedelta(days=days), until)
    if as_json:
        console.print_json(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    pct = lambda v: "-" if v is None else f"{v:.1%}"  # noqa: E731
    console.print(
        f"cases={report.total} sla_attainment={pct(report.sla_attainment)} "
        f"first_response_attainment={pct(report.first_response_attainment)}"
    )
    console.print(
        f"median_first_response_h={report.median_first_response_h} "
        f"median_resolution_h={report.median_resolution_h} csat={report.csat_mean} "
        f"({report.csat_answers} answers) repeat_complainants={report.repeat_complainants}"
    )
    for title, counts in (
        ("category", report.by_category),
        ("channel", report.by_channel),
        ("region", report.by_region),
        ("month", report.by_month),
    ):
        console.print(
            f"by {title}: " + ", ".join(f"{k} {v}" for k, v in counts.items()), highlight=False
        )
    if report.rising_categories:
        console.print(
            "rising: " + ", ".join(f"{c} {a}←{b}" for c, a, b in report.rising_categories),
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Mount ``c360 cases``."""
    app.add_typer(cases_app, name="cases")
