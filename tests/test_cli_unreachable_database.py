"""Every command that needs the database answers an unreachable one with one
clear line and exit code 2, not a traceback (run in-process: the error path is
what is tested, and a subprocess per command would only add start-up time)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from c360.cli import app
from c360.platform.settings import get_settings

NOWHERE = "postgresql+psycopg://nobody@127.0.0.1:9/none"  # nothing listens on port 9

COMMANDS = [
    ["sources", "list"],
    ["runs"],
    ["sync", "--due"],
    ["clients", "list"],
    ["audit", "verify"],
    ["audit", "anchor"],
    ["search-status"],
    ["search", "张伟"],
    ["reindex"],
    ["resolve", "--backlog"],
    ["explain", "1", "--purpose", "service"],
    ["consents", "list", "1"],
]


@pytest.fixture
def unreachable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("C360_DATABASE_URL", NOWHERE)
    monkeypatch.setenv("C360_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_unreachable_database_is_one_line_and_exit_2(
    unreachable: None, command: list[str]
) -> None:
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2, (command, result.output, result.exception)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines and lines[0].startswith("error: cannot open the database"), result.output
    assert len(lines) <= 2, result.output  # the one message, wrapped at most once
    assert "Traceback" not in result.output
