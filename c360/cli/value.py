"""``c360 value show|refresh|refit|models|rules|distribution`` and ``c360 segments
create|list|show|refresh|export``: the value judgment and dynamic segments from
the command line.

``value show`` prints one customer's RFM, CLV, tier, stage and value timeline:
value judgments are personal data, so it takes ``--purpose`` and the read goes
on the audit log. ``segments export`` writes a campaign list (CSV or XLSX) of the
members whose marketing consent holds and who are neither suppressed nor
restricted, each cell served as the policy table serves it to ``--role``
(masked or left empty where that role may not read it in clear), and audits the
export with its purpose and the fields it carried.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from c360.auth.policy import Outcome, decide, role_rows
from c360.auth.principal import READ_SCOPE, ROLES, Principal
from c360.cli.support import console, open_engine, user_errors
from c360.platform.audit import AuditEntry, InvalidPurpose, append, clean_purpose, cli_principal
from c360.platform.models import utcnow
from c360.platform.privacy.masking import MASKS
from c360.platform.value.audience import EXPORT_COLUMNS, campaign_audience, export_rows
from c360.platform.value.judgment import refresh_all
from c360.platform.value.model_store import refit
from c360.platform.value.reading import distributions, model_summary, value_of, value_timeline
from c360.platform.value.rules import RuleError, load_rules
from c360.platform.value.segments import (
    SegmentError,
    changes_of,
    create_segment,
    find_segment,
    list_segments,
    members_of,
)
from c360.search.segments import evaluate_all, evaluate_segment
from c360.search.settings import open_backend

value_app = typer.Typer(
    help="Value and lifecycle (价值 · 生命周期): RFM, CLV, tiers, stages.", no_args_is_help=True
)
segments_app = typer.Typer(help="Dynamic segments (细分): saved filters.", no_args_is_help=True)
ERRORS = (SegmentError, RuleError, InvalidPurpose)

PurposeOption = Annotated[str, typer.Option(help="why you read this (a catalogue purpose)")]


def _purpose(text: str) -> str:
    try:
        return clean_purpose(text)
    except InvalidPurpose as error:
        raise InvalidPurpose(f"--purpose: {error}") from error


@value_app.command("show")
def show_command(
    customer_id: Annotated[int, typer.Argument(help="the customer's id")],
    purpose: PurposeOption = "service",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """One customer's value: RFM, CLV, P(alive), next purchase, tier, stage, tags,
    satisfaction, loyalty, and the tier / stage transitions with their reasons."""
    with user_errors(*ERRORS):
        purpose = _purpose(purpose)
        engine = open_engine()
        with engine.begin() as conn:
            value = value_of(conn, customer_id)
            if value is None:
                raise SegmentError(f"customer {customer_id}: no value judgment (not scored yet)")
            timeline = value_timeline(conn, customer_id)
            append(
                conn,
                [
                    AuditEntry(
                        principal=cli_principal(),
                        action="value.read",
                        purpose=purpose,
                        customer_id=customer_id,
                        fields=["value_rfm", "value_clv", "value_satisfaction"],
                    )
                ],
            )
    if as_json:
        console.print_json(
            json.dumps({"value": value, "timeline": timeline}, default=str, ensure_ascii=False)
        )
        return
    table = Table(title=f"customer {customer_id}: value", show_header=False)
    for key in (
        "tier",
        "stage",
        "tags",
        "interests",
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "p_alive",
        "expected_purchases_90d",
        "next_purchase_at",
        "expected_order_value",
        "clv_12m",
        "csat",
        "nps",
        "sentiment",
        "repeat_rate",
        "tenure_days",
        "model_version",
        "rules_version",
    ):
        table.add_row(key, str(value.get(key)))
    for kind in ("tier", "stage"):
        why = (value.get("reasons") or {}).get(kind) or {}
        table.add_row(f"why {kind}", f"{why.get('rule')}: {why.get('reason')}")
    console.print(table)
    changes = Table(title="value timeline")
    for column in ("at", "kind", "from", "to", "reason"):
        changes.add_column(column)
    for row in timeline:
        changes.add_row(
            str(row["at"])[:19],
            row["kind"],
            row["from_value"] or "-",
            row["to_value"],
            row["reason"],
        )
    console.print(changes)


@value_app.command("refresh")
def refresh_command(
    batch: Annotated[int, typer.Option(help="customers per transaction")] = 2000,
) -> None:
    """Rescore every customer under the model and rules in force."""
    with user_errors(*ERRORS):
        count = refresh_all(open_engine(), batch=batch)
    console.print(f"rescored {count} customers")


@value_app.command("refit")
def refit_command(
    rescore: Annotated[bool, typer.Option(help="rescore everyone under the new model")] = True,
) -> None:
    """Fit a new CLV model version on everyone's orders and put it in force."""
    with user_errors(*ERRORS):
        engine = open_engine()
        version = refit(engine, actor=cli_principal())
        with engine.connect() as conn:
            params = model_summary(conn)[0]["params"]
    bg = params.get("bgnbd") or {}
    gg = params.get("gamma_gamma") or {}
    console.print(
        f"value model {version}: buyers={params['buyers']} "
        f"repeat_customers={params['repeat_customers']} "
        + (
            f"r={bg['r']:.3f} alpha={bg['alpha']:.3f} a={bg['a']:.3f} b={bg['b']:.3f} "
            if bg
            else "no BG/NBD fit "
        )
        + (
            f"p={gg['p']:.2f} q={gg['q']:.2f} gamma={gg['gamma']:.2f}"
            if gg
            else "no Gamma-Gamma fit"
        )
    )
    for note in params.get("notes") or ():
        console.print(f"  note: {note}")
    if rescore:
        refresh_command(batch=2000)


@value_app.command("models")
def models_command() -> None:
    """Every CLV model version with its parameters (newest first)."""
    engine = open_engine()
    with engine.connect() as conn:
        models = model_summary(conn)
    table = Table(title="value models")
    for column in ("version", "status", "fitted_at", "customers", "repeat", "bgnbd", "gamma_gamma"):
        table.add_column(column)
    for m in models:
        p = m["params"] or {}
        table.add_row(
            str(m["version"]),
            m["status"],
            str(m["fitted_at"])[:19],
            str(m["customers"]),
            str(m["repeat_customers"]),
            json.dumps(p.get("bgnbd")),
            json.dumps(p.get("gamma_gamma")),
        )
    console.print(table)


@value_app.command("rules")
def rules_command() -> None:
    """Print the value rules in force (tiers, stages, tags) with their version."""
    with user_errors(*ERRORS):
        rules = load_rules()
    console.print_json(json.dumps(rules.document, ensure_ascii=False))


@value_app.command("distribution")
def distribution_command() -> None:
    """How many customers are in each tier and each lifecycle stage."""
    engine = open_engine()
    with engine.connect() as conn:
        found = distributions(conn)
    for name in ("tier", "stage"):
        console.print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in found[name].items()))


@segments_app.command("create")
def create_command(
    name: Annotated[str, typer.Argument(help="the segment's name")],
    filters: Annotated[
        str,
        typer.Option(
            "--filter",
            help='the saved filter as JSON, e.g. \'{"tier": "高价值", "stage": ["成熟"], '
            '"clv_12m": {"min": 500}, "consent": "marketing"}\'',
        ),
    ],
    description: Annotated[str, typer.Option(help="what the segment is for")] = "",
) -> None:
    """Save a segment and evaluate it once."""
    with user_errors(*ERRORS):
        try:
            parsed = json.loads(filters)
        except json.JSONDecodeError as error:
            raise SegmentError(f"--filter: not JSON ({error.msg})") from error
        engine = open_engine()
        with engine.begin() as conn:
            segment_id = create_segment(
                conn, name, parsed, actor=cli_principal(), description=description
            )
            segment = find_segment(conn, segment_id)
        assert segment is not None
        with open_backend() as backend:
            result = evaluate_segment(engine, backend, segment)
    console.print(f"segment {segment_id} {name!r}: {result.members} members")


@segments_app.command("list")
def list_command() -> None:
    """Every segment with its size at the last evaluation."""
    engine = open_engine()
    with engine.connect() as conn:
        segments = list_segments(conn)
    table = Table(title="segments")
    for column in ("id", "name", "members", "evaluated", "filters"):
        table.add_column(column)
    for s in segments:
        table.add_row(
            str(s["id"]),
            s["name"],
            "-" if s["members"] is None else str(s["members"]),
            str(s["evaluated_at"])[:19] if s["evaluated_at"] else "never",
            json.dumps(s["filters"], ensure_ascii=False),
        )
    console.print(table)


@segments_app.command("refresh")
def refresh_segments_command() -> None:
    """Evaluate every segment now, recording who joined and who left."""
    engine = open_engine()
    with open_backend() as backend:
        results = evaluate_all(engine, backend)
    for r in results:
        console.print(f"{r.segment}: {r.members} members (+{r.joined} −{r.left})")


@segments_app.command("show")
def show_segment_command(
    segment: Annotated[str, typer.Argument(help="the segment's name or id")],
    evaluate: Annotated[bool, typer.Option(help="evaluate it now first")] = True,
) -> None:
    """A segment's filter, size now, size over time and its latest membership changes."""
    with user_errors(*ERRORS):
        engine = open_engine()
        with engine.connect() as conn:
            found = find_segment(conn, segment)
        if found is None:
            raise SegmentError(f"segment {segment!r}: no such segment")
        if evaluate:
            with open_backend() as backend:
                evaluate_segment(engine, backend, found)
        with engine.connect() as conn:
            runs = next(s for s in list_segments(conn) if s["id"] == found["id"])["runs"]
            changes = changes_of(conn, int(found["id"]), limit=20)
    console.print(f"segment {found['id']} {found['name']!r}: {found['description']}")
    console.print("filter: " + json.dumps(found["filters"], ensure_ascii=False))
    console.print(
        "members over time: "
        + ", ".join(
            f"{str(r['at'])[:19]} {r['members']} (+{r['joined']} −{r['left']})" for r in runs
        )
    )
    for c in changes:
        console.print(f"  {str(c['at'])[:19]} customer {c['customer_id']} {c['change']}")


def _cell(
    principal: Principal, row: dict[str, Any], column: str, attribute: str, purpose: str
) -> Any:
    value = row.get(column)
    if value is None:
        return ""
    decision = decide(principal, attribute, subject_kind=row["kind"], purpose=purpose)
    if decision.outcome is Outcome.CLEAR:
        return value
    if decision.outcome is Outcome.MASKED and attribute in MASKS:
        return MASKS[attribute](str(value))
    return ""


@segments_app.command("export")
def export_command(
    segment: Annotated[str, typer.Argument(help="the segment's name or id")],
    out: Annotated[Path, typer.Option("--out", help="file to write (.csv or .xlsx)")],
    role: Annotated[str, typer.Option(help=f"the role the export is for ({', '.join(ROLES)})")],
    purpose: PurposeOption = "marketing",
    region: Annotated[
        list[str] | None, typer.Option(help="the branch of a region-limited role (repeatable)")
    ] = None,
) -> None:
    """Write the segment's campaign list: members with a valid marketing consent,
    not suppressed and not restricted, masked as ``--role`` reads them, audited."""
    with user_errors(*ERRORS):
        purpose = _purpose(purpose)
        if role not in ROLES:
            raise SegmentError(f"--role: {role!r} is not one of {', '.join(ROLES)}")
        suffix = out.suffix.lower()
        if suffix not in (".csv", ".xlsx"):
            raise SegmentError(f"--out: {out.name} must end in .csv or .xlsx")
        principal = Principal(
            subject=cli_principal(),
            roles=frozenset({role}),
            scopes=frozenset({READ_SCOPE}),
            regions=frozenset(region or ()),
        )
        engine = open_engine()
        with engine.connect() as conn:
            found = find_segment(conn, segment)
        if found is None:
            raise SegmentError(f"segment {segment!r}: no such segment")
        with open_backend() as backend:
            evaluate_segment(engine, backend, found)
        now = utcnow()
        with engine.connect() as conn:
            members = members_of(conn, int(found["id"]))
        audience = campaign_audience(engine, members, now)
        scope = role_rows(principal, role)
        with engine.connect() as conn:
            rows = [
                r
                for r in export_rows(conn, audience.included)
                if scope.admits(r["province"], r["city"])
            ]
        header = [name for name, _ in EXPORT_COLUMNS]
        cells = [
            [_cell(principal, r, name, attribute, purpose) for name, attribute in EXPORT_COLUMNS]
            for r in rows
        ]
        _write(out, header, cells)
        carried = sorted(
            {a for (n, a) in EXPORT_COLUMNS if any(c[header.index(n)] != "" for c in cells)}
        )
        with engine.begin() as conn:
            append(
                conn,
                [
                    AuditEntry(
                        principal=cli_principal(),
                        action="segment.export",
                        purpose=purpose,
                        fields=carried,
                        detail={
                            "segment_id": int(found["id"]),
                            "role": role,
                            "rows": len(rows),
                            "format": suffix[1:],
                            "excluded": audience.excluded,
                        },
                    )
                ],
            )
    excluded = ", ".join(f"{k} {v}" for k, v in audience.excluded.items())
    console.print(f"wrote {len(rows)} customers to {out} (left out: {excluded})")


def _write(out: Path, header: list[str], cells: list[list[Any]]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        # utf-8 with a BOM: Excel opens Chinese text in it without asking
        with out.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(cells)
        return
    # openpyxl costs every `c360` process a quarter of a second at import
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("segment")
    sheet.append(header)
    for row in cells:
        sheet.append(row)
    book.save(out)


def register(app: typer.Typer) -> None:
    app.add_typer(value_app, name="value")
    app.add_typer(segments_app, name="segments")
