"""``c360 report CUSTOMER_ID --format pdf|html --purpose P [--out FILE]``: a
customer's background-check report (背调报告) from the command line.

The command reads as a role (``--role``, default ``compliance``; ``--region``
for a region-limited role) through the same policy, masks and audit log as
the API (:func:`c360.schema.report_http.produce_report`): the operator running
it is named on the audit log as ``cli:<os user>`` with the purpose declared.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from c360.auth.principal import READ_SCOPE, ROLES, Principal
from c360.cli.support import console, fail, open_engine
from c360.platform.audit import cli_principal
from c360.schema.report_http import FORMATS, ReportInputError, produce_report
from c360.schema.report_model import ReportNotFound, ReportRefused
from c360.schema.report_render import FontMissing


def report(
    customer_id: Annotated[int, typer.Argument(help="the customer (any id ever handed out)")],
    purpose: Annotated[
        str,
        typer.Option(help="why it is read: a purpose of the catalogue (e.g. risk_control)"),
    ],
    fmt: Annotated[str, typer.Option("--format", help="pdf or html")] = "html",
    out: Annotated[
        Path | None, typer.Option("--out", help="write here (default: background-report-ID.FMT)")
    ] = None,
    role: Annotated[
        str, typer.Option(help=f"read as this role: {', '.join(ROLES)}")
    ] = "compliance",
    region: Annotated[
        list[str] | None, typer.Option(help="the region(s) of a region-limited role")
    ] = None,
) -> None:
    """A customer's background-check report, masked as the role's policy says and audited."""
    if role not in ROLES:
        raise fail(f"--role: {role!r} is not one of {', '.join(ROLES)}")
    if fmt.strip().lower() not in FORMATS:
        raise fail(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    principal = Principal(
        subject=cli_principal(),
        roles=frozenset({role}),
        scopes=frozenset({READ_SCOPE}),
        regions=frozenset(region or ()),
        client_id="c360-cli",
    )
    engine = open_engine()
    try:
        produced = produce_report(
            engine, principal, customer_id, purpose=purpose, fmt=fmt, detail={"via": "cli"}
        )
    except (ReportInputError, ReportNotFound, FontMissing) as exc:
        raise fail(str(exc)) from None
    except ReportRefused as exc:
        raise fail(f"refused: {exc.reason}") from None
    if out is not None and str(out) == "-":
        sys.stdout.buffer.write(produced.body)
        return
    target = out or Path(produced.filename)
    try:
        target.write_bytes(produced.body)
    except OSError as exc:
        raise fail(f"--out: cannot write {target}: {exc.strerror}") from None
    console.print(f"wrote {target} ({len(produced.body):,} bytes, {produced.media_type})")


def register(app: typer.Typer) -> None:
    """``c360 report``."""
    app.command()(report)
