"""``c360 quality`` (the data-quality report as tables, or ``--json``) and
``c360 quarantine list|show|retry``: why records and values were refused, and
landing them again under today's rules, without SQL.

``quarantine show`` prints the refused values masked (the one set of masks,
:mod:`c360.auth.masking`); ``--clear`` prints them as the source sent them, for a
declared ``--purpose`` that the customer's consent or a legal basis covers when
the record is linked to one, and puts that read on the audit log. A retry is
audited too (record ids, never values).
"""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.table import Table

from c360.auth.masking import mask_value
from c360.cli.reading import purpose_option, require_coverage
from c360.cli.support import (
    audit_command,
    console,
    fail,
    open_engine,
    shown_time,
    user_errors,
)
from c360.platform.customers.ids import customer_of_record
from c360.platform.quality.quarantine import (
    list_quarantine,
    quarantine_detail,
    quarantined_ids,
    retry,
)
from c360.platform.quality.report import QualityReport, quality_report

quarantine_app = typer.Typer(
    help="Records and values refused at ingest: list, show why, retry under today's rules.",
    no_args_is_help=True,
)


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def _tables(report: QualityReport) -> list[Table]:
    totals = report.totals
    summary = Table("figure", "count", title="data quality")
    for name in ("records", "accepted", "quarantined", "refused_values", "customers"):
        summary.add_row(name.replace("_", " "), f"{totals.get(name, 0):,}")
    summary.add_row(
        "customers with conflicting sources", f"{totals.get('conflicting_customers', 0):,}"
    )

    completeness = Table(
        "source", "kind", "attribute", "present", "of", "rate", title="completeness"
    )
    for c in report.completeness:
        if c.present:
            completeness.add_row(
                c.source, c.kind, c.attribute, f"{c.present:,}", f"{c.records:,}", _pct(c.rate)
            )

    validity = Table("source", "check", "pass", "warn", "fail", "fail rate", title="validity")
    for v in report.validity:
        validity.add_row(
            v.source,
            v.check,
            f"{v.passed:,}",
            f"{v.warned:,}",
            f"{v.failed:,}",
            _pct(v.rate(v.failed)),
        )

    duplicates = Table(
        "source",
        "records",
        "customers",
        "records per customer",
        "duplicate rate",
        title="duplicates",
    )
    for d in report.duplicates:
        duplicates.add_row(
            "all sources" if d.source == "*" else d.source,
            f"{d.records:,}",
            f"{d.customers:,}",
            f"{d.records_per_customer:.2f}",
            _pct(d.duplicate_rate),
        )

    freshness = Table(
        "source",
        "records",
        "last run",
        "last success",
        "hours since",
        "median age (days)",
        title="freshness",
    )
    for f in report.freshness:
        since = f.hours_since_success(report.generated_at)
        freshness.add_row(
            f.source,
            f"{f.records:,}",
            f"{f.last_run_status or '-'} {shown_time(f.last_run_at)}" if f.last_run_at else "never",
            shown_time(f.last_success_at, missing="never"),
            f"{since:.1f}" if since is not None else "-",
            f"{f.median_record_age_days:.1f}" if f.median_record_age_days is not None else "-",
        )
        if len(f.streams) > 1:  # a stream of its own age under its source
            for s in f.streams:
                freshness.add_row(
                    f"  └ {s.stream}",
                    f"{s.records:,}",
                    "",
                    "",
                    "",
                    f"{s.median_record_age_days:.1f}"
                    if s.median_record_age_days is not None
                    else "-",
                )

    reasons = Table(
        "refused", "source", "field", "reason", "count", title="quarantine and refused values"
    )
    for r in report.reasons:
        reasons.add_row(
            "record" if r.scope == "record" else "value",
            r.source,
            r.field,
            r.reason,
            f"{r.count:,}",
        )

    conflicts = Table("attribute", "customers", "conflicting", "rate", title="conflicts")
    for k in report.conflicts:
        conflicts.add_row(k.attribute, f"{k.customers:,}", f"{k.conflicting:,}", _pct(k.rate))
    return [summary, completeness, validity, duplicates, freshness, reasons, conflicts]


def quality(
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """The data-quality report: completeness, validity, duplicates, freshness,
    quarantine reasons and conflicts, per source and attribute (aggregates only)."""
    engine = open_engine()
    with engine.connect() as conn:
        report = quality_report(conn)
    if as_json:
        typer.echo(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode())
        return
    for table in _tables(report):
        console.print(table)


@quarantine_app.command("list")
def list_command(
    source: Annotated[str | None, typer.Option(help="only this source")] = None,
    field: Annotated[
        str | None, typer.Option(help="only records whose reasons name this field")
    ] = None,
    values: Annotated[
        bool, typer.Option("--values", help="also accepted records with a refused value")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    after: Annotated[int, typer.Option(min=0, help="records after this id (paging)")] = 0,
) -> None:
    """Quarantined records (and, with --values, records with refused values): ids and fields."""
    engine = open_engine()
    with engine.connect() as conn:
        entries = list_quarantine(
            conn,
            source=source,
            field_name=field,
            include_refused_values=values,
            limit=limit,
            after=after,
        )
    table = Table("record", "source", "stream", "external id", "kind", "status", "fields", "stored")
    for e in entries:
        table.add_row(
            str(e.record_id),
            e.source,
            e.stream,
            e.external_id,
            e.kind,
            e.status,
            ", ".join(e.fields),
            shown_time(e.stored_at),
        )
    console.print(table)
    console.print(f"{len(entries)} shown; `c360 quarantine show RECORD` for the reasons")


@quarantine_app.command("show")
def show_command(
    record_id: Annotated[int, typer.Argument(help="the source record id (from `list`)")],
    clear: Annotated[
        bool,
        typer.Option("--clear", help="print refused values unmasked (needs --purpose; audited)"),
    ] = False,
    purpose: Annotated[
        str | None,
        typer.Option(help="why you read the values in clear (e.g. identity_verification)"),
    ] = None,
) -> None:
    """One record's reasons and refused values (masked unless --clear)."""
    if clear and purpose is None:
        raise fail(
            "--clear: say why you read the values as sent with --purpose (a catalogue "
            "code, e.g. identity_verification)"
        )
    declared = purpose_option(purpose) if purpose is not None else None
    engine = open_engine()
    with user_errors(), engine.connect() as conn:
        detail = quarantine_detail(conn, record_id)
        customer_id = customer_of_record(conn, record_id) if clear else None
    e = detail.entry
    if clear and detail.refused and declared is not None:
        # A record linked to a customer is that customer's data: their consent or
        # a legal basis must cover the purpose. One refused whole belongs to
        # nobody yet; the purpose is still put on record.
        if customer_id is not None:
            require_coverage(engine, customer_id, declared, command="quarantine show")
        audit_command(
            engine,
            action="quarantine.show",
            purpose=declared,
            customer_id=customer_id,
            fields=sorted({r.field for r in detail.refused}),
            detail={"record_id": record_id, "source": e.source},
        )
    console.print(
        f"record {e.record_id} · {e.source}/{e.stream} · {e.external_id} · {e.kind} · "
        f"{e.status} · stored {shown_time(e.stored_at)} (first seen "
        f"{shown_time(detail.first_seen_at)})",
        highlight=False,
    )
    if detail.reasons:
        table = Table("field", "why the record was quarantined", title="quarantined whole")
        for name, reason in sorted(detail.reasons.items()):
            table.add_row(name, reason)
        console.print(table)
    if detail.refused:
        table = Table(
            "field",
            "value" if clear else "value (masked)",
            "why it was refused",
            title="refused values",
        )
        for r in detail.refused:
            table.add_row(r.field, r.value if clear else mask_value(r.field, r.value), r.reason)
        console.print(table)
    if detail.warnings:
        table = Table("field", "warning", title="accepted with a warning")
        for name, note in sorted(detail.warnings.items()):
            table.add_row(name, note)
        console.print(table)


@quarantine_app.command("retry")
def retry_command(
    record_ids: Annotated[list[int] | None, typer.Argument(help="source record ids")] = None,
    source: Annotated[
        str | None, typer.Option(help="every quarantined record of this source")
    ] = None,
) -> None:
    """Re-validate records and land them under today's rules (accepted ones are
    linked and profiled at once)."""
    if not record_ids and not source:
        raise fail("name record ids, or --source for every quarantined record of a source")
    engine = open_engine()
    with user_errors(), engine.begin() as conn:
        ids = list(record_ids or ()) + (quarantined_ids(conn, source) if source else [])
        outcomes = retry(conn, ids)
    audit_command(
        engine,
        action="quarantine.retry",
        detail={"records": ",".join(str(i) for i in ids)[:1000], "count": str(len(ids))},
    )
    table = Table("record", "before", "after", "still refused", "reasons")
    for o in outcomes:
        table.add_row(
            str(o.record_id),
            o.before,
            o.after,
            ", ".join(o.refused) or "-",
            "; ".join(f"{k}: {v}" for k, v in sorted(o.reasons.items())) or "-",
        )
    console.print(table)
    accepted = sum(o.after == "accepted" for o in outcomes)
    console.print(f"{len(outcomes)} retried: {accepted} accepted, {len(outcomes) - accepted} not")


def register(app: typer.Typer) -> None:
    """``c360 quality`` and ``c360 quarantine``."""
    app.command()(quality)
    app.add_typer(quarantine_app, name="quarantine")
