"""Identity-resolution commands: ``resolve``, ``explain``, ``merge``, ``split``.

A typer app of its own; ``register`` mounts it without a name, which puts the
commands at the top level: ``c360 resolve --rebuild``, ``c360 explain 42``...
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from c360.cli.reading import require_coverage
from c360.cli.support import audit_command, console, err_console, fail, open_engine
from c360.demo.evaluation import score_links
from c360.platform.audit import (
    AuditUnavailable,
    InvalidPurpose,
    clean_purpose,
)
from c360.platform.backlog import backlog_size, failed_records, resolve_backlog
from c360.platform.customers.ids import UnknownCustomerError
from c360.platform.customers.relationships import related_customers
from c360.platform.matching import rebuild as batch
from c360.platform.matching.explain import explain_customer
from c360.platform.matching.guard import TrainingVerdict
from c360.platform.matching.settings import MatchSettings
from c360.platform.matching.store import load_model
from c360.platform.matching.truth import TruthFileError, match_truth, read_truth
from c360.platform.secret_keys import SecretKeyError
from c360.platform.settings import get_settings
from c360.platform.stewardship import Actor, CurationError
from c360.platform.stewardship import merge as merge_customers
from c360.platform.stewardship import split as split_record
from c360.platform.stewardship import unmerge as unmerge_customer

resolution_app = typer.Typer(
    help="Identity resolution: train, rebuild, explain, merge, split, unmerge."
)


def _settings(path: Path | None) -> MatchSettings | None:
    if path is None:
        return None
    try:
        return MatchSettings.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(f"--settings {path}: {exc.strerror}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise fail(f"--settings {path}: {where}: {first['msg']}") from None


@resolution_app.command()
def resolve(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="re-resolve every record (keeps ids and constraints)")
    ] = False,
    train: Annotated[
        bool, typer.Option("--train/--no-train", help="learn a new model version first")
    ] = True,
    settings: Annotated[
        Path | None, typer.Option(help="match settings JSON (default: those in force)")
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed for training")] = 0,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="store the trained model even if the training guard refuses it"
        ),
    ] = False,
    show: Annotated[bool, typer.Option("--show", help="print the model in force and stop")] = False,
    backlog: Annotated[
        bool,
        typer.Option(
            "--backlog", help="resolve the records syncs have landed but not linked yet, and stop"
        ),
    ] = False,
    evaluate: Annotated[
        Path | None,
        typer.Option(
            "--evaluate",
            help="score the links against a truth CSV (external_id, entity_id[, source, "
            "stream]) and stop",
        ),
    ] = None,
) -> None:
    """Train the match model on the data (no labels); --rebuild re-resolves everything.

    Without --rebuild, links made from now on use the new model. --backlog resolves
    what `c360 sync --no-resolve` (or an interrupted sync) left waiting. --evaluate
    scores the links in force against your own truth file."""
    if evaluate is not None:
        if rebuild or backlog or show or settings is not None:
            raise fail("--evaluate scores the links in force: it takes no other option")
        _evaluate(open_engine(), evaluate)
        return

    if backlog and (rebuild or show or settings is not None):
        raise fail(
            "--backlog resolves with the model in force: "
            "it takes no --rebuild, --show or --settings"
        )
    engine = open_engine()
    chosen = _settings(settings)
    if backlog:
        _resolve_backlog(engine)
        return
    if show:
        with engine.connect() as conn:
            model = load_model(conn)
        _print_model(model.describe(), model.version)
        return
    if rebuild:
        report = batch.rebuild(engine, retrain=train, settings=chosen, seed=seed, force=force)
        if report.training_verdict is not None:
            _print_verdict(report.training_verdict, force)
        console.print(
            (f"{report.backlog:,} landed records were waiting; " if report.backlog else "")
            + f"rebuilt {report.records:,} records with model v{report.model_version} in "
            f"{report.seconds:.1f}s: customers {report.customers_before:,} -> "
            f"{report.customers_after:,}, ids kept {report.kept_ids:,}, "
            f"new {report.new_customers:,}, merges {report.merges:,}"
        )
        return
    if not train:
        raise fail("nothing to do: pass --rebuild, or train (the default)")
    outcome = batch.train(engine, chosen, seed=seed, force=force)
    _print_verdict(outcome.verdict, force)
    if not outcome.stored:
        raise typer.Exit(1)
    trained = outcome.model
    console.print(
        f"trained model v{trained.version} ({trained.settings.name}) on "
        + ", ".join(f"{n:,} {k} records" for k, n in sorted(trained.population_by_kind.items()))
        + "; run `c360 resolve --rebuild --no-train` to re-resolve existing records with it"
    )
    _print_model(trained.describe(), trained.version)


def _print_verdict(verdict: TrainingVerdict, force: bool) -> None:
    if verdict.accepted:
        console.print(f"training guard: accepted ({verdict.reason})", highlight=False)
    elif force:
        err_console.print(f"training guard: refused, stored anyway (--force): {verdict.reason}")
    else:
        err_console.print(
            f"[red]training guard: refused[/red]: {verdict.reason}; the model in force stays "
            "(--force stores it anyway)",
            highlight=False,
        )


def _resolve_backlog(engine: Engine) -> None:

    waiting = backlog_size(engine)
    with Progress(console=console, disable=not sys.stdout.isatty(), transient=True) as bar:
        task = bar.add_task("resolving", total=waiting)
        report = resolve_backlog(
            engine,
            batch_size=get_settings().batch_size,
            retry_failed=True,
            progress=lambda done, left: bar.update(task, completed=done, total=done + left),
        )
    console.print(
        f"resolved {report.resolved:,} landed records in {report.seconds:.1f}s"
        + (f" ({', '.join(report.sources)})" if report.sources else "")
        + (f"; {report.orphans_attached:,} events attached" if report.orphans_attached else "")
    )
    if report.failed:
        table = Table("record", "source", "stream", "external id", "error")
        for failed in failed_records(engine, limit=20):
            table.add_row(
                str(failed.record_id),
                failed.source_name,
                failed.stream,
                failed.external_id,
                failed.error[:200],
            )
        err_console.print(
            f"[red]{report.failed:,} records could not be resolved[/red]; they stay set "
            "aside until this command tries them again (or a sync brings a new version):",
            highlight=False,
        )
        err_console.print(table)
        raise typer.Exit(1)


def _print_model(rows: list[dict[str, object]], version: int | None) -> None:
    title = f"model v{version}" if version is not None else "built-in defaults (untrained)"
    table = Table("comparison", "level", "m", "u", "weight (bits)", title=title)
    for row in rows:
        table.add_row(
            str(row["comparison"]),
            str(row["level"]) + (" (tf)" if row["term_frequency"] else ""),
            f"{row['m']:.4g}",
            f"{row['u']:.4g}",
            f"{row['weight']:+.2f}",
        )
    console.print(table)


def _purpose(value: str) -> str:
    try:
        return clean_purpose(value)
    except InvalidPurpose as exc:
        raise typer.BadParameter(str(exc)) from None


@resolution_app.command()
def explain(
    customer_id: int,
    purpose: Annotated[
        str,
        typer.Option(
            help="why you read this customer's records (required: the values compared "
            "are shown in clear, and the read goes on the audit log)",
            callback=_purpose,
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Why a customer's records are one customer, and how it relates to others.

    The compared values are personal data shown in clear: the read is put on the
    audit log (as cli:<your user name>, with --purpose) before anything is printed."""
    engine = open_engine()
    try:
        explanation = explain_customer(engine, customer_id)
        edges = related_customers(engine, customer_id)
    except UnknownCustomerError as exc:
        raise fail(str(exc)) from None
    require_coverage(engine, explanation.customer_id, purpose, command="explain")
    compared = {
        c.comparison
        for link in explanation.links
        for c in link.comparisons
        if any(v is not None for v in c.values)
    }
    try:
        audit_command(
            engine,
            action="read",
            purpose=purpose,
            customer_id=explanation.customer_id,
            fields=sorted(compared | ({"relationships"} if edges else set())),
            detail={"command": "explain", "records": len(explanation.links)},
        )
    except (AuditUnavailable, SecretKeyError, SQLAlchemyError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise fail(
            f"the read could not be put on the audit log, so nothing is shown: {reason}"
        ) from None
    if as_json:
        typer.echo(
            json.dumps(
                {"explanation": asdict(explanation), "related": [asdict(e) for e in edges]},
                ensure_ascii=False,
                indent=2,
                default=str,
            )
        )
        return
    head = f"customer {explanation.customer_id}"
    if explanation.requested_id != explanation.customer_id:
        head += f" (asked for {explanation.requested_id}, merged into it)"
    if explanation.merged_ids:
        head += f"; absorbed {', '.join(map(str, explanation.merged_ids))}"
    console.print(head, highlight=False)
    for link in explanation.links:
        where = f"{link.source}/{link.stream}/{link.external_id} (record {link.record_id})"
        console.print(
            f"  {where}: {link.method}"
            + (f" p={link.probability:.4f}" if link.method == "probabilistic" else "")
            + (f" ← record {link.matched_record_id}" if link.matched_record_id else ""),
            highlight=False,
        )
        if link.comparisons:
            console.print(f"      prior {link.prior_weight:+.2f} bits", highlight=False)
            for c in link.comparisons:
                tf = f" (tf {c.tf_adjustment:+.2f})" if c.tf_adjustment else ""
                console.print(
                    f"      {c.comparison:<22} {c.level:<40} {c.weight:+7.2f}{tf}  "
                    f"{c.values[0]!s} | {c.values[1]!s}",
                    highlight=False,
                )
            console.print(
                f"      = {link.match_weight:+.2f} bits, probability {link.probability:.4f}",
                highlight=False,
            )
    for constraint in explanation.constraints:
        console.print(
            f"  constraint {constraint['kind']}: records {constraint['record_id']} and "
            f"{constraint['other_record_id']} by {constraint['decided_by']}",
            highlight=False,
        )
    for item in explanation.flags:
        console.print(f"  flag {item['kind']}: {item['detail']}", highlight=False)
    for e in edges:
        console.print(
            f"  {e.kind} ({e.direction}) customer {e.other_customer_id}: {e.detail}",
            highlight=False,
        )


@resolution_app.command()
def merge(
    first: int,
    second: int,
    by: Annotated[str, typer.Option(help="who decides (for the audit log)")],
    reason: Annotated[str | None, typer.Option(help="why")] = None,
) -> None:
    """Merge two customers for good: the older id survives; later runs keep them one.

    An id merged earlier is followed to the customer it means now."""
    engine = open_engine()
    try:
        survivor = merge_customers(engine, first, second, Actor(subject=by), reason=reason)
    except CurationError as exc:
        raise fail(str(exc)) from None
    console.print(f"merged {first} and {second} into customer {survivor}")


@resolution_app.command()
def split(
    record_id: int,
    by: Annotated[str, typer.Option(help="who decides (for the audit log)")],
    reason: Annotated[str | None, typer.Option(help="why")] = None,
) -> None:
    """Move a source record out of its customer; later runs never put it back."""
    engine = open_engine()
    try:
        previous, created = split_record(engine, record_id, Actor(subject=by), reason=reason)
    except CurationError as exc:
        raise fail(str(exc)) from None
    console.print(f"record {record_id} left customer {previous} for new customer {created}")


def _evaluate(engine: Engine, path: Path) -> None:
    """Pairwise precision, recall and F1 of the links against a truth file."""
    try:
        rows = read_truth(path)
    except TruthFileError as exc:
        raise fail(str(exc)) from None
    with engine.connect() as conn:
        truth = match_truth(conn, rows)
    if not truth.entities:
        raise fail(f"{path}: none of its {len(rows):,} rows names a stored record")
    score = score_links(engine, truth.entities)
    console.print(
        f"records={score.records} unlinked={score.unlinked_records} "
        f"unknown={truth.unknown} ambiguous={truth.ambiguous} "
        f"true_pairs={score.true_pairs} predicted_pairs={score.predicted_pairs} "
        f"correct_pairs={score.correct_pairs}",
        highlight=False,
    )
    console.print(
        f"precision={score.precision:.4f} recall={score.recall:.4f} f1={score.f1:.4f}",
        highlight=False,
    )


@resolution_app.command()
def unmerge(
    customer_id: int,
    by: Annotated[str, typer.Option(help="who decides (for the audit log)")],
    reason: Annotated[str | None, typer.Option(help="why")] = None,
) -> None:
    """Undo the merge that absorbed CUSTOMER_ID: the id gets back exactly its
    records, events and profile; later runs keep the two apart."""
    engine = open_engine()
    try:
        previous = unmerge_customer(engine, customer_id, Actor(subject=by), reason=reason)
    except CurationError as exc:
        raise fail(str(exc)) from None
    console.print(f"customer {customer_id} restored from customer {previous}")


def register(app: typer.Typer) -> None:
    """``c360 resolve``, ``explain``, ``merge``, ``split`` and ``unmerge``."""
    app.add_typer(resolution_app)


__all__ = ["register", "resolution_app"]
