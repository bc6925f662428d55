"""The ``c360`` command line: sources, connectors, sync, runs, demo and serve.

This module (with ``app.py``) is where the subpackages are assembled, so it may
import all of them.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from c360.cli.support import console, err_console, open_engine
from c360.cli.support import user_errors as _user_errors
from c360.connectors.base import SourceConfigError, TransientSourceError
from c360.connectors.registry import (
    UnknownConnectorError,
    default_trust,
    get_connector,
    register_plugin_commands,
)
from c360.connectors.registry import connectors as installed_connectors  # c360.cli.connectors
from c360.connectors.runner import (
    ResolutionError,
    SyncReport,
    SyncRunner,
    build_connector,
    fail_dead_runs,
)
from c360.platform.backlog import backlog_size
from c360.platform.ingest import IngestCounts
from c360.platform.locks import SourceBusyError
from c360.platform.settings import get_settings

if TYPE_CHECKING:
    from c360.search.contract import SearchBackend
from c360.platform.sources import (
    SourceNotFoundError,
    get_source,
    list_sources,
    reset_state,
    save_source,
)
from c360.platform.sync_runs import recent_runs

app = typer.Typer(
    help="c360 — customer-360: connectors, golden profiles, GraphQL.", no_args_is_help=True
)
connectors_app = typer.Typer(help="Installed connector plugins.", no_args_is_help=True)
sources_app = typer.Typer(help="Configured sources.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(connectors_app, name="connectors")
app.add_typer(sources_app, name="sources")
app.add_typer(db_app, name="db")

# Piped output (CI logs, `| tee`) gets a wide console so tables are not cut.
USER_ERRORS = (
    SourceConfigError,
    SourceNotFoundError,
    UnknownConnectorError,
    SourceBusyError,
    TransientSourceError,
    ValueError,
)


@contextmanager
def user_errors() -> Iterator[None]:
    """Bad input ends the command with a clear message and exit code 2."""
    with _user_errors(*USER_ERRORS):
        yield


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to the latest migration."""
    engine = open_engine()
    console.print(f"schema up to date on {engine.url.render_as_string(hide_password=True)}")


@connectors_app.command("list")
def connectors_list() -> None:
    """List installed connectors (built-in and plugins)."""
    table = Table("connector", "description", "module")
    for name, cls in installed_connectors().items():
        table.add_row(name, cls.title, cls.__module__)
    console.print(table)


@connectors_app.command("spec")
def connectors_spec(name: str) -> None:
    """Print a connector's config JSON Schema."""
    with user_errors():
        cls = get_connector(name)
    typer.echo(json.dumps(cls.spec(), indent=2, ensure_ascii=False))


def _parse_config(config: str) -> dict[str, Any]:
    if config.startswith("@"):
        try:
            text = Path(config[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"--config file {config[1:]!r}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ValueError(f"--config file {config[1:]!r} is not UTF-8 text") from None
    else:
        text = config
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--config is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ValueError("--config must be a JSON object")
    return parsed


@sources_app.command("add")
def sources_add(
    name: str,
    connector: Annotated[str, typer.Option(help="connector name, see `c360 connectors list`")],
    config: Annotated[str, typer.Option(help="JSON object, or @file.json")] = "{}",
    trust: Annotated[int | None, typer.Option(min=0, max=100, help="0-100; higher wins")] = None,
    refresh_interval: Annotated[int | None, typer.Option(help="seconds between syncs")] = None,
) -> None:
    """Add (or replace) a source. The config is validated against the connector's spec."""
    with user_errors():
        parsed = _parse_config(config)
        build_connector(connector, parsed)
        engine = open_engine()
        source = save_source(
            engine,
            name,
            connector,
            parsed,
            trust=default_trust(connector) if trust is None else trust,
            refresh_interval_s=refresh_interval,
        )
    console.print(f"source [bold]{source.name}[/bold] ({connector}, trust {source.trust}) saved")


@sources_app.command("list")
def sources_list() -> None:
    """List configured sources."""
    table = Table("source", "connector", "trust", "refresh (s)")
    for s in list_sources(open_engine()):
        table.add_row(s.name, s.connector, str(s.trust), str(s.refresh_interval_s or "-"))
    console.print(table)


@sources_app.command("check")
def sources_check(name: str) -> None:
    """Ask a source's connector whether it can read the source."""
    with user_errors():
        source = get_source(open_engine(), name)
        result = build_connector(source.connector, source.config).check()
    (console if result.succeeded else err_console).print(
        f"{'ok' if result.succeeded else 'FAILED'}: {result.message}"
    )
    if not result.succeeded:
        raise typer.Exit(1)


def _report_table(reports: list[SyncReport]) -> Table:
    table = Table("source", "stream", "read", "new", "updated", "unchanged", "quarantined")
    for report in reports:
        for stream, c in report.streams.items():
            table.add_row(report.source, stream, *(str(v) for v in _cells(c)))
    return table


def _cells(c: IngestCounts) -> list[int]:
    return [c.read, c.new, c.updated, c.unchanged, c.quarantined]


def sync_sources(
    engine: Engine,
    names: list[str],
    *,
    full: bool = False,
    keep_going: bool = False,
    resolve: bool = True,
) -> list[SyncReport]:
    """Sync sources one after another, with a progress display on a terminal.
    With ``keep_going``, a source that fails is reported and the rest still sync;
    the first failure is raised at the end. ``resolve=False`` lands the records
    and leaves them on the resolution backlog."""
    reports = []
    failures: list[Exception] = []
    show = sys.stdout.isatty()
    settings = get_settings()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        disable=not show,
        transient=True,
    ) as progress:
        for name in names:
            task = progress.add_task(f"{name}: starting", total=None)

            def update(
                stream: str, total: IngestCounts, task: Any = task, name: str = name
            ) -> None:
                progress.update(
                    task,
                    description=f"{name}/{stream}: read {total.read:,}  new {total.new:,}  "
                    f"updated {total.updated:,}  unchanged {total.unchanged:,}  "
                    f"quarantined {total.quarantined:,}",
                )

            def resolving(done: int, waiting: int, task: Any = task, name: str = name) -> None:
                progress.update(task, description=f"{name}: resolved {done:,}, {waiting:,} waiting")

            if full:
                reset_state(engine, name)
            runner = SyncRunner(
                engine,
                batch_size=settings.batch_size,
                progress=update,
                resolve=resolve,
                resolve_progress=resolving,
            )
            try:
                reports.append(runner.sync(name))
            except USER_ERRORS as exc:
                if not keep_going:
                    raise
                failures.append(exc)
                err_console.print(f"[red]error:[/red] {name}: {exc}", highlight=False)
            finally:
                progress.remove_task(task)
    if failures:
        console.print(_report_table(reports))
        raise failures[0]
    return reports


@app.command()
def sync(
    sources: Annotated[list[str] | None, typer.Argument(help="source names")] = None,
    all_sources: Annotated[bool, typer.Option("--all", help="sync every source")] = False,
    full: Annotated[bool, typer.Option(help="forget checkpoints and read everything")] = False,
    due: Annotated[
        bool, typer.Option("--due", help="sync the sources whose refresh interval has passed")
    ] = False,
    resolve: Annotated[
        bool,
        typer.Option(
            "--resolve/--no-resolve",
            help="link the landed records now (default), or leave them on the backlog "
            "for `c360 serve` or `c360 resolve --backlog`",
        ),
    ] = True,
) -> None:
    """Sync sources: read, validate and store (land), then resolve and profile.
    Safe to interrupt and rerun.

    --due is what cron runs: only the sources whose refresh interval has passed."""
    if due:
        from c360.cli.connectors import sync_due

        sync_due()
        return
    with user_errors():
        engine = open_engine()
        names = [s.name for s in list_sources(engine)] if all_sources else list(sources or [])
        if not names:
            raise ValueError("name at least one source, or pass --all")
        try:
            reports = sync_sources(
                engine, names, full=full, keep_going=len(names) > 1, resolve=resolve
            )
        except ResolutionError as exc:
            err_console.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(1) from None
    console.print(_report_table(reports))
    for report in reports:
        resolution = report.resolution
        console.print(
            f"{report.source}: {report.total.read:,} read and landed in "
            f"{report.landed_seconds:.1f}s"
            + (f", {report.retries} retries" if report.retries else "")
            + (
                f"; {resolution.resolved:,} resolved in {resolution.seconds:.1f}s"
                if resolution is not None
                else ""
            )
        )
        if resolution is not None and resolution.failed:
            err_console.print(
                f"[yellow]{resolution.failed:,} records could not be resolved and are set "
                "aside: `c360 resolve --backlog` shows why and tries them again[/yellow]",
                highlight=False,
            )
    if not resolve:
        waiting = backlog_size(engine)
        console.print(
            f"{waiting:,} records wait on the resolution backlog: `c360 serve` resolves "
            "them in the background, `c360 resolve --backlog` now"
        )


@app.command()
def runs(limit: Annotated[int, typer.Option(min=1, max=1000)] = 20) -> None:
    """Recent sync runs: status, counts, duration, errors. A run whose process
    died (no process holds its source's lock) is marked failed first."""
    engine = open_engine()
    fail_dead_runs(engine)
    table = Table("run", "source", "status", "started", "seconds", "counts", "error")
    for run in recent_runs(engine, limit):
        seconds = (
            f"{(run.finished_at - run.started_at).total_seconds():.1f}" if run.finished_at else "-"
        )
        counts = " ".join(f"{k}={v}" for k, v in run.counts.items())
        table.add_row(
            str(run.id),
            run.source_name,
            run.status,
            run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            seconds,
            counts,
            (run.error or "")[:80],
        )
    console.print(table)


def ensure_usable_index(engine: Engine, backend: SearchBackend) -> None:
    """Rebuild an embedded index this version cannot use (built by an older c360)
    from the database: the index is derived data, so an upgrade just works."""
    from c360.search.indexer import reindex

    health = backend.health()
    if backend.name != "embedded" or health.get("status") == "ok":
        return
    console.print(
        f"[yellow]search index unusable ({health.get('error', 'unknown error')}); "
        "rebuilding it from the database[/yellow]"
    )
    report = reindex(engine, backend)
    console.print(f"search index rebuilt: {report.documents:,} customers in {report.seconds:.1f}s")


def serve_app(engine: Engine, host: str, port: int) -> None:
    """Serve the ASGI app with uvicorn until interrupted, running due syncs in the
    background and, with the embedded search backend, the search indexer too."""
    import uvicorn

    from c360.app import create_app
    from c360.connectors.scheduler import BackgroundScheduler
    from c360.http_limits import uvicorn_options
    from c360.search.indexer import BackgroundIndexer
    from c360.search.settings import SearchSettings, open_backend

    search_settings = SearchSettings()
    backend = open_backend(search_settings)
    indexer = None
    if search_settings.search_backend == "embedded":  # OpenSearch deployments run `c360 indexer`
        ensure_usable_index(engine, backend)
        indexer = BackgroundIndexer(
            engine,
            backend,
            interval=search_settings.indexer_interval_s,
            batch_size=search_settings.indexer_batch_size,
        ).start()
    console.print(f"c360 serving on [bold]http://{host}:{port}/graphql[/bold]  (Ctrl+C to stop)")
    scheduler = BackgroundScheduler(engine).start()  # runs due syncs while serving
    try:
        # Slow clients are timed out (idle, header and body timeouts, bounded
        # heads, a connection cap): see c360.http_limits.
        uvicorn.run(
            create_app(engine, search=backend),
            host=host,
            port=port,
            log_level="warning",
            **uvicorn_options(),
        )
    finally:
        scheduler.stop()
        if indexer is not None:
            indexer.stop()
        backend.close()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
) -> None:
    """Serve an existing database over GraphQL."""
    settings = get_settings()
    serve_app(open_engine(), host or settings.host, port or settings.port)


@app.command()
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
    with user_errors():
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
    from c360.connectors.offline.roots import allow_import_root
    from c360.demo.evaluation import score_links
    from c360.demo.summary import database_summary
    from c360.demo.generate import generate_demo_data, load_truth

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
    from c360.demo.standins import start_standins

    with start_standins(seed=seed, people=people, companies=companies) as standins:
        remote = standins.sources()
        for src in remote:
            save_source(engine, src.name, src.connector, src.config, trust=src.trust)
        reports += sync_sources(engine, [src.name for src in remote])
    out.print(_report_table(reports))
    from c360.search.indexer import Indexer
    from c360.search.settings import open_backend

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


def _mount_feature_commands() -> None:
    """Commands contributed by the connectors, search, auth and resolution modules."""
    from c360.cli import search as search_cli
    from c360.cli.auth import register as register_auth_commands
    from c360.cli.connectors import register as register_connector_commands
    from c360.cli.resolution import resolution_app

    register_connector_commands(app)
    register_plugin_commands(app)  # enrich, consents and third-party plugins' commands
    app.add_typer(resolution_app)  # resolve, explain, merge, split at the top level
    register_auth_commands(app)
    app.command("reindex")(search_cli.reindex_command)
    app.command("indexer")(search_cli.indexer_command)
    app.command("search")(search_cli.search_command)
    app.command("search-status")(search_cli.status_command)


_mount_feature_commands()


def main() -> None:
    """Console entry point. Bad ``C360_*`` settings end with the variable named."""
    try:
        get_settings()
    except ValidationError as exc:
        for err in exc.errors():
            name = "C360_" + "_".join(str(p) for p in err["loc"]).upper()
            err_console.print(f"[red]error:[/red] {name}: {err['msg']}", highlight=False)
        raise SystemExit(2) from None
    app()
