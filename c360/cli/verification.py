"""``c360 verify``: verification from the command line — grade one document
(``document``), record a staff verification (``attribute``, audited under the
operator's principal), list what is overdue or stale (``overdue``), recompute
every customer's authenticity (``refresh``) and show one customer's score with
its reasons and flags (``show``).

``show`` prints judgments and check outcomes, never the attribute values."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from c360.cli.support import console, fail, open_engine, user_errors
from c360.platform.audit import cli_principal
from c360.platform.stewardship import Actor
from c360.platform.verification.documents import check_document
from c360.platform.verification.judgment import authenticity_of, refresh_all
from c360.platform.verification.policy import PolicyError
from c360.platform.verification.state import (
    METHODS,
    VERIFIABLE,
    VerificationError,
    overdue_verifications,
    states_of,
    verify_attribute,
)

verify_app = typer.Typer(
    help="Verification and authenticity (背调 · 真实性): documents, staff verification, "
    "overdue checks.",
    no_args_is_help=True,
)
_OUTCOME_STYLE = {"pass": "green", "warn": "yellow", "fail": "red"}


@verify_app.command("document")
def document_command(
    text: Annotated[
        str, typer.Argument(help="a resident id, USCC or 15-digit registration number")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Grade one document number: pass / warn / fail with every check (exit 1 on fail)."""
    if not text.strip() or len(text) > 64:
        raise fail("TEXT: give one document number (at most 64 characters)")
    checked = check_document(text)
    if as_json:
        console.print_json(json.dumps(checked.as_dict(), ensure_ascii=False))
    else:
        style = _OUTCOME_STYLE[checked.outcome]
        console.print(f"{checked.attribute} {checked.value}: [{style}]{checked.outcome}[/{style}]")
        table = Table("check", "outcome", "reason")
        for check in checked.checks:
            table.add_row(check.check, check.outcome, check.reason)
        console.print(table)
        for key, value in checked.facts.items():
            console.print(f"  {key}: {value}")
    if checked.outcome == "fail":
        raise typer.Exit(1)


@verify_app.command("attribute")
def attribute_command(
    customer_id: Annotated[int, typer.Argument(help="customer id")],
    attribute: Annotated[str, typer.Argument(help=", ".join(VERIFIABLE))],
    how: Annotated[str, typer.Option("--how", help=", ".join(METHODS))],
    evidence: Annotated[
        str | None,
        typer.Option("--evidence", help="a reference to the evidence (not the document)"),
    ] = None,
    failed: Annotated[
        bool, typer.Option("--failed", help="the value was found false (needs --reason)")
    ] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="why it failed")] = None,
) -> None:
    """Record that you verified (or refuted) a customer's current value of ATTRIBUTE."""
    engine = open_engine()
    actor = Actor(subject=cli_principal(), roles="cli", purpose="identity_verification")
    with user_errors(VerificationError, PolicyError):
        done = verify_attribute(
            engine,
            customer_id,
            attribute,
            actor,
            method=how,
            evidence=evidence,
            failed=failed,
            reason=reason,
        )
    due = done.due_at.date().isoformat() if done.due_at else "-"
    console.print(
        f"customer {done.customer_id} {done.attribute}: {done.status} by {done.verified_by} "
        f"({done.method}); due again {due}"
    )


@verify_app.command("overdue")
def overdue_command(
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="at most this many")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Verifications past due and customers whose credit-bureau answer expired."""
    engine = open_engine()
    with engine.connect() as conn:
        rows = overdue_verifications(conn, limit=limit)
    if as_json:
        console.print_json(
            json.dumps(
                [
                    {
                        "customer_id": r.customer_id,
                        "attribute": r.attribute,
                        "status": r.status,
                        "due_at": r.due_at.isoformat(),
                        "reason": r.reason,
                    }
                    for r in rows
                ]
            )
        )
        return
    table = Table("customer", "attribute", "status", "due", "why", title=f"{len(rows)} overdue")
    for r in rows:
        table.add_row(
            str(r.customer_id), r.attribute, r.status, r.due_at.date().isoformat(), r.reason
        )
    console.print(table)


@verify_app.command("refresh")
def refresh_command() -> None:
    """Recompute every customer's checks, states and authenticity score."""
    engine = open_engine()
    with user_errors(PolicyError):
        count = refresh_all(engine)
    console.print(f"authenticity recomputed for {count:,} customers")


@verify_app.command("show")
def show_command(customer_id: Annotated[int, typer.Argument(help="customer id")]) -> None:
    """One customer's authenticity: score, band, reasons, flags and states."""
    engine = open_engine()
    with engine.connect() as conn:
        row = authenticity_of(conn, [customer_id]).get(customer_id)
        states = states_of(conn, [customer_id]).get(customer_id, {})
    if row is None:
        raise fail(f"customer {customer_id} has no authenticity judgment (unknown or merged)")
    console.print(
        f"customer {customer_id}: score {row['score']} band {row['band']} ({row['policy_version']})"
    )
    reasons = Table("code", "weight", "why", title="reasons")
    for r in row["reasons"]:
        reasons.add_row(r["code"], f"{r['weight']:+d}", r["text"])
    console.print(reasons)
    for flag in row["flags"]:
        console.print(f"[red]flag[/red] {flag['flag']} ({flag['severity']}): {flag['text']}")
    table = Table("attribute", "status", "by", "due", title="verification")
    for attribute, state in sorted(states.items()):
        due = state["due_at"].date().isoformat() if state["due_at"] else "-"
        table.add_row(attribute, state["status"], state["verified_by"] or "-", due)
    console.print(table)


def register(app: typer.Typer) -> None:
    """``c360 verify …``."""
    app.add_typer(verify_app, name="verify")
