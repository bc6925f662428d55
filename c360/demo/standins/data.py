"""Demo data for the stand-in APIs, drawn from the same invented world as
:mod:`c360.demo.world` (same ``seed`` and sizes, same people): shop
customers and their orders and chats, social followers and their interactions,
bureau reports on people and companies. Deterministic for a given seed.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from c360.demo.standins.apis import china_iso
from c360.demo.world import World  # the demo's own world, so people match

CHAT_TEXTS = (
    "请问这款产品什么时候发货？",
    "收到的商品有破损，想申请退货。",
    "会员积分怎么兑换？",
    "发票抬头需要改成公司名称。",
    "Can I change the delivery address of my order?",
    "The size runs small, I'd like an exchange please.",
    "客服态度很好，谢谢！",
)
COMMENTS = (
    "新品好看！",
    "什么时候有活动？",
    "已下单，期待。",
    "Love this colour!",
    "质量一般，有点失望。",
    "求链接",
)
DMS = ("你好，想咨询一下门店地址。", "Is the Shanghai store open on Sunday?", "我的订单还没到。")
PETS = ("小鱼儿", "阳光", "Momo", "Coco", "大白", "Lucky", "晴天", "Kiki")
ROADS = ("朝阳", "高新", "滨海", "中山")
STATUSES = (("存续", 0.9), ("在业", 0.06), ("注销", 0.025), ("吊销", 0.015))


@dataclass
class StandInData:
    """Everything the three stand-ins serve."""

    customers: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    chats: list[dict[str, Any]] = field(default_factory=list)
    followers: list[dict[str, Any]] = field(default_factory=list)
    interactions: list[dict[str, Any]] = field(default_factory=list)
    persons: dict[str, dict[str, Any]] = field(default_factory=dict)
    enterprises: dict[str, dict[str, Any]] = field(default_factory=dict)


def _when(rng: random.Random, start: datetime, days: int) -> datetime:
    return start + timedelta(seconds=rng.randrange(days * 86_400))


def _date(rng: random.Random, first_year: int) -> str:
    return (
        f"{rng.randrange(first_year, 2026)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    )


def _band(score: int) -> str:
    for floor, band in ((750, "A"), (680, "B"), (600, "C"), (500, "D")):
        if score >= floor:
            return band
    return "E"


def _credit(rng: random.Random) -> dict[str, Any]:
    score = int(min(950, max(300, rng.gauss(690, 70))))
    overdue = rng.choices((0, 1, 2, 5), weights=(80, 12, 6, 2))[0]
    defaults = 1 if score < 520 and rng.random() < 0.5 else 0
    return {
        "score": score,
        "band": _band(score),
        "overdue": {"count": overdue, "amount": round(overdue * rng.uniform(300, 8000), 2)},
        "defaults": {"count": defaults},
    }


def _court(rng: random.Random, name: str, enforcement: float, dishonest: float) -> dict[str, Any]:
    court: dict[str, Any] = {"enforcements": [], "dishonest": []}
    if rng.random() < enforcement:
        court["enforcements"].append(
            {
                "case_no": f"（{rng.randrange(2019, 2026)}）京0105执{rng.randrange(1000, 99999)}号",
                "court": rng.choice(
                    ("北京市朝阳区人民法院", "上海市浦东新区人民法院", "深圳市南山区人民法院")
                ),
                "amount": round(rng.uniform(5_000, 500_000), 2),
                "filed_at": _date(rng, 2019),
                "party": name,
            }
        )
    if rng.random() < dishonest:
        court["dishonest"].append(
            {
                "case_no": f"（{rng.randrange(2019, 2026)}）沪0115执{rng.randrange(1000, 99999)}号",
                "behaviour": "有履行能力而拒不履行生效法律文书确定义务",
                "published_at": _date(rng, 2020),
                "party": name,
            }
        )
    return court


def build_data(seed: int = 360, people: int = 10_000, companies: int = 1_000) -> StandInData:
    """The stand-ins' data for the demo world of ``generate_demo_data(seed, people, companies)``."""
    world = World(people, min(companies, people), seed)
    rng = random.Random(seed * 7919 + 11)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    data = StandInData()
    for index, person in enumerate(world.people):
        key = hashlib.sha1(f"{seed}:{person.entity_id}".encode()).hexdigest()
        if rng.random() < 0.5:  # a shop account
            created = _when(rng, start, 500)
            customer_id = f"U{index + 1:06d}"
            data.customers.append(
                {
                    "id": customer_id,
                    "name": person.name
                    if rng.random() > 0.02
                    else f"{person.surname} {person.given}",
                    "mobile": person.phone if rng.random() > 0.1 else None,
                    "email": person.email if rng.random() > 0.2 else None,
                    "city": person.city.short,
                    "created_at": china_iso(created),
                    "updated_at": china_iso(created + timedelta(days=rng.randrange(0, 60))),
                }
            )
            for n in range(rng.choices((0, 1, 2, 3), weights=(30, 40, 20, 10))[0]):
                ordered = created + timedelta(days=rng.randrange(1, 200), minutes=n)
                data.orders.append(
                    {
                        "id": f"SO{index + 1:06d}{n}",
                        "customer_id": customer_id,
                        "amount": f"{rng.choice((59, 99, 128, 199, 268, 399, 899))}.00",
                        "currency": "CNY",
                        "channel": rng.choice(("web", "app", "小程序")),
                        "created_at": china_iso(ordered),
                        "updated_at": china_iso(ordered + timedelta(hours=rng.randrange(0, 72))),
                    }
                )
            if rng.random() < 0.2:
                said = created + timedelta(days=rng.randrange(1, 300))
                data.chats.append(
                    {
                        "id": f"CH{index + 1:06d}",
                        "customer_id": customer_id,
                        "text": rng.choice(CHAT_TEXTS),
                        "created_at": china_iso(said),
                        "updated_at": china_iso(said),
                    }
                )
        if rng.random() < 0.35:  # follows the brand's account
            followed = _when(rng, start, 600)
            uid = "wx_" + key[:12]
            syllables = "".join(world.pinyin(person.name)) or "user"
            follower: dict[str, Any] = {
                "uid": uid,
                "union_id": "o" + key[12:40],
                "nickname": rng.choice((syllables, rng.choice(PETS), person.given)),
                "avatar_url": f"/sns/avatar/{uid}.png",
                "gender": "male" if person.gender == "男" else "female",
                "region": rng.choice(
                    (
                        person.city.short,
                        f"{person.city.province.rstrip('省市')} {person.city.short}",
                    )
                ),
                "followed_at": china_iso(followed),
                "updated_at": china_iso(followed + timedelta(days=rng.randrange(0, 30))),
            }
            if rng.random() < 0.4:
                follower["phone"] = person.phone
            if rng.random() < 0.3:
                follower["real_name"] = person.name
            data.followers.append(follower)
            for n in range(rng.choices((0, 1, 2, 3), weights=(35, 35, 20, 10))[0]):
                kind = rng.choice(("comment", "like", "dm"))
                when = followed + timedelta(days=rng.randrange(0, 200), minutes=n)
                item: dict[str, Any] = {
                    "id": f"{uid}-{n}",
                    "uid": uid,
                    "type": kind,
                    "post_id": f"post-{rng.randrange(1, 60)}",
                    "created_at": china_iso(when),
                    "updated_at": china_iso(when),
                }
                if kind == "comment":
                    item["text"] = rng.choice(COMMENTS)
                elif kind == "dm":
                    item["text"] = rng.choice(DMS)
                data.interactions.append(item)
        data.persons[person.id_number] = {
            "subject": {"kind": "person", "name": person.name},
            "credit": _credit(rng),
            "court": _court(rng, person.name, 0.03, 0.01),
        }
    for company in world.companies:
        rep = world.people[company.legal_rep]
        status = rng.choices([s for s, _ in STATUSES], weights=[w for _, w in STATUSES])[0]
        established = datetime(2005, 1, 1) + timedelta(days=rng.randrange(6000))
        holders: list[dict[str, Any]] = [
            {"name": rep.name, "type": "person", "ratio": 0.6, "subscribed": "60%认缴"}
        ]
        partner = rng.choice(world.companies)
        if partner is not company and rng.random() < 0.4:
            holders.append(
                {"name": partner.name, "type": "enterprise", "uscc": partner.uscc, "ratio": 0.4}
            )
        else:
            other = rng.choice(world.people)
            holders.append({"name": other.name, "type": "person", "ratio": 0.4})
        data.enterprises[company.uscc] = {
            "subject": {"kind": "enterprise", "name": company.name},
            "registration": {
                "name": company.name,
                "uscc": company.uscc,
                "status": status,
                "registered_capital": company.capital,
                "legal_representative": rep.name,
                "established": established.date().isoformat(),
                "address": f"{company.city.name}{rng.choice(ROADS)}路{rng.randrange(1, 300)}号",
                "industry": company.industry,
                "approved_at": f"{rng.randrange(2018, 2025)}-0{rng.randrange(1, 10)}-15",
            },
            "shareholders": holders,
            "credit": _credit(rng),
            "court": _court(rng, company.name, 0.05, 0.015),
        }
    return data
