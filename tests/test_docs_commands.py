"""The ``c360`` commands the README and ``docs/`` tell people to paste exist, with
the options they are given: a renamed command or option fails here, not in a
newcomer's terminal. Read from the fenced shell blocks of every page; the
commands are looked up in the real command tree (plugins' commands included).
Likewise the GraphQL the pages show: a query is validated against the served
schema, an excerpt of the schema names types and fields it has."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer
from graphql import (
    DocumentNode,
    ExecutableDefinitionNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    parse,
    validate,
)
from typer import _click as click
from typer.core import TyperGroup

from c360.cli import app
from c360.schema import schema

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_FENCE = re.compile(r"^```(?:bash|sh|shell|console)?\s*$")
ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*$")


def shell_lines(page: Path) -> list[tuple[int, str]]:
    """(line number, command line) of each line in a fenced shell block, with
    continuation lines joined and a leading ``$`` prompt dropped."""
    found: list[tuple[int, str]] = []
    fenced = shell = False
    pending = ""
    start = 0
    for number, line in enumerate(page.read_text("utf-8").splitlines(), 1):
        if line.startswith("```"):
            fenced = not fenced
            shell = fenced and bool(SHELL_FENCE.match(line))
            pending = ""
            continue
        if not shell:
            continue
        text = line.strip().removeprefix("$ ")
        if not pending:
            start = number
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        found.append((start, pending + text))
        pending = ""
    return found


def c360_invocations(line: str) -> list[list[str]]:
    """The argument lists of each ``c360`` command in a shell line (after
    ``&&``, ``;`` or ``|``, and past environment assignments)."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return []
    found: list[list[str]] = []
    ours: list[str] | None = None  # the c360 command being read, if any
    at_start = True  # the next word starts a command
    for word in words:
        if word in {"&&", "||", ";", "|"}:
            ours, at_start = None, True
            continue
        if at_start:
            if ENV_ASSIGNMENT.match(word):
                continue
            at_start = False
            if word == "c360":
                ours = []
                found.append(ours)
            continue
        if ours is not None:
            ours.append(word)
    return found


def documented_commands() -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for page in PAGES:
        for number, line in shell_lines(page):
            for args in c360_invocations(line):
                found.append((f"{page.relative_to(ROOT)}:{number}", args))
    return found


def resolve(args: list[str]) -> tuple[click.Command, list[str]]:
    """The command ``args`` name, and the words left after its name."""
    command: click.Command = typer.main.get_command(app)
    ctx = click.Context(command)
    rest = list(args)
    while isinstance(command, TyperGroup) and rest and not rest[0].startswith("-"):
        sub = command.get_command(ctx, rest[0])
        if sub is None:
            raise LookupError(f"no command {rest[0]!r} under {command.name!r}")
        command, rest = sub, rest[1:]
        ctx = click.Context(command, parent=ctx)
    return command, rest


def option_names(command: click.Command) -> set[str]:
    names = {"--help"}
    for param in command.params:
        names.update(getattr(param, "opts", ()))
        names.update(getattr(param, "secondary_opts", ()))
    return names


COMMANDS = documented_commands()


def test_the_pages_name_enough_commands_to_check() -> None:
    assert len(COMMANDS) >= 40, COMMANDS
    assert any(args[:1] == ["demo"] for _, args in COMMANDS)


@pytest.mark.parametrize(("where", "args"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_a_documented_command_exists_with_its_options(where: str, args: list[str]) -> None:
    command, rest = resolve(args)
    known = option_names(command)
    unknown = [
        word.split("=", 1)[0]
        for word in rest
        if word.startswith("--") and word.split("=", 1)[0] not in known
    ]
    assert unknown == [], f"{where}: c360 {' '.join(args)}: no option {unknown} here"


def test_the_check_catches_a_renamed_command_and_option() -> None:
    with pytest.raises(LookupError, match="no-such-command"):
        resolve(["no-such-command"])
    command, rest = resolve(["sync", "--no-such-option"])
    assert "--no-such-option" not in option_names(command)
    assert rest == ["--no-such-option"]
    wrong = parse('{ customer(id: "1") { noSuchField } }')
    assert validate(schema._schema, wrong) != []


GRAPHQL_FENCE = re.compile(r"^```graphql\s*$")


def graphql_blocks() -> list[tuple[str, str]]:
    """(page:line, document) of each fenced ``graphql`` block of the pages."""
    found: list[tuple[str, str]] = []
    for page in PAGES:
        block: list[str] | None = None
        start = 0
        for number, line in enumerate(page.read_text("utf-8").splitlines(), 1):
            if block is None and GRAPHQL_FENCE.match(line):
                block, start = [], number
            elif block is not None and line.startswith("```"):
                found.append((f"{page.relative_to(ROOT)}:{start}", "\n".join(block)))
                block = None
            elif block is not None:
                block.append(line)
    return found


DOCUMENTS = graphql_blocks()


def test_the_pages_show_graphql_to_check() -> None:
    assert len(DOCUMENTS) >= 5


@pytest.mark.parametrize(("where", "document"), DOCUMENTS, ids=[w for w, _ in DOCUMENTS])
def test_a_documented_graphql_block_matches_the_schema(where: str, document: str) -> None:
    """A query is valid against the schema; an excerpt of the schema (type
    definitions) names types and fields the schema has."""
    parsed = parse(document)
    served = schema._schema
    if all(isinstance(d, ExecutableDefinitionNode) for d in parsed.definitions):
        # a block may show several anonymous operations, each sent on its own
        errors = [
            e.message
            for d in parsed.definitions
            for e in validate(served, DocumentNode(definitions=(d,)))
        ]
        assert errors == [], where
        return
    missing = []
    for definition in parsed.definitions:
        if not isinstance(definition, ObjectTypeDefinitionNode | ObjectTypeExtensionNode):
            continue
        name = definition.name.value
        kind = served.get_type(name)
        if kind is None:
            missing.append(name)
            continue
        fields = getattr(kind, "fields", {})
        missing += [
            f"{name}.{f.name.value}" for f in definition.fields or () if f.name.value not in fields
        ]
    assert missing == [], f"{where}: not in the schema"
