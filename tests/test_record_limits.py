"""Input limits on records and files (issue 12, item 7): a value too big or a
field past the column limit is rejected with its reason while the rest of the
record lands; a record over the record limit is quarantined without being read
whole; an XLSX archive over its size, ratio or row limit is refused before
openpyxl expands it; a profile keeps at most C360_MAX_PROFILE_ATTRIBUTES; a sync
whose process was killed is marked failed by ``c360 runs``.

Real files, real SQLite/PostgreSQL databases, real ``c360`` subprocesses."""

from __future__ import annotations

import json
import os
import time
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, select

from c360.connectors.base import SourceConfigError
from c360.connectors.offline import OfflineConnector
from c360.connectors.runner import SyncRunner, fail_dead_runs, load_state
from c360.platform import tables as t
from c360.platform.ingest import Ingestor
from c360.platform.locks import source_lock
from c360.platform.models import utcnow
from c360.platform.records import IncomingRecord
from c360.platform.sources import save_source
from tests.cli_helpers import kill_sync_when, run_cli, write_members

MiB = 1024 * 1024


def offline(path: Path, **spec: Any) -> OfflineConnector:
    connector = OfflineConnector.from_config({"files": [{"path": str(path), **spec}]})
    assert isinstance(connector, OfflineConnector)
    return connector


def stored(engine: Engine) -> dict[str, Any]:
    sr = t.source_record
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                sr.c.external_id,
                sr.c.status,
                sr.c.attributes,
                sr.c.raw,
                sr.c.warnings,
                sr.c.quarantine_reasons,
            )
        ).mappings()
        return {row["external_id"]: dict(row) for row in rows}


# --- CSV and JSON Lines --------------------------------------------------------------


def test_wide_and_oversize_csv_rows_are_bounded_and_every_rejection_counted(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "wide.csv"
    lines = [
        "编号,姓名,手机,备注",
        "A1,张伟,13800138000,老客户",
        # 2 MB, 2,000,000 columns: over the record limit, never split into cells
        "A2,李娜,13800138001," + "," * 2_000_000,
        # 600 cells: the first 500 kept, the rest rejected with one reason
        "A3,王芳,13800138002," + ",".join(f"x{i}" for i in range(597)),
        # a 100 KB value: rejected alone, the name and phone kept
        "A4,刘洋,13800138003," + "长" * 35_000,
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    save_source(sqlite_engine, "wide", "offline", {"files": [{"path": str(path)}]})
    report = SyncRunner(sqlite_engine).sync("wide")
    counts = report.total
    assert (counts.read, counts.new, counts.quarantined, counts.rejected) == (4, 3, 1, 2)
    assert counts.balanced()
    rows = stored(sqlite_engine)
    assert rows["A1"]["status"] == "accepted" and not rows["A1"]["warnings"]
    wide = rows["wide.csv:row-3"] if "wide.csv:row-3" in rows else rows["row-3"]
    assert wide["status"] == "quarantined"
    assert "C360_MAX_RECORD_BYTES" in wide["quarantine_reasons"]["record"]
    assert len(json.dumps(wide["raw"])) < 5_000  # the first characters only
    many = rows["A3"]
    assert many["status"] == "accepted" and many["attributes"]["name"] == "王芳"
    assert "C360_MAX_RECORD_COLUMNS" in many["warnings"]["_columns"]
    assert len(many["raw"]) <= 500
    big = rows["A4"]
    assert big["status"] == "accepted" and big["attributes"]["phone"] == "+8613800138003"
    assert "C360_MAX_VALUE_BYTES" in big["warnings"]["备注"]
    assert "备注" not in big["attributes"] and "长长" not in json.dumps(big["raw"])
    with sqlite_engine.connect() as conn:
        run = conn.execute(select(t.sync_run.c.counts)).scalar_one()
    assert run["rejected"] == 2 and run["quarantined"] == 1


def test_a_50_mb_json_line_is_quarantined_without_being_loaded(tmp_path: Path) -> None:
    path = tmp_path / "crm.jsonl"
    with path.open("w", encoding="utf-8") as f:
        f.write(json.dumps({"id": "c1", "name": "张伟", "phone": "13800138000"}) + "\n")
        f.write('{"id": "c2", "name": "李娜", "note": "' + "x" * (50 * MiB) + '"}\n')
        f.write(json.dumps({"id": "c3", "name": "王芳", "note": "y" * 100_000}) + "\n")
    connector = offline(path)
    tracemalloc.start()
    try:
        recs = [m for m in connector.read("crm", {}) if isinstance(m, IncomingRecord)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB, f"reading held {peak:,} bytes"
    assert [r.external_id for r in recs] == ["c1", "line-2", "c3"]
    assert "C360_MAX_RECORD_BYTES" in recs[1].problems["record"]
    assert len(recs[1].raw["_line"]) <= 1000
    # the 100 KB value is under the record limit: the platform rejects it alone
    assert recs[2].fields["note"] == "y" * 100_000


def test_the_platform_bounds_any_connectors_records(sqlite_engine: Engine) -> None:
    save_source(sqlite_engine, "api", "offline", {})
    wide = {f"extra_{i}": f"v{i}" for i in range(2_000)}
    records = [
        IncomingRecord("people", "p1", "person", {"name": "张伟", "phone": "13800138000", **wide}),
        IncomingRecord(
            "people",
            "p2",
            "person",
            {"name": "李娜", "note": "n" * 70_000},
            raw={"name": "李娜", "note": "n" * 70_000},
        ),
        # nothing usable is left once the oversize phone goes: quarantined, saying why
        IncomingRecord("people", "p3", "person", {"phone": "1" * 70_000}),
    ]
    with sqlite_engine.begin() as conn:
        counts = Ingestor("api").ingest(conn, records)
    assert (counts.new, counts.quarantined, counts.rejected) == (2, 1, 3)
    assert counts.balanced()
    rows = stored(sqlite_engine)
    assert rows["p1"]["attributes"]["phone"] == "+8613800138000"
    assert len(rows["p1"]["attributes"]) < 520 and len(rows["p1"]["raw"]) <= 500
    assert "1,502 fields past the limit of 500" in rows["p1"]["warnings"]["_columns"]
    assert "C360_MAX_VALUE_BYTES" in rows["p2"]["warnings"]["note"]
    assert rows["p2"]["raw"] == {"name": "李娜", "note": "[rejected: 70,004 bytes]"}
    assert rows["p3"]["status"] == "quarantined"
    assert "C360_MAX_VALUE_BYTES" in rows["p3"]["quarantine_reasons"]["phone"]
    assert "record" in rows["p3"]["quarantine_reasons"]


def test_a_golden_profile_keeps_at_most_1000_attributes(sqlite_engine: Engine) -> None:
    save_source(sqlite_engine, "crm", "offline", {})
    person = {"name": "张伟", "phone": "13800138000", "email": "zw@example.com"}
    records = [
        IncomingRecord(
            "people", f"p{n}", "person", {**person, **{f"x{n}_{i}": "v" for i in range(450)}}
        )
        for n in range(3)
    ]
    with sqlite_engine.begin() as conn:
        Ingestor("crm").ingest(conn, records)
    with sqlite_engine.connect() as conn:
        profiles = conn.execute(select(t.golden_profile.c.attributes)).scalars().all()
    assert len(profiles) == 1  # one customer...
    (golden,) = profiles
    assert len(golden) == 1000  # ...of 1,350 attributes, capped
    assert {"name", "phone", "email"} <= golden.keys()


# --- XLSX ------------------------------------------------------------------------------


def xlsx_with_sheet(path: Path, before: bytes, filler: bytes, times: int, after: bytes) -> Path:
    """A valid workbook whose first sheet's XML is ``before + filler * times + after``,
    streamed into the archive (so a 210 MB sheet costs no 210 MB of memory)."""
    template = path.with_suffix(".template.xlsx")
    wb = Workbook()
    wb.active.append(["姓名", "手机"])
    wb.save(template)
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                continue
            dst.writestr(info, src.read(info.filename), compress_type=zipfile.ZIP_DEFLATED)
        member = zipfile.ZipInfo("xl/worksheets/sheet1.xml")
        member.compress_type = zipfile.ZIP_DEFLATED
        with dst.open(member, "w", force_zip64=True) as sheet:
            sheet.write(before)
            for _ in range(times):
                sheet.write(filler)
            sheet.write(after)
    template.unlink()
    return path


SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
)
SHEET_TAIL = b"</t></is></c></row></sheetData></worksheet>"


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("bombs")
    chunk = b"A" * MiB
    made = {
        # 210 MB of one cell's text in a ~1 MB file: over the uncompressed limit
        "size": xlsx_with_sheet(root / "size.xlsx", SHEET_HEAD, chunk, 210, SHEET_TAIL),
        # 20 MB in ~20 KB: under the size limit, compressed ~1000 to 1
        "ratio": xlsx_with_sheet(root / "ratio.xlsx", SHEET_HEAD, chunk, 20, SHEET_TAIL),
        # one row numbered 5,000,000: openpyxl would yield 5 million empty rows
        "rows": xlsx_with_sheet(
            root / "rows.xlsx",
            SHEET_HEAD.replace(b'<row r="1"><c r="A1" t="inlineStr"><is><t>', b""),
            b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>',
            1,
            b'<row r="5000000"><c r="A5000000" t="inlineStr"><is><t>y</t></is></c></row>'
            b"</sheetData></worksheet>",
        ),
    }
    yield made


@pytest.mark.parametrize(
    ("bomb", "setting"),
    [
        ("size", "C360_XLSX_MAX_UNCOMPRESSED_BYTES"),
        ("ratio", "C360_XLSX_MAX_RATIO"),
        ("rows", "C360_XLSX_MAX_ROWS"),
    ],
)
def test_an_xlsx_bomb_is_refused_fast_naming_the_file_and_the_limit(
    bombs: dict[str, Path], bomb: str, setting: str
) -> None:
    path = bombs[bomb]
    assert path.stat().st_size < 2 * MiB
    connector = offline(path)
    started = time.perf_counter()
    result = connector.check()
    assert time.perf_counter() - started < 0.5
    assert not result.succeeded
    assert path.name in result.message and setting in result.message
    with pytest.raises(SourceConfigError, match=setting):
        list(connector.read(path.stem, {}))


def test_sources_check_answers_a_bomb_fast(bombs: dict[str, Path], tmp_path: Path) -> None:
    cli_env = {**os.environ, "C360_DATA_DIR": str(tmp_path / "data")}
    cli_env.pop("C360_DATABASE_URL", None)
    config = {"files": [{"path": str(bombs["size"]), "stream": "expo"}]}
    added = run_cli(
        ["sources", "add", "expo", "--connector", "offline", "--config", json.dumps(config)],
        cli_env,
    )
    assert added.returncode == 0, added.stderr
    started = time.perf_counter()
    checked = run_cli(["sources", "check", "expo"], cli_env)
    assert time.perf_counter() - started < 15  # (a Python start-up included)
    assert checked.returncode == 1
    assert "size.xlsx" in checked.stderr and "C360_XLSX_MAX_UNCOMPRESSED_BYTES" in checked.stderr


# --- a killed sync -------------------------------------------------------------------


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "C360_DATABASE_URL": db_url,
        "C360_DATA_DIR": str(tmp_path / "data"),
        "C360_BATCH_SIZE": "200",
    }


def test_a_sync_killed_with_sigkill_is_marked_failed_by_c360_runs(
    engine: Engine, cli_env: dict[str, str], tmp_path: Path
) -> None:
    members = tmp_path / "members.csv"
    write_members(members, 6_000)
    config = {
        "files": [{"path": str(members), "stream": "members", "id_column": "会员卡号"}],
        "checkpoint_every": 100,
    }
    save_source(engine, "members", "offline", config)
    kill_sync_when(
        cli_env,
        "members",
        lambda: load_state(engine, "members", "members").get("row", 0) >= 600,
        "no checkpoint committed",
    )
    run = t.sync_run
    with engine.connect() as conn:
        assert conn.execute(select(run.c.status)).scalar_one() == "running"
    shown = run_cli(["runs"], cli_env)
    assert shown.returncode == 0, shown.stderr
    assert "failed" in shown.stdout and "running" not in shown.stdout
    with engine.connect() as conn:
        status, error, finished = conn.execute(
            select(run.c.status, run.c.error, run.c.finished_at)
        ).one()
    assert status == "failed" and "source lock" in error and finished is not None


def test_a_run_whose_process_holds_the_lock_stays_running(engine: Engine) -> None:
    save_source(engine, "live", "offline", {})
    with engine.begin() as conn:
        conn.execute(
            t.sync_run.insert().values(
                source_name="live",
                started_at=utcnow(),
                status="running",
                counts={},
            )
        )
    with source_lock(engine, "live"):  # as a live sync holds it
        assert fail_dead_runs(engine) == 0
    assert fail_dead_runs(engine) == 1
    with engine.connect() as conn:
        assert conn.execute(select(t.sync_run.c.status)).scalar_one() == "failed"
