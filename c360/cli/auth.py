"""Commands for tokens, OAuth clients and the audit log, as a typer app the main
``c360`` command mounts with :func:`register`::

    c360 clients create NAME --role ROLE [--scope S]… [--region R]
    c360 clients list
    c360 clients revoke NAME
    c360 token --role agent [--branch R] [--ttl 8h] [--subject S]
    c360 audit verify [--expect ROWS:HASH]
    c360 audit anchor

``python -m c360.cli.auth`` runs the same commands on their own.
"""

from __future__ import annotations

import getpass
import re
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from c360.auth.config import AuthSettings
from c360.auth.issuing import TokenIssuer
from c360.auth.keys import SigningKeys, rotate_signing_key
from c360.auth.policy import policy_matrix
from c360.auth.principal import ROLES, SCOPES
from c360.cli.data_keys import rotate_data_command
from c360.cli.support import audit_command, console, err_console, fail, open_engine, user_errors
from c360.platform.audit_chain import Anchor, verify
from c360.platform.clients import ClientError, create_client, list_clients, revoke_client
from c360.platform.regions import RegionError, check_region_name
from c360.platform.secret_keys import SecretKeyError

clients_app = typer.Typer(help="OAuth clients: applications that get tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The keyed, hash-chained audit log.", no_args_is_help=True)
policy_app = typer.Typer(help="The role policy table.", no_args_is_help=True)
keys_app = typer.Typer(
    help="Keys: the one that signs c360's own tokens, and the master key of encrypted fields.",
    no_args_is_help=True,
)
keys_app.command("rotate-data")(rotate_data_command)


_DURATION = re.compile(r"(\d+)\s*([smhd]?)")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _role(value: str) -> str:
    if value not in ROLES:
        raise typer.BadParameter(f"unknown role {value!r}; one of {', '.join(ROLES)}")
    return value


def _scopes(values: list[str] | None) -> list[str]:
    scopes = values or list(SCOPES)
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise typer.BadParameter(f"unknown scope {unknown[0]!r}; one of {', '.join(SCOPES)}")
    return scopes


def parse_duration(value: str) -> int:
    """Seconds in ``90``, ``90s``, ``30m``, ``8h`` or ``1d``."""
    match = _DURATION.fullmatch(value.strip().lower())
    if not match:
        raise typer.BadParameter(f"{value!r} is not a duration such as 3600, 30m, 8h or 1d")
    return int(match.group(1)) * _UNIT[match.group(2)]


@clients_app.command("create")
def clients_create(
    name: Annotated[str, typer.Argument(help="the client id: 2-64 of a-z 0-9 . _ -")],
    role: Annotated[str, typer.Option(help=f"one of {', '.join(ROLES)}", callback=_role)],
    scope: Annotated[
        list[str] | None, typer.Option(help=f"limit to these scopes ({', '.join(SCOPES)})")
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", "--branch", help="limit an agent to a region")
    ] = None,
) -> None:
    """Register an application. Its secret is shown once, here; only a hash is kept."""
    engine = open_engine()
    try:
        info, secret = create_client(engine, name, role=role, scopes=_scopes(scope), region=region)
    except ClientError as exc:
        raise fail(str(exc)) from None
    audit_command(
        engine,
        action="client.create",
        detail={"client": info.client_id, "role": info.role},
    )
    console.print(f"client [bold]{info.client_id}[/bold] (role {info.role}) created")
    console.print(f"client_id:     {info.client_id}", highlight=False)
    console.print(f"client_secret: {secret}", highlight=False)
    console.print(
        "The secret is shown only now; store it safely. Get a token with:\n"
        f"  curl -s -u '{info.client_id}:<secret>' -d grant_type=client_credentials "
        "http://127.0.0.1:8360/oauth/token",
        highlight=False,
    )


@clients_app.command("list")
def clients_list() -> None:
    """Every client, active and revoked (never a secret)."""
    table = Table("client", "role", "scopes", "region", "created", "revoked")
    for info in list_clients(open_engine()):
        table.add_row(
            info.client_id,
            info.role,
            " ".join(info.scopes),
            info.region or "-",
            info.created_at.strftime("%Y-%m-%d %H:%M"),
            info.revoked_at.strftime("%Y-%m-%d %H:%M") if info.revoked_at else "-",
        )
    console.print(table)


@clients_app.command("revoke")
def clients_revoke(name: str) -> None:
    """Stop a client from getting new tokens (issued ones live until they expire)."""
    engine = open_engine()
    try:
        info = revoke_client(engine, name)
    except ClientError as exc:
        raise fail(str(exc)) from None
    audit_command(
        engine,
        action="client.revoke",
        detail={"client": info.client_id},
    )
    console.print(f"client [bold]{info.client_id}[/bold] revoked")


def token(
    role: Annotated[str, typer.Option(help=f"one of {', '.join(ROLES)}", callback=_role)],
    branch: Annotated[
        str | None, typer.Option("--branch", "--region", help="limit the rows to this region")
    ] = None,
    ttl: Annotated[str, typer.Option(help="lifetime: 3600, 30m, 8h, 1d")] = "8h",
    subject: Annotated[
        str | None, typer.Option(help="the sub claim (default: dev:<your user name>)")
    ] = None,
    scope: Annotated[list[str] | None, typer.Option(help="limit to these scopes")] = None,
) -> None:
    """Print a development token for a role, signed with this data directory's key.

    Send it as 'Authorization: Bearer <token>'."""
    settings = AuthSettings()
    seconds = parse_duration(ttl)
    if not 60 <= seconds <= settings.max_token_lifetime:
        raise typer.BadParameter(
            f"must be between 1 minute and {settings.max_token_lifetime} s "
            "(C360_MAX_TOKEN_LIFETIME)",
            param_hint="--ttl",
        )
    if branch is not None:
        try:
            branch = check_region_name(branch, "--region")
        except RegionError as exc:
            raise typer.BadParameter(str(exc), param_hint="--region") from None
    sub = subject or f"dev:{getpass.getuser()}"
    issuer = TokenIssuer(
        SigningKeys(settings.key_path()),
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        ttl=seconds,
    )
    scopes = _scopes(scope)
    audit_command(
        open_engine(),
        action="token.issue",
        detail={"subject": sub, "role": role, "region": branch, "ttl": seconds},
    )
    typer.echo(issuer.issue(subject=sub, roles=[role], scopes=scopes, region=branch, ttl=seconds))


def _grace(settings: AuthSettings) -> int:
    """How long a retired key keeps verifying: a token lifetime and the leeway."""
    return settings.token_ttl + settings.clock_leeway


@keys_app.command("rotate")
def keys_rotate(
    drop_old: Annotated[
        bool,
        typer.Option(
            "--drop-old",
            help="stop accepting tokens of the old key at once (it leaked); "
            "otherwise they verify until they expire",
        ),
    ] = False,
) -> None:
    """Make a new signing key current; running servers pick it up within a second."""
    settings = AuthSettings()
    grace = _grace(settings)
    old, new = rotate_signing_key(
        settings.key_path(), keep_retired_for=grace, keep_old=not drop_old
    )
    audit_command(
        open_engine(),
        action="key.rotate",
        detail={"old_kid": old or "", "new_kid": new, "old_dropped": str(drop_old)},
    )
    console.print(f"signing key rotated: new key id [bold]{new}[/bold]", highlight=False)
    if old and not drop_old:
        console.print(
            f"tokens signed by the old key ({old}) verify for {grace:,}s more, until they expire",
            highlight=False,
        )
    elif old:
        console.print(f"tokens signed by the old key ({old}) are refused from now on")


@keys_app.command("list")
def keys_list() -> None:
    """The current signing key and the retired keys still accepted."""
    settings = AuthSettings()
    keys = SigningKeys(settings.key_path(), keep_retired_for=_grace(settings))
    table = Table("key id", "state", "accepted until")
    table.add_row(str(keys.key.kid), "current (signs new tokens)", "-")
    for key, retired_at in keys.retired():
        until = datetime.fromtimestamp(retired_at + keys.keep_retired_for, UTC)
        table.add_row(str(key.kid), "retired", until.isoformat(timespec="seconds"))
    console.print(table)


def _anchor(value: str | None) -> Anchor | None:
    if value is None:
        return None
    try:
        return Anchor.parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@audit_app.command("verify")
def audit_verify(
    expect: Annotated[
        Anchor | None,
        typer.Option(
            "--expect",
            metavar="ROWS:HASH",
            parser=_anchor,
            help="an anchor printed earlier by `c360 audit anchor`: the log must still "
            "hold that row with that hash at that position (later rows are fine)",
        ),
    ] = None,
) -> None:
    """Walk the keyed chain: exit 1 and name the rows if any was edited, forged or
    deleted, or the log no longer holds the anchor given with --expect."""
    with user_errors(SecretKeyError):
        report = verify(open_engine(), expect=expect)
    if report.intact:
        console.print(
            f"audit log intact: {report.entries:,} entries, last hash {report.last_hash}"
            + (f"; holds the anchor {expect.entries:,}:{expect.last_hash[:12]}…" if expect else ""),
            highlight=False,
        )
        return
    err_console.print(
        f"[red]audit log damaged[/red]: {len(report.problems)} problem(s) in "
        f"{report.entries:,} entries",
        highlight=False,
    )
    for problem in report.problems:
        err_console.print(f"  {problem}", highlight=False)
    raise typer.Exit(1)


@audit_app.command("anchor")
def audit_anchor() -> None:
    """Print the chain's length and last hash as ROWS:HASH, to keep outside this
    machine (a ticket, a log server, a printout) and check later with
    `c360 audit verify --expect ROWS:HASH`. Refuses (exit 1) to anchor a damaged log."""
    with user_errors(SecretKeyError):
        report = verify(open_engine())
    if not report.intact:
        err_console.print(
            "[red]audit log damaged[/red]: not anchoring it; `c360 audit verify` says why",
            highlight=False,
        )
        raise typer.Exit(1)
    typer.echo(str(report.anchor))


@policy_app.command("show")
def policy_show() -> None:
    """Print the policy table: per field, what each role gets."""
    table = Table("field", *ROLES)
    for field, cells in policy_matrix().items():
        table.add_row(field, *(cells[role] for role in ROLES))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Mount these commands on ``app`` (the ``c360`` command)."""
    app.add_typer(clients_app, name="clients")
    app.add_typer(audit_app, name="audit")
    app.add_typer(policy_app, name="policy")
    app.add_typer(keys_app, name="keys")
    app.command("token")(token)


app = typer.Typer(help="c360 tokens, clients and audit log.", no_args_is_help=True)
register(app)

if __name__ == "__main__":
    app()
