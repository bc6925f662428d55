"""The verification sections of the background-check report: the customer's
identity attributes with each source's value, the verification states, the
consistency of the sources and the authenticity score, each value through the
:class:`~c360.schema.report_model.Presenter`.
"""

from __future__ import annotations

from collections.abc import Iterable

from c360.platform.background.sections import BackgroundFacts
from c360.schema.report_model import (
    NONE,
    NOT_PERMITTED,
    OUTCOME_WORDS,
    STATE_WORDS,
    VERDICT_WORDS,
    Presenter,
    Section,
    Table,
    band_text,
    when_text,
    yes_no,
)

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


def _ordered(names: Iterable[str]) -> list[str]:
    rank = {name: i for i, name in enumerate(IDENTITY_ATTRIBUTES)}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))


def identity_section(p: Presenter, facts: BackgroundFacts) -> Section:
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
            [name, p.show(name, fact.value), yes_no(fact.verified), yes_no(fact.conflicting)]
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
                    when_text(item.get("checked_at")),
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


def states_section(p: Presenter, facts: BackgroundFacts) -> Section:
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
                    when_text(item.get("verified_at")),
                    str(item.get("method") or NONE),
                    p.show("verification_state", item.get("evidence")),
                    when_text(item.get("due_at")),
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
                    [name, "来源担保 verified by source", v.source, when_text(v.observed_at)]
                )
        elif name in ("name", "id_number", "phone", "email", "address", "uscc"):
            table.rows.append([name, "未核验 unverified", NONE, NONE])
    section.tables.append(table)
    return section


def consistency_section(p: Presenter, facts: BackgroundFacts) -> Section:
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
            table.rows.append([name, outcome, v.source, p.show(name, v.value), yes_no(v.chosen)])
    if table.rows:
        section.tables.append(table)
    else:
        section.lines.append("只有一个来源，无从比对。One source only: nothing to compare.")
    return section


def authenticity_section(p: Presenter, facts: BackgroundFacts) -> Section:
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
        f"结论 band {band_text(p.show('authenticity_band', score.get('band')))} · "
        f"计算于 computed {when_text(score.get('computed_at'))} · "
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


__all__ = ["authenticity_section", "consistency_section", "identity_section", "states_section"]
