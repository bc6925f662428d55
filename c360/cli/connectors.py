"""``c360 sync-due``: the scheduler run once, for cron.

The built-in connectors' own commands (``enrich``, ``consents``) come in through
the ``c360_register_commands`` hook like any plugin's; :func:`register` mounts
this one on the main app.
"""

from __future__ import annotations

import typer
from rich.table import Table

from c360.cli.support import console, open_engine, user_errors
from c360.connectors.base import SourceConfigError, TransientSourceError
from c360.connectors.scheduler import run_due


def sync_due() -> None:
    """Sync every source whose refresh interval has passed (for cron), and drain webhook inboxes."""
    with user_errors(SourceConfigError, TransientSourceError):
        results = run_due(open_engine())
    table = Table("source", "action", "status", "detail")
    for item in results:
        table.add_row(item.source, item.action, item.status, item.detail[:100])
    console.print(table if results else "nothing is due")
    if any(item.status == "failed" for item in results):
        raise typer.Exit(1)


def register(parent: typer.Typer) -> None:
    """Add ``sync-due`` to ``parent`` (the ``c360`` app)."""
    parent.command("sync-due")(sync_due)
