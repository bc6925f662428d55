"""Erasure is final: after ``c360 privacy erase`` the database file, its WAL and
the data directory hold none of the person's name, phone, e-mail or id number;
a re-sync of the same rows and a replayed webhook are counted ``suppressed`` and
create nothing, and the replayed delivery keeps its id but not the payload; the
export held every row the database had for them.

The erasure itself runs as a real ``c360`` process; the other commands run in
the test's process (:class:`~tests.cli_helpers.InProcessCli`: the same commands
and exit codes without a process start each)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from starlette.applications import Starlette

from c360.connectors.web.drain import drain_inbox
from c360.connectors.web.webhook import webhook_routes
from c360.platform import tables as t
from c360.platform.business_events import BusinessEvent
from c360.platform.db import make_engine
from c360.platform.privacy.erasure import INBOX, compact
from c360.platform.privacy.models import PrivacyRequest
from c360.platform.sources import save_source
from c360.platform.tables import table_of
from tests.cli_helpers import InProcessCli, run_cli
from tests.helpers import resident_id
from tests.webhook_helpers import CUSTOMER, ORDER, HookServer, deliver, source_config

NAME, PHONE, EMAIL = "黄磊", "13900139000", "huanglei@qq.com"
ID_NUMBER = resident_id(seq="417", birth="19850612")
EVENTS = table_of(BusinessEvent)
OTHER = ("李娜", "13700137000", resident_id(seq="113", birth="19900101"))


@dataclass
class Done:
    """What a finished command left: its exit code and its output."""

    returncode: int
    stdout: str
    stderr: str


def c360(args: list[str], env: dict[str, str]) -> Done:
    """``c360 args`` in this process, with the world's ``C360_*`` settings."""
    result = InProcessCli()(args, **{k: v for k, v in env.items() if k.startswith("C360_")})
    return Done(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def world(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[Engine, dict[str, str], str]]:
    db = tmp_path / "c360.db"
    shutil.copyfile(sqlite_template, db)
    env = {
        **{k: v for k, v in os.environ.items() if k.startswith("C360_")},  # the test's keys
        "PATH": "/usr/bin:/bin",
        "C360_DATABASE_URL": f"sqlite:///{db}",
        "C360_DATA_DIR": str(tmp_path / "data"),
        "C360_IMPORT_ROOTS": str(tmp_path),
        "HOME": str(tmp_path),
    }
    members = tmp_path / "members.csv"
    members.write_text(
        "会员卡号,姓名,手机,身份证号,城市\n"
        f"M1,{NAME},{PHONE},{ID_NUMBER},北京\n"
        f"M2,{OTHER[0]},{OTHER[1]},{OTHER[2]},上海\n",
        encoding="utf-8",
    )
    config = json.dumps({"files": [{"path": str(members), "stream": "members"}]})
    done = c360(["sources", "add", "store", "--connector", "offline", "--config", config], env)
    assert done.returncode == 0, done.stderr
    engine = make_engine(f"sqlite:///{db}")
    yield engine, env, str(db)
    engine.dispose()


def _holds_person(blob: bytes) -> list[str]:
    return [v for v in (NAME, PHONE, EMAIL, ID_NUMBER) if v.encode() in blob]


def _person_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(t.record_link.c.customer_id)
                .join(t.source_record, t.source_record.c.id == t.record_link.c.record_id)
                .where(t.source_record.c.external_id == "U9")
            ).scalar_one()
        )


def test_erasure_leaves_no_trace_and_keeps_them_out(
    world: tuple[Engine, dict[str, str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, env, db = world
    monkeypatch.setenv("C360_DATA_DIR", env["C360_DATA_DIR"])
    synced = c360(["sync", "store"], env)
    assert synced.returncode == 0, synced.stderr + synced.stdout
    save_source(engine, "shop", "web", source_config())
    with HookServer(Starlette(routes=webhook_routes(engine, drain=False))) as hooks:
        hooked = {**CUSTOMER, "data": {**CUSTOMER["data"], "id_number": ID_NUMBER}}
        assert deliver(hooks.url, hooked).status_code == 202
        assert deliver(hooks.url, ORDER).status_code == 202
        drain_inbox(engine, "shop")
        person = _person_id(engine)

        out = tmp_path / "export"
        done = c360(["privacy", "export", str(person), "--out", str(out)], env)
        assert done.returncode == 0, done.stderr
        package = json.loads((out / f"export-{person}.json").read_text("utf-8"))
        assert {"source_record", "golden_profile", "record_link", "event"} <= set(package["tables"])
        assert not set(_holds_person(json.dumps(package, ensure_ascii=False).encode())) ^ {
            NAME,
            PHONE,
            EMAIL,
            ID_NUMBER,
        }
        assert "<td>" in (out / f"export-{person}.html").read_text("utf-8")

        done = run_cli(["privacy", "erase", str(person), "--yes", "--reason", "req 7"], env)
        assert done.returncode == 0, done.stderr
        assert "identifiers suppressed" in done.stdout

        leftovers = {}
        for path in [
            Path(db),
            *Path(db).parent.glob("c360.db-*"),
            *Path(env["C360_DATA_DIR"]).rglob("*"),
        ]:
            if path.is_file() and (found := _holds_person(path.read_bytes())):
                leftovers[str(path)] = found
        assert leftovers == {}
        assert OTHER[1].encode() in Path(db).read_bytes()  # the other person stays

        with engine.connect() as conn:
            before = conn.execute(select(func.count()).select_from(t.source_record)).scalar_one()
            customers = conn.execute(select(func.count()).select_from(t.customer)).scalar_one()
            requests = table_of(PrivacyRequest)
            [request] = (
                conn.execute(select(requests).where(requests.c.kind == "erasure")).mappings().all()
            )
            events = conn.execute(
                select(func.count())
                .select_from(EVENTS)
                .where(EVENTS.c.event_type == "customer.erased")
            ).scalar_one()
        assert request["status"] == "done" and request["kind"] == "erasure" and events == 1

        done = c360(["sync", "store", "--full"], env)
        assert done.returncode == 0, done.stderr
        with engine.connect() as conn:
            run = conn.execute(
                select(t.sync_run.c.counts).order_by(t.sync_run.c.id.desc()).limit(1)
            ).scalar_one()
        assert run["suppressed"] == 1 and run["read"] == 2, run
        assert "suppressed=1" in c360(["runs"], env).stdout

        replay = {**hooked, "id": "evt-1-again"}
        assert deliver(hooks.url, replay).status_code == 202
        report = drain_inbox(engine, "shop")
        assert report.counts.suppressed == 1 and report.counts.new == 0
        with engine.connect() as conn:
            after = conn.execute(select(func.count()).select_from(t.source_record)).scalar_one()
            again = conn.execute(select(func.count()).select_from(t.customer)).scalar_one()
            bodies = {r.delivery_id: r.body for r in conn.execute(select(INBOX))}
        assert (after, again) == (before, customers)
        assert bytes(bodies["evt-1-again"]) == b""  # the replay is known, its payload gone
        compact(engine)
        assert _holds_person(Path(db).read_bytes()) == []


def test_erasing_an_unknown_customer_is_a_clear_error(
    world: tuple[Engine, dict[str, str], str],
) -> None:
    _, env, _ = world
    done = c360(["privacy", "erase", "999999", "--yes"], env)
    assert done.returncode == 2 and "customer_id: no customer 999999" in done.stderr


def test_a_restore_erases_again_who_was_erased_after_the_backup(
    world: tuple[Engine, dict[str, str], str], tmp_path: Path
) -> None:
    engine, env, db = world
    assert c360(["sync", "store"], env).returncode == 0
    archive = tmp_path / "backups" / "before.c360bk"
    done = c360(["backup", str(archive)], env)
    assert done.returncode == 0, done.stderr
    assert _holds_person(archive.read_bytes()) == []  # sealed, not a copy in clear
    assert OTHER[1].encode() not in archive.read_bytes()
    with engine.connect() as conn:
        person = conn.execute(
            select(t.record_link.c.customer_id)
            .join(t.source_record, t.source_record.c.id == t.record_link.c.record_id)
            .where(t.source_record.c.attributes["phone"].as_string() == f"+86{PHONE}")
        ).scalar_one()
    engine.dispose()
    assert c360(["privacy", "erase", str(person), "--yes"], env).returncode == 0
    done = c360(["restore", str(archive), "--yes"], env)
    assert done.returncode == 0, done.stderr
    assert "1 customers erased since were erased again" in done.stdout
    blob = Path(db).read_bytes()
    assert _holds_person(blob) == [] and OTHER[1].encode() in blob

    altered = tmp_path / "altered.c360bk"
    data = bytearray(archive.read_bytes())
    data[-1] ^= 1
    altered.write_bytes(bytes(data))
    done = c360(["restore", str(altered), "--yes"], env)
    assert done.returncode == 2 and "cannot be decrypted with this backup key" in done.stderr
