"""The ``c360`` command's table of command modules: every built-in command is
found where the table says, nothing a module registers is missing from it, and
a command starts without importing what only other commands need."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from c360.cli import COMMAND_MODULES, PLUGINS, module_commands
from tests.cli_helpers import InProcessCli

CLI_PACKAGE = Path(__file__).resolve().parents[1] / "c360" / "cli"


def test_every_built_in_command_is_in_the_table_under_its_own_module() -> None:
    registered: dict[str, str] = {}
    for module in set(COMMAND_MODULES.values()):
        for name in module_commands(module).commands:
            assert name not in registered, (
                f"{name} registered by {registered.get(name)} and {module}"
            )
            registered[name] = module
    assert registered == COMMAND_MODULES
    plugin_commands = set(module_commands(PLUGINS).commands)
    assert {"enrich", "consents"} <= plugin_commands
    assert not plugin_commands & set(COMMAND_MODULES), "a plugin command shadows a built-in one"


def _modules_loaded_by(*args: str) -> set[str]:
    probe = (
        "import json, sys, runpy\n"
        f"sys.argv = ['c360', *{list(args)!r}]\n"
        "try:\n"
        "    runpy.run_module('c360.cli', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_a_command_loads_its_own_module_and_not_the_others() -> None:
    loaded = _modules_loaded_by("sync", "--help")
    assert "c360.cli.sync" in loaded
    heavy = {"strawberry", "fpdf", "pandas", "optbinning", "scipy", "c360.schema", "c360.cli.serve"}
    assert not heavy & loaded, sorted(heavy & loaded)


def test_help_lists_built_in_and_plugin_commands_in_table_order(cli: InProcessCli) -> None:
    shown = cli(["--help"])
    assert shown.exit_code == 0, shown.output
    names = ("connectors", "sync", "verify", "enrich")
    positions = [shown.stdout.find(f" {name} ") for name in names]
    assert all(p > 0 for p in positions), shown.stdout
    assert positions == sorted(positions)


def test_an_unknown_command_is_refused_by_name(cli: InProcessCli) -> None:
    done = cli(["no-such-command"])
    assert done.exit_code == 2
    assert "no-such-command" in done.stderr


def test_no_command_module_adds_commands_to_another_modules_group() -> None:
    # A command added to another module's group from ``register`` would be
    # missing whenever that group's own module is loaded alone.
    offenders = []
    for path in sorted(CLI_PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("c360.cli.")
            for alias in node.names
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in {"command", "add_typer", "callback"}
                and isinstance(node.value, ast.Name)
                and node.value.id in imported
            ):
                offenders.append(f"{path.name}:{node.lineno}: {node.value.id}.{node.attr}")
    assert offenders == []
