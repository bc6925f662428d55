"""``c360 users``: staff accounts for the web workspace (embedded sign-in):
create (the password is printed once), list, lock and unlock."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from c360.auth.staff import AccountError, create_account, list_accounts, set_locked
from c360.cli.support import console, open_engine, shown_time, user_errors

users_app = typer.Typer(
    help="Staff accounts that sign in to the web workspace.", no_args_is_help=True
)


@users_app.command("create")
def users_create(
    name: str,
    role: Annotated[str, typer.Option(help="agent, marketing, risk, compliance or admin")],
    region: Annotated[
        list[str] | None, typer.Option(help="a region an agent serves (repeatable)")
    ] = None,
) -> None:
    """Create an account; its generated password is printed once and never again."""
    with user_errors(AccountError):
        user, password = create_account(open_engine(), name, role, region or ())
    console.print(
        f"created {user.name} ({user.role}{', ' + ', '.join(user.regions) if user.regions else ''})"
    )
    console.print(f"password (shown once): {password}", highlight=False, soft_wrap=True)


@users_app.command("list")
def users_list() -> None:
    """Every account: role, regions, whether it is locked (never a password)."""
    table = Table("name", "role", "region", "locked", "created", "last sign-in")
    for user in list_accounts(open_engine()):
        locked = (
            "yes"
            if user.locked
            else (f"until {shown_time(user.locked_until)}" if user.locked_until else "no")
        )
        table.add_row(
            user.name,
            user.role,
            ", ".join(user.regions) or "-",
            locked,
            shown_time(user.created_at),
            shown_time(user.last_sign_in),
        )
    console.print(table)


@users_app.command("lock")
def users_lock(name: str) -> None:
    """Lock an account: it cannot sign in, and its sessions end now."""
    with user_errors(AccountError):
        set_locked(open_engine(), name, True)
    console.print(f"locked {name}")


@users_app.command("unlock")
def users_unlock(name: str) -> None:
    """Unlock an account (also after too many wrong passwords)."""
    with user_errors(AccountError):
        set_locked(open_engine(), name, False)
    console.print(f"unlocked {name}")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
