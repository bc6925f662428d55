"""The ``credit`` connector's commands, registered through
``c360_register_commands``: ``c360 enrich CUSTOMER_ID`` (one lookup) and
``c360 consents add|list|revoke`` (the legal bases lookups need).

Bad input, a refused lookup and an unreachable database end a command with one
line and exit code 2, as c360's own commands do.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from c360.connectors.base import SourceConfigError, TransientSourceError
from c360.connectors.credit.enrich import EnrichmentRefused, enrich_customer
from c360.connectors.credit.legal_bases import (
    LEGAL_BASES,
    list_legal_bases,
    record_legal_basis,
    revoke_legal_basis,
)
from c360.connectors.http import RemoteApiError
from c360.platform.audit import cli_principal
from c360.platform.db import DatabaseUnavailable, open_database
from c360.platform.privacy.purposes import catalogue_text

# Piped output (CI logs, `| tee`) gets a wide console so tables are not cut.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
consents_app = typer.Typer(
    help="Legal bases and consents for looking people up.", no_args_is_help=True
)

USER_ERRORS = (
    DatabaseUnavailable,
    EnrichmentRefused,
    SourceConfigError,
    TransientSourceError,
    RemoteApiError,
    ValueError,
    LookupError,
)


@contextmanager
def _user_errors() -> Iterator[None]:
    try:
        yield
    except USER_ERRORS as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None


def _engine() -> Engine:
    with _user_errors():
        return open_database()


def enrich(
    customer_id: Annotated[int, typer.Argument(help="the customer to look up")],
    purpose: Annotated[
        str, typer.Option(help="why (must have a recorded legal basis for a person)")
    ] = "credit_assessment",
    source: Annotated[
        str | None, typer.Option(help="credit source (default: the only one)")
    ] = None,
    actor: Annotated[
        str | None, typer.Option(help="who asks, for the audit log (default cli:<your user>)")
    ] = None,
    force: Annotated[bool, typer.Option(help="ignore a cached result")] = False,
) -> None:
    """Look a customer up at the credit bureau (cached, budgeted, consent-checked).
    The answer, fresh or cached, is put on the audit log before it is printed."""
    with _user_errors():
        outcome = enrich_customer(
            _engine(),
            customer_id,
            purpose=purpose,
            actor=actor or cli_principal(),
            source_name=source,
            force=force,
        )
    r = outcome.result
    table = Table("attribute", "value")
    table.add_row("customer", str(outcome.customer_id))
    table.add_row("subject", f"{r['subject_kind']} {r['subject_ref']}")
    table.add_row("found", "yes" if r["found"] else "no record at the bureau")
    for label, key in (
        ("score", "score"),
        ("band", "band"),
        ("overdue", "overdue_count"),
        ("defaults", "default_count"),
    ):
        if r.get(key) is not None:
            table.add_row(label, str(r[key]))
    table.add_row("court enforcements", str(len(r.get("enforcements") or [])))
    table.add_row("dishonest-debtor listings", str(len(r.get("dishonest") or [])))
    reg = r.get("registration") or {}
    if reg:
        table.add_row(
            "registration",
            " · ".join(
                str(reg.get(k) or "-")
                for k in ("name", "status", "registered_capital", "legal_representative")
            ),
        )
    for holder in outcome.shareholders:
        table.add_row(
            "shareholder",
            f"{holder['shareholder_name']} "
            f"({holder['shareholder_kind']}, {holder.get('share_ratio')})",
        )
    table.add_row("provider", f"{r['provider']} (request {r.get('request_id') or '-'})")
    table.add_row(
        "retrieved",
        f"{r['retrieved_at']:%Y-%m-%d %H:%M:%S} UTC, expires {r['expires_at']:%Y-%m-%d}",
    )
    table.add_row("cost", f"{outcome.cost:.2f} ({outcome.outcome})")
    console.print(table)


@consents_app.command("add")
def consents_add(
    customer_id: int,
    purpose: Annotated[str, typer.Option(help=f"a catalogue purpose: {catalogue_text()}")],
    basis: Annotated[str, typer.Option(help=f"one of: {', '.join(LEGAL_BASES)}")] = "consent",
    evidence: Annotated[
        str, typer.Option(help="where the proof is: form number, contract, file")
    ] = "",
    expires: Annotated[str | None, typer.Option(help="ISO date the basis lapses")] = None,
    actor: Annotated[str, typer.Option(help="who records it")] = "cli",
) -> None:
    """Record a legal basis (consent, contract...) for looking a person up for a purpose."""
    with _user_errors():
        expires_at = None
        if expires:
            try:
                expires_at = datetime.fromisoformat(expires)
            except ValueError:
                raise ValueError(f"--expires: {expires!r} is not an ISO date") from None
            if expires_at.tzinfo is None:
                expires_at = expires_at.replace(tzinfo=UTC)
        basis_id = record_legal_basis(
            _engine(),
            customer_id,
            purpose=purpose,
            basis=basis,
            evidence=evidence,
            recorded_by=actor,
            expires_at=expires_at,
        )
    console.print(f"legal basis {basis_id} recorded: customer {customer_id}, {purpose}, {basis}")


@consents_app.command("list")
def consents_list(customer_id: Annotated[int | None, typer.Argument()] = None) -> None:
    """Recorded legal bases (of one customer, or all)."""
    table = Table(
        "id", "customer", "purpose", "basis", "evidence", "recorded", "expires", "revoked"
    )
    for row in list_legal_bases(_engine(), customer_id):
        table.add_row(
            str(row["id"]),
            str(row["customer_id"]),
            row["purpose"],
            row["basis"],
            row["evidence"],
            f"{row['recorded_at']:%Y-%m-%d} by {row['recorded_by']}",
            f"{row['expires_at']:%Y-%m-%d}" if row["expires_at"] else "-",
            f"{row['revoked_at']:%Y-%m-%d} by {row['revoked_by']}" if row["revoked_at"] else "-",
        )
    console.print(table)


@consents_app.command("revoke")
def consents_revoke(
    basis_id: int, actor: Annotated[str, typer.Option(help="who revokes it")] = "cli"
) -> None:
    """Revoke a legal basis (consent withdrawn): later lookups are refused."""
    with _user_errors():
        revoke_legal_basis(_engine(), basis_id, revoked_by=actor)
    console.print(f"legal basis {basis_id} revoked")


def register(app: typer.Typer) -> None:
    """Add ``enrich`` and ``consents`` to ``app`` (the ``c360`` command)."""
    app.command("enrich")(enrich)
    app.add_typer(consents_app, name="consents")
