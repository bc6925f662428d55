"""``c360 sync`` (one source, several, or those due) with its progress display, and
``c360 runs`` (recent syncs with their counts)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from c360.cli.support import SOURCE_ERRORS, console, err_console, open_engine, source_errors
from c360.connectors.runner import (
    ResolutionError,
    SyncReport,
    SyncRunner,
    fail_dead_runs,
)
from c360.platform.backlog import backlog_size
from c360.platform.ingest import IngestCounts
from c360.platform.settings import get_settings

if TYPE_CHECKING:
    pass
from c360.platform.sources import (
    list_sources,
    reset_state,
)
from c360.platform.sync_runs import recent_runs

SYNC_ERRORS: tuple[type[Exception], ...] = (*SOURCE_ERRORS, ValueError)
"""What stops one source of several without stopping the others."""


def report_table(reports: list[SyncReport]) -> Table:
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
            except SYNC_ERRORS as exc:
                if not keep_going:
                    raise
                failures.append(exc)
                err_console.print(f"[red]error:[/red] {name}: {exc}", highlight=False)
            finally:
                progress.remove_task(task)
    if failures:
        console.print(report_table(reports))
        raise failures[0]
    return reports


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
    with source_errors():
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
    console.print(report_table(reports))
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


def register(app: typer.Typer) -> None:
    """``c360 sync`` and ``c360 runs``."""
    app.command()(sync)
    app.command()(runs)
