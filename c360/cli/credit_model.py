"""``c360 credit train|models|show|activate|score|decide|override|stability`` and
``c360 alerts``: the business's own scorecard from the command line.

Scores, decisions and alerts are credit data, the most sensitive slice: the
commands that print them for a customer take ``--purpose`` and put the read on
the audit log. ``c360 enrich`` / ``c360 consents`` (bureau lookups) live with the
credit connector; this group is the evaluation built on them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from c360.cli.support import console, open_engine, shown_time, user_errors
from c360.platform.audit import AuditEntry, InvalidPurpose, append, clean_purpose, cli_principal
from c360.platform.risk import alerts as alert_store
from c360.platform.risk.decisions import PolicyError, decisions_of, load_policy, override
from c360.platform.risk.judgment import (
    current_score,
    decide,
    reasons,
    refresh_credit,
    score_all,
)
from c360.platform.risk.model_store import activate, list_models, load_model
from c360.platform.risk.scorecard import ModelRefused, Scaling
from c360.platform.risk.stability import stability_report
from c360.platform.risk.training import train_from_outcomes

credit_app = typer.Typer(
    help="Credit evaluation (信用评估): scorecard models, scores, decisions.",
    no_args_is_help=True,
)
alerts_app = typer.Typer(help="Credit alerts (风险预警): list and acknowledge.")
ERRORS = (ModelRefused, PolicyError, InvalidPurpose)

PurposeOption = Annotated[
    str, typer.Option(help="why you read this customer's credit data (e.g. credit_assessment)")
]


@credit_app.command("train")
def train_command(
    activate_it: Annotated[
        bool, typer.Option("--activate", help="put the new model in force at once")
    ] = False,
    base_score: Annotated[float, typer.Option(help="points at the base odds")] = 600.0,
    base_odds: Annotated[float, typer.Option(help="good:bad odds at the base score")] = 50.0,
    pdo: Annotated[float, typer.Option(help="points to double the odds")] = 20.0,
    min_auc: Annotated[
        float, typer.Option(help="refuse a model whose cross-validated AUC is below this")
    ] = 0.60,
    note: Annotated[str, typer.Option(help="why this model was trained")] = "",
) -> None:
    """Train a scorecard on the customers' repayment outcomes (stored as a candidate;
    ``--activate`` puts it in force). A model near AUC 0.5 is refused, not stored."""
    with user_errors(*ERRORS):
        version, validation, replaced = train_from_outcomes(
            open_engine(),
            actor=cli_principal(),
            scaling=Scaling(base_score, base_odds, pdo),
            activate_it=activate_it,
            note=note,
            min_auc=min_auc,
        )
    state = "active" if activate_it else "candidate (c360 credit activate to use it)"
    console.print(
        f"credit model v{version}: auc={validation.auc:.4f} auc_std={validation.auc_std:.4f} "
        f"ks={validation.ks:.4f} gini={validation.gini:.4f} ({validation.folds}-fold), {state}"
        + (f", replaces v{replaced}" if replaced else "")
    )


@credit_app.command("models")
def models_command() -> None:
    """Every model version, newest first."""
    with open_engine().connect() as conn:
        rows = list_models(conn)
    table = Table("version", "status", "auc", "ks", "samples", "defaults", "created", "activated")
    for r in rows:
        table.add_row(
            str(r["version"]),
            r["status"],
            f"{r['auc']:.3f} ± {r['auc_std']:.3f}",
            f"{r['ks']:.3f}",
            str(r["samples"]),
            str(r["defaults"]),
            shown_time(r["created_at"], r["created_by"]),
            shown_time(r["activated_at"], r["activated_by"]),
        )
    console.print(table)


@credit_app.command("show")
def show_command(
    version: Annotated[
        int | None, typer.Option(help="a version (default: the one in force)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the whole model as JSON")] = False,
) -> None:
    """A model: scaling, grade cut-offs, validation, and every feature's bins and points."""
    with open_engine().connect() as conn:
        model = load_model(conn, version)
    with user_errors():
        if model is None:
            raise LookupError(
                f"no credit model version {version}" if version else "no credit model is active"
            )
    spec = model["spec"]
    if as_json:
        console.print_json(json.dumps({**model, "spec": spec}, default=str))
        return
    scaling = spec["scaling"]
    console.print(
        f"credit model v{model['version']} ({model['status']}), trained "
        f"{shown_time(model['created_at'], model['created_by'])} on "
        f"{model['samples']} customers ({model['defaults']} defaults): auc={model['auc']:.4f} "
        f"± {model['auc_std']:.4f} ks={model['ks']:.4f} gini={model['gini']:.4f}"
    )
    console.print(
        f"scaling: {scaling['base_score']:g} points at odds {scaling['base_odds']:g}:1, "
        f"{scaling['pdo']:g} points to double; grades: "
        + ", ".join(f"{g} ≥ {c:g}" for g, c in spec["grade_cuts"].items())
        + ", E below"
    )
    factor = Scaling(**scaling).factor
    table = Table("feature", "coefficient", "bin", "customers", "default rate", "WoE", "points")
    for entry in spec["features"]:
        for i, label in enumerate(entry["bins"]):
            if entry["counts"][i] == 0 and label in ("Special", "Missing"):
                continue
            points = -factor * entry["coef"] * entry["woe"][i]
            table.add_row(
                entry["name"] if i == 0 else "",
                f"{entry['coef']:.3f}" if i == 0 else "",
                label,
                str(entry["counts"][i]),
                f"{entry['event_rates'][i]:.1%}",
                f"{entry['woe'][i]:+.3f}",
                f"{points:+.1f}",
            )
    console.print(table)


@credit_app.command("activate")
def activate_command(version: int) -> None:
    """Put a model version in force (the one before is retired; on the audit log)."""
    with user_errors(), open_engine().begin() as conn:
        replaced = activate(conn, version, actor=cli_principal())
    console.print(
        f"credit model v{version} is active" + (f" (replaces v{replaced})" if replaced else "")
    )


def _audit_read(conn: Any, customer_id: int, purpose: str, fields: list[str]) -> None:
    append(
        conn,
        [
            AuditEntry(
                principal=cli_principal(),
                action="credit.read",
                purpose=purpose,
                customer_id=customer_id,
                fields=fields,
            )
        ],
    )


@credit_app.command("score")
def score_command(
    customer_id: Annotated[int | None, typer.Argument(help="the customer")] = None,
    purpose: PurposeOption = "credit_assessment",
    all_customers: Annotated[bool, typer.Option("--all", help="rescore every customer")] = False,
) -> None:
    """A customer's score, grade, PD and reason codes (recomputed now); ``--all``
    rescores everyone."""
    engine = open_engine()
    if all_customers:
        n = score_all(engine)
        console.print(f"{n:,} customers scored")
        return
    with user_errors(*ERRORS):
        if customer_id is None:
            raise ValueError("CUSTOMER_ID: name a customer, or pass --all")
        purpose = clean_purpose(purpose)
        with engine.begin() as conn:
            refresh_credit(conn, [customer_id])
            score = current_score(conn, customer_id)
            if score is None:
                raise LookupError(f"no customer with id {customer_id} (or it was merged)")
            _audit_read(conn, customer_id, purpose, ["credit_score", "credit_grade"])
    if score["status"] != "scored":
        console.print(f"customer {customer_id}: not scored (no credit model is active)")
        return
    console.print(
        f"customer {customer_id}: {score['points']:.1f} points, grade {score['grade']}, "
        f"PD {score['pd']:.2%} (model v{score['model_version']})"
    )
    table = Table("reason", "points")
    table.add_row("base (a customer average on every factor)", f"{score['base_points']:.1f}")
    for f in score["factors"]:
        table.add_row(f["text"].rsplit(" (", 1)[0], f"{f['points']:+.1f}")
    console.print(table)
    shown = reasons(score["factors"])
    if shown:
        console.print("reason codes: " + "; ".join(f["text"] for f in shown))


def _decision_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(
        "id", "kind", "model", "grade", "limit", "terms", "measures", "review", "by", "reason"
    )
    for d in rows:
        table.add_row(
            str(d["id"]),
            d["kind"],
            f"v{d['model_version']}" if d["model_version"] else "-",
            d["grade"] or "-",
            f"{d['credit_limit']:,.0f}",
            f"{d['terms_days']} days",
            "; ".join(d["measures"]) or "-",
            "yes" if d["manual_review"] else "no",
            shown_time(d["decided_at"], d["decided_by"]),
            d["reason"] or "-",
        )
    return table


@credit_app.command("decide")
def decide_command(
    customer_id: int,
    purpose: PurposeOption = "credit_assessment",
    exposure: Annotated[
        float | None, typer.Option(help="exposure to decide on (default: invoiced − paid)")
    ] = None,
    policy: Annotated[
        Path | None, typer.Option(help="a policy table (JSON; default: the shipped one)")
    ] = None,
) -> None:
    """Score the customer and record the policy table's recommendation."""
    with user_errors(*ERRORS):
        purpose = clean_purpose(purpose)
        table = load_policy(policy)
        with open_engine().begin() as conn:
            decide(conn, customer_id, actor=cli_principal(), policy=table, exposure=exposure)
            rows = decisions_of(conn, customer_id)
            _audit_read(conn, customer_id, purpose, ["credit_limit", "credit_grade"])
    console.print(_decision_table(rows[:5]))


@credit_app.command("override")
def override_command(
    customer_id: int,
    reason: Annotated[str, typer.Option(help="why (kept with the decision)")],
    limit: Annotated[float | None, typer.Option(help="the credit limit to grant")] = None,
    terms: Annotated[int | None, typer.Option(help="payment terms in days")] = None,
    measure: Annotated[
        list[str] | None, typer.Option(help="a required measure (repeat; replaces the list)")
    ] = None,
    purpose: PurposeOption = "credit_assessment",
) -> None:
    """Override the customer's current decision, with a reason."""
    with user_errors(*ERRORS):
        purpose = clean_purpose(purpose)
        with open_engine().begin() as conn:
            override(
                conn,
                customer_id,
                credit_limit=limit,
                terms_days=terms,
                measures=measure,
                reason=reason,
                actor=cli_principal(),
                purpose=purpose,
            )
            rows = decisions_of(conn, customer_id)
    console.print(_decision_table(rows[:5]))


@credit_app.command("stability")
def stability_command() -> None:
    """PSI of the score and of each feature: training sample vs today's customers."""
    with open_engine().connect() as conn:
        model = load_model(conn)
        with user_errors():
            if model is None:
                raise LookupError("no credit model is active")
        report = stability_report(conn, model)
    table = Table("what", "psi", "verdict", "customers")
    for s in report:
        table.add_row(s.name, f"{s.psi:.4f}", s.verdict, str(s.customers))
    console.print(table)
    warned = [s.name for s in report if s.verdict == "warning"]
    if warned:
        console.print(f"[yellow]warning:[/yellow] PSI above 0.25 for {', '.join(warned)}")


@alerts_app.callback(invoke_without_command=True)
def alerts_list(
    ctx: typer.Context,
    all_alerts: Annotated[bool, typer.Option("--all", help="acknowledged ones too")] = False,
    customer: Annotated[int | None, typer.Option(help="one customer's")] = None,
    kind: Annotated[str | None, typer.Option(help=", ".join(alert_store.ALERT_KINDS))] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
) -> None:
    """Credit alerts, newest first (open ones unless ``--all``)."""
    if ctx.invoked_subcommand is not None:
        return
    with user_errors(), open_engine().connect() as conn:
        rows = alert_store.list_alerts(
            conn, open_only=not all_alerts, customer_id=customer, kind=kind, limit=limit
        )
    table = Table("id", "customer", "kind", "severity", "message", "raised", "acknowledged")
    for a in rows:
        table.add_row(
            str(a["id"]),
            str(a["customer_id"]),
            a["kind"],
            a["severity"],
            a["message"],
            shown_time(a["raised_at"]),
            shown_time(a["acknowledged_at"], a["acknowledged_by"]),
        )
    console.print(table)


@alerts_app.command("ack")
def alerts_ack(
    alert_id: int,
    note: Annotated[str, typer.Option(help="what was done about it")] = "",
    purpose: PurposeOption = "risk_control",
) -> None:
    """Acknowledge an alert (once)."""
    with user_errors(*ERRORS):
        purpose = clean_purpose(purpose)
        with open_engine().begin() as conn:
            alert_store.acknowledge(
                conn, alert_id, actor=cli_principal(), note=note, purpose=purpose
            )
    console.print(f"alert {alert_id} acknowledged")


def register(app: typer.Typer) -> None:
    """Add ``credit`` and ``alerts`` to ``app`` (the ``c360`` command)."""
    app.add_typer(credit_app, name="credit")
    app.add_typer(alerts_app, name="alerts")
