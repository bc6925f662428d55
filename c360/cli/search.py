"""Operator and staff commands for search (a typer app; the main CLI mounts it):

- ``reindex``: rebuild the index from the database and swap it in (no downtime);
- ``indexer``: apply the outbox to the index continuously (``--once``: until empty);
- ``search QUERY``: what front-line staff see, personal data masked;
- ``status``: backend health, document count and indexer lag.

The backend is chosen by ``C360_SEARCH_BACKEND`` (see :mod:`c360.search.settings`).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from c360.cli.support import audit_command, console, err_console, open_engine
from c360.platform.audit import (
    AuditUnavailable,
    InvalidPurpose,
    clean_purpose,
)
from c360.platform.secret_keys import SecretKeyError
from c360.search.contract import (
    FACET_FIELDS,
    SearchBackend,
    SearchError,
    SearchFilters,
    SearchHit,
)
from c360.search.indexer import DrainReport, Indexer, indexer_lag, reindex
from c360.search.settings import SearchSettings, open_backend

app = typer.Typer(help="Customer search: index, indexer, search.", no_args_is_help=True)


@contextmanager
def _backend() -> Iterator[SearchBackend]:
    try:
        backend = open_backend(SearchSettings())
    except (SearchError, ValueError) as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    try:
        yield backend
    except SearchError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        backend.close()


@app.command("reindex")
def reindex_command(
    batch_size: Annotated[int, typer.Option(min=1, max=100_000, help="customers per batch")] = 2000,
) -> None:
    """Rebuild the search index from the database into a fresh index and swap it
    in. Searches keep working on the old index meanwhile; the indexer pauses and
    catches up afterwards."""
    engine = open_engine()
    with _backend() as backend:
        show = sys.stdout.isatty()

        def progress(count: int) -> None:
            if show:
                console.print(f"\r{count:,} customers indexed", end="")

        report = reindex(engine, backend, batch_size=batch_size, progress=progress)
        if show:
            console.print()
        console.print(
            f"reindexed {report.documents:,} customers into {report.index} "
            f"({backend.name}) in {report.seconds:.1f}s; "
            f"{report.outbox_cleared:,} queued changes covered"
        )


def _print_report(report: DrainReport, engine: Engine) -> None:
    lag = indexer_lag(engine)
    if report.busy:
        console.print("another process holds the indexer lease (indexer or reindex): waiting")
        return
    age = f"{lag.oldest_age_s:.1f}s" if lag.oldest_age_s is not None else "-"
    console.print(
        f"applied {report.rows:,} changes ({report.upserts:,} upserts, "
        f"{report.deletes:,} deletes) in {report.seconds:.2f}s; pending {lag.pending:,}, "
        f"oldest {age}"
    )


@app.command("indexer")
def indexer_command(
    once: Annotated[bool, typer.Option("--once", help="drain the outbox once and exit")] = False,
    batch_size: Annotated[int | None, typer.Option(min=1, max=10_000)] = None,
    interval: Annotated[float | None, typer.Option(min=0.01, help="idle poll, seconds")] = None,
) -> None:
    """Apply queued customer changes to the search index (continuously, until
    interrupted; safe to stop and restart at any point)."""
    settings = SearchSettings()
    engine = open_engine()
    with _backend() as backend:
        indexer = Indexer(engine, backend, batch_size=batch_size or settings.indexer_batch_size)
        if once:
            _print_report(indexer.drain(wait=True), engine)
            return
        stop = threading.Event()

        def interrupt(signum: int, _frame: Any) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, interrupt)
        signal.signal(signal.SIGINT, interrupt)
        console.print(f"indexing into {backend.name}; Ctrl+C to stop")
        indexer.run(
            stop,
            interval=interval or settings.indexer_interval_s,
            on_report=lambda report: _print_report(report, engine),
        )


def _parse_filters(values: list[str]) -> SearchFilters:
    dimensions: dict[str, list[str]] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not value:
            raise SearchError(f"--filter {item!r}: expected NAME=VALUE, e.g. city=杭州市")
        dimensions.setdefault(name.strip(), []).append(value.strip())
    return SearchFilters.of(**dimensions)


def _purpose(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return clean_purpose(value)
    except InvalidPurpose as exc:
        raise typer.BadParameter(str(exc)) from None


def _audit_search(purpose: str | None, hits: Sequence[SearchHit]) -> None:
    """Put a search on the audit log, or stop before anything is printed."""
    matched = sorted({f"search.{m.field}" for hit in hits for m in hit.matches})
    try:
        audit_command(
            open_engine(),
            "search",
            purpose=purpose,
            fields=matched,
            detail={"command": "search", "customers": [hit.customer_id for hit in hits]},
        )
    except (AuditUnavailable, SecretKeyError, SQLAlchemyError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        err_console.print(
            "[red]error:[/red] the search could not be put on the audit log, so nothing "
            f"is shown: {reason}",
            highlight=False,
        )
        raise typer.Exit(2) from None


@app.command("search")
def search_command(
    query: Annotated[str, typer.Argument(help="a name, pinyin, initials, phone tail, e-mail…")],
    filters: Annotated[
        list[str] | None,
        typer.Option("--filter", "-f", help=f"NAME=VALUE, NAME one of {', '.join(FACET_FIELDS)}"),
    ] = None,
    facets: Annotated[list[str] | None, typer.Option("--facet", help="count values of")] = None,
    first: Annotated[int, typer.Option(min=1, max=1000)] = 10,
    after: Annotated[str | None, typer.Option(help="cursor printed by the previous page")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    purpose: Annotated[
        str | None,
        typer.Option(
            help="why you search (optional: results are masked; recorded on the audit log)",
            callback=_purpose,
        ),
    ] = None,
) -> None:
    """Search customers as front-line staff do; personal data is shown masked.

    Every search is put on the audit log (as cli:<your user name>, with the
    fields that matched and the customers found, never the query) before the
    results are printed."""
    from c360.auth.masking import mask_value

    with _backend() as backend:
        page = backend.search(
            query,
            _parse_filters(filters or []),
            first=first,
            after=after,
            facets=list(facets or []),
        )
    _audit_search(purpose, page.hits)
    rows = []
    for rank, hit in enumerate(page.hits, 1):
        kind = hit.card.get("kind", "person")
        shown = {
            name: mask_value(name, value, kind=kind) or ""
            for name, value in hit.card.items()
            if name != "kind"
        }
        matched = ", ".join(f"{m.field} {m.kind.value} '{m.term}'" for m in hit.matches)
        rows.append((rank, hit, kind, shown, matched))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "total": page.total,
                    "hits": [
                        {
                            "customer_id": hit.customer_id,
                            "score": hit.score,
                            "kind": kind,
                            **shown,
                            "matches": [
                                {"field": m.field, "kind": m.kind.value, "term": m.term}
                                for m in hit.matches
                            ],
                        }
                        for _, hit, kind, shown, _ in rows
                    ],
                    "facets": {
                        k: [{"value": f.value, "count": f.count} for f in v]
                        for k, v in page.facets.items()
                    },
                    "next_cursor": page.next_cursor,
                    "notes": list(page.notes),
                    "took_ms": round(page.took_ms, 3),
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    table = Table("#", "customer", "name", "phone", "email", "company", "city", "score", "matched")
    for rank, hit, _kind, shown, matched in rows:
        table.add_row(
            str(rank),
            str(hit.customer_id),
            shown.get("name", ""),
            shown.get("phone", ""),
            shown.get("email", ""),
            shown.get("company", ""),
            shown.get("city", ""),
            f"{hit.score:g}",
            matched,
        )
    console.print(table)
    for note in page.notes:
        console.print(f"note: {note}", highlight=False)
    for name, counts in page.facets.items():
        console.print(f"{name}: " + ", ".join(f"{c.value} ({c.count})" for c in counts))
    console.print(f"{page.total:,} found in {page.took_ms:.1f} ms", highlight=False)
    if page.next_cursor:
        console.print(f"next page: --after {page.next_cursor}", highlight=False)


@app.command("status")
def status_command() -> None:
    """Search backend health, documents, and how far the indexer is behind."""
    engine = open_engine()
    with _backend() as backend:
        health = backend.health()
    lag = indexer_lag(engine)
    typer.echo(json.dumps({**health, "lag": lag.as_dict()}, ensure_ascii=False, indent=2))
    if health.get("status") != "ok":
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """``c360 reindex``, ``indexer``, ``search`` and ``search-status``."""
    app.command("reindex")(reindex_command)
    app.command("indexer")(indexer_command)
    app.command("search")(search_command)
    app.command("search-status")(status_command)


if __name__ == "__main__":
    app()
