"""``c360 serve``: the ASGI app under uvicorn with the background indexer and
scheduler, after making sure the search index can serve."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Annotated, Any

import typer
from sqlalchemy import Engine

from c360.cli.support import console, open_engine, user_errors
from c360.cli.workers import FACTORY, handoff_supported, serve_workers
from c360.platform.settings import get_settings

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from c360.search.contract import SearchBackend


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


def worker_app() -> Starlette:
    """The app of one ``--workers`` process (uvicorn's factory): its own engine
    and search backend; the indexer, scheduler and deliveries run in the parent."""
    from c360.app import create_app
    from c360.observability.logs import configure_json_logging

    configure_json_logging()
    return create_app(open_engine())


def __getattr__(name: str) -> Any:
    # uvicorn's worker processes import their HTTP protocol by name: the timed
    # protocol of c360.http_limits, built from the same C360_* settings.
    if name == "WorkerHttpProtocol":
        from c360.http_limits import uvicorn_options

        return uvicorn_options()["http"]
    raise AttributeError(name)


def serve_app(engine: Engine, host: str, port: int, workers: int = 1) -> None:
    """Serve the ASGI app with uvicorn until interrupted, running due syncs in the
    background and, with the embedded search backend, the search indexer too.
    With ``workers`` > 1, that many processes serve the API while this one runs
    the indexer, the scheduler and the webhook deliveries, once."""
    import uvicorn

    from c360.app import create_app
    from c360.connectors.scheduler import BackgroundScheduler
    from c360.http_limits import uvicorn_options
    from c360.observability.logs import configure_json_logging
    from c360.ops.outbound import outbound_worker
    from c360.search.indexer import BackgroundIndexer
    from c360.search.settings import SearchSettings, open_backend

    configure_json_logging()
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
    # Webhook deliveries: one process delivers (the outbound lease), others stand by.
    outbound = outbound_worker(engine).start()
    try:
        # Slow clients are timed out (idle, header and body timeouts, bounded
        # heads, a connection cap): see c360.http_limits.
        if workers > 1:
            metrics_dir = tempfile.mkdtemp(prefix="c360-metrics-")
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # summed over workers
            try:
                if handoff_supported():  # the parent accepts and hands connections out in turn
                    with user_errors(OSError):  # the port is taken, say
                        status = serve_workers(host, port, workers)
                    if status:
                        raise typer.Exit(status)
                else:
                    options = {**uvicorn_options(), "http": f"{__name__}:WorkerHttpProtocol"}
                    uvicorn.run(
                        FACTORY,
                        factory=True,
                        workers=workers,
                        host=host,
                        port=port,
                        log_level="warning",
                        **options,
                    )
            finally:
                shutil.rmtree(metrics_dir, ignore_errors=True)
        else:
            uvicorn.run(
                create_app(engine, search=backend),
                host=host,
                port=port,
                log_level="warning",
                **uvicorn_options(),
            )
    finally:
        outbound.stop()
        scheduler.stop()
        if indexer is not None:
            indexer.stop()
        backend.close()


def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            envvar="C360_WORKERS",
            help="API processes (e.g. the number of cores); the indexer, scheduler and "
            "webhook deliveries run once, in the parent",
        ),
    ] = 1,
) -> None:
    """Serve an existing database over GraphQL."""
    settings = get_settings()
    serve_app(open_engine(), host or settings.host, port or settings.port, workers)


def register(app: typer.Typer) -> None:
    """``c360 serve``."""
    app.command()(serve)
