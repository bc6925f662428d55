"""The background-check report (背调报告) as one caller may see it.

:func:`report_view` turns the platform's facts (:mod:`c360.platform.background`)
into a :class:`ReportView` — titled sections of tables of text, rendered as
HTML or PDF by :mod:`c360.schema.report_render` — with every personal value
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

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from c360.auth.masking import MASKS
from c360.auth.policy import Outcome, policy_field, roles_seeing
from c360.platform.background.sections import BackgroundFacts
from c360.platform.quality.reasons import reason_pattern
from c360.schema.context import RequestContext, Subject
from c360.schema.errors import Forbidden
from c360.schema.presentation import present_value

REPORT_FIELD = "background_report"
NOT_PERMITTED = "（无权查看 not permitted）"
NONE = "—"

IDENTITY_ATTRIBUTES = (
    "name",
    "id_number",
    "birth_date",
    "gender",
    "phone",
    "email",
    "address",
    "province",
    "city",
    "wechat_id",
    "company",
    "job_title",
    "uscc",
    "legal_representative",
    "registered_capital",
    "registration_status",
    "industry",
    "established",
)
"""The attributes the identity section lists first, in this order."""

OUTCOME_WORDS = {"pass": "通过 pass", "warn": "提示 warn", "fail": "不通过 fail"}
STATE_WORDS = {
    "unverified": "未核验 unverified",
    "verified_source": "来源核验 verified by source",
    "verified_staff": "人工核验 verified by staff",
    "failed": "核验失败 failed",
}
VERDICT_WORDS = {"agree": "一致 agrees", "contradict": "矛盾 contradicts"}
BAND_WORDS = {"pass": "通过 pass", "review": "复核 review", "fail": "不通过 fail"}

ASPECT_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "region": ("province",),
    "birth_date": ("birth_date", "id_number"),
    "gender": ("gender", "id_number"),
    "name": ("name",),
    "registration": ("registration_status",),
    "legal_representative": ("legal_representative",),
}
"""The attributes a consistency cell's detail speaks of: it is shown as written
only to a caller who reads them in clear. An aspect not listed is treated as
``*`` (every personal attribute)."""

PURPOSE_NEEDED = "declare a purpose (purpose=… or the X-Purpose header) for a background report"


class ReportRefused(Exception):
    """The caller may not have this customer's background report; ``reason``
    says why (naming the field, never a value)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ReportNotFound(LookupError):
    """No such customer, or one outside the caller's rows (told apart nowhere)."""


@dataclass(slots=True)
class Table:
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    title: str = ""


@dataclass(slots=True)
class Section:
    title: str
    lines: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


@dataclass(slots=True)
class ReportView:
    """A report ready to render: every string in it is what the caller may see."""

    title: str
    customer_id: int
    kind: str
    purpose: str
    generated_at: datetime
    generated_for: str
    sections: list[Section] = field(default_factory=list)
    masked: set[str] = field(default_factory=set)
    """Policy fields shown masked to this caller."""
    refused: set[str] = field(default_factory=set)
    """Policy fields left out for this caller."""


def _when(moment: datetime | str | None) -> str:
    if moment is None:
        return NONE
    if isinstance(moment, str):
        return moment[:19].replace("T", " ")
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _band(shown: str) -> str:
    return BAND_WORDS.get(shown, shown)


def _yes(flag: bool) -> str:
    return "是 yes" if flag else "否 no"


class _Presenter:
    """Presents values of one subject (and of related subjects) through the
    policy seam, remembering what came out masked or refused."""

    def __init__(self, context: RequestContext, view: ReportView, subject: Subject) -> None:
        self.context = context
        self.view = view
        self.subject = subject

    def show(self, attribute: str, value: Any, subject: Subject | None = None) -> str:
        subject = subject or self.subject
        if value is None or value == "":
            return NONE
        try:
            shown = present_value(attribute, value, self.context, subject)
        except Forbidden as refusal:
            self.view.refused.add(refusal.what)
            return NOT_PERMITTED
        decision = self.context.decide(attribute, subject)
        if decision.outcome is Outcome.MASKED:
            self.view.masked.add(decision.field)
        return shown if shown is not None else NONE

    def may(self, attribute: str, subject: Subject | None = None) -> bool:
        """Whether the field is served at all (clear or masked)."""
        decision = self.context.decide(attribute, subject or self.subject)
        if decision.outcome is Outcome.REFUSED:
            self.view.refused.add(decision.field)
            self.context.access.refused(subject or self.subject, decision.field, decision.reason)
            return False
        return True

    def clear(self, attribute: str) -> bool:
        """Whether the caller reads ``attribute`` of the customer in clear."""
        return self.context.decide(attribute, self.subject).outcome is Outcome.CLEAR

    def explain(self, text: Any, *attributes: str) -> str:
        """A reason or detail written by a check (it may quote the value it is
        about): as written to a caller who reads every one of ``attributes`` in
        clear, else with the values taken out (:func:`reason_pattern`) —
        withheld, never masked by a rule of its own."""
        text = "" if text is None else str(text)
        if "*" in attributes:  # about any attribute: as the schema's evidence rule
            attributes = tuple(a for a in attributes if a != "*") + tuple(sorted(MASKS))
        if attributes and all(self.clear(a) for a in attributes if a):
            for attribute in attributes:
                if attribute and self.context.decide(attribute, self.subject).personal:
                    self.context.access.read(
                        self.subject, policy_field(attribute, self.subject.kind)
                    )
            return text
        return reason_pattern(text)


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
    p = _Presenter(context, view, subject)
    view.sections = [
        _summary(p, facts),
        _identity(p, facts),
        _states(p, facts),
        _consistency(p, facts),
        _authenticity(p, facts),
        _credit(p, facts),
        _court(p, facts),
        *([_registration(p, facts)] if facts.kind == "organization" else []),
        _related(p, facts),
        _sources(p, facts),
    ]
    return view


def _summary(p: _Presenter, facts: BackgroundFacts) -> Section:
    kind = "个人 person" if facts.kind == "person" else "组织 organization"
    table = Table(["项目 item", "内容 value"])
    table.rows = [
        ["客户编号 customer id", str(facts.customer_id)],
        ["类型 kind", kind],
        ["名称 name", p.show("name", facts.display_name)],
        ["建档 known since", _when(facts.created_at)],
        ["合并的编号 merged ids", ", ".join(map(str, facts.absorbed)) or NONE],
        ["用途 purpose", p.view.purpose or NONE],
        ["生成 generated", _when(facts.gathered_at)],
        ["查阅人 for", p.view.generated_for],
    ]
    return Section("概要 Summary", tables=[table])


def _ordered(names: Iterable[str]) -> list[str]:
    rank = {name: i for i, name in enumerate(IDENTITY_ATTRIBUTES)}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))


def _identity(p: _Presenter, facts: BackgroundFacts) -> Section:
    section = Section("身份与证件核验 Identity and document checks")
    attributes = Table(
        [
            "属性 attribute",
            "值 value",
            "来源担保 verified by source",
            "来源不一致 sources disagree",
        ],
        title="档案 Golden profile",
    )
    for name in _ordered(facts.attributes):
        fact = facts.attributes[name]
        attributes.rows.append(
            [name, p.show(name, fact.value), _yes(fact.verified), _yes(fact.conflicting)]
        )
    section.tables.append(attributes)
    verification = facts.verification
    if verification.available and verification.checks:
        checks = Table(
            ["属性 attribute", "值 value", "结果 outcome", "检查 checks", "核验时间 checked"],
            title="核验 Checks",
        )
        for item in verification.checks:
            attribute = str(item.get("attribute", ""))
            checks.rows.append(
                [
                    attribute,
                    p.show(attribute, item.get("value")),
                    OUTCOME_WORDS.get(str(item.get("outcome")), str(item.get("outcome"))),
                    "; ".join(
                        f"{c.get('check')}: {c.get('outcome')} — "
                        + p.explain(c.get("reason"), attribute)
                        for c in item.get("checks", ())
                    ),
                    _when(item.get("checked_at")),
                ]
            )
        section.tables.append(checks)
    else:
        section.lines.append(
            f"证件核验：{verification.note}。Document checks: {verification.note} — the "
            "values above passed ingest validation (check digits, dates, formats)."
        )
    if facts.notes:
        notes = Table(
            ["来源 source", "属性 field", "类别 kind", "原因 reason"],
            title="接入时拒绝或提示的值 Values refused or flagged at ingest",
        )
        for note in facts.notes:
            notes.rows.append(
                [
                    note.source,
                    note.field,
                    "拒绝 refused" if note.kind == "refused" else "提示 warning",
                    note.reason,
                ]
            )
        section.tables.append(notes)
    return section


def _states(p: _Presenter, facts: BackgroundFacts) -> Section:
    section = Section("核验状态 Verification states")
    verification = facts.verification
    if verification.available and verification.states:
        if not p.may("verification_state"):
            section.lines.append(f"核验状态 verification states: {NOT_PERMITTED}")
            return section
        table = Table(
            [
                "属性 attribute",
                "状态 state",
                "核验人 by",
                "时间 when",
                "方式 how",
                "凭证 evidence",
                "复核到期 due",
            ]
        )
        for item in verification.states:
            table.rows.append(
                [
                    str(item.get("attribute", "")),
                    STATE_WORDS.get(str(item.get("state")), str(item.get("state"))),
                    p.show("verification_state", item.get("verified_by")),
                    _when(item.get("verified_at")),
                    str(item.get("method") or NONE),
                    p.show("verification_state", item.get("evidence")),
                    _when(item.get("due_at")),
                ]
            )
        section.tables.append(table)
        return section
    section.lines.append(
        "尚无人工或系统核验记录（not verified yet）；下表为来源担保的属性。"
        "No verification state has been recorded yet; the attributes a source vouches for:"
    )
    table = Table(["属性 attribute", "状态 state", "来源 source", "来源时间 as of"])
    for name in _ordered(facts.attributes):
        fact = facts.attributes[name]
        vouching = [v for v in fact.lineage if v.verified]
        if vouching:
            for v in vouching:
                table.rows.append(
                    [name, "来源担保 verified by source", v.source, _when(v.observed_at)]
                )
        elif name in ("name", "id_number", "phone", "email", "address", "uscc"):
            table.rows.append([name, "未核验 unverified", NONE, NONE])
    section.tables.append(table)
    return section


def _consistency(p: _Presenter, facts: BackgroundFacts) -> Section:
    section = Section("一致性 Cross-source consistency")
    verification = facts.verification
    if verification.available and verification.consistency:
        table = Table(
            ["比对 aspect", "左 left", "右 right", "结果 outcome", "说明 detail"],
            title="一致性矩阵 Consistency matrix",
        )
        for item in verification.consistency:
            aspect = str(item.get("aspect", ""))
            table.rows.append(
                [
                    aspect,
                    str(item.get("left", "")),
                    str(item.get("right", "")),
                    VERDICT_WORDS.get(str(item.get("outcome")), str(item.get("outcome"))),
                    p.explain(item.get("detail"), *ASPECT_ATTRIBUTES.get(aspect, ("*",))),
                ]
            )
        section.tables.append(table)
    table = Table(
        ["属性 attribute", "结果 outcome", "来源 source", "值 value", "采用 chosen"],
        title="来源间比对 What each source says",
    )
    for name in _ordered(facts.attributes):
        fact = facts.attributes[name]
        if len({v.source + v.external_id for v in fact.lineage}) < 2:
            continue
        outcome = "矛盾 contradicts" if fact.conflicting else "一致 agrees"
        for v in fact.lineage:
            table.rows.append([name, outcome, v.source, p.show(name, v.value), _yes(v.chosen)])
    if table.rows:
        section.tables.append(table)
    else:
        section.lines.append("只有一个来源，无从比对。One source only: nothing to compare.")
    return section


def _authenticity(p: _Presenter, facts: BackgroundFacts) -> Section:
    section = Section("真实性评分与风险标记 Authenticity score and flags")
    verification = facts.verification
    score = verification.score if verification.available else None
    if not score:
        section.lines.append(
            f"真实性评分：{verification.note}。Authenticity score: {verification.note}."
        )
        return section
    section.lines.append(
        f"评分 score {p.show('authenticity_score', score.get('score'))} / 100 · "
        f"结论 band {_band(p.show('authenticity_band', score.get('band')))} · "
        f"计算于 computed {_when(score.get('computed_at'))} · "
        f"规则 policy {score.get('policy_version') or NONE}"
    )
    if not p.may("authenticity_reasons"):
        section.lines.append(f"评分构成与风险标记 reasons and flags: {NOT_PERMITTED}")
        return section
    reasons = Table(
        ["原因 reason", "权重 weight", "属性 attribute", "说明 text"],
        title="评分构成 Contributions",
    )
    for item in score.get("reasons", ()):
        attribute = str(item.get("attribute") or "")
        reasons.rows.append(
            [
                str(item.get("code", "")),
                f"{item.get('weight', 0):+}"
                if isinstance(item.get("weight"), int)
                else str(item.get("weight", "")),
                attribute or NONE,
                p.explain(item.get("text"), attribute or "*"),
            ]
        )
    section.tables.append(reasons)
    flags = Table(["标记 flag", "严重度 severity", "说明 text"], title="风险标记 Fraud flags")
    for item in verification.flags:
        flags.rows.append(
            [
                str(item.get("code", "")),
                str(item.get("severity", "")),
                p.explain(item.get("detail"), "*"),
            ]
        )
    if not flags.rows:
        flags.rows.append([NONE, NONE, "无风险标记 no fraud flags"])
    section.tables.append(flags)
    return section


def _credit(p: _Presenter, facts: BackgroundFacts) -> Section:
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
                    _yes(b.found),
                    p.show("credit_score", b.score),
                    p.show("credit_score", b.band),
                    p.show("credit_score", b.overdue_count),
                    p.show("credit_score", b.overdue_amount),
                    p.show("credit_score", b.default_count),
                    _when(b.retrieved_at),
                    _when(b.expires_at),
                ]
            )
        section.tables.append(table)
    if facts.credit is not None:
        c = facts.credit
        section.lines.append(
            f"内部信用评级 internal grade: {p.show('credit_grade', c.grade)} · "
            f"分值 points: {p.show('credit_score', c.points)} · "
            f"模型 model v{c.model_version or NONE} · {_when(c.computed_at)}"
        )
    return section


def _court(p: _Presenter, facts: BackgroundFacts) -> Section:
    section = Section("涉诉与失信 Court listings")
    listings = [(b, item) for b in facts.bureau for item in b.listings]
    if not listings:
        checked = ", ".join(f"{b.provider} {_when(b.retrieved_at)}" for b in facts.bureau)
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
                f"{b.provider} {_when(b.retrieved_at)}",
            ]
        )
    section.tables.append(table)
    return section


def _registration(p: _Presenter, facts: BackgroundFacts) -> Section:
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
        table.rows.append(["查询时间 retrieved", _when(registrations[0].retrieved_at)])
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
                    _when(s.retrieved_at),
                ]
            )
        section.tables.append(table)
    return section


def _related(p: _Presenter, facts: BackgroundFacts) -> Section:
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


def _sources(p: _Presenter, facts: BackgroundFacts) -> Section:
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
                _when(s.first_seen_at),
                _when(s.updated_at),
                _when(s.observed_at),
            ]
        )
    section.tables.append(table)
    if facts.bureau:
        bureau = Table(
            ["征信机构 provider", "来源 source", "用途 purpose", "查询时间 retrieved"],
            title="征信查询 Bureau retrievals",
        )
        for b in facts.bureau:
            bureau.rows.append([b.provider, b.source, b.purpose, _when(b.retrieved_at)])
        section.tables.append(bureau)
    return section


__all__ = [
    "REPORT_FIELD",
    "ReportNotFound",
    "ReportRefused",
    "ReportView",
    "Section",
    "Table",
    "report_view",
]
