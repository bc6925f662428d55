"""The ``c360`` command: one Typer app whose commands live in the modules of
this package (sources, sync, serve, demo, resolution, auth, search, …) and in
the commands plugins register (``c360_register_commands``).

A command's module is imported only when that command runs: ``c360 sync`` does
not pay for the GraphQL schema, the PDF renderer or the scorecard, and every
test or operator that starts a ``c360`` process feels that. ``COMMAND_MODULES``
names the module that owns each built-in command; a name it does not know is
looked for among the plugins' commands. ``c360 --help`` loads them all.
``c360/cli`` and ``c360/app.py`` are where the subpackages meet, so they may
import all of them."""

from __future__ import annotations

import importlib

import typer
from pydantic import ValidationError

# typer (0.29 on) carries its own copy of click; its group class is built on it.
from typer import _click as click
from typer.core import TyperGroup

from c360.cli.support import err_console
from c360.connectors.registry import register_plugin_commands
from c360.platform.settings import get_settings

# Each built-in command → the module of this package whose ``register(app)``
# adds it, in the order ``c360 --help`` lists them.
COMMAND_MODULES: dict[str, str] = {
    "connectors": "sources",
    "sources": "sources",
    "db": "sources",
    "sync": "sync",
    "runs": "sync",
    "serve": "serve",
    "demo": "demo",
    "sync-due": "connectors",
    "resolve": "resolution",
    "explain": "resolution",
    "merge": "resolution",
    "split": "resolution",
    "unmerge": "resolution",
    "token": "auth",
    "keys": "auth",
    "clients": "auth",
    "policy": "auth",
    "audit": "auth",
    "search": "search",
    "search-status": "search",
    "reindex": "search",
    "indexer": "search",
    "webhooks": "webhooks",
    "users": "users",
    "cases": "cases",
    "privacy": "privacy",
    "retention": "privacy",
    "backup": "privacy",
    "restore": "privacy",
    "credit": "credit_model",
    "alerts": "credit_model",
    "quality": "quality",
    "quarantine": "quality",
    "report": "report",
    "value": "value",
    "segments": "value",
    "verify": "verification",
}
PLUGINS = "plugins"


def module_commands(module: str) -> TyperGroup:
    """The click commands one module of this package registers, or, for
    ``PLUGINS``, every plugin's commands, as one group."""
    commands = typer.Typer()
    if module == PLUGINS:
        register_plugin_commands(commands)
    else:
        importlib.import_module(f"c360.cli.{module}").register(commands)
    return typer.main.get_group(commands)


class LazyCommands(TyperGroup):
    """The top-level group: a command is built from its module the first time
    it is asked for."""

    def _load(self, module: str) -> None:
        for name, command in module_commands(module).commands.items():
            self.commands.setdefault(name, command)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            self._load(COMMAND_MODULES.get(cmd_name, PLUGINS))
        return self.commands.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        for module in dict.fromkeys([*COMMAND_MODULES.values(), PLUGINS]):
            self._load(module)
        listed = [name for name in COMMAND_MODULES if name in self.commands]
        return listed + [name for name in self.commands if name not in COMMAND_MODULES]


app = typer.Typer(cls=LazyCommands, no_args_is_help=True)


@app.callback()
def c360() -> None:
    """c360 — customer-360: connectors, golden profiles, GraphQL."""


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
