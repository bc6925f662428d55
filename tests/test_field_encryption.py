"""Field encryption at rest (C360_FIELD_ENCRYPTION=on): the payloads as
received (source records' raw payload, webhook bodies), refused values, event
and case text are sealed in the database file — a grep of its bytes finds none
of them, and without the master key they do not open — while every read
through the models sees them as before; a rotation to a new master key killed
with ``kill -9`` mid-way and run again leaves every value readable under the
new key alone.

The normalized attributes and golden profiles hold those values sealed one by
one (their other attributes stay readable by SQL path), and identity and
blocking keys are keyed blind indexes: a grep of the database file for each
person's phone (as sent and as normalized), e-mail, id number and address finds
nothing, while lookups by those identifiers still find the person.

Not covered (see docs/privacy.md): the search index."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from starlette.applications import Starlette
from stdnum.cn import ric

from c360.connectors.web.drain import drain_inbox
from c360.connectors.web.inbox import INBOX
from c360.connectors.web.webhook import webhook_routes
from c360.platform import tables as t
from c360.platform.db import make_engine
from c360.platform.field_encryption import (
    MASTER_KEY,
    PREFIX,
    FieldKeyError,
    blind_index,
    key_id,
    open_sealed,
    seal,
    tail_index,
)
from c360.platform.identity_rules import identity_key
from c360.platform.privacy.consent import REJECTIONS
from c360.platform.privacy.export import export_person
from c360.platform.secret_keys import decode_key
from c360.platform.sources import save_source
from tests.cli_helpers import C360, InProcessCli
from tests.webhook_helpers import HookServer, deliver, source_config

RAW_ONLY = "前台备注-只在原始报文里"
ORDER_NOTE = "请送到朝阳区望京SOHO T3-1205"
BAD_PHONE = "13X-BAD-PHONE-778"
N_PEOPLE = 15


def _resident_id(i: int) -> str:
    body = f"11010519{70 + i % 20:02d}0{1 + i % 9}1{i % 10}{i % 7:02d}{i % 10}"[:17]
    return body + ric.calc_check_digit(body + "0")  # it expects a check digit place


def _people() -> list[dict[str, Any]]:
    return [
        {
            "id": f"evt-p{i}",
            "type": "customer.created",
            "data": {
                "id": f"U{i}",
                "name": f"测试{i}",
                "mobile": f"1391234{i:04d}",
                "email": f"sealed.person{i}@example.cn",
                "id_number": _resident_id(i),
                "address": f"北京市朝阳区望京西路{100 + i}号院",
                "note": f"{RAW_ONLY}{i}",
            },
        }
        for i in range(N_PEOPLE)
    ]


def _sensitive_values() -> list[str]:
    """Every sensitive value the people carry, in each form a table could hold."""
    found = []
    for person in _people():
        data = person["data"]
        found += [
            data["mobile"],
            f"+86{data['mobile']}",
            data["email"],
            data["id_number"],
            data["address"],
            data["address"].removeprefix("北京市朝阳区"),
        ]
    return found


def _order_config() -> dict[str, Any]:
    config = source_config()
    config["streams"][1]["fields"]["note"] = "text"
    return config


@pytest.fixture(scope="module")
def sealed(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, Path, str]]:
    directory = tmp_path_factory.mktemp("sealed")
    db = directory / "c360.db"
    shutil.copyfile(sqlite_template, db)
    master = secrets.token_hex(32)
    saved = {k: os.environ.get(k) for k in ("C360_FIELD_ENCRYPTION", "C360_MASTER_KEY")}
    os.environ.update(C360_FIELD_ENCRYPTION="on", C360_MASTER_KEY=master)
    engine = make_engine(f"sqlite:///{db}")
    save_source(engine, "shop", "web", _order_config())
    with HookServer(Starlette(routes=webhook_routes(engine, drain=False))) as hooks:
        for person in _people():
            assert deliver(hooks.url, person).status_code == 202
        order = {
            "id": "evt-o1",
            "type": "order.paid",
            "data": {"id": "SO1", "customer_id": "U1", "amount": "9.50", "note": ORDER_NOTE},
        }
        assert deliver(hooks.url, order).status_code == 202
        bad = {
            "id": "evt-bad",
            "type": "customer.created",
            "data": {"id": "UB", "name": "坏号码", "mobile": BAD_PHONE},
        }
        assert deliver(hooks.url, bad).status_code == 202
        drain_inbox(engine, "shop")
    try:
        yield engine, db, master
    finally:
        engine.dispose()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_reads_through_the_models_see_clear_values(sealed: tuple[Engine, Path, str]) -> None:
    engine, _, _ = sealed
    sr = t.source_record
    with engine.connect() as conn:
        raws = [r for r in conn.execute(select(sr.c.raw)).scalars()]
        texts = list(conn.execute(select(t.event.c.text)).scalars())
        bodies = [bytes(b) for b in conn.execute(select(INBOX.c.body)).scalars()]
        refused = list(conn.execute(select(REJECTIONS.c.value)).scalars())
    assert any(RAW_ONLY in str(r) for r in raws)
    assert ORDER_NOTE in texts
    with engine.connect() as conn:
        golden = {
            g["id_number"]["value"]: g
            for g in conn.execute(select(t.golden_profile.c.attributes)).scalars()
            if "id_number" in g
        }
        attributes = list(conn.execute(select(sr.c.attributes)).scalars())
        keys = set(conn.execute(select(t.identity_key.c.key)).scalars())
    people = _people()
    assert len(golden) == N_PEOPLE
    for person in people:
        data = person["data"]
        profile = golden[data["id_number"]]
        assert profile["phone"]["value"] == f"+86{data['mobile']}"
        assert profile["address"]["lineage"][0]["value"] == data["address"]
        assert profile["province"]["value"] == "北京市"  # not sealed: SQL filters read it
        # a lookup by identifier finds the key, which holds no identifier in clear
        key = identity_key("person", "ric", data["id_number"])
        assert key in keys and data["id_number"] not in key
    assert any(a.get("text") == ORDER_NOTE for a in attributes)
    assert any(RAW_ONLY.encode() in b for b in bodies)
    assert any(BAD_PHONE in v for v in refused)


def test_the_database_file_holds_none_of_them_in_clear(sealed: tuple[Engine, Path, str]) -> None:
    engine, db, _ = sealed
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    blob = b"".join(p.read_bytes() for p in [db, *db.parent.glob("c360.db-*")] if p.is_file())
    for value in (RAW_ONLY, BAD_PHONE, ORDER_NOTE, *_sensitive_values()):
        assert value.encode() not in blob, value
    assert PREFIX.encode() in blob
    with engine.connect() as conn:  # stored sealed, under this master key
        stored = conn.execute(text("SELECT text FROM event WHERE text IS NOT NULL")).scalar()
    assert stored.startswith(PREFIX)


def test_without_the_master_key_nothing_opens(
    sealed: tuple[Engine, Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _, master = sealed
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT text FROM event WHERE text IS NOT NULL")).scalar()
    other = secrets.token_hex(32)
    monkeypatch.setenv("C360_MASTER_KEY", other)
    with pytest.raises(FieldKeyError, match="sealed under master key"):
        open_sealed("event.text", stored)
    monkeypatch.setenv("C360_MASTER_KEY", master)
    assert open_sealed("event.text", stored).decode() == ORDER_NOTE
    with pytest.raises(FieldKeyError, match="does not open"):  # another column's context
        open_sealed("case.description", stored)


def test_blind_indexes_are_keyed_and_truncated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C360_MASTER_KEY", "11" * 32)
    monkeypatch.setenv("C360_INDEX_KEY", "33" * 32)
    first = blind_index("person.phone", "+8613912340001")
    assert len(first) == 32 and first == blind_index("person.phone", "+8613912340001")
    assert first != blind_index("person.email", "+8613912340001")  # a key per field
    assert len(tail_index("person.phone", "+8613912340001")) == 8
    assert tail_index("person.phone", "139-1234-0001") == tail_index("person.phone", "0001")
    monkeypatch.setenv("C360_MASTER_KEY", "22" * 32)  # a master key rotation keeps indexes
    assert blind_index("person.phone", "+8613912340001") == first
    monkeypatch.setenv("C360_INDEX_KEY", "44" * 32)
    assert blind_index("person.phone", "+8613912340001") != first
    assert key_id(decode_key("22" * 32, "k")) != key_id(decode_key("11" * 32, "k"))
    assert seal("x.y", b"v").startswith(PREFIX)


def test_a_person_s_export_holds_their_values_in_clear(sealed: tuple[Engine, Path, str]) -> None:
    engine, _, _ = sealed
    person = _people()[3]["data"]
    key = identity_key("person", "ric", person["id_number"])
    with engine.connect() as conn:
        customer = conn.execute(
            select(t.identity_key.c.customer_id).where(t.identity_key.c.key == key)
        ).scalar_one()
        package = export_person(conn, customer)
    (record,) = package["tables"]["source_record"]
    assert record["attributes"]["email"] == person["email"]
    assert record["attributes"]["id_number"] == person["id_number"]
    (golden,) = package["tables"]["golden_profile"]
    assert golden["attributes"]["phone"]["value"] == f"+86{person['mobile']}"
    assert golden["attributes"]["address"]["lineage"][0]["value"] == person["address"]


def _under(engine: Engine, master: str) -> int:
    """How many sealed values in the database name ``master``."""
    kid = key_id(decode_key(master, "k"))
    with engine.connect() as conn:
        return sum(
            int(
                conn.execute(
                    text(f"SELECT count(*) FROM {table} WHERE CAST({column} AS TEXT) LIKE :p"),
                    {"p": f"%{PREFIX}{kid}:%"},
                ).scalar_one()
            )
            for table, column in (
                ("source_record", "raw"),
                ("webhook_inbox", "body"),
                ("field_rejection", "value"),
                ("event", "text"),
                ("source_record", "attributes"),
                ("golden_profile", "attributes"),
            )
        )


def test_rotation_killed_mid_way_and_resumed_ends_under_the_new_key(
    sealed: tuple[Engine, Path, str], tmp_path: Path
) -> None:
    engine, db, old = sealed
    total = _under(engine, old)
    assert total > N_PEOPLE
    new = secrets.token_hex(32)
    env = {
        **os.environ,
        "C360_DATABASE_URL": f"sqlite:///{db}",
        "C360_DATA_DIR": str(tmp_path / "data"),
        "C360_FIELD_ENCRYPTION": "on",
        "C360_MASTER_KEY": new,
        "C360_MASTER_KEY_PREVIOUS": old,
    }
    proc = subprocess.Popen(
        [*C360, "keys", "rotate-data", "--batch", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while _under(engine, new) == 0:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
            assert time.monotonic() < deadline, "the rotation did not start within 60 s"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    half = _under(engine, new)
    assert 0 < half < total and half + _under(engine, old) == total  # nothing lost mid-way
    done = InProcessCli()(
        ["keys", "rotate-data"],
        **{k: env[k] for k in env if k.startswith("C360_")},
    )
    assert done.exit_code == 0, done.output
    assert _under(engine, old) == 0 and _under(engine, new) == total
    # readable under the new key alone
    os.environ.update(C360_MASTER_KEY=new)
    os.environ.pop("C360_MASTER_KEY_PREVIOUS", None)
    try:
        with engine.connect() as conn:
            texts = list(conn.execute(select(t.event.c.text)).scalars())
            raws = list(conn.execute(select(t.source_record.c.raw)).scalars())
            golden = list(conn.execute(select(t.golden_profile.c.attributes)).scalars())
        assert ORDER_NOTE in texts and any(RAW_ONLY in str(r) for r in raws)
        emails = {g["email"]["value"] for g in golden if "email" in g}
        assert emails == {p["data"]["email"] for p in _people()}
    finally:
        os.environ.update(C360_MASTER_KEY=old)
    assert MASTER_KEY.env_var == "C360_MASTER_KEY"
