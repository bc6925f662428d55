"""Every hook a c360 plugin can implement, in one place (as Datasette's
``hookspecs.py`` does), and :class:`DueRun`, what the scheduling hooks return.
Plugins are modules registered under the ``c360`` entry-point group; they
implement hooks with :data:`hookimpl`. The built-in connectors are plugins of
exactly this kind: the webhook inbox, ``c360 enrich`` and the credit refresh
come in through these hooks too.

A minimal connector plugin, complete::

    # membership_cards/__init__.py
    from collections.abc import Iterator
    from pydantic import BaseModel
    from c360.connectors import (
        Checkpoint, CheckResult, Connector, IncomingRecord, Message, Stream, hookimpl,
    )

    class CardsConfig(BaseModel):
        path: str

    class CardsConnector(Connector[CardsConfig]):
        name = "membership-cards"
        title = "Membership-card system export"
        config_model = CardsConfig

        def check(self) -> CheckResult:
            return CheckResult.ok("export found")

        def streams(self) -> list[Stream]:
            return [Stream(name="members", kind="person")]

        def read(self, stream: str, state: dict) -> Iterator[Message]:
            yield IncomingRecord(stream="members", external_id="M001", kind="person",
                                 fields={"name": "张伟", "phone": "13800138000"})
            yield Checkpoint(stream="members", state={"after": "M001"})

    @hookimpl
    def c360_register_connectors():
        return [CardsConnector]

and in its ``pyproject.toml``::

    [project.entry-points.c360]
    membership_cards = "membership_cards"
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import typer
    from sqlalchemy import Engine
    from starlette.routing import BaseRoute

    from c360.connectors.base import Connector
    from c360.platform.models import Source

hookspec = pluggy.HookspecMarker("c360")
hookimpl = pluggy.HookimplMarker("c360")


@dataclass(slots=True)
class DueRun:
    """What one piece of scheduled work did: ``c360 sync-due`` prints one row each."""

    source: str
    """The source it was for (or a name for work of no one source, e.g. ``backlog``)."""
    action: str
    """What was done: ``sync``, ``credit-refresh``, ``webhook-drain``, ..."""
    status: str
    """``succeeded``, ``failed`` or ``skipped``; a failed one makes ``sync-due`` exit 1."""
    detail: str = ""
    report: Any = None
    """The work's own report, for callers that want more than the row."""


@hookspec
def c360_register_connectors() -> list[type[Connector[Any]]]:  # type: ignore[empty-body]
    """Called once when c360 loads its plugins; return the connector classes this
    plugin provides.

    Each class subclasses :class:`c360.connectors.base.Connector`, has a unique
    ``name`` (what ``c360 sources add NAME --connector <name>`` refers to), a
    pydantic ``config_model`` whose JSON Schema is the connector's spec, and
    implements ``check()``, ``streams()`` and ``read(stream, state)``.

    Example::

        @hookimpl
        def c360_register_connectors():
            return [CardsConnector]
    """


@hookspec(firstresult=True)
def c360_source_trust(connector_name: str) -> int | None:
    """Called when a source is added without an explicit ``--trust``; return the
    default trust (0-100) for sources of ``connector_name``, or ``None`` to leave
    it to another plugin. The first non-``None`` answer wins; the fallback is 50.

    Trust decides survivorship: when two sources disagree on an attribute, the
    value from the more trusted source becomes the golden value (after verified
    values and before recency).

    Example::

        @hookimpl
        def c360_source_trust(connector_name):
            if connector_name == "membership-cards":
                return 80  # cards are issued against an id document
            return None
    """


@hookspec
def c360_register_routes(engine: Engine) -> list[BaseRoute]:  # type: ignore[empty-body]
    """Called once when c360 builds its web application (``create_app``) over
    ``engine``; return the Starlette routes this plugin serves. They are mounted
    after c360's own (``/graphql``, ``/oauth/token``, ...), which win a clash,
    and every request body is streamed against ``C360_MAX_BODY_BYTES`` first.

    The ``web`` connector's webhook inbox, ``POST /hooks/{source}``, comes in this way.

    Example::

        from starlette.responses import JSONResponse
        from starlette.routing import Route

        @hookimpl
        def c360_register_routes(engine):
            async def cards_health(request):
                return JSONResponse({"status": "ok"})

            return [Route("/cards/health", cards_health, methods=["GET"])]
    """


@hookspec
def c360_register_commands(app: typer.Typer) -> None:
    """Called once when the ``c360`` command line is built; add this plugin's
    commands (or groups) to ``app``, a :class:`typer.Typer`.

    A command opens the database with :func:`c360.connectors.open_database`,
    which raises :class:`c360.connectors.DatabaseUnavailable` with a one-line
    reason; c360's own commands answer it with that line and exit code 2, and a
    plugin's should too. ``c360 enrich`` and ``c360 consents`` are the ``credit``
    connector's commands, registered this way.

    Example::

        import typer
        from c360.connectors import DatabaseUnavailable, list_sources, open_database

        @hookimpl
        def c360_register_commands(app):
            @app.command("cards-sources", help="The sources that read membership cards.")
            def cards_sources() -> None:
                try:
                    engine = open_database()
                except DatabaseUnavailable as exc:
                    typer.echo(f"error: {exc}", err=True)
                    raise typer.Exit(2) from None
                for source in list_sources(engine):
                    if source.connector == "membership-cards":
                        typer.echo(source.name)
    """


@hookspec(firstresult=True)
def c360_source_due(engine: Engine, source: Source, now: datetime) -> DueRun | None:
    """Called by the scheduler (``c360 sync-due``, ``c360 serve``) for each source
    whose refresh interval has passed, before it would sync the source; do the
    source's work your own way and return a :class:`DueRun`, or ``None`` to let
    c360 sync it as usual. The first non-``None`` answer wins.

    Record what was done as a run (:func:`c360.connectors.record_run`): the
    source is due again ``refresh_interval_s`` after its latest run started, and
    ``c360 runs`` shows it. Catch your own errors and return a ``failed``
    :class:`DueRun`, so one source does not stop the others. A ``credit`` source
    refreshes its stale lookups this way instead of syncing.

    Example::

        @hookimpl
        def c360_source_due(engine, source, now):
            if source.connector != "membership-cards":
                return None
            with engine.begin() as conn:  # e.g. only note that the export was looked at
                record_run(conn, source.name, started_at=now, status="succeeded", counts={})
            return DueRun(source.name, "cards-touch", "succeeded")
    """


@hookspec
def c360_scheduler_tick(engine: Engine, now: datetime) -> list[DueRun]:  # type: ignore[empty-body]
    """Called on every scheduler tick (``c360 sync-due``, and every
    ``tick_s`` under ``c360 serve``) after the due sources ran and before the
    resolution backlog is resolved; do this plugin's background work and return
    a :class:`DueRun` for each thing it did (an empty list when there was
    nothing to do). Each plugin's call is separate: one that raises is logged
    and reported as a failed ``DueRun``, and the others still run.

    The ``web`` connector drains its webhook inboxes this way.

    Example::

        @hookimpl
        def c360_scheduler_tick(engine, now):
            exports = [s for s in list_sources(engine) if s.connector == "membership-cards"]
            if not exports:
                return []  # nothing to do this tick
            return [DueRun("cards", "heartbeat", "succeeded", f"{len(exports)} sources seen")]
    """
