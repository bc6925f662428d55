"""The search commands, as an operator and a member of staff use them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from c360.cli.search import app
from c360.platform.db import make_engine, migrate
from c360.platform.settings import get_settings
from c360.platform.sources import save_source
from c360.search.embedded import EmbeddedSearch
from tests.search_helpers import PEOPLE, ingest, person

runner = CliRunner()


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("C360_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("C360_DATABASE_URL", f"sqlite:///{tmp_path / 'c360.db'}")
    monkeypatch.setenv("C360_SEARCH_BACKEND", "embedded")
    monkeypatch.delenv("C360_SEARCH_DIR", raising=False)
    get_settings.cache_clear()
    engine = make_engine(f"sqlite:///{tmp_path / 'c360.db'}")
    migrate(engine)
    save_source(engine, "crm", "offline", {}, trust=60)
    ingest(engine, "crm", PEOPLE)
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_indexer_once_then_masked_search(configured: Engine, tmp_path: Path) -> None:
    out = run("indexer", "--once")
    assert f"applied {len(PEOPLE)} changes" in out and "pending 0" in out
    out = run("search", "8000")
    assert "+86138****8000" in out and "13800138000" not in out
    assert "张*" in out and "张伟" not in out
    assert "phone suffix '8000'" in out
    data = json.loads(run("search", "zhangwei", "--json", "--first", "1", "--facet", "city"))
    assert data["total"] == 3 and len(data["hits"]) == 1
    assert data["hits"][0]["email"] == "z***@qq.com"
    assert data["next_cursor"]
    page2 = json.loads(
        run("search", "zhangwei", "--json", "--first", "1", "--after", data["next_cursor"])
    )
    assert page2["hits"][0]["customer_id"] != data["hits"][0]["customer_id"]
    assert (tmp_path / "search" / "CURRENT").exists()


def test_reindex_and_status(configured: Engine) -> None:
    ingest(configured, "crm", [person("late", name="赵敏", phone="13900001111")])
    out = run("reindex")
    assert f"reindexed {len(PEOPLE) + 1} customers" in out
    status = json.loads(run("status"))
    assert status["status"] == "ok" and status["documents"] == len(PEOPLE) + 1
    assert status["lag"] == {"pending": 0, "oldest_age_s": None}


def test_bad_input_is_a_clear_error(configured: Engine) -> None:
    run("indexer", "--once")
    result = runner.invoke(app, ["search", "张伟", "--filter", "colour=red"])
    assert result.exit_code == 2 and "unknown filter 'colour'" in result.output
    result = runner.invoke(app, ["search", "张伟", "--filter", "city"])
    assert result.exit_code == 2 and "NAME=VALUE" in result.output
    result = runner.invoke(app, ["search", "11010119900307123X"])
    assert result.exit_code == 0
    from tests.helpers import resident_id

    result = runner.invoke(app, ["search", resident_id()])
    assert result.exit_code == 2 and "id_number" in result.output


def test_another_process_sees_the_index(configured: Engine, tmp_path: Path) -> None:
    run("indexer", "--once")
    backend = EmbeddedSearch(tmp_path / "search")
    assert backend.stats().documents == len(PEOPLE)
    backend.close()
