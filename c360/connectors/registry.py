"""Loads plugins from the ``c360`` entry-point group, looks connectors up by
name, and calls the other hooks for the app, the CLI and the scheduler."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, cast

import pluggy

from c360.connectors import hookspecs
from c360.connectors.base import Connector
from c360.connectors.hookspecs import DueRun

if TYPE_CHECKING:
    import typer
    from sqlalchemy import Engine
    from starlette.routing import BaseRoute

    from c360.platform.models import Source

log = logging.getLogger(__name__)


class UnknownConnectorError(LookupError):
    """No installed plugin provides a connector of that name."""


@lru_cache(maxsize=1)
def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with every installed plugin loaded."""
    pm = pluggy.PluginManager("c360")
    pm.add_hookspecs(hookspecs)
    pm.load_setuptools_entrypoints("c360")
    return pm


def connectors() -> dict[str, type[Connector]]:
    """Every installed connector class by name."""
    found: dict[str, type[Connector]] = {}
    for batch in plugin_manager().hook.c360_register_connectors():
        for cls in batch or []:
            if cls.name in found and found[cls.name] is not cls:
                raise RuntimeError(f"two plugins register a connector named {cls.name!r}")
            found[cls.name] = cls
    return dict(sorted(found.items()))


def get_connector(name: str) -> type[Connector]:
    """The connector class called ``name``."""
    available = connectors()
    try:
        return available[name]
    except KeyError:
        raise UnknownConnectorError(
            f"connector {name!r} is not installed; installed: {', '.join(available) or 'none'}"
        ) from None


def default_trust(connector_name: str) -> int:
    """Default trust for a new source of this connector (plugins may say; else 50)."""
    answer = plugin_manager().hook.c360_source_trust(connector_name=connector_name)
    return 50 if answer is None else int(answer)


def plugin_routes(engine: Engine) -> list[BaseRoute]:
    """Every route the plugins serve (``c360_register_routes``)."""
    return [
        route
        for batch in plugin_manager().hook.c360_register_routes(engine=engine)
        for route in batch or []
    ]


def register_plugin_commands(app: typer.Typer) -> None:
    """Let every plugin add its commands to ``app`` (``c360_register_commands``)."""
    plugin_manager().hook.c360_register_commands(app=app)


def source_due(engine: Engine, source: Source, now: datetime) -> DueRun | None:
    """A plugin's own work for a due source (``c360_source_due``), or ``None``:
    sync it."""
    answer: DueRun | None = plugin_manager().hook.c360_source_due(
        engine=engine, source=source, now=now
    )
    return answer


def scheduler_tick(engine: Engine, now: datetime) -> list[DueRun]:
    """Every plugin's background work for this tick (``c360_scheduler_tick``),
    each plugin called on its own so that one that raises does not stop the rest."""
    done: list[DueRun] = []
    arguments = {"engine": engine, "now": now}
    for impl in reversed(plugin_manager().hook.c360_scheduler_tick.get_hookimpls()):
        try:
            answer = cast(
                "list[DueRun] | None",
                impl.function(**{name: arguments[name] for name in impl.argnames}),
            )
        except Exception as exc:
            log.warning("scheduled work of plugin %s failed: %s", impl.plugin_name, exc)
            done.append(DueRun(impl.plugin_name, "scheduled-work", "failed", str(exc)))
        else:
            done += answer or []
    return done
