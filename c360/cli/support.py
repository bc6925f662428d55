"""What every ``c360`` command shares: the consoles, opening the database with a
clear error, and turning bad input into a one-line message with exit code 2.
Feature modules (connectors, search, auth, resolution) build their commands on
this so they answer errors the same way."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import typer
from rich.console import Console
from sqlalchemy import Engine

from c360.connectors.base import SourceConfigError, TransientSourceError
from c360.connectors.registry import UnknownConnectorError
from c360.platform.audit import AuditEntry, append_now, cli_principal
from c360.platform.db import DatabaseUnavailable, open_database
from c360.platform.locks import SourceBusyError
from c360.platform.sources import SourceNotFoundError

# Piped output (CI logs, `| tee`) gets a wide console so tables are not cut.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def open_engine() -> Engine:
    """The configured database, migrated to the latest schema. An unreachable
    database ends the command with the reason, not a traceback."""
    try:
        return open_database()
    except DatabaseUnavailable as exc:
        raise fail(str(exc)) from None


def audit_command(engine: Engine, action: str, **entry: Any) -> None:
    """Put what a command did on the audit log, in a transaction of its own, as
    the OS user who ran it (:func:`~c360.platform.audit.cli_principal`);
    ``entry`` holds the other :class:`~c360.platform.audit.AuditEntry` fields."""
    append_now(engine, [AuditEntry(principal=cli_principal(), action=action, **entry)])


def shown_time(moment: datetime | None, by: str | None = None, *, missing: str = "-") -> str:
    """A moment as the command line's tables show it (UTC, to the minute), and
    who acted then; ``missing`` when there is none."""
    if moment is None:
        return missing
    shown = f"{moment:%Y-%m-%d %H:%M}"
    return f"{shown} by {by}" if by else shown


def shown_day(day: date | None, *, missing: str = "-") -> str:
    """A day (or the day of a moment) as the command line shows it."""
    return missing if day is None else f"{day:%Y-%m-%d}"


def fail(message: str) -> typer.Exit:
    """Print ``message`` as an error; the exit (code 2) for the caller to raise."""
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(2)


@contextmanager
def user_errors(*errors: type[BaseException]) -> Iterator[None]:
    """Bad input (``ValueError`` and ``LookupError`` always, plus ``errors``) ends the
    command with a clear message and exit code 2."""
    caught: tuple[type[BaseException], ...] = (ValueError, LookupError, *errors)
    try:
        yield
    except caught as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None


SOURCE_ERRORS: tuple[type[Exception], ...] = (
    SourceConfigError,
    SourceNotFoundError,
    UnknownConnectorError,
    SourceBusyError,
    TransientSourceError,
)
"""What a command about sources answers as bad input (a bad config, an unknown
source or connector, a source being synced elsewhere, a remote system down)."""


@contextmanager
def source_errors() -> Iterator[None]:
    """:func:`user_errors` for the commands about sources and syncs."""
    with user_errors(*SOURCE_ERRORS):
        yield
