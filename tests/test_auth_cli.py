"""The token, client and policy commands (mounted on ``c360`` by the lead with
:func:`c360.cli.auth.register`), run through typer's runner against a real
database on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from c360.auth.config import AuthSettings
from c360.auth.keys import SigningKeys
from c360.auth.tokens import TokenVerifier
from c360.cli.auth import app, parse_duration
from c360.platform.auth_models import OAuthClient
from c360.platform.clients import find_client, secret_matches
from c360.platform.models import AuditLog
from c360.platform.settings import get_settings

runner = CliRunner()


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("C360_DATABASE_URL", db_url)
    monkeypatch.setenv("C360_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_clients_create_list_revoke(cli_env: Path, engine: Engine) -> None:
    created = runner.invoke(
        app, ["clients", "create", "crm-sync", "--role", "agent", "--region", "北京"]
    )
    assert created.exit_code == 0, created.output
    secret = re.search(r"client_secret: (\S+)", created.output)
    assert secret is not None
    found = find_client(engine, "crm-sync")
    assert found is not None
    info, stored = found
    assert (info.role, info.region, info.scopes) == (
        "agent",
        "北京",
        ("customers:read", "customers:write"),
    )
    assert secret.group(1) not in stored and stored.startswith("scrypt$")
    assert secret_matches(secret.group(1), stored)

    listed = runner.invoke(app, ["clients", "list"])
    assert listed.exit_code == 0 and "crm-sync" in listed.output
    assert secret.group(1) not in listed.output and "scrypt" not in listed.output

    duplicate = runner.invoke(app, ["clients", "create", "crm-sync", "--role", "agent"])
    assert duplicate.exit_code == 2 and "already exists" in duplicate.output
    bad_role = runner.invoke(app, ["clients", "create", "x-app", "--role", "root"])
    assert bad_role.exit_code == 2 and "unknown role 'root'" in bad_role.output
    bad_name = runner.invoke(app, ["clients", "create", "Bad Name!", "--role", "agent"])
    assert bad_name.exit_code == 2 and "must be 2-64 characters" in bad_name.output
    bad_scope = runner.invoke(
        app, ["clients", "create", "y-app", "--role", "risk", "--scope", "all"]
    )
    assert bad_scope.exit_code == 2 and "unknown scope 'all'" in bad_scope.output

    revoked = runner.invoke(app, ["clients", "revoke", "crm-sync"])
    assert revoked.exit_code == 0, revoked.output
    assert find_client(engine, "crm-sync") is None
    with Session(engine) as session:
        row = session.get(OAuthClient, "crm-sync")
        assert row is not None and row.revoked_at is not None
        actions = [r.action for r in session.exec(select(AuditLog)).all()]
    assert actions == ["client.create", "client.revoke"]
    missing = runner.invoke(app, ["clients", "revoke", "nobody"])
    assert missing.exit_code == 2 and "no client named 'nobody'" in missing.output


def test_token_command_prints_a_verifiable_token(cli_env: Path, engine: Engine) -> None:
    result = runner.invoke(
        app, ["token", "--role", "agent", "--branch", "上海", "--ttl", "30m", "--subject", "wang"]
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    settings = AuthSettings()
    principal = asyncio.run(TokenVerifier(settings, SigningKeys(settings.key_path())).verify(token))
    assert principal.subject == "wang"
    assert principal.roles == frozenset({"agent"})
    assert principal.regions == frozenset({"上海"})
    key_file = cli_env / "keys" / "token-signing-key.json"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    with Session(engine) as session:
        [issued] = session.exec(select(AuditLog)).all()
    assert issued.action == "token.issue" and issued.detail["subject"] == "wang"

    bad = runner.invoke(app, ["token", "--role", "agent", "--ttl", "forever"])
    assert bad.exit_code == 2 and "not a duration" in bad.output
    too_long = runner.invoke(app, ["token", "--role", "agent", "--ttl", "30d"])
    assert too_long.exit_code == 2 and "between 1 minute and" in too_long.output


def test_policy_show(cli_env: Path) -> None:
    shown = runner.invoke(app, ["policy", "show"])
    assert shown.exit_code == 0
    assert "id_number" in shown.output and "compliance" in shown.output


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("30m", 1800), ("8h", 28800), ("1d", 86400)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds
