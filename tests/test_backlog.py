"""The resolution backlog: a sync lands records, resolution links them later.

Held here, on SQLite and PostgreSQL: landing then resolving groups records exactly
as ingesting them at once does (updates, quarantines, kind changes and events
included); a kill during resolution loses nothing and links nothing twice; the
backlog is drained by ``c360 resolve --backlog``, by the scheduler and by a
rebuild; bad input is refused with the field named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from c360.connectors.runner import SyncRunner
from c360.connectors.scheduler import run_due
from c360.platform import tables as t
from c360.platform.backlog import backlog_size, failed_records, last_landed, resolve_backlog
from c360.platform.db import make_engine, migrate
from c360.platform.ingest import Ingestor
from c360.platform.matching.rebuild import rebuild
from c360.platform.records import IncomingRecord
from c360.platform.source_events import attach_orphan_events
from c360.platform.sources import save_source
from tests.cli_helpers import InProcessCli, kill_sync_when, run_cli, write_members
from tests.conftest import drop_postgres_schema, postgres_engine_in_fresh_schema


def person(ext: str, **fields: Any) -> IncomingRecord:
    return IncomingRecord(
        stream="people", external_id=ext, kind="person", fields=fields, raw=dict(fields)
    )


def order(ext: str, subject: str, amount: str) -> IncomingRecord:
    return IncomingRecord(
        stream="orders",
        external_id=ext,
        kind="event",
        fields={
            "event_type": "order",
            "amount": amount,
            "subject_external_id": subject,
            "subject_stream": "people",
        },
    )


BATCHES: list[list[IncomingRecord]] = [
    [
        order("o1", "4", "¥88.00"),  # arrives before its customer
        person("1", name="张伟", phone="13800138000", email="zhangwei@example.com"),
        person("2", name="李娜", phone="+86 139 0013 9000"),
        person("3", name="Wang Fang", email="wang.fang@example.com", city="上海"),
        person("4", name="张伟", phone="138-0013-8000"),  # the same person as 1
    ],
    [
        person("5", name="李娜", phone="13900139000", email="lina@163.com"),  # = 2
        person("2", name="李娜", phone="+86 139 0013 9000", city="北京"),  # an update
        person("6", name="陈静", phone="not a phone"),  # quarantined
        order("o2", "2", "¥12.50"),
        person("7", name="Zhao Lei", email="ZHAO.LEI@EXAMPLE.COM"),
    ],
    [
        person("3", name="Wang Fang", email="not-an-email"),  # turns invalid
        person("7", name="赵磊", email="zhao.lei@example.com"),  # changes name only
        person("6", name="陈静", phone="13700137000"),  # corrected
        person("8", name="Chen Jing", phone="+8613700137000"),  # = 6 now
        order("o1", "4", "¥98.00"),  # an updated event
        order("o2", "2", "twelve"),  # an event that turns invalid
    ],
]


@pytest.fixture
def twin_engines(engine: Engine, tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    """The test's database and a second, empty one on the same backend."""
    if engine.dialect.name == "sqlite":
        other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
        migrate(other)
        yield engine, other
        other.dispose()
        return
    other, schema = postgres_engine_in_fresh_schema()
    migrate(other)
    try:
        yield engine, other
    finally:
        other.dispose()
        drop_postgres_schema(schema)


def outcome(engine: Engine) -> dict[str, Any]:
    """What resolution produced, without the ids: who is grouped with whom (and
    their golden profile), which records wait or are quarantined, and whose
    timeline each event is on."""
    sr, rl, gp, ev = t.source_record, t.record_link, t.golden_profile, t.event
    with engine.connect() as conn:
        links = conn.execute(
            select(sr.c.external_id, rl.c.customer_id).join(rl, rl.c.record_id == sr.c.id)
        ).all()
        golden = dict(conn.execute(select(gp.c.customer_id, gp.c.attributes)).all())
        status = dict(conn.execute(select(sr.c.external_id, sr.c.status)).all())
        events = conn.execute(
            select(sr.c.external_id, ev.c.amount, ev.c.customer_id).join(
                sr, sr.c.id == ev.c.record_id
            )
        ).all()
        active = set(
            conn.execute(select(t.customer.c.id).where(t.customer.c.merged_into.is_(None)))
            .scalars()
            .all()
        )
    members: dict[int, set[str]] = {}
    for ext, cid in links:
        members.setdefault(cid, set()).add(ext)
    group_of = {cid: tuple(sorted(exts)) for cid, exts in members.items()}
    return {
        "groups": sorted(group_of.values()),
        "golden": {
            group_of[cid]: {f: v["value"] for f, v in golden[cid].items()}
            for cid in group_of
            if cid in active
        },
        "status": status,
        "events": sorted((ext, amount, group_of.get(cid)) for ext, amount, cid in events),
    }


def test_landing_then_resolving_groups_records_as_ingesting_at_once_does(
    twin_engines: tuple[Engine, Engine],
) -> None:
    at_once, landed = twin_engines
    for engine in twin_engines:
        save_source(engine, "shop", "offline", {}, trust=50)
    for batch in BATCHES:
        with at_once.begin() as conn:
            Ingestor("shop").ingest(conn, batch)
        with landed.begin() as conn:
            Ingestor("shop").land(conn, batch)
    with at_once.begin() as conn:
        attach_orphan_events(conn, "shop")
    # updated records keep one place on the backlog; nothing is linked yet
    assert backlog_size(landed) == 10
    assert outcome(landed)["groups"] == []
    seen: list[tuple[int, int]] = []
    report = resolve_backlog(
        landed, batch_size=3, progress=lambda done, left: seen.append((done, left))
    )
    assert report.resolved == 10
    assert report.batches == 4
    assert seen == [(3, 7), (6, 4), (9, 1), (10, 0)]
    assert report.orphans_attached == 1  # o1 is resolved before the customer it names
    assert backlog_size(landed) == 0
    expected, got = outcome(at_once), outcome(landed)
    assert expected["groups"] == [("1", "4"), ("2", "5"), ("3",), ("6", "8"), ("7",)]
    # record 3's e-mail turned invalid while it waited: the value is refused alone and
    # its valid name still links it, as ingesting at once does
    assert got == expected
    assert got["golden"][("3",)]["name"] == "Wang Fang"
    assert "email" not in got["golden"][("3",)]
    # a second drain finds nothing to do
    assert resolve_backlog(landed).resolved == 0
    # records already linked change: they are re-resolved, their old keys undone
    later = [
        person("4", name="李娜", phone="13900139000"),  # now describes 2 and 5's person
        person("7", name="赵磊", email="zhao.lei@example.com", city="杭州"),
    ]
    with at_once.begin() as conn:
        Ingestor("shop").ingest(conn, later)
    with landed.begin() as conn:
        Ingestor("shop").land(conn, later)
    assert resolve_backlog(landed).resolved == 2
    expected, got = outcome(at_once), outcome(landed)
    assert ("2", "4", "5") in expected["groups"]
    assert got == expected


def test_a_sync_lands_first_and_resolves_after_unless_told_not_to(
    engine: Engine, tmp_path: Path
) -> None:
    members = tmp_path / "members.csv"
    write_members(members, 300)
    config = {"files": [{"path": str(members), "stream": "members", "id_column": "会员卡号"}]}
    save_source(engine, "members", "offline", config)
    report = SyncRunner(engine, batch_size=50, resolve=False).sync("members")
    assert report.resolution is None
    assert report.total.new == 300
    assert backlog_size(engine) == 300
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.record_link)).scalar_one() == 0
    # the scheduler (what `c360 serve` runs every tick) resolves what waits
    results = run_due(engine)
    assert [(r.action, r.status, r.detail) for r in results] == [
        ("resolve-backlog", "succeeded", "300 records resolved")
    ]
    assert backlog_size(engine) == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.record_link)).scalar_one() == 300
    # a changed file: the sync resolves what it landed before returning
    write_members(members, 320)
    report = SyncRunner(engine, batch_size=50).sync("members")
    assert report.resolution is not None
    assert (report.total.new, report.resolution.resolved) == (20, 20)
    assert backlog_size(engine) == 0
    with engine.connect() as conn:
        runs = conn.execute(select(t.sync_run.c.counts).order_by(t.sync_run.c.id)).scalars().all()
    assert "resolved" not in runs[0]  # `c360 runs` shows what each run resolved
    assert runs[1]["resolved"] == 20 and runs[1]["resolve_s"] >= 0


def test_a_rebuild_takes_the_backlog_with_its_events(engine: Engine) -> None:
    save_source(engine, "shop", "offline", {}, trust=50)
    for batch in BATCHES:
        with engine.begin() as conn:
            Ingestor("shop").land(conn, batch)
    report = rebuild(engine, retrain=False)
    assert report.backlog == 10
    assert backlog_size(engine) == 0
    result = outcome(engine)
    assert result["groups"] == [("1", "4"), ("2", "5"), ("3",), ("6", "8"), ("7",)]
    # o2's amount turned invalid: the value is refused, the order stays on the timeline
    assert result["events"] == [("o1", 98.0, ("1", "4")), ("o2", None, ("2", "5"))]


def test_resolve_backlog_refuses_a_bad_batch_size(engine: Engine) -> None:
    with pytest.raises(ValueError, match="batch_size: must be at least 1, got 0"):
        resolve_backlog(engine, batch_size=0)


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_kill_9_during_resolution_loses_nothing_and_links_nothing_twice(
    engine: Engine,
    cli_env: dict[str, str],
    tmp_path: Path,
) -> None:
    rows = 1500
    members = tmp_path / "members.csv"
    write_members(members, rows)
    config = {"files": [{"path": str(members), "stream": "members", "id_column": "会员卡号"}]}
    added = run_cli(
        ["sources", "add", "members", "--connector", "offline", "--config", json.dumps(config)],
        cli_env,
    )
    assert added.returncode == 0, added.stderr
    kill_sync_when(  # while resolving: every row has landed by then
        cli_env, "members", lambda: _count(engine, t.record_link) >= 200, "nothing resolved"
    )
    assert _count(engine, t.source_record) == rows  # landing had finished
    linked, waiting = _count(engine, t.record_link), backlog_size(engine)
    assert 0 < waiting < rows, "the kill must land mid-resolution"
    assert linked + waiting == rows  # every record is linked or waiting, never both
    resumed = run_cli(["resolve", "--backlog"], cli_env)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resolved {waiting:,} landed records" in resumed.stdout
    assert backlog_size(engine) == 0
    with engine.connect() as conn:
        linked_records = conn.execute(
            select(func.count(t.record_link.c.record_id.distinct()))
        ).scalar_one()
    assert linked_records == _count(engine, t.record_link) == rows


def _c360_settings(env: dict[str, str]) -> dict[str, str]:
    """The settings ``cli_env`` gives a ``c360`` process, for an in-process run."""
    return {k: env[k] for k in ("C360_DATABASE_URL", "C360_DATA_DIR", "C360_BATCH_SIZE")}


def test_cli_sync_without_resolving_says_what_waits(
    engine: Engine,
    cli_env: dict[str, str],
    tmp_path: Path,
) -> None:
    members = tmp_path / "members.csv"
    write_members(members, 50)
    config = {"files": [{"path": str(members), "stream": "members", "id_column": "会员卡号"}]}
    save_source(engine, "members", "offline", config)
    cli, env = InProcessCli(), _c360_settings(cli_env)
    landed = cli(["sync", "members", "--no-resolve"], **env)
    assert landed.exit_code == 0, landed.output
    assert "50 records wait on the resolution backlog" in landed.stdout
    assert _count(engine, t.record_link) == 0
    mixed = cli(["resolve", "--backlog", "--rebuild"], **env)
    assert mixed.exit_code == 2
    assert "--backlog resolves with the model in force" in mixed.stderr
    resolved = cli(["resolve", "--backlog"], **env)
    assert resolved.exit_code == 0, resolved.output
    assert "resolved 50 landed records" in resolved.stdout
    assert _count(engine, t.record_link) == 50


def test_a_record_that_cannot_be_resolved_is_set_aside_and_holds_up_no_one(
    engine: Engine,
) -> None:
    save_source(engine, "shop", "offline", {}, trust=50)
    with engine.begin() as conn:
        Ingestor("shop").land(conn, BATCHES[0])
    sr = t.source_record
    with engine.begin() as conn:  # a row an older version wrote wrongly
        conn.execute(sr.update().where(sr.c.external_id == "2").values(attributes="not an object"))
    report = resolve_backlog(engine, batch_size=10)
    assert (report.resolved, report.failed) == (4, 1)
    assert backlog_size(engine) == 0  # the set-aside record is not counted as waiting
    [failed] = failed_records(engine)
    assert (failed.source_name, failed.external_id) == ("shop", "2")
    assert failed.error.startswith("AttributeError")
    assert outcome(engine)["groups"] == [("1", "4"), ("3",)]
    # a later drain does not trip over it again; retrying does, and sets it aside again
    assert resolve_backlog(engine).failed == 0
    assert resolve_backlog(engine, retry_failed=True).failed == 1
    # a new version of the record puts it back in line, and it resolves
    with engine.begin() as conn:
        Ingestor("shop").land(conn, [person("2", name="李娜", phone="13900139000")])
    assert backlog_size(engine) == 1
    assert resolve_backlog(engine).resolved == 1
    assert failed_records(engine) == []
    assert outcome(engine)["groups"] == [("1", "4"), ("2",), ("3",)]


def test_the_cli_lists_records_it_could_not_resolve(
    engine: Engine,
    cli_env: dict[str, str],
) -> None:
    save_source(engine, "shop", "offline", {}, trust=50)
    with engine.begin() as conn:
        Ingestor("shop").land(conn, BATCHES[0])
    sr = t.source_record
    with engine.begin() as conn:
        conn.execute(sr.update().where(sr.c.external_id == "3").values(attributes=[1, 2]))
    done = InProcessCli()(["resolve", "--backlog"], **_c360_settings(cli_env))
    assert done.exit_code == 1
    assert "resolved 4 landed records" in done.stdout
    assert "1 records could not be resolved" in done.stderr
    assert "AttributeError" in done.stderr and "shop" in done.stderr


def test_draining_attaches_other_sources_events_to_customers_that_were_waiting(
    engine: Engine,
) -> None:
    save_source(engine, "crm", "offline", {}, trust=50)
    save_source(engine, "web", "offline", {}, trust=50)
    with engine.begin() as conn:  # a sync landed the person, not resolved yet
        Ingestor("crm").land(conn, [person("c1", name="王芳", email="wangfang@example.com")])
    message = IncomingRecord(
        stream="messages",
        external_id="m1",
        kind="event",
        fields={"event_type": "message", "text": "在吗", "email": "wangfang@example.com"},
    )
    with engine.begin() as conn:  # a webhook delivery is ingested at once
        Ingestor("web").ingest(conn, [message])
    ev = t.event
    with engine.connect() as conn:
        assert conn.execute(select(ev.c.customer_id)).scalar_one() is None
    report = resolve_backlog(engine)
    assert (report.resolved, report.orphans_attached) == (1, 1)
    with engine.connect() as conn:
        owner = conn.execute(select(ev.c.customer_id)).scalar_one()
        linked = conn.execute(select(t.record_link.c.customer_id)).scalar_one()
    assert owner == linked


def test_resolving_up_to_a_point_leaves_what_landed_after(engine: Engine) -> None:
    save_source(engine, "shop", "offline", {}, trust=50)
    with engine.begin() as conn:
        Ingestor("shop").land(conn, BATCHES[0])
    mark = last_landed(engine)
    with engine.begin() as conn:
        Ingestor("shop").land(conn, [person("9", name="周杰", phone="13600136000")])
    assert resolve_backlog(engine, batch_size=2, up_to=mark).resolved == 5
    assert backlog_size(engine) == 1
    assert resolve_backlog(engine).resolved == 1
