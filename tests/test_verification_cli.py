"""``c360 verify``: document grading (exit 0 / 1, bad input exit 2), a staff
verification from the command line (audited under the operator), the overdue
list as JSON, refresh and show — in process on a migrated SQLite copy, and one
real ``c360`` process for ``verify document``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import select
from stdnum.cn import ric

from c360.platform import tables as t
from c360.platform.db import make_engine
from c360.platform.sources import save_source
from tests.cli_helpers import InProcessCli, run_cli
from tests.resolution_helpers import customer_of, ingest, person


def resident_id(region: str, birth: str, seq: str = "123") -> str:
    body = region + birth + seq
    return body + ric.calc_check_digit(body + "0")


def test_verify_commands(cli: InProcessCli) -> None:
    engine = make_engine(os.environ["C360_DATABASE_URL"])
    save_source(engine, "crm", "csv", {}, trust=70)
    ingest(
        engine,
        "crm",
        [
            person(
                "a", name="陈静", id_number=resident_id("330106", "19850615"), phone="13800138000"
            )
        ],
    )
    cid = customer_of(engine, "crm", "a")

    graded = cli(["verify", "document", resident_id("110103", "20150101"), "--json"])
    assert graded.exit_code == 0, graded.output
    body = json.loads(graded.output)
    assert body["outcome"] == "warn" and "abolished in 2010" in str(body["checks"])
    assert cli(["verify", "document", resident_id("330106", "19900230")]).exit_code == 1
    assert cli(["verify", "document", " "]).exit_code == 2

    refreshed = cli(["verify", "refresh"])
    assert refreshed.exit_code == 0 and "1 customers" in refreshed.output
    done = cli(
        [
            "verify",
            "attribute",
            str(cid),
            "id_number",
            "--how",
            "document_seen",
            "--evidence",
            "scan-9",
        ]
    )
    assert done.exit_code == 0, done.output
    assert "verified_staff" in done.output
    with engine.connect() as conn:
        principal = conn.execute(
            select(t.audit_log.c.principal).where(t.audit_log.c.action == "verify")
        ).scalar_one()
    assert principal  # the operator's principal
    bad = cli(["verify", "attribute", str(cid), "id_number", "--how", "telepathy"])
    assert bad.exit_code == 2 and "how" in bad.output
    missing = cli(["verify", "attribute", "999999", "phone", "--how", "callback"])
    assert missing.exit_code == 2 and "does not exist" in missing.output

    overdue = cli(["verify", "overdue", "--json"])
    assert overdue.exit_code == 0 and json.loads(overdue.output) == []
    shown = cli(["verify", "show", str(cid)])
    assert shown.exit_code == 0 and "score" in shown.output and "DOC_ID_VALID" in shown.output
    assert resident_id("330106", "19850615") not in shown.output  # judgments, not values
    engine.dispose()


def test_verify_document_in_a_real_process(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "C360_DATA_DIR": str(tmp_path),
        "C360_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
    }
    done = run_cli(["verify", "document", "330106850615123"], env)
    assert done.returncode == 0, done.stderr
    assert "first_generation" in done.stdout and "330106198506151233"[:6] in done.stdout
