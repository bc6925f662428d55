"""``c360 db upgrade``, ``c360 connectors list|spec`` and ``c360 sources add|list|check``:
the installed connectors and the configured sources."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from c360.cli.support import console, err_console, open_engine, source_errors
from c360.connectors.registry import connectors as installed_connectors  # c360.cli.connectors
from c360.connectors.registry import (
    default_trust,
    get_connector,
)
from c360.connectors.runner import (
    build_connector,
)

if TYPE_CHECKING:
    pass
from c360.platform.sources import (
    get_source,
    list_sources,
    save_source,
)

connectors_app = typer.Typer(help="Installed connector plugins.", no_args_is_help=True)
sources_app = typer.Typer(help="Configured sources.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


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
    with source_errors():
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
    with source_errors():
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
    with source_errors():
        source = get_source(open_engine(), name)
        result = build_connector(source.connector, source.config).check()
    (console if result.succeeded else err_console).print(
        f"{'ok' if result.succeeded else 'FAILED'}: {result.message}"
    )
    if not result.succeeded:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """``c360 db``, ``c360 connectors`` and ``c360 sources``."""
    app.add_typer(connectors_app, name="connectors")
    app.add_typer(sources_app, name="sources")
    app.add_typer(db_app, name="db")
