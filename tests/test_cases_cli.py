"""``c360 cases`` end to end in one database: a team, a case opened, listed,
shown for a declared purpose (audited), moved (an illegal move names the
allowed ones), assigned, escalated to the supervisor, surveyed (a bad score
reopens), its SLA checked twice (the breach escalates once) and reported; bad
input answered in one line naming the option."""

from __future__ import annotations

import json
import os

from sqlalchemy import func, select

from c360.platform.db import make_engine
from c360.platform.models import AuditLog
from tests.cases_helpers import add_customer
from tests.cli_helpers import InProcessCli


def test_cases_from_the_command_line(cli: InProcessCli) -> None:
    engine = make_engine(os.environ["C360_DATABASE_URL"])
    with engine.begin() as conn:
        customer = add_customer(conn, "北京市")
    assert cli(["cases", "team", "bj-care", "--supervisor", "sup-li"]).exit_code == 0
    base = ["cases", "open", "--customer", str(customer), "--category", "billing"]
    bad = cli([*base, "--channel", "pigeon", "--description", "x"])
    assert bad.exit_code == 2 and "channel" in bad.output and "pigeon" in bad.output
    missing = cli(["cases", "open", "--customer", "999999", "--channel", "phone",
                   "--category", "billing", "--description", "x"])  # fmt: skip
    assert missing.exit_code == 2 and "no customer has id 999999" in missing.output
    opened = cli([*base, "--channel", "phone", "--description", "多扣了一笔费用 13800138000",
                  "--team", "bj-care", "--severity", "critical"])  # fmt: skip
    assert opened.exit_code == 0, opened.output
    case_id = opened.output.split()[1]
    listed = cli(["cases", "list"])
    assert listed.exit_code == 0 and "billing" in listed.output
    assert "13800138000" not in listed.output  # the list never shows the text
    unexplained = cli(["cases", "show", case_id])
    assert unexplained.exit_code == 2 and "--purpose" in unexplained.output
    shown = cli(["cases", "show", case_id, "--purpose", "complaint_handling"])
    assert shown.exit_code == 0 and "多扣了一笔费用" in shown.output
    with engine.connect() as conn:
        audited = conn.execute(
            select(func.count()).where(AuditLog.action == "case.show")  # type: ignore[arg-type]
        ).scalar_one()
    assert audited == 1
    illegal = cli(["cases", "move", case_id, "closed"])
    assert (
        illegal.exit_code == 2
        and "allowed: in_progress (处理中), escalated (已升级)" in illegal.output
    )
    assert cli(["cases", "move", case_id, "in_progress"]).exit_code == 0
    assigned = cli(["cases", "assign", case_id, "--owner", "agent-zhao"])
    assert assigned.exit_code == 0 and "owner agent-zhao" in assigned.output
    assert cli(["cases", "assign", case_id]).exit_code == 2
    escalated = cli(["cases", "escalate", case_id])
    assert escalated.exit_code == 0 and "escalated to sup-li" in escalated.output
    assert cli(["cases", "move", case_id, "resolved"]).exit_code == 0
    surveyed = cli(["cases", "survey", case_id, "--csat", "1", "--comment", "没解决"])
    assert surveyed.exit_code == 0 and "case reopened" in surveyed.output
    assert cli(["cases", "survey", case_id, "--csat", "7"]).exit_code == 2
    first = cli(["cases", "sla-check", "--now", "2099-01-05T10:00:00"])
    assert first.exit_code == 0 and "breached=1" in first.output, first.output
    again = cli(["cases", "sla-check", "--now", "2099-01-06T10:00:00"])
    assert again.exit_code == 0 and "breached=0" in again.output
    assert cli(["cases", "sla-check", "--now", "tomorrow"]).exit_code == 2
    report = cli(["cases", "report", "--json", "--days", "30"])
    assert report.exit_code == 0, report.output
    figures = json.loads(report.output)
    assert figures["total"] == 1 and figures["by_category"] == {"billing": 1}
    assert "billing" in cli(["cases", "report"]).output
    engine.dispose()
