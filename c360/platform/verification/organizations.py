"""Who registered an organization and what kind it is, from the first two
characters of its unified social credit code (GB 32100-2015, 法人和其他组织统一
社会信用代码编码规则) or, without a code, from what its source says.

The seeds manage government customers beside people and companies, so the kind
matters: a government body (机关) or public institution (事业单位) is registered
by the 机构编制 authority (``1``), a social organization (社会团体, 民办非企业,
基金会) by 民政 (``5``), an enterprise or sole trader by 市场监管 (``9``).
"""

from __future__ import annotations

from dataclasses import dataclass

AUTHORITIES: dict[str, str] = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "市场监管 (工商)",
    "A": "中央军委改革和编制办公室",
    "N": "农业",
    "Y": "其他",
}
"""Registration authorities by the code's first character."""

KINDS = (
    "enterprise",
    "sole_trader",
    "cooperative",
    "government_body",
    "public_institution",
    "social_organization",
    "foundation",
    "private_non_enterprise",
    "legal_services",
    "religious",
    "trade_union",
    "collective_economic",
    "foreign_representative",
    "military",
    "other",
)
"""Organization kinds, in the words the API and reports use."""

ENTITY_TYPES: dict[str, dict[str, tuple[str, str]]] = {
    "1": {
        "1": ("机关", "government_body"),
        "2": ("事业单位", "public_institution"),
        "3": ("中央编办直接管理机构编制的群众团体", "social_organization"),
        "9": ("其他", "other"),
    },
    "2": {"1": ("外国常驻新闻机构", "foreign_representative"), "9": ("其他", "other")},
    "3": {
        "1": ("律师执业机构", "legal_services"),
        "2": ("公证处", "legal_services"),
        "3": ("基层法律服务所", "legal_services"),
        "4": ("司法鉴定机构", "legal_services"),
        "5": ("仲裁委员会", "legal_services"),
        "9": ("其他", "other"),
    },
    "4": {"1": ("外国在华文化中心", "foreign_representative"), "9": ("其他", "other")},
    "5": {
        "1": ("社会团体", "social_organization"),
        "2": ("民办非企业单位", "private_non_enterprise"),
        "3": ("基金会", "foundation"),
        "9": ("其他", "other"),
    },
    "6": {
        "1": ("外国旅游部门常驻代表机构", "foreign_representative"),
        "2": ("港澳台地区旅游部门常驻内地代表机构", "foreign_representative"),
        "9": ("其他", "other"),
    },
    "7": {
        "1": ("宗教活动场所", "religious"),
        "2": ("宗教院校", "religious"),
        "9": ("其他", "other"),
    },
    "8": {"1": ("基层工会", "trade_union"), "9": ("其他", "other")},
    "9": {
        "1": ("企业", "enterprise"),
        "2": ("个体工商户", "sole_trader"),
        "3": ("农民专业合作社", "cooperative"),
    },
    "A": {"1": ("军队事业单位", "military"), "9": ("其他", "military")},
    "N": {
        "1": ("组级集体经济组织", "collective_economic"),
        "2": ("村级集体经济组织", "collective_economic"),
        "3": ("乡镇级集体经济组织", "collective_economic"),
        "9": ("其他", "collective_economic"),
    },
    "Y": {"1": ("其他", "other")},
}
"""Entity types per authority: ``(what the standard calls it, our kind)``."""

DECLARED_KINDS: dict[str, str] = {
    "企业": "enterprise",
    "公司": "enterprise",
    "enterprise": "enterprise",
    "company": "enterprise",
    "个体工商户": "sole_trader",
    "个体户": "sole_trader",
    "机关": "government_body",
    "政府": "government_body",
    "government": "government_body",
    "事业单位": "public_institution",
    "public institution": "public_institution",
    "社会团体": "social_organization",
    "社会组织": "social_organization",
    "基金会": "foundation",
    "民办非企业单位": "private_non_enterprise",
}
"""What sources write in an ``organization_type`` / ``entity_type`` column."""


@dataclass(frozen=True, slots=True)
class Registration:
    """What a code's first two characters say; ``entity_type`` / ``kind`` are None
    when the authority has no such type."""

    authority_code: str
    authority: str | None
    entity_code: str
    entity_type: str | None
    kind: str | None


def registration_of(code: str) -> Registration:
    """Authority and entity type of an (already valid) 18-character code."""
    authority, entity = code[:1], code[1:2]
    typed = ENTITY_TYPES.get(authority, {}).get(entity)
    return Registration(
        authority_code=authority,
        authority=AUTHORITIES.get(authority),
        entity_code=entity,
        entity_type=typed[0] if typed else None,
        kind=typed[1] if typed else None,
    )


def organization_kind(uscc: str | None, declared: str | None = None) -> str | None:
    """An organization's kind: from its code when the code says, else from what
    its source declared (``事业单位``, ``enterprise``), else None."""
    if uscc and len(uscc) == 18:
        kind = registration_of(uscc).kind
        if kind is not None:
            return kind
    if declared:
        return DECLARED_KINDS.get(declared.strip().lower(), DECLARED_KINDS.get(declared.strip()))
    return None
