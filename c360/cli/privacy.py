"""``c360 privacy``: data-subject requests from the command line — ``export``
(JSON and HTML of everything held about a person), ``erase`` (final, with the
suppression list), ``restrict`` (PIPL art. 47) and ``requests`` (with their
deadlines). Every step is audited."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from c360.cli.reading import require_coverage
from c360.cli.support import (
    audit_command,
    console,
    fail,
    open_engine,
    shown_day,
    shown_time,
    user_errors,
)
from c360.platform.audit import cli_principal
from c360.platform.privacy.backup import BackupError, backup, restore
from c360.platform.privacy.erasure import ErasureError, compact
from c360.platform.privacy.export import export_person, to_html
from c360.platform.privacy.requests import (
    complete,
    erase_person,
    list_requests,
    open_request,
    request_to_fulfil,
)
from c360.platform.privacy.restriction import lift
from c360.platform.privacy.retention import (
    BATCH,
    RetentionError,
    add_rule,
    list_destructions,
    list_rules,
    sweep,
)

privacy_app = typer.Typer(help="Data-subject requests (PIPL arts. 44-47).", no_args_is_help=True)


@privacy_app.command("erase")
def erase_command(
    customer_id: Annotated[int, typer.Argument(help="the person to erase")],
    reason: Annotated[str | None, typer.Option(help="why (the request's reference)")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask: erasure is final")] = False,
    request: Annotated[
        int | None, typer.Option(help="the open erasure request this carries out (its id)")
    ] = None,
) -> None:
    """Erase a person's personal data everywhere and keep them out for good."""
    if not yes:
        typer.confirm(f"Erase customer {customer_id} for good?", abort=True)
    engine = open_engine()
    with user_errors(ErasureError):
        request_id, counts = erase_person(
            engine, customer_id, actor=cli_principal(), reason=reason, request_id=request
        )
    compact(engine)
    removed = sum(v for k, v in counts.items() if k != "suppressed_identifiers")
    console.print(
        f"erased customer {customer_id} (request {request_id}): {removed} rows removed, "
        f"{counts.get('suppressed_identifiers', 0)} identifiers suppressed"
    )
    for name, count in sorted(counts.items()):
        console.print(f"  {name}={count}")


@privacy_app.command("export")
def export_command(
    customer_id: Annotated[int, typer.Argument(help="the person whose data to export")],
    out: Annotated[
        Path, typer.Option(help="directory to write export-<id>.json/.html into")
    ] = Path("."),
    request: Annotated[
        int | None, typer.Option(help="the open export request this carries out (its id)")
    ] = None,
) -> None:
    """Write everything held about a person as JSON and HTML."""
    engine = open_engine()
    # a subject access request is a statutory duty (PIPL art. 45): covered even
    # while the person's processing is restricted, and checked like every read
    require_coverage(engine, customer_id, "legal_obligation", command="privacy export")
    with user_errors(ErasureError):
        request_id = request_to_fulfil(
            engine, customer_id, "export", request, requested_by=cli_principal()
        )
    with engine.connect() as conn:
        package = export_person(conn, customer_id)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"export-{customer_id}.json"
    html_path = out / f"export-{customer_id}.html"
    json_path.write_text(json.dumps(package, ensure_ascii=False, indent=2, default=str), "utf-8")
    html_path.write_text(to_html(package), "utf-8")
    rows = sum(len(v) for v in package["tables"].values())
    complete(engine, request_id, {"rows": rows})
    audit_command(
        engine,
        action="privacy.export",
        purpose="legal_obligation",
        customer_id=customer_id,
        detail={"request_id": str(request_id), "rows": str(rows)},
    )
    console.print(f"wrote {json_path} and {html_path} ({rows} rows)")


@privacy_app.command("restrict")
def restrict_command(
    customer_id: Annotated[int, typer.Argument(help="the person whose processing to restrict")],
    reason: Annotated[str | None, typer.Option(help="why (the request's reference)")] = None,
    lift_it: Annotated[
        bool, typer.Option("--lift", help="lift the person's open restriction instead")
    ] = False,
) -> None:
    """Restrict a person's processing (stored only: no clear reads, out of search,
    not scored or enriched), or lift it with --lift."""
    engine = open_engine()
    if lift_it:
        lifted = lift(engine, customer_id, actor=cli_principal(), reason=reason)
        if not lifted:
            raise fail(f"customer_id: customer {customer_id} has no open restriction")
        console.print(f"lifted the restriction of customer {customer_id}")
        return
    with user_errors(ErasureError):
        request_id = open_request(
            engine, customer_id, "restriction", requested_by=cli_principal(), reason=reason
        )
    console.print(f"restricted customer {customer_id} (request {request_id})")


@privacy_app.command("requests")
def requests_command(
    open_only: Annotated[bool, typer.Option("--open", help="only open requests")] = False,
) -> None:
    """Data-subject requests with their deadlines (overdue ones flagged)."""
    table = Table("id", "customer", "kind", "status", "received", "due", "overdue")
    for row in list_requests(open_engine(), open_only=open_only):
        table.add_row(
            str(row["id"]),
            str(row["customer_id"]),
            row["kind"],
            row["status"],
            shown_time(row["received_at"]),
            shown_day(row["due_at"]),
            "yes" if row["overdue"] else "",
        )
    console.print(table)


def backup_command(
    out: Annotated[Path, typer.Argument(help="the backup file to write")],
) -> None:
    """Write an encrypted backup of the database (AES-256-GCM, the backup key)."""
    engine = open_engine()
    with user_errors(BackupError):
        size = backup(engine, out)
    audit_command(
        engine,
        action="backup",
        detail={"bytes": str(size)},
    )
    console.print(f"wrote {out} ({size:,} bytes, encrypted)")


def restore_command(
    backup_file: Annotated[Path, typer.Argument(help="a file written by c360 backup")],
    yes: Annotated[
        bool, typer.Option("--yes", help="do not ask: the database is replaced")
    ] = False,
) -> None:
    """Replace the database with a backup; people erased since are erased again."""
    if not backup_file.is_file():
        raise fail(f"backup_file: {backup_file} does not exist")
    if not yes:
        typer.confirm("Replace the database with this backup?", abort=True)
    engine = open_engine()
    with user_errors(BackupError):
        outcome = restore(engine, backup_file)
    compact(engine)
    audit_command(
        engine,
        action="restore",
        detail={"reerased": str(outcome["reerased"])},
    )
    console.print(
        f"restored {backup_file}; {outcome['reerased']} customers erased since were erased again"
    )


retention_app = typer.Typer(
    help="Retention periods and destruction (销毁) of expired data.", no_args_is_help=True
)


@retention_app.command("add")
def retention_add(
    days: Annotated[int, typer.Option(help="keep for this many days after the last update")],
    source: Annotated[str | None, typer.Option(help="one source (default: every source)")] = None,
    attribute: Annotated[
        str | None, typer.Option(help="one attribute (default: the whole record)")
    ] = None,
    purpose: Annotated[
        str | None,
        typer.Option(help="a catalogue purpose: destroy what was fetched for it (bureau answers)"),
    ] = None,
) -> None:
    """Record a retention rule."""
    with user_errors(RetentionError):
        rule_id = add_rule(
            open_engine(),
            days=days,
            source_name=source,
            attribute=attribute,
            purpose=purpose,
            created_by=cli_principal(),
        )
    console.print(f"retention rule {rule_id} recorded")


@retention_app.command("list")
def retention_list() -> None:
    """The retention rules and their destruction records."""
    engine = open_engine()
    rules = Table("rule", "source", "attribute", "days", "purpose")
    for rule in list_rules(engine):
        rules.add_row(
            str(rule["id"]),
            rule["source_name"] or "*",
            rule["attribute"] or "(record)",
            str(rule["days"]),
            rule["purpose"] or "",
        )
    console.print(rules)
    records = Table("destruction", "rule", "status", "cutoff", "finished", "counts")
    for row in list_destructions(engine):
        records.add_row(
            str(row["id"]),
            str(row["rule_id"]),
            row["status"],
            shown_day(row["cutoff"]),
            shown_time(row["finished_at"], missing=""),
            " ".join(f"{k}={v}" for k, v in sorted(row["counts"].items())),
        )
    console.print(records)


@retention_app.command("sweep")
def retention_sweep(
    batch: Annotated[
        int, typer.Option(min=1, help="records per transaction (each one resumable)")
    ] = BATCH,
) -> None:
    """Destroy what has expired (resumes an interrupted sweep); run it from cron."""
    engine = open_engine()
    for row in sweep(engine, actor=cli_principal(), batch=batch):
        counts = " ".join(f"{k}={v}" for k, v in sorted(row["counts"].items())) or "nothing"
        console.print(f"rule {row['rule_id']}: destruction {row['id']} {row['status']}: {counts}")


def register(app: typer.Typer) -> None:
    """Add ``privacy``, ``retention``, ``backup`` and ``restore`` to ``app``."""
    app.add_typer(privacy_app, name="privacy")
    app.add_typer(retention_app, name="retention")
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
