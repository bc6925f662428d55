"""``c360 demo``: generate the demo world's exports, register and sync its seven
sources (four files, three HTTP stand-ins), evaluate, summarise and serve."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from c360.cli.serve import ensure_usable_index, serve_app
from c360.cli.support import console, open_engine, source_errors
from c360.cli.sync import report_table, sync_sources
from c360.connectors.offline.roots import allow_import_root
from c360.demo.cases import case_figures, prepare_cases
from c360.demo.evaluation import score_links
from c360.demo.generate import generate_demo_data, load_truth
from c360.demo.risk import credit_figures, prepare_credit
from c360.demo.staff import create_demo_accounts
from c360.demo.standins import start_standins
from c360.demo.summary import database_summary
from c360.demo.value import prepare_value, value_figures
from c360.demo.verification import bureau_checks, prepare_verification, verification_figures
from c360.platform.settings import get_settings
from c360.platform.sources import save_source
from c360.search.indexer import Indexer
from c360.search.settings import open_backend


def demo(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="where to write the demo files (default: <data dir>/imports/demo, inside the "
            "import roots, so `c360 sync store_pos` works later too)",
        ),
    ] = None,
    people: Annotated[int, typer.Option(min=10, max=2_000_000)] = 10_000,
    companies: Annotated[int, typer.Option(min=1, max=200_000)] = 1_000,
    seed: Annotated[int, typer.Option(help="same seed, same data")] = 360,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="serve when done")] = True,
    evaluate: Annotated[
        bool, typer.Option(help="score resolution against the ground truth")
    ] = False,
) -> None:
    """Generate a realistic demo data set, sync it from seven sources, and serve it."""
    settings = get_settings()
    with source_errors():
        engine = open_engine()
        run_demo(
            engine,
            console,
            directory or settings.data_dir / "imports" / "demo",
            people=people,
            companies=companies,
            seed=seed,
            evaluate=evaluate,
        )
    console.print(
        f"staff workspace: http://{settings.host}:{settings.port}/ (sign in as a demo account)"
    )
    if serve_after:
        serve_app(engine, settings.host, settings.port)


def run_demo(
    engine: Engine,
    out: Console,
    directory: Path,
    *,
    people: int,
    companies: int,
    seed: int,
    evaluate: bool,
) -> None:
    """Generate the demo exports, register them as sources, sync them and summarise."""
    started = time.perf_counter()
    dataset = generate_demo_data(directory, people=people, companies=companies, seed=seed)
    allow_import_root(dataset.directory)  # the operator named it: its files may be read
    out.print(
        f"generated {people:,} people and {companies:,} companies into {dataset.directory}/ "
        f"in {time.perf_counter() - started:.1f}s"
    )
    for src in dataset.sources:
        save_source(engine, src.name, src.connector, src.config, trust=src.trust)
    reports = sync_sources(engine, [src.name for src in dataset.sources])
    # The same world over HTTP: a web shop API, a social platform and a credit
    # bureau, played by local stand-ins for the length of the sync.
    with start_standins(seed=seed, people=people, companies=companies) as standins:
        remote = standins.sources()
        for src in remote:
            save_source(engine, src.name, src.connector, src.config, trust=src.trust)
        reports += sync_sources(engine, [src.name for src in remote])
        for line in bureau_checks(engine, standins):  # listings for the authenticity flags
            out.print(line)
    out.print(report_table(reports))

    for line in prepare_credit(engine, seed):  # scored by the indexer's judgments below
        out.print(line)
    for line in prepare_cases(engine, seed):
        out.print(line)
    for line in prepare_verification(engine, seed):  # judged by the indexer below
        out.print(line)
    for line in prepare_value(engine):  # scored by the indexer's judgments below
        out.print(line)

    backend = open_backend()
    try:
        ensure_usable_index(engine, backend)
        indexed = Indexer(engine, backend).drain()
    finally:
        backend.close()
    out.print(
        f"search index: {indexed.upserts:,} customers indexed, {indexed.deletes:,} removed "
        f"in {indexed.seconds:.1f}s"
    )
    summary = database_summary(engine)
    table = Table("customer graph", "count", title=None)
    for label, value in summary.items():
        table.add_row(label, f"{value:,}")
    out.print(table)
    for line in credit_figures(engine):
        out.print(line)
    for line in case_figures(engine):
        out.print(line)
    for line in verification_figures(engine):
        out.print(line)
    for line in value_figures(engine):
        out.print(line)
    if evaluate:
        truth = load_truth(dataset.truth_path)
        for label, accepted_only in (("all records", False), ("accepted records", True)):
            score = score_links(engine, truth, accepted_only=accepted_only)
            out.print(
                f"resolution vs ground truth ({label}): precision={score.precision:.4f} "
                f"recall={score.recall:.4f} f1={score.f1:.4f} records={score.records} "
                f"true_pairs={score.true_pairs} predicted_pairs={score.predicted_pairs}"
            )
    out.print(f"demo synced in {time.perf_counter() - started:.1f}s")

    accounts = Table("staff account", "role", "region", "password (shown once)")
    for name, role, region, password in create_demo_accounts(engine):
        accounts.add_row(name, role, region or "-", password or "(made earlier)")
    out.print(accounts)


def register(app: typer.Typer) -> None:
    """``c360 demo``."""
    app.command()(demo)
