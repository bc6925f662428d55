"""Header names: folding, de-duplication, and the built-in mapping of the Chinese
and English headers found in store, event and trade-show exports onto canonical
attributes (:mod:`c360.platform.records`).

Headers are compared *folded*: NFKC (full-width letters and colons become ASCII),
stripped, lower-cased, without spaces, underscores or colons — so ``手机号码：``,
``Mobile``, ``E-mail `` and ``FULL_NAME`` all find their entry.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from c360.connectors.offline.config import ID

_DROPPED = re.compile(r"[\s_:]+")


@lru_cache(maxsize=4096)
def fold(header: str) -> str:
    """The comparison form of a header: NFKC, lower case, no spaces/underscores/colons."""
    return _DROPPED.sub("", unicodedata.normalize("NFKC", header).lower()).strip("\ufeff")


def _table(entries: dict[str, tuple[str, ...]]) -> dict[str, str]:
    table: dict[str, str] = {}
    for attribute, headers in entries.items():
        for header in headers:
            table[fold(header)] = attribute
    return table


_COMMON = {
    "phone": (
        "手机",
        "手机号",
        "手机号码",
        "联系电话",
        "电话",
        "电话号码",
        "mobile",
        "phone",
        "tel",
        "telephone",
        "cellphone",
    ),
    "email": ("邮箱", "电子邮件", "电子邮箱", "邮件", "email", "e-mail", "mail"),
    "address": ("地址", "联系地址", "通讯地址", "address"),
    "city": ("城市", "所在城市", "city"),
    "province": ("省份", "省", "所在省份", "province"),
    ID: ("编号", "ID", "客户编号", "客户ID", "会员ID", "客户id"),
}

PERSON_HEADERS: dict[str, str] = _table(
    {
        **_COMMON,
        "name": ("姓名", "名字", "客户姓名", "联系人", "name", "full name", "fullname"),
        "id_number": (
            "身份证号",
            "身份证",
            "身份证号码",
            "证件号码",
            "证件号",
            "id_number",
            "id card",
            "id no",
        ),
        "company": ("公司", "公司名称", "单位", "工作单位", "企业名称", "company", "employer"),
        "gender": ("性别", "gender", "sex"),
        "birth_date": ("生日", "出生日期", "birthday", "birth_date", "date of birth", "dob"),
        "job_title": ("职位", "职务", "title", "job title", "position"),
        "wechat_id": ("微信", "微信号", "wechat", "wechat id", "weixin"),
        "member_no": ("会员号", "会员卡号", "会员编号", "member no", "member number", "card no"),
    }
)
"""Built-in header -> attribute mapping for ``kind: person`` files (keys folded)."""

ORGANIZATION_HEADERS: dict[str, str] = _table(
    {
        **_COMMON,
        "name": ("公司", "公司名称", "企业名称", "单位名称", "company", "company name", "name"),
        "uscc": ("统一社会信用代码", "信用代码", "社会信用代码", "uscc"),
        "legal_representative": ("法人", "法定代表人", "法人代表", "legal representative"),
        "registered_capital": ("注册资本", "registered capital"),
        "industry": ("行业", "所属行业", "industry"),
        "website": ("官网", "网址", "网站", "website", "url"),
    }
)
"""Built-in header -> attribute mapping for ``kind: organization`` files (keys folded)."""

EVENT_COLUMN_HEADERS: dict[str, str] = _table(
    {
        "occurred_at": (
            "时间",
            "日期",
            "下单时间",
            "消费时间",
            "发生时间",
            "occurred_at",
            "date",
            "time",
        ),
        "amount": ("金额", "消费金额", "订单金额", "amount"),
        "currency": ("币种", "货币", "currency"),
        "channel": ("渠道", "channel"),
        "text": ("内容", "留言", "备注", "text"),
        "event_type": ("类型", "事件类型", "event_type", "type"),
    }
)
"""Built-in header -> event attribute mapping, for the event columns of a person or
organization file that has ``events`` configured (keys folded)."""

EVENT_HEADERS: dict[str, str] = {
    **_table(
        {
            "phone": _COMMON["phone"],
            "email": _COMMON["email"],
            "name": ("姓名", "名字", "客户姓名", "联系人", "name"),
            "subject_external_id": ("客户编号", "客户ID", "会员ID", "客户id"),
            ID: ("编号", "ID", "订单号", "订单编号", "事件编号"),
        }
    ),
    **EVENT_COLUMN_HEADERS,
}
"""Built-in header -> attribute mapping for ``kind: event`` files (keys folded)."""

BUILTIN_HEADERS: dict[str, dict[str, str]] = {
    "person": PERSON_HEADERS,
    "organization": ORGANIZATION_HEADERS,
    "event": EVENT_HEADERS,
}


def clean_headers(cells: list[str]) -> list[str]:
    """The header row as usable, unique names: stripped (BOM too), trailing empty
    cells dropped, an empty cell in the middle named ``_column_N`` (1-based), and a
    repeated name (compared folded) suffixed ``_2``, ``_3``... (``手机``, ``手机_2``)."""
    names = [cell.strip().lstrip("\ufeff").strip() for cell in cells]
    while names and not names[-1]:
        names.pop()
    seen: set[str] = set()
    unique: list[str] = []
    for position, name in enumerate(names, start=1):
        base = name or f"_column_{position}"
        candidate, n = base, 1
        while fold(candidate) in seen or candidate in seen:
            n += 1
            candidate = f"{base}_{n}"
        seen.add(fold(candidate))
        seen.add(candidate)
        unique.append(candidate)
    return unique
