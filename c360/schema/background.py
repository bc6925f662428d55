"""The background-check report (背调报告) as one caller may see it.

:func:`report_view` turns the platform's facts (:mod:`c360.platform.background`)
into a :class:`~c360.schema.report_model.ReportView` — titled sections of
tables of text, rendered as HTML or PDF by :mod:`c360.schema.report_render`;
the verification sections are :mod:`c360.schema.report_checks`' — with every
personal value
passed through the schema's one policy seam,
:func:`~c360.schema.presentation.present_value`: clear where the caller's role
reads it (the read recorded for the audit log), masked where the policy masks
it, left out where it refuses it. There is no masking rule here.

The report as a whole is policy field ``background_report``: a caller whose
roles that see the customer do not read it (for the declared purpose) gets
:class:`ReportRefused`; a customer outside the caller's rows is
:class:`ReportNotFound`, as an unknown id is. A served report is a clear read
of ``background_report`` (and of each personal field shown in clear) under
the declared purpose, written to the audit log by the caller of
:func:`report_view` from ``context.access``.

Bureau figures (scores, overdue, court listings) are governed by the
``credit_score`` row, the internal grade by ``credit_grade``, source record ids
by ``external_id``; related customers and shareholders each as their own
subject (their name is a person's name, or an organization's public one).
"""

from __future__ import annotations

from c360.auth.policy import Outcome, roles_seeing
from c360.platform.background.sections import BackgroundFacts
from c360.schema.context import RequestContext, Subject
from c360.schema.report_checks import (
    authenticity_section,
    consistency_section,
    identity_section,
    states_section,
)
from c360.schema.report_model import (
    NONE,
    Presenter,
    ReportNotFound,
    ReportRefused,
    ReportView,
    Section,
    Table,
    when_text,
    yes_no,
)

REPORT_FIELD = "background_report"
PURPOSE_NEEDED = "declare a purpose (purpose=… or the X-Purpose header) for a background report"


def report_view(context: RequestContext, facts: BackgroundFacts, purpose: str | None) -> ReportView:
    """The report of ``facts``' customer as ``context``'s caller may see it for
    ``purpose``; :class:`ReportRefused` or :class:`ReportNotFound` otherwise."""
    principal = context.principal
    province = facts.value("province")
    city = facts.value("city")
    roles = roles_seeing(principal, province, city)
    if not roles:
        reason = (
            f"customer {facts.customer_id} is outside your rows ({context.row_scope.describe()})"
        )
        context.access.refused(Subject(facts.customer_id, purpose=purpose), "row", reason)
        raise ReportNotFound(f"no customer {facts.asked_id}")
    subject = Subject(facts.customer_id, facts.kind, purpose, roles)
    decision = context.decide(REPORT_FIELD, subject)
    if decision.outcome is not Outcome.CLEAR:
        reason = decision.reason or f'"{REPORT_FIELD}" is not served to you'
        if decision.needs_purpose:
            reason = f"{reason} ({PURPOSE_NEEDED})"
        context.access.refused(subject, decision.field, reason)
        raise ReportRefused(reason)
    context.access.read(subject, REPORT_FIELD)
    view = ReportView(
        title="背调报告 Background-check report",
        customer_id=facts.customer_id,
        kind=facts.kind,
        purpose=purpose or "",
        generated_at=facts.gathered_at,
        generated_for=f"{principal.subject} ({', '.join(sorted(principal.roles))})",
    )
    p = Presenter(context, view, subject)
    view.sections = [
        _summary(p, facts),
        identity_section(p, facts),
        states_section(p, facts),
        consistency_section(p, facts),
        authenticity_section(p, facts),
        _credit(p, facts),
        _court(p, facts),
        *([_registration(p, facts)] if facts.kind == "organization" else []),
        _related(p, facts),
        _sources(p, facts),
    ]
    return view


def _summary(p: Presenter, facts: BackgroundFacts) -> Section:
    kind = "个人 person" if facts.kind == "person" else "组织 organization"
    table = Table(["项目 item", "内容 value"])
    table.rows = [
        ["客户编号 customer id", str(facts.customer_id)],
        ["类型 kind", kind],
        ["名称 name", p.show("name", facts.display_name)],
        ["建档 known since", when_text(facts.created_at)],
        ["合并的编号 merged ids", ", ".join(map(str, facts.absorbed)) or NONE],
        ["用途 purpose", p.view.purpose or NONE],
        ["生成 generated", when_text(facts.gathered_at)],
        ["查阅人 for", p.view.generated_for],
    ]
    return Section("概要 Summary", tables=[table])


def _credit(p: Presenter, facts: BackgroundFacts) -> Section:
    section = Section("征信结果 Credit-bureau results")
    if not facts.bureau:
        section.lines.append("无征信查询结果 No bureau answer on record.")
    else:
        table = Table(
            [
                "机构 provider",
                "用途 purpose",
                "查得 found",
                "评分 score",
                "等级 band",
                "逾期 overdue",
                "逾期金额 amount",
                "违约 defaults",
                "查询时间 retrieved",
                "有效至 valid until",
            ]
        )
        for b in facts.bureau:
            table.rows.append(
                [
                    f"{b.provider} ({b.source})",
                    b.purpose,
                    yes_no(b.found),
                    p.show("credit_score", b.score),
                    p.show("credit_score", b.band),
                    p.show("credit_score", b.overdue_count),
                    p.show("credit_score", b.overdue_amount),
                    p.show("credit_score", b.default_count),
                    when_text(b.retrieved_at),
                    when_text(b.expires_at),
                ]
            )
        section.tables.append(table)
    if facts.credit is not None:
        c = facts.credit
        section.lines.append(
            f"内部信用评级 internal grade: {p.show('credit_grade', c.grade)} · "
            f"分值 points: {p.show('credit_score', c.points)} · "
            f"模型 model v{c.model_version or NONE} · {when_text(c.computed_at)}"
        )
    return section


def _court(p: Presenter, facts: BackgroundFacts) -> Section:
    section = Section("涉诉与失信 Court listings")
    listings = [(b, item) for b in facts.bureau for item in b.listings]
    if not listings:
        checked = ", ".join(f"{b.provider} {when_text(b.retrieved_at)}" for b in facts.bureau)
        section.lines.append(
            "征信结果中无被执行人或失信被执行人记录。No enforcement or dishonest-debtor "
            f"listing in the bureau answers ({checked or 'none retrieved'})."
        )
        return section
    table = Table(
        [
            "类别 kind",
            "案号 case",
            "法院 court",
            "日期 date",
            "金额 amount",
            "情形 detail",
            "当事人 party",
            "来源 source",
        ]
    )
    for b, item in listings:
        kind = "被执行人 enforcement" if item.kind == "enforcement" else "失信被执行人 dishonest"
        table.rows.append(
            [
                kind,
                p.show("credit_score", item.case_no),
                p.show("credit_score", item.court),
                p.show("credit_score", item.date),
                p.show("credit_score", item.amount),
                p.show("credit_score", item.detail),
                p.show("name", item.party),
                f"{b.provider} {when_text(b.retrieved_at)}",
            ]
        )
    section.tables.append(table)
    return section


def _registration(p: Presenter, facts: BackgroundFacts) -> Section:
    section = Section("工商登记 Business registration")
    registrations = [b for b in facts.bureau if b.registration]
    if registrations:
        reg = registrations[0].registration
        table = Table(["项目 item", "内容 value"], title=f"{registrations[0].provider}")
        rows = (
            ("名称 name", "name", reg.get("name")),
            ("统一社会信用代码 USCC", "uscc", reg.get("uscc")),
            ("登记状态 status", "registration_status", reg.get("status")),
            ("注册资本 capital", "registered_capital", reg.get("registered_capital")),
            (
                "法定代表人 legal representative",
                "legal_representative",
                reg.get("legal_representative"),
            ),
            ("成立日期 established", "established", reg.get("established")),
            ("地址 address", "address", reg.get("address")),
            ("行业 industry", "industry", reg.get("industry")),
            ("核准日期 approved", "approved_at", reg.get("approved_at")),
        )
        for label, attribute, value in rows:
            table.rows.append([label, p.show(attribute, value)])
        table.rows.append(["查询时间 retrieved", when_text(registrations[0].retrieved_at)])
        section.tables.append(table)
    else:
        section.lines.append(
            "无工商登记查询结果；以下为来源所述。No registration answer on record; the "
            "sources say: status "
            + p.show("registration_status", facts.value("registration_status"))
            + ", legal representative "
            + p.show("legal_representative", facts.value("legal_representative"))
            + ", capital "
            + p.show("registered_capital", facts.value("registered_capital"))
        )
    if facts.shareholders:
        table = Table(
            [
                "股东 shareholder",
                "类型 kind",
                "代码 USCC",
                "持股 share",
                "认缴 subscribed",
                "关系 edge",
                "查询 retrieved",
            ],
            title="股东（图谱边）Shareholders (graph edges)",
        )
        for s in facts.shareholders:
            holder = Subject(
                s.customer_id,
                "organization" if s.kind == "organization" else "person",
                p.subject.purpose,
                p.subject.roles,
            )
            edge = (
                f"shareholder_of → 本客户 this customer; 客户 customer {s.customer_id}"
                if s.customer_id
                else "shareholder_of → 本客户 this customer (not a known customer)"
            )
            table.rows.append(
                [
                    p.show("name", s.name, holder),
                    s.kind,
                    s.uscc or NONE,
                    f"{s.share_ratio:.0%}" if s.share_ratio is not None else NONE,
                    s.subscribed_capital or NONE,
                    edge,
                    when_text(s.retrieved_at),
                ]
            )
        section.tables.append(table)
    return section


def _related(p: Presenter, facts: BackgroundFacts) -> Section:
    section = Section("关联客户 Related customers")
    if not facts.related:
        section.lines.append("无关联客户 No related customers.")
        return section
    table = Table(
        ["关系 kind", "方向 direction", "依据 via", "值 value", "客户 customer", "名称 name"]
    )
    principal = p.context.principal
    hidden = 0
    for r in facts.related:
        roles = roles_seeing(principal, r.province, r.city)
        if not roles:
            hidden += 1
            continue
        other = Subject(r.customer_id, r.customer_kind, p.subject.purpose, roles)
        table.rows.append(
            [
                r.kind,
                r.direction,
                r.attribute,
                p.show(r.attribute, r.value) if r.value is not None else NONE,
                str(r.customer_id),
                p.show("name", r.display_name, other),
            ]
        )
    section.tables.append(table)
    if hidden:
        section.lines.append(
            f"另有 {hidden} 个关联客户在您的数据范围之外。{hidden} more outside your rows."
        )
    return section


def _sources(p: Presenter, facts: BackgroundFacts) -> Section:
    section = Section("数据来源 Sources and retrieval dates")
    table = Table(
        [
            "来源 source",
            "数据流 stream",
            "来源编号 external id",
            "状态 status",
            "首次获取 first seen",
            "最近获取 last stored",
            "来源时间 source's time",
        ]
    )
    for s in facts.sources:
        table.rows.append(
            [
                s.source,
                s.stream,
                p.show("external_id", s.external_id),
                s.status,
                when_text(s.first_seen_at),
                when_text(s.updated_at),
                when_text(s.observed_at),
            ]
        )
    section.tables.append(table)
    if facts.bureau:
        bureau = Table(
            ["征信机构 provider", "来源 source", "用途 purpose", "查询时间 retrieved"],
            title="征信查询 Bureau retrievals",
        )
        for b in facts.bureau:
            bureau.rows.append([b.provider, b.source, b.purpose, when_text(b.retrieved_at)])
        section.tables.append(bureau)
    return section


__all__ = ["REPORT_FIELD", "report_view"]
