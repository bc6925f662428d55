"""The data-quality report and the quarantine commands on a small synced demo
world (the demo's four file sources): every figure of the report is
cross-checked against a direct SQL count, reasons carry no values, and a
record quarantined under an older rule is landed again by ``retry``."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, text

from c360.cli.sync import sync_sources
from c360.connectors.offline.roots import allow_import_root
from c360.demo.generate import generate_demo_data
from c360.platform import tables as t
from c360.platform.customers.ids import customer_of_record
from c360.platform.ingest import Ingestor
from c360.platform.models import AuditLog
from c360.platform.quality.quarantine import (
    list_quarantine,
    quarantine_detail,
    quarantined_ids,
    retry,
)
from c360.platform.quality.reasons import reason_pattern
from c360.platform.quality.report import quality_report
from c360.platform.records import IncomingRecord
from c360.platform.rejections import field_rejection
from c360.platform.sources import save_source
from c360.platform.verification.judgment import refresh_all
from tests.cli_helpers import InProcessCli
from tests.helpers import bad_resident_id

ATTRIBUTES = ("name", "phone", "email", "id_number", "birth_date", "address", "uscc")


@pytest.fixture(scope="module")
def world(module_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The demo's file sources (30 people, 3 companies) synced into the module's database."""
    dataset = generate_demo_data(tmp_path_factory.mktemp("demo"), 30, 3, seed=360)
    allow_import_root(dataset.directory)
    for src in dataset.sources:
        save_source(module_engine, src.name, src.connector, src.config, trust=src.trust)
    sync_sources(module_engine, [src.name for src in dataset.sources])
    refresh_all(module_engine)  # the verification package's checks, as the indexer would
    yield module_engine


def _has(engine: Engine, column: str, attribute: str) -> str:
    """SQL: the JSON column holds ``attribute``."""
    if engine.dialect.name == "sqlite":
        return f"json_extract({column}, '$.{attribute}') IS NOT NULL"
    return f"({column}->>'{attribute}') IS NOT NULL"


def _conflicting(engine: Engine, attribute: str) -> str:
    if engine.dialect.name == "sqlite":
        return f"json_extract(attributes, '$.{attribute}.conflicting') = 1"
    return f"(attributes->'{attribute}'->>'conflicting') = 'true'"


def _scalar(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def test_every_figure_matches_a_direct_count(world: Engine) -> None:
    with world.connect() as conn:
        report = quality_report(conn)
    data = report.as_dict()
    totals = data["totals"]
    assert totals["records"] == _scalar(world, "SELECT count(*) FROM source_record")
    assert totals["quarantined"] == _scalar(
        world, "SELECT count(*) FROM source_record WHERE status = 'quarantined'"
    )
    assert totals["quarantined"] >= 1  # the demo's truncated social line
    assert totals["refused_values"] == _scalar(world, "SELECT count(*) FROM field_rejection")
    assert totals["refused_values"] >= 2  # the demo's bad check digit and bad e-mails
    assert totals["customers"] == _scalar(
        world,
        "SELECT count(*) FROM golden_profile g JOIN customer c ON c.id = g.customer_id "
        "WHERE c.merged_into IS NULL",
    )

    checked = 0
    for row in data["completeness"]:
        if row["attribute"] not in ATTRIBUTES:
            continue
        where = "source_name = :s AND kind = :k AND status = 'accepted'"
        assert row["records"] == _scalar(
            world,
            f"SELECT count(*) FROM source_record WHERE {where}",
            s=row["source"],
            k=row["kind"],
        )
        assert row["present"] == _scalar(
            world,
            f"SELECT count(*) FROM source_record WHERE {where} AND "
            + _has(world, "attributes", row["attribute"]),
            s=row["source"],
            k=row["kind"],
        )
        checked += 1
    assert checked >= 20

    failed = [v for v in data["validity"] if v["failed"]]
    assert failed
    for row in failed:
        assert row["failed"] == _scalar(
            world,
            "SELECT count(*) FROM field_rejection f JOIN source_record r ON r.id = f.record_id "
            "WHERE r.source_name = :s AND f.field = :f",
            s=row["source"],
            f=row["check"],
        )
        assert row["passed"] == _scalar(
            world,
            "SELECT count(*) FROM source_record WHERE source_name = :s "
            "AND kind IN ('person', 'organization') AND "
            + _has(world, "attributes", row["check"])
            + " AND NOT "
            + _has(world, "warnings", row["check"]),
            s=row["source"],
        )
        assert 0 < row["fail_rate"] < 1

    for row in data["duplicates"]:
        source_filter = "" if row["source"] == "*" else "AND r.source_name = :s"
        records, customers = (
            _scalar(
                world,
                f"SELECT count({what}) FROM source_record r JOIN record_link l "
                f"ON l.record_id = r.id WHERE r.status = 'accepted' "
                f"AND r.kind IN ('person', 'organization') {source_filter}",
                s=row["source"],
            )
            for what in ("*", "DISTINCT l.customer_id")
        )
        assert (row["records"], row["customers"]) == (records, customers)
    across = next(d for d in data["duplicates"] if d["source"] == "*")
    assert across["records_per_customer"] > 1  # the same people in several sources

    for row in data["freshness"]:
        assert row["records"] == _scalar(
            world, "SELECT count(*) FROM source_record WHERE source_name = :s", s=row["source"]
        )
        assert row["last_run_status"] == "succeeded"
        assert row["last_success_at"] is not None and row["hours_since_success"] < 1
        # Each stream of the source on its own: its records and its newest one.
        for stream in row["streams"]:
            assert stream["records"] == _scalar(
                world,
                "SELECT count(*) FROM source_record WHERE source_name = :s AND stream = :t",
                s=row["source"],
                t=stream["stream"],
            )
        assert sum(s["records"] for s in row["streams"]) == row["records"]
        assert row["newest_record_at"] == max(
            (s["newest_record_at"] for s in row["streams"]), default=None
        )

    for row in data["conflicts"]:
        if row["attribute"] not in ATTRIBUTES:
            continue
        base = (
            "SELECT count(*) FROM golden_profile g JOIN customer c ON c.id = g.customer_id "
            "WHERE c.merged_into IS NULL AND "
        )
        assert row["customers"] == _scalar(
            world, base + _has(world, "attributes", row["attribute"])
        )
        assert row["conflicting"] == _scalar(world, base + _conflicting(world, row["attribute"]))

    verified = [v for v in data["validity"] if v["source"] == "golden"]
    assert verified  # the verification checks join the validity figures
    for row in verified:
        name = row["check"].removeprefix("verification.")
        if "." in name:
            continue  # a named check inside an attribute's checks (JSON): counted below in sum
        for outcome, key in (("pass", "passed"), ("warn", "warned"), ("fail", "failed")):
            assert row[key] == _scalar(
                world,
                "SELECT count(*) FROM verification_check WHERE attribute = :a AND outcome = :o",
                a=name,
                o=outcome,
            ), (name, outcome)

    by_reason = {(r["scope"], r["source"], r["field"]): r for r in data["reasons"]}
    assert ("record", "social", "record") in by_reason
    assert by_reason[("value", "store_pos", "id_number")]["reason"] == (
        "checksum digit does not match"
    )


def test_reasons_are_counted_without_their_values() -> None:
    assert reason_pattern("unrecognised date format: '1943-01-77'") == "unrecognised date format: …"
    assert reason_pattern("birth date 1990-13-45 is not a real date") == (
        "birth date … is not a real date"
    )
    assert reason_pattern("unknown region code 990101") == "unknown region code …"
    assert reason_pattern("must have 18 characters, got 17") == "must have 18 characters, got 17"


def test_quarantine_list_and_show(world: Engine) -> None:
    with world.connect() as conn:
        whole = list_quarantine(conn)
        with_values = list_quarantine(conn, include_refused_values=True, limit=500)
        only_ids = list_quarantine(conn, field_name="id_number", include_refused_values=True)
        [bad_id] = [e for e in only_ids if e.source == "store_pos"]
        detail = quarantine_detail(conn, bad_id.record_id)
        accepted_id = conn.execute(
            text(
                "SELECT min(id) FROM source_record r WHERE status = 'accepted' AND NOT EXISTS "
                "(SELECT 1 FROM field_rejection f WHERE f.record_id = r.id)"
            )
        ).scalar_one()
        with pytest.raises(LookupError, match="nothing is quarantined"):
            quarantine_detail(conn, accepted_id)
        with pytest.raises(LookupError, match="no such source record"):
            quarantine_detail(conn, 10**9)
    assert {e.status for e in whole} == {"quarantined"}
    assert len(whole) == _scalar(
        world, "SELECT count(*) FROM source_record WHERE status = 'quarantined'"
    )
    assert len(with_values) == _scalar(
        world,
        "SELECT count(*) FROM source_record r WHERE status = 'quarantined' OR EXISTS "
        "(SELECT 1 FROM field_rejection f WHERE f.record_id = r.id)",
    )
    assert detail.entry.status == "accepted" and detail.reasons == {}
    assert [(r.field, r.reason) for r in detail.refused] == [
        ("id_number", "checksum digit does not match")
    ]


def test_cli_quality_json_and_show_masks_the_refused_value(world: Engine) -> None:
    url = world.url.render_as_string(hide_password=False)
    cli = InProcessCli()
    result = cli(["quality", "--json"], C360_DATABASE_URL=url)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["totals"]["records"] == _scalar(world, "SELECT count(*) FROM source_record")
    tables = cli(["quality"], C360_DATABASE_URL=url)
    assert (
        tables.exit_code == 0 and "completeness" in tables.output and "freshness" in tables.output
    )
    with world.connect() as conn:
        [entry] = [
            e
            for e in list_quarantine(conn, field_name="id_number", include_refused_values=True)
            if e.source == "store_pos"
        ]
        [refused] = quarantine_detail(conn, entry.record_id).refused
    shown = cli(["quarantine", "show", str(entry.record_id)], C360_DATABASE_URL=url)
    assert shown.exit_code == 0, shown.output
    assert "checksum digit does not match" in shown.output
    assert refused.value not in shown.output and refused.value[:4] in shown.output
    missing = cli(["quarantine", "show", "999999999"], C360_DATABASE_URL=url)
    assert missing.exit_code == 2 and "no such source record" in missing.output
    nothing = cli(["quarantine", "retry"], C360_DATABASE_URL=url)
    assert nothing.exit_code == 2 and "--source" in nothing.output


def test_retry_lands_a_record_quarantined_under_an_older_rule(world: Engine) -> None:
    """A record an older rule refused (its phone, then nothing identifying was
    left) is accepted and linked by a retry under today's rules; the next sync
    of the same data counts it unchanged."""
    record = IncomingRecord(
        stream="store_pos",
        external_id="RETRY-1",
        kind="person",
        fields={"phone": "138 0013 8123", "id_number": bad_resident_id(seq="777")},
    )
    with world.begin() as conn:
        Ingestor("store_pos").ingest(conn, [record])
        record_id = conn.execute(
            text("SELECT id FROM source_record WHERE external_id = 'RETRY-1'")
        ).scalar_one()
        # As an older phone rule would have left it: the phone refused too, and
        # with nothing identifying left, the record quarantined whole.
        conn.execute(
            t.source_record.update()
            .where(t.source_record.c.id == record_id)
            .values(
                status="quarantined",
                attributes={},
                quarantine_reasons={
                    "phone": "not a valid phone number for region CN",
                    "record": "no identifying attribute (name, phone, email, id number, "
                    "wechat id or member number)",
                },
            )
        )
        conn.execute(
            field_rejection.insert().values(
                record_id=record_id,
                field="phone",
                value="138 0013 8123",
                reason="not a valid phone number for region CN",
            )
        )
        conn.execute(text("DELETE FROM record_link WHERE record_id = :r"), {"r": record_id})
        assert record_id in quarantined_ids(conn, "store_pos")
        [outcome] = retry(conn, [record_id])
    assert (outcome.before, outcome.after) == ("quarantined", "accepted")
    assert outcome.refused == ("id_number",)  # still invalid today: refused alone
    customer = _scalar(
        world, "SELECT customer_id FROM record_link WHERE record_id = :r", r=record_id
    )
    assert (
        _scalar(
            world,
            "SELECT count(*) FROM golden_profile WHERE customer_id = :c AND "
            + _has(world, "attributes", "phone"),
            c=customer,
        )
        == 1
    )
    with world.begin() as conn:
        again = Ingestor("store_pos").ingest(conn, [record])
    assert (again.unchanged, again.updated) == (1, 0)


def test_retry_leaves_a_record_the_connector_could_not_read(world: Engine) -> None:
    with world.begin() as conn:
        [social] = [e for e in list_quarantine(conn) if e.source == "social"]
        [outcome] = retry(conn, [social.record_id])
        with pytest.raises(LookupError):
            retry(conn, [10**9])
    assert outcome.after == "skipped"
    assert "the source must send it again" in outcome.reasons["record"]
    assert (
        _scalar(
            world,
            "SELECT count(*) FROM source_record WHERE id = :r AND status = 'quarantined'",
            r=social.record_id,
        )
        == 1
    )


def test_show_clear_reads_a_customers_values_only_for_a_covered_purpose(world: Engine) -> None:
    url = world.url.render_as_string(hide_password=False)
    cli = InProcessCli()
    with world.connect() as conn:
        kept = [
            e
            for e in list_quarantine(conn, field_name="id_number", include_refused_values=True)
            if e.status == "accepted" and customer_of_record(conn, e.record_id) is not None
        ]
        entry = kept[0]  # kept and linked, with only its id number refused
        [refused] = quarantine_detail(conn, entry.record_id).refused
        customer = customer_of_record(conn, entry.record_id)
    record = str(entry.record_id)
    unsaid = cli(["quarantine", "show", record, "--clear"], C360_DATABASE_URL=url)
    assert unsaid.exit_code == 2 and "--purpose" in unsaid.output
    assert refused.value not in unsaid.output
    bogus = cli(
        ["quarantine", "show", record, "--clear", "--purpose", "curiosity"], C360_DATABASE_URL=url
    )
    assert bogus.exit_code == 2 and "purpose" in bogus.output
    refused_read = cli(
        ["quarantine", "show", record, "--clear", "--purpose", "marketing"], C360_DATABASE_URL=url
    )
    assert refused_read.exit_code == 2, refused_read.output
    assert "not covered" in " ".join(refused_read.output.split())
    assert refused.value not in refused_read.output
    shown = cli(
        ["quarantine", "show", record, "--clear", "--purpose", "service"], C360_DATABASE_URL=url
    )
    assert shown.exit_code == 0, shown.output
    assert refused.value in shown.output
    with world.connect() as conn:
        logged = conn.execute(
            select(AuditLog.action, AuditLog.purpose, AuditLog.customer_id).where(
                AuditLog.action.in_(["quarantine.show", "refuse"]),
                AuditLog.customer_id == customer,
            )
        ).all()
    assert ("refuse", "marketing", customer) in logged
    assert ("quarantine.show", "service", customer) in logged
