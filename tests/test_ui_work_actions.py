"""The staff workspace's work actions in real headless Chromium, each checked on
the page and in the database afterwards: a case reassigned (refused to an agent
who does not supervise its team, the owner unchanged) and surveyed (a
dissatisfied answer reopens it), the cases report against the API's own
figures, a credit decision overridden, a consent withdrawn, and the privacy
page's request, export, restriction and erasure."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import Engine, select

from c360.platform import tables as t
from c360.platform.cases import actions
from c360.platform.cases import models as m
from c360.platform.cases.intake import open_case, validate
from c360.platform.privacy.consent import basis_row, record_basis
from c360.platform.privacy.requests import list_requests
from c360.platform.privacy.restriction import is_restricted
from c360.platform.risk.decisions import latest_decision
from tests import ui_helpers
from tests.ui_helpers import Workspace

workspace = ui_helpers.workspace
page = ui_helpers.page

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _open_case(engine: Engine, customer_id: int, category: str, *, resolved: bool = False) -> int:
    """A complaint of ``customer_id`` owned by ``agent-7`` (no team), opened now;
    moved on to 已解决 when ``resolved``."""
    data = {
        "customer_id": customer_id, "channel": "web", "category": category,
        "description": "退款两周未到账", "owner": "agent-7",
    }  # fmt: skip
    with engine.begin() as conn:
        case_id = open_case(conn, validate(data), actor="ui-test")
        if resolved:
            for step in ("in_progress", "resolved"):
                actions.move(conn, case_id, step, actor="ui-test")
    return case_id


def _case(engine: Engine, case_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(m.case).where(m.case.c.id == case_id)).mappings().one()


def _switch(workspace: Workspace, page: Any, role: str) -> None:
    page.goto("about:blank")  # leave first: a signed-out page redirects itself
    page.context.clear_cookies()
    workspace.sign_in(page, role)


def test_a_case_is_reassigned_by_an_administrator_not_an_agent_and_a_survey_reopens_it(
    workspace: Workspace, page: Any
) -> None:
    engine = workspace.engine
    case_id = _open_case(engine, workspace.matrix.person, "billing", resolved=True)
    # An agent who does not supervise the case's team may not reassign it (the API
    # says so in Case.yourActions, and refuses the mutation): no form, a survey form.
    workspace.sign_in(page, "agent")
    page.goto(f"{workspace.url}/#/case/{case_id}")
    detail = page.locator("#case-detail")
    detail.locator("#case-title", has_text="已解决").wait_for()
    form = detail.locator("#assign-form")
    assert not form.is_visible() and detail.locator("#survey-form").is_visible()
    assert "agent-7" in detail.locator("#case-meta").inner_text()
    # Risk may not assign at all: no form.
    _switch(workspace, page, "risk")
    page.goto(f"{workspace.url}/#/case/{case_id}")
    detail.locator("#case-title", has_text="已解决").wait_for()
    assert not detail.locator("#assign-form").is_visible()
    assert not detail.locator("#survey-form").is_visible()
    # An administrator reassigns it, from the keyboard.
    _switch(workspace, page, "admin")
    page.goto(f"{workspace.url}/#/case/{case_id}")
    detail.locator("#case-title", has_text="已解决").wait_for()
    owner = form.get_by_label(re.compile("新负责人"))
    offered = detail.locator("#assign-owners option").evaluate_all("os => os.map(o => o.value)")
    assert "staff:ui-agent" in offered and "agent-7" not in offered  # its owner now
    owner.fill("staff:ui-admin")
    owner.press("Enter")
    expect(detail.locator("#case-meta")).to_contain_text("staff:ui-admin")
    assert _case(engine, case_id)["owner"] == "staff:ui-admin"
    assert "assigned" in detail.locator("#case-history").inner_text()
    # A dissatisfied survey answer reopens the resolved case.
    survey = detail.locator("#survey-form")
    survey.get_by_label(re.compile("CSAT")).select_option("1")
    comment = "<b>退款太慢</b>"
    survey.get_by_label("客户的意见").fill(comment)
    survey.get_by_role("button", name="记录满意度回访").click()
    detail.locator("#case-title", has_text="已重开").wait_for()
    assert "重新打开" in detail.locator("#case-status").inner_text()
    answered = detail.locator("#case-surveys li[data-csat='1']")
    assert comment in answered.inner_text() and answered.locator("b").count() == 0
    row = _case(engine, case_id)
    assert row["state"] == "reopened" and row["csat"] == 1
    with engine.connect() as conn:
        surveys = conn.execute(
            select(m.case_survey.c.csat, m.case_survey.c.recorded_by).where(
                m.case_survey.c.case_id == case_id
            )
        ).all()
    assert [tuple(s) for s in surveys] == [(1, "staff:ui-admin")]
    # Reopened, it offers the reopened state's moves.
    assert "处理中" in detail.locator("#case-moves button").all_inner_texts()


REPORT = """query($days: Int!) { casesReport(days: $days) { total csatAnswers repeatComplainants
  byCategory { key count } byChannel { key count } slaAttainment } }"""


def test_the_cases_report_shows_the_apis_figures_for_the_period(
    workspace: Workspace, page: Any
) -> None:
    for category in ("delivery", "delivery", "account"):
        _open_case(workspace.engine, workspace.customers["fhn"], category)
    workspace.sign_in(page, "marketing")  # case_report is aggregates: every role reads it
    page.get_by_role("link", name="投诉分析").click()
    view = page.locator("#cases-report-view")
    view.locator("#report-byCategory tr[data-key=delivery]").wait_for()
    api = workspace.server.api("admin")
    report = api.query(REPORT, {"days": 90})["casesReport"]
    assert view.locator("dd[data-total=reportTotal]").inner_text() == str(report["total"])
    assert report["total"] >= 3
    shown = {
        r.get_attribute("data-key"): int(r.locator("td").inner_text())
        for r in view.locator("#report-byCategory tbody tr").all()
    }
    assert shown == {c["key"]: c["count"] for c in report["byCategory"]}
    assert shown["delivery"] >= 2 and shown["account"] >= 1
    channels = view.locator("#report-byChannel tbody tr[data-key=web] td").inner_text()
    assert channels == str(next(c["count"] for c in report["byChannel"] if c["key"] == "web"))
    assert view.locator("dd[data-total=repeatComplainants]").inner_text() == str(
        report["repeatComplainants"]
    )
    assert view.locator("#report-rising").is_visible()
    assert view.locator("rect.bar[data-label=delivery]").get_attribute("data-value") == str(
        shown["delivery"]
    )
    assert view.locator("[style]").count() == 0  # CSP-safe: no inline style
    # The same figures as a CSV for a spreadsheet.
    with page.expect_download() as download:
        view.get_by_role("button", name="导出 CSV").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
    assert rows[0] == ["section", "key", "value", "earlier"]
    assert ["total", "total", str(report["total"]), ""] in rows
    assert {(r[1], int(r[2])) for r in rows if r[0] == "byCategory"} == set(shown.items())
    # Another period, from the keyboard; a period the API refuses says why.
    days = view.get_by_label("统计最近多少天")
    days.fill("1")
    days.press("Enter")
    one_day = api.query(REPORT, {"days": 1})["casesReport"]
    expect(view.locator("dd[data-total=reportTotal]")).to_have_text(str(one_day["total"]))
    # In English too, the figures' labels drawn in script included.
    page.get_by_role("button", name="English").click()
    expect(view.get_by_role("heading", name="By category")).to_be_visible()
    assert view.get_by_label("Period (last N days)").is_visible()
    assert page.get_by_role("link", name="Cases report").is_visible()
    page.get_by_role("button", name="中文").click()
    expect(view.get_by_role("heading", name="按类别")).to_be_visible()


def test_risk_overrides_the_credit_decision_and_the_panel_shows_it_in_force(
    workspace: Workspace, page: Any
) -> None:
    person = workspace.matrix.person
    workspace.sign_in(page, "risk")
    page.goto(f"{workspace.url}/#/customer/{person}")
    form = page.locator("#override-form")
    form.wait_for()
    limit = page.locator("#credit tr[data-row=credit_limit] td")
    assert limit.inner_text().startswith("8,000")  # the seeded override
    reason = "<i>担保人追加抵押</i>"
    form.get_by_label(re.compile("新额度")).fill("12000")
    form.get_by_label(re.compile("新账期")).fill("30")
    # No reason: the form does not submit (the reason is required).
    assert form.evaluate("f => f.checkValidity()") is False
    assert form.get_by_label(re.compile("理由")).evaluate("e => e.validity.valueMissing")
    form.get_by_label(re.compile("理由")).fill(reason)
    form.get_by_role("button", name="记录调整").click()
    expect(limit).to_have_text(re.compile(r"^12,000 · 30"))
    in_force = page.locator("#credit li[data-in-force]")
    assert in_force.get_attribute("data-kind") == "override"
    assert reason in in_force.inner_text() and "staff:ui-risk" in in_force.inner_text()
    assert in_force.locator("i").count() == 0
    decision = latest_decision_of(workspace.engine, person)
    assert decision["kind"] == "override" and decision["credit_limit"] == 12000.0
    assert decision["terms_days"] == 30 and decision["reason"] == reason
    assert decision["decided_by"] == "staff:ui-risk"
    # An agent reads the grade but not the decisions: no override form.
    _switch(workspace, page, "agent")
    page.goto(f"{workspace.url}/#/customer/{person}")
    page.locator("#credit tr").first.wait_for()
    assert not form.is_visible()


def latest_decision_of(engine: Engine, customer_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        decision = latest_decision(conn, customer_id)
    assert decision is not None
    return decision


def test_compliance_withdraws_a_consent_and_its_history_stays(
    workspace: Workspace, page: Any
) -> None:
    person = workspace.matrix.person
    with workspace.engine.begin() as conn:
        consent = record_basis(
            conn, person, purpose="marketing", basis="consent",
            evidence="会员注册表 B-2", recorded_by="ui-test",
        )  # fmt: skip
    workspace.sign_in(page, "compliance")
    page.goto(f"{workspace.url}/#/customer/{person}")
    entry = page.locator(f"#consents li[data-consent='{consent}']")
    entry.wait_for()
    assert entry.get_attribute("data-active") == "true"
    button = entry.get_by_role("button", name=f"撤回同意 marketing #{consent}")
    button.focus()
    page.keyboard.press("Enter")
    expect(entry).to_have_attribute("data-active", "false")
    assert "已撤回" in entry.inner_text() and "staff:ui-compliance" in entry.inner_text()
    assert entry.get_by_role("button").count() == 0  # withdrawn once
    assert page.evaluate("document.activeElement.dataset.consent") == str(consent)
    with workspace.engine.connect() as conn:
        row = basis_row(conn, consent)
    assert row is not None and row["revoked_at"] is not None
    assert row["revoked_by"] == "staff:ui-compliance"


def test_compliance_works_privacy_requests_from_the_privacy_page(
    workspace: Workspace, page: Any
) -> None:
    engine = workspace.engine
    kept, erased = workspace.customers["zwd"], workspace.customers["lj"]
    workspace.sign_in(page, "compliance")
    page.get_by_role("link", name="隐私请求").click()
    actions_box = page.locator("#privacy-actions")
    actions_box.wait_for()
    status = page.locator("#privacy-action-status")
    customer = actions_box.get_by_label("客户编号")
    customer.fill(str(kept))
    # Open an export request: listed, and in the database.
    actions_box.get_by_label("类型").select_option("export")
    actions_box.get_by_role("button", name="登记请求").click()
    status.filter(has_text="已登记请求").wait_for()
    number = re.search(r"#(\d+)", status.inner_text())
    assert number is not None
    requested = int(number.group(1))
    row = page.locator(f"#privacy tr[data-request='{requested}']")
    row.wait_for()
    assert any(r["id"] == requested and r["customer_id"] == kept for r in list_requests(engine))
    # Its row's button puts the customer in the actions and focus there.
    customer.fill("")
    row.get_by_role("button", name=re.compile("处理")).click()
    assert customer.input_value() == str(kept)
    assert f"#{requested}" in status.inner_text()
    assert page.evaluate("document.activeElement.id") == "privacy-customer"
    # Export: the package offered as a JSON download.
    with page.expect_download() as download:
        actions_box.get_by_role("button", name=re.compile("导出个人数据")).click()
    assert download.value.suggested_filename == f"person-{kept}-export.json"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert json.loads(text).get("tables") and "张伟东" in text  # the person's own data
    status.filter(has_text="已导出").wait_for()
    # The export carried out the request picked from the list: it is done, not left open.
    [answered] = [r for r in list_requests(engine) if r["id"] == requested]
    assert answered["status"] == "done" and answered["completed_at"] is not None
    # Restrict, then lift.
    actions_box.get_by_label(re.compile("理由")).fill("客户来电要求暂停处理")
    actions_box.get_by_role("button", name="限制处理").click()
    status.filter(has_text="已限制处理").wait_for()
    with engine.connect() as conn:
        assert is_restricted(conn, kept)
    actions_box.get_by_role("button", name="解除限制").click()
    status.filter(has_text="已解除 1 项限制").wait_for()
    with engine.connect() as conn:
        assert not is_restricted(conn, kept)
    # Lifting again: the API's refusal, in its words.
    actions_box.get_by_role("button", name="解除限制").click()
    status.filter(has_text="has no open restriction").wait_for()
    # Erase: a reason first, then an explicit second step; Cancel erases nothing.
    customer.fill(str(erased))
    actions_box.get_by_label(re.compile("理由")).fill("")
    erase = actions_box.get_by_role("button", name="删除个人数据…")
    erase.click()
    status.filter(has_text="reason").wait_for()
    assert not page.locator("#erase-confirm").is_visible()
    actions_box.get_by_label(re.compile("理由")).fill("本人书面申请删除")
    erase.click()
    confirm = page.locator("#erase-confirm")
    assert str(erased) in confirm.inner_text()
    assert page.evaluate("document.activeElement.id") == "erase-cancel"
    page.keyboard.press("Enter")  # Cancel
    assert not confirm.is_visible()
    assert not any(r["customer_id"] == erased for r in list_requests(engine))
    erase.click()
    confirm.get_by_role("button", name="确认永久删除").click()
    status.filter(has_text="已删除").wait_for()
    done = [r for r in list_requests(engine) if r["customer_id"] == erased]
    assert [(r["kind"], r["status"], r["reason"]) for r in done] == [
        ("erasure", "done", "本人书面申请删除")
    ]
    with engine.connect() as conn:
        gone = conn.execute(
            select(t.golden_profile.c.customer_id).where(t.golden_profile.c.customer_id == erased)
        ).first()
    assert gone is None
    # A customer the API does not know: refused, the API's reason shown.
    customer.fill("987654321")
    erase.click()
    confirm.get_by_role("button", name="确认永久删除").click()
    status.filter(has_text="失败").wait_for()
    assert "no customer has id" in status.inner_text() and "987654321" in status.inner_text()
