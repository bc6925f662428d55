"""The hooks that make built-in connectors plugins like any other: routes,
commands and scheduled work, called for a plugin registered here exactly as for
``web`` and ``credit``; the plugin API in one namespace; the one writer of
``sync_run`` rows and the one way to open the database."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from typer.testing import CliRunner

import c360
import c360.connectors as api
from c360.app import create_app
from c360.cli import PLUGINS, app, module_commands
from c360.connectors import DueRun, hookimpl, record_run
from c360.connectors.registry import plugin_manager
from c360.connectors.scheduler import due_sources, run_due
from c360.platform.db import DatabaseUnavailable, open_database
from c360.platform.models import Source, utcnow
from c360.platform.settings import get_settings
from c360.platform.sources import save_source
from c360.platform.sync_runs import (
    MAX_ERROR,
    fail_running,
    finish_run,
    latest_starts,
    recent_runs,
    start_run,
)
from tests.webhook_helpers import HookServer

C360 = Path(c360.__file__).parent
UNREACHABLE = "postgresql://c360@127.0.0.1:1/none"


class Plugin:
    """A plugin with one implementation of each new hook; what it was asked is kept."""

    def __init__(self) -> None:
        self.due: list[str] = []

    @hookimpl
    def c360_register_routes(self, engine: Engine) -> list[BaseRoute]:
        async def health(request: Request) -> JSONResponse:
            return JSONResponse({"status": "ok"})

        return [Route("/cards/health", health, methods=["GET"])]

    @hookimpl
    def c360_source_due(self, engine: Engine, source: Source, now: datetime) -> DueRun | None:
        self.due.append(source.name)
        if source.name == "claimed":
            with engine.begin() as conn:
                record_run(conn, source.name, started_at=now, status="succeeded", counts={})
            return DueRun(source.name, "touch", "succeeded")
        if source.name == "buggy":
            raise RuntimeError("the plugin has a bug")
        return None

    @hookimpl
    def c360_scheduler_tick(self, engine: Engine) -> list[DueRun]:
        return [DueRun("cards", "archive", "succeeded", "2 exports archived")]


class BrokenTick:
    @hookimpl
    def c360_scheduler_tick(self, engine: Engine, now: datetime) -> list[DueRun]:
        raise RuntimeError("tick failed")


@pytest.fixture
def plugin() -> Iterator[Plugin]:
    pm = plugin_manager()
    registered = Plugin()
    pm.register(registered, name="test-cards")
    pm.register(BrokenTick(), name="test-broken")
    yield registered
    pm.unregister(name="test-cards")
    pm.unregister(name="test-broken")


def test_plugin_routes_are_mounted_beside_the_webhook_inbox(
    sqlite_engine: Engine, plugin: Plugin
) -> None:
    app = create_app(sqlite_engine)
    paths = [getattr(route, "path", None) for route in app.routes]
    assert "/hooks/{source}" in paths  # the web connector's, through the same hook
    assert paths.index("/graphql") < paths.index("/cards/health")  # c360's own win a clash
    with HookServer(app) as server:
        assert httpx.get(f"{server.url}/cards/health").json() == {"status": "ok"}
        assert httpx.post(f"{server.url}/hooks/nowhere", content=b"{}").status_code == 404


def test_a_plugin_takes_over_a_due_source_or_leaves_it_to_a_sync(
    engine: Engine, plugin: Plugin
) -> None:
    for name in ("buggy", "claimed", "synced"):
        save_source(engine, name, "web", {"base_url": 5}, refresh_interval_s=60)
    results = {(r.source, r.action, r.status) for r in run_due(engine)}
    assert plugin.due == ["buggy", "claimed", "synced"]
    assert results == {
        ("buggy", "refresh", "failed"),  # a plugin's bug stops neither the others nor the tick
        ("claimed", "touch", "succeeded"),
        ("synced", "sync", "failed"),  # nobody claimed it: synced (its config is broken)
        ("cards", "archive", "succeeded"),  # the tick hook, called without `now`
        ("test-broken", "scheduled-work", "failed"),
    }
    assert "claimed" not in due_sources(engine)  # its run counts
    assert "claimed" in due_sources(engine, utcnow() + timedelta(seconds=61))


def test_the_tick_is_skipped_without_drain(engine: Engine, plugin: Plugin) -> None:
    assert run_due(engine, drain=False) == []


def test_credit_registers_its_commands_through_the_hook() -> None:
    plugin_commands = module_commands(PLUGINS).commands
    assert "enrich" in plugin_commands and "consents" in plugin_commands
    impls = {i.plugin_name for i in plugin_manager().hook.c360_register_commands.get_hookimpls()}
    assert "credit" in impls
    assert "def enrich" not in (C360 / "cli" / "connectors.py").read_text(encoding="utf-8")


def test_a_plugin_command_answers_an_unreachable_database_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("C360_DATABASE_URL", UNREACHABLE)
    monkeypatch.setenv("C360_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["consents", "list"])
    finally:
        get_settings.cache_clear()
    assert (result.exit_code == 2 and result.exception is None) or isinstance(
        result.exception, SystemExit
    )
    assert result.stderr.startswith("error: cannot open the database postgresql")
    assert "Traceback" not in result.stderr and "refused" in result.stderr


def test_open_database_raises_one_clear_line() -> None:
    with pytest.raises(DatabaseUnavailable) as caught:
        open_database(UNREACHABLE)
    message = str(caught.value)
    assert message.startswith("cannot open the database postgresql+psycopg://c360@127.0.0.1:1")
    assert "\n" not in message


def test_a_plugin_imports_the_api_from_one_place() -> None:
    for name in (
        "hookimpl",
        "Connector",
        "Stream",
        "CheckResult",
        "Message",
        "IncomingRecord",
        "Checkpoint",
        "SourceConfigError",
        "TransientSourceError",
        "DueRun",
        "open_database",
        "DatabaseUnavailable",
        "record_run",
    ):
        assert name in api.__all__ and hasattr(api, name)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_assembly_and_the_scheduler_name_no_connector() -> None:
    scheduler = C360 / "connectors" / "scheduler.py"
    for path in (scheduler, C360 / "app.py", C360 / "cli" / "connectors.py"):
        named = {
            m
            for m in _imports(path)
            if m.startswith(("c360.connectors.web", "c360.connectors.credit"))
        }
        assert named == set(), path
    strings = {
        node.value
        for node in ast.walk(ast.parse(scheduler.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    assert not strings & {"credit", "web"}


def test_sync_run_rows_have_one_writer() -> None:
    writers = sorted(
        str(path.relative_to(C360))
        for path in C360.rglob("*.py")
        if "migrations" not in path.parts
        and any(
            f"sync_run.{verb}(" in path.read_text(encoding="utf-8")
            for verb in ("insert", "update", "delete")
        )
    )
    assert writers == ["platform/sync_runs.py"]


def test_runs_are_opened_finished_recorded_and_failed(engine: Engine) -> None:
    for name in ("shop", "bureau"):
        save_source(engine, name, "web", {})
    opened = start_run(engine, "shop")
    finish_run(engine, opened, "failed", {"read": 3}, "x" * (MAX_ERROR + 10))
    dangling = start_run(engine, "shop")
    assert fail_running(engine, "shop", "the process died") == 1
    with engine.begin() as conn:
        recorded = record_run(
            conn, "bureau", started_at=utcnow(), status="succeeded", counts={"cached": 1}
        )
    runs: dict[int | None, Any] = {run.id: run for run in recent_runs(engine)}
    assert [runs[i].status for i in (opened, dangling, recorded)] == ["failed"] * 2 + ["succeeded"]
    assert len(runs[opened].error) == MAX_ERROR and runs[opened].counts == {"read": 3}
    assert runs[dangling].error == "the process died" and runs[dangling].finished_at
    assert runs[recorded].counts == {"cached": 1} and runs[recorded].error is None
    assert set(latest_starts(engine)) == {"shop", "bureau"}
