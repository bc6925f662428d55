"""Purpose-bound reads from the command line: a command that prints a
customer's personal data in clear declares a catalogue purpose and is served
only where the customer's consent or a legal basis covers it (and the person's
processing is not restricted) — the check every GraphQL read goes through
(:func:`c360.platform.privacy.consent.covered_customers`). A refusal is put on
the audit log and ends the command; the read itself is audited by the command.

The command line has no role: whoever runs it holds the database, so the
policy table's role column does not apply, the purpose and the consent do.
"""

from __future__ import annotations

import typer
from sqlalchemy import Engine

from c360.cli.support import audit_command, fail
from c360.platform.audit import InvalidPurpose, clean_purpose
from c360.platform.privacy.consent import covered_customers


def purpose_option(value: str) -> str:
    """A ``--purpose`` callback: a catalogue code, else a usage error with the list."""
    try:
        return clean_purpose(value)
    except InvalidPurpose as exc:
        raise typer.BadParameter(str(exc)) from None


def require_coverage(engine: Engine, customer_id: int, purpose: str, *, command: str) -> None:
    """Go on only if ``purpose`` is covered for ``customer_id``; otherwise audit
    the refusal and end the command (exit 2) saying why and how to fix it."""
    declared = purpose_option(purpose)
    with engine.connect() as conn:
        covered = customer_id in covered_customers(conn, [customer_id], declared)
    if covered:
        return
    audit_command(
        engine,
        action="refuse",
        purpose=declared,
        customer_id=customer_id,
        detail={"command": command, "reason": "purpose not covered"},
    )
    raise fail(
        f"purpose: {declared!r} is not covered for customer {customer_id} (no consent or "
        "legal basis for it, or their processing is restricted); nothing is shown. "
        f"Record one with: c360 consents add {customer_id} --purpose {declared} "
        "--basis consent --evidence <where the proof is>"
    )
