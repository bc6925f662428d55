"""The sync runner through the real ``c360`` command and the offline connector:
checkpoint after commit, resume after ``kill -9``, retries, run records, and the
CLI's answers to bad input. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import Engine, func, select

from c360.connectors.base import CheckResult, Connector, Stream, TransientSourceError
from c360.connectors.hookspecs import hookimpl
from c360.connectors.registry import connectors, plugin_manager
from c360.connectors.runner import SyncRunner, load_state
from c360.platform import tables as t
from c360.platform.locks import source_lock
from c360.platform.records import Checkpoint, IncomingRecord
from c360.platform.sources import save_source
from tests.cli_helpers import C360, InProcessCli, kill_sync_when, run_cli, write_members


def count_records(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.source_record)).scalar_one())


def test_kill_9_mid_sync_then_rerun_loses_nothing_and_duplicates_nothing(
    engine: Engine, cli_env: dict[str, str], tmp_path: Path
) -> None:
    rows = 3_000
    members = tmp_path / "members.csv"
    write_members(members, rows)
    config = {
        "files": [{"path": str(members), "stream": "members", "id_column": "会员卡号"}],
        "checkpoint_every": 50,
    }
    save_source(engine, "members", "offline", config)
    kill_sync_when(
        cli_env,
        "members",
        lambda: load_state(engine, "members", "members").get("row", 0) >= 300,
        "no checkpoint committed",
    )
    state = load_state(engine, "members", "members")
    committed = count_records(engine)
    assert 0 < committed < rows, "the kill must land mid-sync"
    # Checkpoint after commit: every row the saved state covers is in the database.
    # Row numbers are the file's own (the header is row 1), so M000000 is row 2.
    covered_rows = state["row"] - 1
    assert covered_rows <= committed
    sr = t.source_record
    last_covered = f"M{covered_rows - 1:06d}"
    with engine.connect() as conn:
        covered = conn.execute(
            select(func.count()).select_from(sr).where(sr.c.external_id <= last_covered)
        ).scalar_one()
    assert covered == covered_rows
    rerun = run_cli(["sync", "members"], cli_env)
    assert rerun.returncode == 0, rerun.stderr
    assert count_records(engine) == rows
    with engine.connect() as conn:
        distinct = conn.execute(select(func.count(sr.c.external_id.distinct()))).scalar_one()
        customers = conn.execute(select(func.count()).select_from(t.customer)).scalar_one()
        run = (
            conn.execute(select(t.sync_run).order_by(t.sync_run.c.id.desc()).limit(1))
            .mappings()
            .one()
        )
    assert distinct == rows
    assert customers <= rows
    assert run["status"] == "succeeded"
    with engine.connect() as conn:
        statuses = (
            conn.execute(select(t.sync_run.c.status).order_by(t.sync_run.c.id)).scalars().all()
        )
    assert statuses == ["failed", "succeeded"]  # the killed run does not stay "running"
    counts = run["counts"]
    assert (
        counts["read"]
        == counts["new"] + counts["updated"] + counts["unchanged"] + counts["quarantined"]
    )
    assert counts["new"] == rows - committed


def test_rerun_of_an_unchanged_file_reports_everything_unchanged(
    engine: Engine, tmp_path: Path
) -> None:
    members = tmp_path / "members.csv"
    write_members(members, 300)
    save_source(
        engine,
        "members",
        "offline",
        {"files": [{"path": str(members), "stream": "members", "id_column": "会员卡号"}]},
    )
    first = SyncRunner(engine, batch_size=100).sync("members")
    assert (first.total.read, first.total.new) == (300, 300)
    second = SyncRunner(engine, batch_size=100).sync("members")
    assert (second.total.read, second.total.unchanged, second.total.new) == (300, 300, 0)


class FlakyConfig(BaseModel):
    fail_times: int = 1
    records: int = 50


class FlakyConnector(Connector[FlakyConfig]):
    """A source whose reads fail transiently the first ``fail_times`` times after 20 records."""

    name = "test-flaky"
    title = "test-only flaky source"
    config_model = FlakyConfig
    failures = 0

    def check(self) -> CheckResult:
        return CheckResult.ok()

    def streams(self) -> list[Stream]:
        return [Stream("people", "person")]

    def read(self, stream: str, state: dict[str, Any]) -> Iterator[Any]:
        start = state.get("next", 0)
        for i in range(start, self.config.records):
            if i == 20 and FlakyConnector.failures < self.config.fail_times:
                FlakyConnector.failures += 1
                raise TransientSourceError("HTTP 503 from upstream")
            yield IncomingRecord(
                "people", f"r{i}", "person", {"name": f"李{i}", "email": f"li{i}@example.com"}
            )
            if i % 10 == 9:
                yield Checkpoint("people", {"next": i + 1})


class FlakyPlugin:
    @hookimpl
    def c360_register_connectors(self) -> list[type[Connector[Any]]]:
        return [FlakyConnector]


@pytest.fixture
def flaky_plugin() -> Iterator[None]:
    plugin = FlakyPlugin()
    plugin_manager().register(plugin)
    FlakyConnector.failures = 0
    yield
    plugin_manager().unregister(plugin)


def test_transient_errors_are_retried_from_the_last_commit(
    engine: Engine, flaky_plugin: None
) -> None:
    save_source(engine, "flaky", "test-flaky", {"fail_times": 2})
    report = SyncRunner(engine, batch_size=10, backoff_initial_s=0.01, backoff_max_s=0.02).sync(
        "flaky"
    )
    assert report.retries == 2
    assert count_records(engine) == 50
    assert report.total.balanced()
    assert report.total.new == 50


def test_persistent_transient_errors_fail_the_run_with_the_reason(
    engine: Engine, flaky_plugin: None
) -> None:
    save_source(engine, "flaky", "test-flaky", {"fail_times": 99})
    with pytest.raises(TransientSourceError, match="503"):
        SyncRunner(
            engine, batch_size=10, max_attempts=3, backoff_initial_s=0.01, backoff_max_s=0.02
        ).sync("flaky")
    with engine.connect() as conn:
        run = conn.execute(select(t.sync_run)).mappings().one()
    assert run["status"] == "failed"
    assert "503" in run["error"]
    assert count_records(engine) == 20  # what was committed before the failure stays


def test_cli_rejects_bad_config_naming_the_field(cli: InProcessCli) -> None:
    result = cli(
        [
            "sources",
            "add",
            "x",
            "--connector",
            "offline",
            "--config",
            '{"files": [{"path": "a.csv", "kind": "robot"}]}',
        ]
    )
    assert result.exit_code == 2
    assert "files.0.kind" in result.stderr
    truncated = cli(["sources", "add", "x", "--connector", "offline", "--config", '{"files": ['])
    assert truncated.exit_code == 2 and "not valid JSON" in truncated.stderr


def test_cli_names_unknown_sources_and_connectors(
    cli: InProcessCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = cli(["sync", "nope"])
    assert result.exit_code == 2 and "no source named 'nope'" in result.stderr
    result = cli(["sources", "add", "x", "--connector", "fax-machine"])
    assert result.exit_code == 2 and "'fax-machine' is not installed" in result.stderr
    monkeypatch.chdir(tmp_path)  # a.csv under an import root
    result = cli(
        [
            "sources",
            "add",
            "Bad Name!",
            "--connector",
            "offline",
            "--config",
            '{"files": [{"path": "a.csv"}]}',
        ]
    )
    assert result.exit_code == 2 and "source name" in result.stderr


def test_connectors_list_names_every_installed_connector(cli: InProcessCli) -> None:
    result = cli(["connectors", "list"])
    assert result.exit_code == 0, result.output
    rows = [line.split("│") for line in result.stdout.splitlines() if line.startswith("│")]
    listed = {cells[1].strip() for cells in rows}  # the table's first column
    assert set(connectors()) <= listed  # every installed connector, by name
    assert {"offline", "web", "social", "credit"} <= set(connectors())


def _add_members_source(engine: Engine, name: str, path: Path) -> None:
    # Stored directly: these tests are about syncs; `sources add` has its own.
    config = {"files": [{"path": str(path), "stream": "members", "id_column": "会员卡号"}]}
    save_source(engine, name, "offline", config)


def test_concurrent_syncs_of_overlapping_sources_create_each_person_once(
    engine: Engine, cli_env: dict[str, str], tmp_path: Path
) -> None:
    people = 800
    for name in ("a", "b"):
        write_members(tmp_path / f"{name}.csv", people)
        _add_members_source(engine, name, tmp_path / f"{name}.csv")
    procs = [
        subprocess.Popen(
            [*C360, "sync", name],
            env=cli_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    cu = t.customer
    with engine.connect() as conn:
        active = conn.execute(
            select(func.count()).select_from(cu).where(cu.c.merged_into.is_(None))
        ).scalar_one()
    with (tmp_path / "a.csv").open(encoding="utf-8") as fh:
        distinct_people = len({row["身份证号"] for row in csv.DictReader(fh)})
    assert active == distinct_people  # each person once, whichever source came first


def test_a_second_sync_of_the_same_source_is_refused_while_one_runs(
    engine: Engine, cli_env: dict[str, str], tmp_path: Path
) -> None:
    # The test holds the lock a running sync holds (SyncRunner.sync takes it),
    # so the `c360 sync` process meets a sync in progress however fast it is.
    write_members(tmp_path / "big.csv", 10)
    _add_members_source(engine, "big", tmp_path / "big.csv")
    with source_lock(engine, "big"):
        refused = run_cli(["sync", "big"], cli_env)
    assert refused.returncode == 2, refused.stderr
    assert "being synced by another process" in refused.stderr
    assert count_records(engine) == 0
    # The lock goes with its holder: the next sync runs.
    after = run_cli(["sync", "big"], cli_env)
    assert after.returncode == 0, after.stderr
    assert count_records(engine) == 10


def test_cli_names_bad_settings_and_unreachable_databases(tmp_path: Path) -> None:
    env = dict(os.environ, C360_DATA_DIR=str(tmp_path), C360_BATCH_SIZE="0")
    result = run_cli(["runs"], env)
    assert result.returncode == 2 and "C360_BATCH_SIZE" in result.stderr
    assert "Traceback" not in result.stderr
    env = dict(os.environ, C360_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/nowhere")
    result = run_cli(["runs"], env)
    assert result.returncode == 2 and "cannot open the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_reports_a_missing_config_file(cli: InProcessCli) -> None:
    result = cli(["sources", "add", "x", "--connector", "offline", "--config", "@/no/such.json"])
    assert result.exit_code == 2 and "No such file" in result.stderr


def test_sync_all_keeps_going_past_a_broken_source(
    engine: Engine, cli_env: dict[str, str], tmp_path: Path
) -> None:
    write_members(tmp_path / "ok.csv", 50)
    _add_members_source(engine, "a-broken", tmp_path / "missing.csv")
    _add_members_source(engine, "b-ok", tmp_path / "ok.csv")
    result = run_cli(["sync", "--all"], cli_env)
    assert result.returncode == 2
    assert "a-broken" in result.stderr
    assert count_records(engine) == 50
