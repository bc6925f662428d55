"""A reproducible, realistic demo data set for ``c360 demo``.

:func:`generate_demo_data` invents ``people`` persons and ``companies``
organizations and writes what four systems of a Chinese consumer brand would
export about them, plus the ground truth (which record is which real entity), so
identity resolution can be shown working *and* measured::

    web_signups.json   web_signups   JSON array, English keys         ~60% of people  trust 60
    store_pos.csv      store_pos     GBK CSV, Chinese headers         ~50% of people  trust 70
    social.jsonl       social        JSON Lines                       ~40% of people  trust 30
    expo_leads.xlsx    expo_visitors sheet "visitors", title row      ~25% of people  trust 40
                       expo_exhibitors sheet "exhibitors"             every company
    truth.csv          source,stream,external_id,entity_id (P000001 / O000001)

Same ``seed`` → byte-identical files (one :class:`random.Random` drives every
choice; Faker, seeded with :meth:`Faker.seed_instance`, only fills the name pools;
the XLSX archive gets fixed timestamps).

The true entities
-----------------
* Names: surnames from Faker's frequency-weighted list (王/李/张 ≈ 7% each);
  given names are Faker's classic ones (伟, 芳, 秀英; mostly for people born
  before 1980) or two characters composed from gendered pools (子涵, 浩然).
  Common names therefore recur by chance, and on top of that **2%** of people are
  deliberate homonyms: a different person with the same name *and* the same city
  as someone else, sharing nothing more.
* Resident ids (身份证号): a real 6-digit district code of the birth city (73
  district codes over 17 cities, each used only for birth years in which
  ``python-stdnum``'s region table says it existed, else the city-level code),
  the birth date, a sequence whose last digit is
  odd for men and even for women, and the check digit from
  ``stdnum.cn.ric.calc_check_digit``. 75% live in their birth city.
* Mobiles: 11 digits on common prefixes (138, 139, 186, 135, 150, 177, 199, ...),
  each checked with ``phonenumbers``; **5%** of people also have a second mobile.
* E-mails: QQ numbers at qq.com, pinyin local parts (``zhangwei88``,
  ``wei.zhang``, ``zw1990``) at qq.com / 163.com / 126.com / gmail.com / sina.com /
  foxmail.com / outlook.com, and work addresses at company domains.
* Companies: ``北京华信科技有限公司``-style names, valid unified social credit
  codes (organization code with its GB 11714 check character, then
  ``stdnum.cn.uscc.calc_check_digit``), an industry, registered capital, a contact
  phone (a landline, or the legal representative's mobile in 35% of cases) and a
  legal representative who is one of the people. **30%** of people work at one of
  the companies (legal representatives included).

The noise, and how much of it
-----------------------------
Proportions are of the records of the source named; "exactly" means a fixed count
``round(share * records)`` (at least one), "about" means drawn per record.

* Phone spelling (every phone-bearing source, about): 75% ``13800138000``;
  7% ``+86 138 0013 8000``; 7% ``138-0013-8000``; 4% ``138 0013 8000``;
  3% ``0086 13800138000``; 2% ``+8613800138000``; 2% full-width
  ``１３８００１３８０００``. In the XLSX about 30% of the plain ones are numeric cells.
* Second mobile: exactly 5% of people have one; each of them who appears in any
  source uses it in one of those sources (picked at random) instead of the first.
* Company contact phones: a landline (``010-84561234`` 70%, ``(010)84561234``,
  ``010 8456 1234``, ``+86 10 8456 1234`` 10% each) or, in 35% of companies,
  the legal representative's mobile spelt as above.
* Missing values (about): web_signups e-mail 15%, mobile 10%, birthday 25%,
  city 5%, company of employed people 15%; store_pos phone 3%; expo_visitors
  e-mail 30%, phone 5%, company of employed people 10%; social: see below. JSON
  and XLSX write ``null`` / an empty cell, the CSV an empty field, JSON Lines
  leave the key out.
* E-mail case (about 10% of e-mails): ``ZhangWei@QQ.com``, ``ZHANGWEI@163.COM``,
  ``Zhangwei@163.com``. Invalid e-mails: exactly 0.5% of the e-mails written to
  web_signups and expo_visitors (``zhangwei@163``, ``zhangwei@@163.com``,
  ``zhangwei163.com``, ``zhangwei@163,com``, ``zhang wei@qq.com``).
* Names in the sources without an id card (web_signups, social ``real_name``,
  expo_visitors): exactly 3% have one given-name character swapped for a
  homophone (伟→玮/炜, 静→婧, 丽→莉, ...), exactly 2% a space between surname
  and given name (``张 伟``), exactly 1.5% stray leading/trailing whitespace
  (space, tab or full-width space). store_pos names are copied from the id card: clean.
* Company names on person records: about 10% in short form (``华信科技``).
* City spelling: ``深圳市`` or ``深圳`` (web, expo); social ``region`` is ``深圳``
  or ``广东 深圳``.
* Timestamps (Beijing time): web ``2023-04-05T10:11:12+08:00``; store and social
  ``2025-03-14 15:23:11``. Amounts: ``128.00``.
* store_pos: exactly 1% of resident ids carry a wrong check digit (they will be
  quarantined); about 30% of ids ending in X write it lowercase (still valid);
  two member cards appear twice (one row exactly duplicated, one card with a
  second purchase).
* social: ``nickname`` is pinyin, a pet name or an English name (the real name in
  about 15%), so it is kept only as an extra attribute; exactly 3% of rows carry
  neither ``real_name`` nor ``phone`` (those people cannot be linked — honest);
  of the others about 35% have both, 35% only the name, 30% only the phone;
  ``wechat_id`` is missing in 10%, ``region`` in 10%. The file ends with a
  truncated line (``{"uid": "S9``), which the connector must quarantine.
* expo_leads.xlsx: the visitors sheet has a merged title row (A1:H1) above the
  header and a few blank rows; exhibitors lack the USCC in exactly 10% of rows.

Cities and provinces come from the table of real districts above, not from
Faker's address provider (whose province/city pairs are random, 江苏省西安市).
Addresses are not generated: none of the four exports has an address column.
"""

from __future__ import annotations

import csv
import io
import json
import random
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import phonenumbers
from faker import Faker
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.writer.excel import ExcelWriter
from pypinyin import lazy_pinyin
from stdnum.cn import ric, uscc

__all__ = [
    "EXPO_TITLE",
    "TRUTH_FILE",
    "DemoDataset",
    "DemoSource",
    "generate_demo_data",
    "load_truth",
]


@dataclass(frozen=True)
class DemoSource:
    """One demo source: a connector and its config, ready to register."""

    name: str
    connector: str
    config: dict[str, Any]
    trust: int
    description: str


@dataclass(frozen=True)
class DemoDataset:
    """What :func:`generate_demo_data` wrote, and where."""

    directory: Path
    sources: list[DemoSource]
    truth_path: Path
    people: int
    companies: int


# --------------------------------------------------------------------------- reference data

EXPO_TITLE = "2025 上海国际消费品博览会 观众登记表"
TRUTH_FILE = "truth.csv"
_TODAY = date(2025, 6, 30)
"""Fixed "now" of the demo world: the data never depends on the clock."""

_District = tuple[str, int, int]
"""A district code and the first / last birth year ``stdnum`` accepts it for."""


@dataclass(frozen=True)
class _City:
    name: str
    short: str
    province: str
    weight: int
    area_code: str
    districts: tuple[_District, ...]
    stores: tuple[str, ...]

    @property
    def fallback_code(self) -> _District:
        """The city-level code, valid when no district code existed yet."""
        return (self.districts[0][0][:4] + "00", 1950, 2009)


_CITIES: tuple[_City, ...] = (
    _City(
        "北京市", "北京", "北京市", 12, "010",
        (("110101", 1950, 2009), ("110102", 1950, 2009), ("110105", 1950, 2009),
         ("110106", 1950, 2009), ("110108", 1950, 2009), ("110114", 1999, 2009)),
        ("北京朝阳大悦城店", "北京三里屯太古里店", "北京西单大悦城店"),
    ),
    _City(
        "上海市", "上海", "上海市", 12, "021",
        (("310101", 1950, 2009), ("310104", 1950, 2009), ("310105", 1950, 2009),
         ("310106", 1950, 2009), ("310110", 1950, 2009), ("310112", 1981, 2009),
         ("310115", 1992, 2009)),
        ("上海徐家汇港汇店", "上海南京西路店", "上海浦东正大广场店"),
    ),
    _City(
        "深圳市", "深圳", "广东省", 9, "0755",
        (("440303", 1983, 2009), ("440304", 1983, 2009), ("440305", 1983, 2009),
         ("440306", 1992, 2009), ("440307", 1992, 2009)),
        ("深圳南山海岸城店", "深圳福田COCO Park店"),
    ),
    _City(
        "广州市", "广州", "广东省", 9, "020",
        (("440103", 1983, 2009), ("440104", 1983, 2009), ("440105", 1983, 2009),
         ("440106", 1985, 2009), ("440111", 1983, 2009)),
        ("广州天河城店", "广州正佳广场店"),
    ),
    _City(
        "杭州市", "杭州", "浙江省", 7, "0571",
        (("330102", 1983, 2009), ("330105", 1983, 2009), ("330106", 1983, 2009),
         ("330108", 1996, 2009)),
        ("杭州湖滨银泰店", "杭州西溪印象城店"),
    ),
    _City(
        "成都市", "成都", "四川省", 7, "028",
        (("510104", 1990, 2009), ("510105", 1990, 2009), ("510106", 1990, 2009),
         ("510107", 1990, 2009), ("510108", 1990, 2009), ("510122", 1950, 2007)),
        ("成都春熙路店", "成都IFS店"),
    ),
    _City(
        "南京市", "南京", "江苏省", 5, "025",
        (("320102", 1983, 2009), ("320104", 1983, 2009), ("320105", 1983, 2009),
         ("320106", 1983, 2009)),
        ("南京新街口店",),
    ),
    _City(
        "武汉市", "武汉", "湖北省", 5, "027",
        (("420102", 1983, 2009), ("420103", 1983, 2009), ("420106", 1983, 2009),
         ("420111", 1983, 2009)),
        ("武汉光谷世界城店",),
    ),
    _City(
        "西安市", "西安", "陕西省", 4, "029",
        (("610103", 1983, 2009), ("610104", 1983, 2009), ("610113", 1983, 2009)),
        ("西安小寨赛格店",),
    ),
    _City(
        "重庆市", "重庆", "重庆市", 5, "023",
        (("500103", 1997, 2009), ("500106", 1997, 2009), ("500108", 1997, 2009),
         ("500112", 1997, 2009), ("510200", 1950, 1997), ("510202", 1983, 1997),
         ("510203", 1983, 1997)),
        ("重庆解放碑店",),
    ),
    _City(
        "天津市", "天津", "天津市", 4, "022",
        (("120101", 1950, 2009), ("120103", 1950, 2009), ("120104", 1950, 2009)),
        ("天津滨江道店",),
    ),
    _City(
        "青岛市", "青岛", "山东省", 3, "0532",
        (("370202", 1983, 2009), ("370203", 1983, 2009), ("370212", 1988, 2009)),
        ("青岛万象城店",),
    ),
    _City(
        "长沙市", "长沙", "湖南省", 3, "0731",
        (("430102", 1983, 2009), ("430103", 1983, 2009), ("430104", 1983, 2009)),
        ("长沙五一广场店",),
    ),
    _City(
        "厦门市", "厦门", "福建省", 2, "0592",
        (("350203", 1983, 2009), ("350206", 1987, 2009), ("350211", 1983, 2009)),
        ("厦门中山路店",),
    ),
    _City(
        "郑州市", "郑州", "河南省", 3, "0371",
        (("410102", 1983, 2009), ("410103", 1983, 2009), ("410105", 1983, 2009)),
        ("郑州二七万达店",),
    ),
    _City(
        "沈阳市", "沈阳", "辽宁省", 3, "024",
        (("210102", 1983, 2009), ("210103", 1983, 2009), ("210105", 1983, 2009)),
        ("沈阳中街店",),
    ),
    _City(
        "苏州市", "苏州", "江苏省", 4, "0512",
        (("320502", 1983, 2009), ("320503", 1983, 2009), ("320505", 2000, 2009),
         ("320506", 2000, 2009)),
        ("苏州观前街店",),
    ),
)  # fmt: skip

_MOBILE_PREFIXES = (
    "138", "139", "186", "135", "150", "177", "199", "136", "137", "158", "159",
    "188", "187", "189", "131", "132", "155", "156", "180", "181", "133", "153",
    "173", "176", "185", "182", "183", "151", "152", "157", "166", "198",
)  # fmt: skip

_MALE_CHARS = "子浩宇轩俊博文泽晨睿嘉明志鹏昊梓天宏伟杰涛磊鑫凯毅思远哲航铭峻逸辰然豪锦"
_FEMALE_CHARS = "欣怡诗雨梦佳思雅婷静涵晓可紫慧馨琳悦瑶妍颖萱若琪蕾璐雪月芸晴乐彤"

_HOMOPHONES: dict[str, str] = {
    "伟": "玮炜韦", "静": "婧靖", "丽": "莉俪", "敏": "珉闽", "杰": "洁捷", "军": "君钧",
    "勇": "永咏", "磊": "垒蕾", "娟": "鹃涓", "艳": "燕雁", "芳": "方坊", "娜": "纳",
    "秀": "琇", "英": "瑛莹", "华": "桦骅", "明": "铭鸣", "平": "萍苹", "刚": "钢纲",
    "玲": "铃苓", "婷": "亭庭", "霞": "侠", "洋": "阳扬", "涛": "韬滔", "斌": "彬滨",
    "宇": "雨羽", "鹏": "朋", "峰": "锋丰", "辉": "晖徽", "建": "健剑", "俊": "骏峻",
    "浩": "皓昊", "红": "虹宏", "梅": "玫媚", "琴": "芹勤", "欣": "馨昕", "佳": "嘉家",
    "文": "雯闻", "晨": "辰宸", "飞": "菲非", "凯": "铠恺", "鑫": "欣新", "林": "琳霖",
    "强": "蔷", "超": "朝", "龙": "隆珑", "成": "诚承", "帆": "凡", "旭": "煦", "阳": "洋扬",
    "萍": "平苹", "燕": "艳雁", "玉": "钰煜", "兰": "岚蓝", "桂": "贵", "晶": "菁京",
    "颖": "莹", "慧": "惠蕙", "倩": "茜", "云": "芸昀", "洁": "杰婕", "淑": "舒", "怡": "宜仪",
    "雨": "宇羽", "涵": "含晗", "梓": "子紫", "轩": "萱宣", "睿": "瑞锐", "博": "柏",
    "泽": "择", "思": "斯丝", "雅": "亚娅", "诗": "师", "梦": "孟", "晓": "筱", "可": "珂柯",
    "紫": "子梓", "琳": "林霖", "悦": "月越", "嘉": "佳家", "瑶": "遥", "妍": "研", "琪": "琦棋",
    "蕾": "磊", "璐": "露潞", "雪": "薛", "芸": "云昀", "晴": "情", "彤": "桐", "志": "智",
    "宏": "弘鸿", "毅": "义艺", "远": "元媛", "铭": "明鸣", "峻": "俊骏", "逸": "艺奕",
    "辰": "晨宸", "豪": "毫", "锦": "瑾", "航": "杭", "哲": "喆", "天": "添", "子": "梓紫",
}  # fmt: skip

_INDUSTRIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("软件和信息技术服务业", ("科技", "信息技术", "软件", "网络科技", "数据科技")),
    ("批发业", ("商贸", "贸易", "供应链")),
    ("零售业", ("商业", "百货")),
    ("计算机、通信和其他电子设备制造业", ("电子", "智能科技")),
    ("电气机械和器材制造业", ("电气", "机电")),
    ("食品制造业", ("食品",)),
    ("餐饮业", ("餐饮管理",)),
    ("建筑装饰、装修和其他建筑业", ("装饰工程", "建设工程")),
    ("商务服务业", ("企业管理咨询", "商务咨询", "广告")),
    ("广播、电视、电影和录音制作业", ("文化传媒", "影视传媒")),
    ("装卸搬运和仓储业", ("物流", "供应链管理")),
    ("房地产业", ("置业", "物业管理")),
    ("医药制造业", ("生物医药", "医药科技")),
    ("教育", ("教育科技", "教育咨询")),
    ("纺织服装、服饰业", ("服饰", "服装")),
    ("化学原料和化学制品制造业", ("日化", "化妆品")),
)
_BRAND_CHARS = "华信创达鑫恒瑞泰宏盛德康源博新远中联汇通凯嘉锦润安宝丰和兴隆海天云智星辰"
_CAPITALS = (10, 50, 100, 200, 300, 500, 1000, 2000, 5000, 10000)
_CAPITAL_WEIGHTS = (6, 10, 18, 12, 8, 18, 14, 7, 5, 2)
_JOB_TITLES = (
    "销售经理", "采购经理", "市场总监", "产品经理", "软件工程师", "财务主管", "人事专员",
    "总经理助理", "运营经理", "行政主管", "技术总监", "客户经理", "区域经理", "设计师",
    "法务专员", "采购专员", "品牌经理", "商务拓展经理", "项目经理", "副总经理",
)  # fmt: skip
_REP_TITLES = ("总经理", "董事长", "执行董事", "董事长兼总经理")
_MAIL_DOMAINS = (
    ("qq.com", 30), ("163.com", 22), ("126.com", 10), ("gmail.com", 8), ("sina.com", 5),
    ("foxmail.com", 5), ("outlook.com", 5), ("hotmail.com", 3), ("139.com", 3),
)  # fmt: skip
_PET_NAMES = (
    "快乐的小鱼", "一只大橙子", "追风少年", "芒果布丁", "晴天", "夏天的风", "不吃香菜",
    "奶茶续命", "柠檬不萌", "山海", "星星点灯", "猫的天空之城", "一路向北", "小确幸",
    "momo", "南风知我意", "早睡早起", "吃货一枚", "木子", "森林里的鹿",
)  # fmt: skip
_ENGLISH_NAMES = (
    "Kevin", "Lily", "Amy", "Jack", "Tony", "Sunny", "Grace", "Eric", "Cindy", "David",
    "Vivian", "Leo", "Coco", "Jason", "Emma", "Alex", "Nina", "Ray", "Iris", "Sam",
)  # fmt: skip
_COMMENTS = (
    "物流很快，包装完好，好评！",
    "客服态度很好，耐心解答问题。",
    "尺码偏小，建议买大一号。",
    "颜色和图片有点色差，不过还能接受。",
    "第二次回购了，质量稳定。",
    "门店导购很专业，推荐了合适的款式。",
    "会员积分怎么兑换？找了半天没找到入口。",
    "退货流程太慢了，希望改进。",
    "活动力度不错，已经推荐给朋友了。",
    "新品什么时候上市？",
    "味道不错，就是价格有点贵。",
    "发票怎么开？在线等。",
    "用了一周，效果还可以。",
    "包装破损了，已联系客服处理。",
    "直播间抢到了，开心😄",
    "希望多出点联名款！",
    "等了五天才发货，差评。",
    "性价比很高👍",
    "门店排队太久了。",
    "小程序下单很方便。",
    "赠品没收到，请核实一下。",
    "质量一般，不值这个价。",
    "双十一还有优惠吗？",
    "售后换货很顺利，点赞。",
    "第一次买，感觉挺好的。",
    "杭州有线下门店吗？",
    "会员日的券用不了？",
    "快递员态度很好。",
    "已推荐给同事。",
    "这款还会补货吗？",
)
_EXPO_NOTES = (
    "对新品很感兴趣", "需要报价单", "已加微信", "下周回访", "索取样品", "意向代理商",
    "关注新品发布", "希望合作", "老客户", "要求寄送产品目录",
)  # fmt: skip

_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


# --------------------------------------------------------------------------- the world


@dataclass
class _Person:
    entity_id: str
    surname: str
    given: str
    gender: str  # 男 / 女
    birth_date: date
    birth_city: _City
    city: _City
    id_number: str = ""
    phone: str = ""
    second_phone: str | None = None
    email: str = ""
    wechat_id: str = ""
    company: int | None = None
    job_title: str | None = None

    @property
    def name(self) -> str:
        return self.surname + self.given


@dataclass
class _Company:
    entity_id: str
    name: str
    short_name: str
    city: _City
    industry: str
    uscc: str
    capital: str
    domain: str
    legal_rep: int = -1
    phone: str = ""


class _World:
    """The true people and companies, with the random source and name pools."""

    def __init__(self, people: int, companies: int, seed: int) -> None:
        self.rng = random.Random(seed)
        fake = Faker("zh_CN")
        fake.seed_instance(seed)
        self.surnames = [fake.last_name() for _ in range(3000)]
        self.classic_male = [fake.first_name_male() for _ in range(600)]
        self.classic_female = [fake.first_name_female() for _ in range(600)]
        self.faker_brands = sorted(
            {p for p in (fake.company_prefix() for _ in range(300)) if len(p) == 2}
        )
        self._pinyin: dict[str, list[str]] = {}
        self._phones: set[str] = set()
        self._emails: set[str] = set()
        self._id_numbers: set[str] = set()
        self._company_names: set[str] = set()
        self._usccs: set[str] = set()
        self.homonyms: set[int] = set()
        """Indexes of the people in a deliberate homonym pair (they never move city)."""
        self.people = [self._new_person(i) for i in range(people)]
        self._make_homonyms()
        for person in self.people:
            person.id_number = self._new_id_number(person)
        self.companies = [self._new_company(i) for i in range(companies)]
        self._employ()
        for person in self.people:
            person.phone = self.new_mobile()
            person.email = self._new_email(person)
            person.wechat_id = self._new_wechat_id(person)
        for index in self.rng.sample(range(people), _count(people, 0.05)):
            self.people[index].second_phone = self.new_mobile()
        for company in self.companies:
            company.phone = self._company_phone(company)

    # --- helpers
    def pinyin(self, text: str) -> list[str]:
        if text not in self._pinyin:
            self._pinyin[text] = [
                s.lower() for s in lazy_pinyin(text) if s.isascii() and s.isalpha()
            ]
        return self._pinyin[text]

    def weighted_city(self) -> _City:
        return self.rng.choices(_CITIES, weights=[c.weight for c in _CITIES])[0]

    def new_mobile(self) -> str:
        while True:
            number = self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            parsed = phonenumbers.PhoneNumber(country_code=86, national_number=int(number))
            if number not in self._phones and phonenumbers.is_valid_number(parsed):
                self._phones.add(number)
                return number

    # --- people
    def _new_person(self, index: int) -> _Person:
        rng = self.rng
        gender = "男" if rng.random() < 0.5 else "女"
        year = int(rng.triangular(1955, 2006.99, 1990))
        born = date(year, 1, 1) + timedelta(days=rng.randrange(365))
        birth_city = self.weighted_city()
        city = birth_city if rng.random() < 0.75 else self.weighted_city()
        return _Person(
            entity_id=f"P{index + 1:06d}",
            surname=rng.choice(self.surnames),
            given=self._given_name(gender, year),
            gender=gender,
            birth_date=born,
            birth_city=birth_city,
            city=city,
        )

    def _given_name(self, gender: str, year: int) -> str:
        rng = self.rng
        if rng.random() < (0.7 if year < 1980 else 0.25):
            return rng.choice(self.classic_male if gender == "男" else self.classic_female)
        chars = _MALE_CHARS if gender == "男" else _FEMALE_CHARS
        first, second = rng.sample(chars, 2)
        return first + second

    def _make_homonyms(self) -> None:
        """2% of people get the name and city of another person of their gender."""
        count = _count(len(self.people), 0.02)
        if len(self.people) < 4:
            return
        copies = self.rng.sample(range(len(self.people)), count)
        taken = set(copies)
        for index in copies:
            copy = self.people[index]
            for _ in range(1000):
                candidate = self.rng.randrange(len(self.people))
                if candidate not in taken and self.people[candidate].gender == copy.gender:
                    break
            else:
                continue  # a tiny world without a free person of that gender
            taken.add(candidate)
            self.homonyms.update((index, candidate))
            original = self.people[candidate]
            copy.surname, copy.given, copy.city = original.surname, original.given, original.city
            while copy.birth_date == original.birth_date:
                copy.birth_date += timedelta(days=self.rng.randrange(1, 400))

    def _new_id_number(self, person: _Person) -> str:
        year = person.birth_date.year
        city = person.birth_city
        codes = [c for c, first, last in city.districts if first <= year <= last]
        code = self.rng.choice(codes) if codes else city.fallback_code[0]
        parity = 1 if person.gender == "男" else 0
        while True:
            sequence = self.rng.randrange(500) * 2 + parity
            body = f"{code}{person.birth_date:%Y%m%d}{sequence:03d}"
            number = body + ric.calc_check_digit(body + "0")
            if number not in self._id_numbers:
                self._id_numbers.add(number)
                return number

    # --- companies
    def _new_company(self, index: int) -> _Company:
        rng = self.rng
        city = self.weighted_city()
        industry, words = rng.choice(_INDUSTRIES)
        while True:
            if rng.random() < 0.3 and self.faker_brands:
                brand = rng.choice(self.faker_brands)
            else:
                brand = "".join(rng.sample(_BRAND_CHARS, 2))
            word = rng.choice(words)
            roll = rng.random()
            if roll < 0.80:
                name = f"{city.short}{brand}{word}有限公司"
            elif roll < 0.90:
                name = f"{brand}（{city.short}）{word}有限公司"
            elif roll < 0.95:
                name = f"{city.short}{brand}{word}股份有限公司"
            else:
                name = f"{city.short}市{brand}{word}有限公司"
            if name not in self._company_names:
                self._company_names.add(name)
                break
        capital = rng.choices(_CAPITALS, weights=_CAPITAL_WEIGHTS)[0]
        capital_text = f"{capital}万元人民币" if rng.random() < 0.85 else f"{capital}万人民币"
        return _Company(
            entity_id=f"O{index + 1:06d}",
            name=name,
            short_name=brand + word,
            city=city,
            industry=industry,
            uscc=self._new_uscc(city),
            capital=capital_text,
            domain=self._new_domain(brand, word, city),
        )

    def _new_uscc(self, city: _City) -> str:
        rng = self.rng
        region = rng.choice([c for c, _first, last in city.districts if last >= 2009])
        if rng.random() < 0.6:  # issued after 2015: organization code starts with MA
            stem = "MA" + "".join(rng.choice(_USCC_ALPHABET) for _ in range(6))
        else:
            stem = f"{rng.randrange(10**8):08d}"
        # GB 11714 check character of the organization code
        weights = (3, 7, 9, 10, 5, 8, 4, 2)
        total = sum(
            (int(ch) if ch.isdigit() else ord(ch) - 55) * w
            for ch, w in zip(stem, weights, strict=True)
        )
        check = 11 - total % 11
        org_code = stem + ("X" if check == 10 else "0" if check == 11 else str(check))
        body = "91" + region + org_code
        code = body + uscc.calc_check_digit(body)
        if code in self._usccs:
            return self._new_uscc(city)
        self._usccs.add(code)
        return code

    def _new_domain(self, brand: str, word: str, city: _City) -> str:
        base = "".join(self.pinyin(brand)) + "".join(s[0] for s in self.pinyin(word))
        tld = self.rng.choice((".com", ".com.cn", ".cn"))
        domain = base + tld
        if domain in self._emails:
            domain = f"{base}-{''.join(s[0] for s in self.pinyin(city.short))}{tld}"
        suffix = 2
        while domain in self._emails:
            domain = f"{base}{suffix}{tld}"
            suffix += 1
        self._emails.add(domain)  # domains share the namespace, harmlessly
        return domain

    def _employ(self) -> None:
        """Legal representatives first, then other employees up to 30% of people."""
        rng = self.rng
        if not self.companies:
            return
        order = list(range(len(self.people)))
        rng.shuffle(order)
        reps = order[: len(self.companies)]
        for company_index, person_index in enumerate(reps):
            person = self.people[person_index]
            company = self.companies[company_index]
            company.legal_rep = person_index
            person.company = company_index
            person.job_title = rng.choice(_REP_TITLES)
            if person_index not in self.homonyms:
                person.city = company.city
        target = max(_count(len(self.people), 0.30), len(reps))
        sizes = [rng.paretovariate(1.2) for _ in self.companies]
        for person_index in order[len(reps) : target]:
            person = self.people[person_index]
            company_index = rng.choices(range(len(self.companies)), weights=sizes)[0]
            person.company = company_index
            person.job_title = rng.choice(_JOB_TITLES)
            if rng.random() < 0.7 and person_index not in self.homonyms:
                person.city = self.companies[company_index].city
        # a homonym shares nothing but name and city: not the employer either
        by_key: dict[tuple[str, str], list[int]] = {}
        for index, person in enumerate(self.people):
            by_key.setdefault((person.name, person.city.name), []).append(index)
        representatives = set(reps)
        for group in by_key.values():
            seen: set[int] = set()
            for index in sorted(group, key=lambda i: i not in representatives):
                person = self.people[index]
                if person.company is None:
                    continue
                if person.company in seen and index not in representatives:
                    person.company, person.job_title = None, None
                else:
                    seen.add(person.company)

    def _company_phone(self, company: _Company) -> str:
        rng = self.rng
        if rng.random() < 0.35:
            return _spell_phone(rng, self.people[company.legal_rep].phone)
        area = company.city.area_code
        length = 7 if area == "0592" else 8
        for _ in range(50):
            local = str(rng.randint(2, 8)) + "".join(
                str(rng.randrange(10)) for _ in range(length - 1)
            )
            if phonenumbers.is_valid_number(phonenumbers.parse(area + local, "CN")):
                break
        else:
            return _spell_phone(rng, self.people[company.legal_rep].phone)
        roll = rng.random()
        if roll < 0.7:
            return f"{area}-{local}"
        if roll < 0.8:
            return f"({area}){local}"
        if roll < 0.9:
            return f"{area} {local[:-4]} {local[-4:]}"
        return f"+86 {area[1:]} {local[:-4]} {local[-4:]}"

    # --- e-mail and wechat
    def _new_email(self, person: _Person) -> str:
        rng = self.rng
        sur = "".join(self.pinyin(person.surname)) or "user"
        giv = "".join(self.pinyin(person.given)) or "x"
        initials = "".join(s[0] for s in self.pinyin(person.name)) or "u"
        if person.company is not None and rng.random() < 0.4:
            domain = self.companies[person.company].domain
            local = rng.choice((sur + giv, f"{giv}.{sur}", f"{sur}.{giv[0]}", initials))
        elif rng.random() < 0.25:
            domain = "qq.com"
            local = str(rng.randrange(10**5, 3 * 10**9))
        else:
            domain = rng.choices(
                [d for d, _ in _MAIL_DOMAINS], weights=[w for _, w in _MAIL_DOMAINS]
            )[0]
            local = rng.choice(
                (
                    sur + giv,
                    f"{sur}{giv}{person.birth_date.year}",
                    f"{sur}{giv}{rng.randrange(10, 100)}",
                    f"{sur}.{giv}",
                    f"{giv}.{sur}",
                    f"{initials}{person.birth_date:%y%m%d}",
                    f"{giv}{sur}{rng.randrange(100, 1000)}",
                )
            )
        email = f"{local}@{domain}"
        while email in self._emails:
            email = f"{local}{rng.randrange(1, 1000)}@{domain}"
        self._emails.add(email)
        return email

    def _new_wechat_id(self, person: _Person) -> str:
        rng = self.rng
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        if rng.random() < 0.5:
            return "wxid_" + "".join(rng.choice(alphabet) for _ in range(14))
        base = "".join(self.pinyin(person.name)) or "wx"
        return f"{base}_{rng.randrange(10, 100000)}"


# --------------------------------------------------------------------------- noise


def _count(total: int, share: float) -> int:
    """``round(share * total)``, but at least one when there is anything at all."""
    if total <= 0 or share <= 0:
        return 0
    return min(total, max(1, round(share * total)))


def _spell_phone(rng: random.Random, digits: str) -> str:
    """An 11-digit mobile the way people type it (see the module docstring)."""
    roll = rng.random()
    if roll < 0.75:
        return digits
    if roll < 0.82:
        return f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"
    if roll < 0.89:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if roll < 0.93:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if roll < 0.96:
        return f"0086 {digits}"
    if roll < 0.98:
        return f"+86{digits}"
    return digits.translate(_FULL_WIDTH)


def _recase_email(rng: random.Random, email: str, syllables: Sequence[str]) -> str:
    local, _, domain = email.partition("@")
    style = rng.randrange(3)
    if style == 0:
        for syllable in syllables:
            local = local.replace(syllable, syllable.capitalize(), 1)
        label, dot, rest = domain.partition(".")
        return f"{local}@{label.upper()}{dot}{rest}"
    if style == 1:
        return email.upper()
    return local.capitalize() + "@" + domain


def _break_email(rng: random.Random, email: str) -> str:
    local, _, domain = email.partition("@")
    label = domain.partition(".")[0]
    return rng.choice(
        (
            f"{local}@{label}",
            f"{local}@@{domain}",
            f"{local}{domain}",
            f"{local}@{domain.replace('.', ',', 1)}",
            f"{local[: len(local) // 2]} {local[len(local) // 2 :]}@{domain}",
        )
    )


def _typo(rng: random.Random, surname: str, given: str) -> str | None:
    """The name with one given-name character swapped for a homophone, if any has one."""
    positions = [i for i, ch in enumerate(given) if ch in _HOMOPHONES]
    if not positions:
        return None
    i = rng.choice(positions)
    return surname + given[:i] + rng.choice(_HOMOPHONES[given[i]]) + given[i + 1 :]


class _NameNoise:
    """Decides, for the n-th record of a source without id cards, how its name is spelt."""

    def __init__(self, rng: random.Random, people: Sequence[_Person]) -> None:
        self.rng = rng
        n = len(people)
        eligible = [i for i, p in enumerate(people) if any(ch in _HOMOPHONES for ch in p.given)]
        self.typos = set(rng.sample(eligible, min(len(eligible), _count(n, 0.03))))
        self.spaced = set(rng.sample(range(n), _count(n, 0.02)))
        self.stray = set(rng.sample(range(n), _count(n, 0.015)))

    def spell(self, index: int, person: _Person) -> str:
        rng = self.rng
        name = person.name
        if index in self.typos:
            name = _typo(rng, person.surname, person.given) or name
        if index in self.spaced:
            name = name[: len(person.surname)] + " " + name[len(person.surname) :]
        if index in self.stray:
            pad = rng.choice((" ", "  ", "\u3000", "\t"))
            name = pad + name if rng.random() < 0.5 else name + pad
        return name


def _timestamp(rng: random.Random, start: date, end: date) -> datetime:
    span = (end - start).days * 86400
    moment = datetime(start.year, start.month, start.day) + timedelta(seconds=rng.randrange(span))
    # business hours are busier
    if moment.hour < 8 and rng.random() < 0.8:
        moment += timedelta(hours=10)
    return moment


# --------------------------------------------------------------------------- the sources


class _Writer:
    """Writes the four exports and remembers the ground truth."""

    def __init__(self, world: _World, directory: Path) -> None:
        self.world = world
        self.rng = world.rng
        self.directory = directory
        self.truth: list[tuple[str, str, str, str]] = []
        n = len(world.people)
        self.web = world.rng.sample(range(n), _count(n, 0.60))
        self.store = world.rng.sample(range(n), _count(n, 0.50))
        self.social = world.rng.sample(range(n), _count(n, 0.40))
        self.expo = self._expo_visitors(_count(n, 0.25))
        self.second_phone_source: dict[int, str] = {}
        membership: dict[int, list[str]] = {}
        for source, members in (
            ("web_signups", self.web),
            ("store_pos", self.store),
            ("social", self.social),
            ("expo_leads", self.expo),
        ):
            for index in members:
                membership.setdefault(index, []).append(source)
        for index, person in enumerate(world.people):
            if person.second_phone and index in membership:
                self.second_phone_source[index] = self.rng.choice(membership[index])

    def _expo_visitors(self, count: int) -> list[int]:
        """A weighted sample: people with an employer are three times as likely to visit."""
        keys = []
        for index, person in enumerate(self.world.people):
            weight = 3.0 if person.company is not None else 1.0
            keys.append((self.rng.random() ** (1.0 / weight), index))
        keys.sort(reverse=True)
        return [index for _, index in keys[:count]]

    def phone_for(self, index: int, source: str) -> str:
        person = self.world.people[index]
        if person.second_phone and self.second_phone_source.get(index) == source:
            return person.second_phone
        return person.phone

    def company_for(self, person: _Person) -> str | None:
        if person.company is None:
            return None
        company = self.world.companies[person.company]
        return company.short_name if self.rng.random() < 0.10 else company.name

    def email_for(self, person: _Person) -> str:
        if self.rng.random() < 0.10:
            return _recase_email(self.rng, person.email, self.world.pinyin(person.name))
        return person.email

    def city_for(self, person: _Person) -> str:
        return person.city.name if self.rng.random() < 0.5 else person.city.short

    def record_truth(self, source: str, stream: str, external_id: str, entity_id: str) -> None:
        self.truth.append((source, stream, external_id, entity_id))

    # --- 1. web sign-ups
    def write_web(self) -> Path:
        rng, people = self.rng, self.world.people
        stamped = sorted((_timestamp(rng, date(2021, 1, 1), _TODAY), index) for index in self.web)
        noise = _NameNoise(rng, [people[i] for _, i in stamped])
        rows: list[dict[str, Any]] = []
        for n, (moment, index) in enumerate(stamped):
            person = people[index]
            external_id = f"W{n + 1:06d}"
            employed = person.company is not None
            rows.append(
                {
                    "id": external_id,
                    "name": noise.spell(n, person),
                    "mobile": None
                    if rng.random() < 0.10
                    else _spell_phone(rng, self.phone_for(index, "web_signups")),
                    "email": None if rng.random() < 0.15 else self.email_for(person),
                    "birthday": None if rng.random() < 0.25 else person.birth_date.isoformat(),
                    "city": None if rng.random() < 0.05 else self.city_for(person),
                    "signup_at": moment.isoformat() + "+08:00",
                    "company": self.company_for(person)
                    if employed and rng.random() >= 0.15
                    else None,
                }
            )
            self.record_truth("web_signups", "web_signups", external_id, person.entity_id)
        self._break_emails([r for r in rows if r["email"]], "email")
        path = self.directory / "web_signups.json"
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return path

    def _break_emails(self, rows: list[dict[str, Any]], key: str) -> None:
        for row in self.rng.sample(rows, _count(len(rows), 0.005)):
            row[key] = _break_email(self.rng, row[key])

    # --- 2. store POS
    def write_store(self) -> Path:
        rng, people = self.rng, self.world.people
        cards: dict[str, int] = {}
        rows: list[list[str]] = []
        for index in self.store:
            person = people[index]
            card = f"88{rng.randrange(10**8):08d}"
            while card in cards:
                card = f"88{rng.randrange(10**8):08d}"
            cards[card] = index
            id_number = person.id_number
            if id_number.endswith("X") and rng.random() < 0.3:
                id_number = id_number[:-1] + "x"
            rows.append(
                [
                    card,
                    person.name,
                    ""
                    if rng.random() < 0.03
                    else _spell_phone(rng, self.phone_for(index, "store_pos")),
                    id_number,
                    person.gender,
                    *self._purchase(person),
                ]
            )
            self.record_truth("store_pos", "store_pos", card, person.entity_id)
        for row in rng.sample(rows, _count(len(rows), 0.01)):
            right = row[3][-1].upper()
            row[3] = row[3][:-1] + rng.choice([c for c in "0123456789X" if c != right])
        rows.sort(key=lambda r: (r[6], r[0]))
        if rows:
            exact = rng.randrange(len(rows))
            rows.insert(exact + 1, list(rows[exact]))
            again = list(rows[rng.randrange(len(rows))])
            again[5:] = self._purchase(people[cards[again[0]]])
            rows.append(again)
            rows.sort(key=lambda r: (r[6], r[0]))
        path = self.directory / "store_pos.csv"
        with path.open("w", encoding="gbk", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                ["会员卡号", "姓名", "手机", "身份证号", "性别", "门店", "消费时间", "消费金额"]
            )
            writer.writerows(rows)
        return path

    def _purchase(self, person: _Person) -> list[str]:
        rng = self.rng
        if person.city.stores and rng.random() < 0.85:
            store = rng.choice(person.city.stores)
        else:
            store = rng.choice([s for c in _CITIES for s in c.stores])
        moment = _timestamp(rng, date(2024, 1, 1), _TODAY)
        amount = min(max(rng.lognormvariate(5.0, 0.8), 9.9), 20000.0)
        return [store, f"{moment:%Y-%m-%d %H:%M:%S}", f"{amount:.2f}"]

    # --- 3. social
    def write_social(self) -> Path:
        rng, people = self.rng, self.world.people
        stamped = sorted(
            (_timestamp(rng, date(2023, 1, 1), _TODAY), index) for index in self.social
        )
        noise = _NameNoise(rng, [people[i] for _, i in stamped])
        anonymous = set(rng.sample(range(len(stamped)), _count(len(stamped), 0.03)))
        uids: set[str] = set()
        lines: list[str] = []
        for n, (moment, index) in enumerate(stamped):
            person = people[index]
            uid = f"S{rng.randrange(10**7, 10**8)}"
            while uid in uids:
                uid = f"S{rng.randrange(10**7, 10**8)}"
            uids.add(uid)
            row: dict[str, Any] = {"uid": uid, "nickname": self._nickname(person)}
            roll = rng.random()
            if n not in anonymous:
                if roll < 0.70:
                    row["real_name"] = noise.spell(n, person)
                if roll < 0.35 or roll >= 0.70:
                    row["phone"] = _spell_phone(rng, self.phone_for(index, "social"))
            if rng.random() < 0.90:
                row["wechat_id"] = person.wechat_id
            if rng.random() < 0.90:
                city = person.city
                row["region"] = (
                    city.short
                    if rng.random() < 0.6
                    else (f"{city.province.removesuffix('省')} {city.short}")
                )
            row["comment"] = rng.choice(_COMMENTS)
            row["commented_at"] = f"{moment:%Y-%m-%d %H:%M:%S}"
            lines.append(json.dumps(row, ensure_ascii=False))
            self.record_truth("social", "social", uid, person.entity_id)
        path = self.directory / "social.jsonl"
        path.write_text("".join(line + "\n" for line in lines) + '{"uid": "S9', encoding="utf-8")
        return path

    def _nickname(self, person: _Person) -> str:
        rng = self.rng
        sur = "".join(self.world.pinyin(person.surname))
        giv = "".join(self.world.pinyin(person.given))
        roll = rng.random()
        if roll < 0.15:
            return person.name
        if roll < 0.45:
            return rng.choice(
                (
                    f"{sur}{giv}{rng.randrange(10, 100)}",
                    f"xiao{giv}",
                    f"{giv}_{sur}",
                    f"{sur}_{giv}{person.birth_date:%y}",
                    f"{giv}{giv[-2:]}",
                )
            )
        if roll < 0.70:
            return rng.choice(
                (
                    rng.choice(_PET_NAMES),
                    "阿" + person.given[-1],
                    f"小{person.surname}同学",
                    person.surname + ("先生" if person.gender == "男" else "女士"),
                )
            )
        if roll < 0.85:
            return f"{rng.choice(_ENGLISH_NAMES)}_{sur.capitalize()}"
        return rng.choice(_ENGLISH_NAMES) + str(rng.randrange(1, 100))

    # --- 4. expo leads
    def write_expo(self) -> Path:
        rng, world = self.rng, self.world
        workbook = Workbook()
        visitors = workbook.active
        assert visitors is not None
        visitors.title = "visitors"
        visitors["A1"] = EXPO_TITLE
        visitors["A1"].font = Font(bold=True, size=14)
        visitors["A1"].alignment = Alignment(horizontal="center")
        visitors.merge_cells("A1:H1")
        visitors.append(["编号", "姓名", "公司", "职位", "手机", "邮箱", "城市", "备注"])
        noise = _NameNoise(rng, [world.people[i] for i in self.expo])
        rows: list[list[Any]] = []
        for n, index in enumerate(self.expo):
            person = world.people[index]
            external_id = f"V{n + 1:05d}"
            phone: str | int | None = None
            if rng.random() >= 0.05:
                phone = _spell_phone(rng, self.phone_for(index, "expo_leads"))
                if phone.isascii() and phone.isdigit() and rng.random() < 0.3:
                    phone = int(phone)
            employed = person.company is not None
            rows.append(
                [
                    external_id,
                    noise.spell(n, person),
                    self.company_for(person) if employed and rng.random() >= 0.10 else None,
                    person.job_title,
                    phone,
                    None if rng.random() < 0.30 else self.email_for(person),
                    self.city_for(person),
                    rng.choice(_EXPO_NOTES) if rng.random() < 0.4 else None,
                ]
            )
            self.record_truth("expo_leads", "expo_visitors", external_id, person.entity_id)
        with_email = [r for r in rows if r[5]]
        for row in rng.sample(with_email, _count(len(with_email), 0.005)):
            row[5] = _break_email(rng, row[5])
        blanks = set(rng.sample(range(1, len(rows)), min(len(rows) - 1, max(3, len(rows) // 200))))
        for n, row in enumerate(rows):
            if n in blanks:
                visitors.append([])
            visitors.append(row)
        for column, width in zip("ABCDEFGH", (10, 10, 30, 14, 18, 28, 10, 18), strict=True):
            visitors.column_dimensions[column].width = width

        exhibitors = workbook.create_sheet("exhibitors")
        exhibitors.append(
            [
                "编号",
                "企业名称",
                "统一社会信用代码",
                "法定代表人",
                "注册资本",
                "行业",
                "城市",
                "联系电话",
            ]
        )
        order = list(range(len(world.companies)))
        rng.shuffle(order)
        missing = set(rng.sample(order, _count(len(order), 0.10)))
        for n, company_index in enumerate(order):
            company = world.companies[company_index]
            external_id = f"E{n + 1:04d}"
            exhibitors.append(
                [
                    external_id,
                    company.name,
                    None if company_index in missing else company.uscc,
                    world.people[company.legal_rep].name,
                    company.capital,
                    company.industry,
                    company.city.short if rng.random() < 0.5 else company.city.name,
                    company.phone,
                ]
            )
            self.record_truth("expo_leads", "expo_exhibitors", external_id, company.entity_id)
        path = self.directory / "expo_leads.xlsx"
        path.write_bytes(_xlsx_bytes(workbook))
        return path

    def write_truth(self) -> Path:
        path = self.directory / TRUTH_FILE
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["source", "stream", "external_id", "entity_id"])
            writer.writerows(self.truth)
        return path


def _xlsx_bytes(workbook: Workbook) -> bytes:
    """The workbook as an XLSX file whose bytes depend on its content only."""
    fixed = datetime(2025, 6, 30, 9, 0, 0)
    workbook.properties.creator = "c360 demo"
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()  # unlike Workbook.save, keeps `modified`
    stable = io.BytesIO()
    with (
        zipfile.ZipFile(raw) as source,
        zipfile.ZipFile(stable, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=(2025, 6, 30, 9, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 3
            entry.external_attr = 0o644 << 16
            target.writestr(entry, source.read(info.filename))
    return stable.getvalue()


# --------------------------------------------------------------------------- public API


def generate_demo_data(
    directory: Path, people: int = 10_000, companies: int = 1_000, seed: int = 360
) -> DemoDataset:
    """Write the demo exports and ``truth.csv`` into ``directory`` (created if need be).

    The same arguments always produce byte-identical files."""
    if people < 1 or companies < 0:
        raise ValueError("people must be at least 1 and companies at least 0")
    if companies > people:
        raise ValueError("every company needs a legal representative: companies <= people")
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    world = _World(people, companies, seed)
    writer = _Writer(world, directory)
    web = writer.write_web()
    store = writer.write_store()
    social = writer.write_social()
    expo = writer.write_expo()
    truth = writer.write_truth()
    sources = [
        DemoSource(
            name="web_signups",
            connector="offline",
            config=_config(
                {
                    "path": str(web),
                    "stream": "web_signups",
                    "kind": "person",
                    "format": "json",
                    "encoding": "utf-8",
                    "id_column": "id",
                    "columns": {
                        "name": "name",
                        "mobile": "phone",
                        "email": "email",
                        "birthday": "birth_date",
                        "city": "city",
                        "company": "company",
                    },
                    "events": {"event_type": "signup", "columns": {"signup_at": "occurred_at"}},
                }
            ),
            trust=60,
            description="Website sign-ups (JSON export): self-typed, often incomplete.",
        ),
        DemoSource(
            name="store_pos",
            connector="offline",
            config=_config(
                {
                    "path": str(store),
                    "stream": "store_pos",
                    "kind": "person",
                    "format": "csv",
                    "encoding": "gbk",
                    "id_column": "会员卡号",
                    "columns": {
                        "会员卡号": "member_no",
                        "姓名": "name",
                        "手机": "phone",
                        "身份证号": "id_number",
                        "性别": "gender",
                    },
                    "verified_columns": ["id_number"],
                    "events": {
                        "event_type": "order",
                        "columns": {
                            "消费时间": "occurred_at",
                            "消费金额": "amount",
                            "门店": "channel",
                        },
                    },
                }
            ),
            trust=70,
            description="Store membership and purchases (GBK CSV from the POS); "
            "id cards checked at the counter.",
        ),
        DemoSource(
            name="social",
            connector="offline",
            config=_config(
                {
                    "path": str(social),
                    "stream": "social",
                    "kind": "person",
                    "format": "jsonl",
                    "encoding": "utf-8",
                    "id_column": "uid",
                    "columns": {
                        "real_name": "name",
                        "phone": "phone",
                        "wechat_id": "wechat_id",
                        "region": "city",
                    },
                    "events": {
                        "event_type": "comment",
                        "columns": {"comment": "text", "commented_at": "occurred_at"},
                    },
                }
            ),
            trust=30,
            description="Social-media followers and their comments (JSON Lines); "
            "nicknames, few real names.",
        ),
        DemoSource(
            name="expo_leads",
            connector="offline",
            config=_config(
                {
                    "path": str(expo),
                    "stream": "expo_visitors",
                    "kind": "person",
                    "format": "xlsx",
                    "sheet": "visitors",
                    "id_column": "编号",
                    "columns": {
                        "姓名": "name",
                        "公司": "company",
                        "职位": "job_title",
                        "手机": "phone",
                        "邮箱": "email",
                        "城市": "city",
                    },
                },
                {
                    "path": str(expo),
                    "stream": "expo_exhibitors",
                    "kind": "organization",
                    "format": "xlsx",
                    "sheet": "exhibitors",
                    "id_column": "编号",
                    "columns": {
                        "企业名称": "name",
                        "统一社会信用代码": "uscc",
                        "法定代表人": "legal_representative",
                        "注册资本": "registered_capital",
                        "行业": "industry",
                        "城市": "city",
                        "联系电话": "phone",
                    },
                },
            ),
            trust=40,
            description="Trade-show registrations (XLSX): visitors with business cards, "
            "and the exhibiting companies.",
        ),
    ]
    return DemoDataset(
        directory=directory,
        sources=sources,
        truth_path=truth,
        people=people,
        companies=companies,
    )


def _config(*files: dict[str, Any]) -> dict[str, Any]:
    return {"files": list(files)}


def load_truth(path: Path) -> dict[tuple[str, str, str], str]:
    """``(source, stream, external_id) -> true entity id`` from a ``truth.csv``."""
    with Path(path).open(encoding="utf-8", newline="") as handle:
        return {
            (row["source"], row["stream"], row["external_id"]): row["entity_id"]
            for row in csv.DictReader(handle)
        }
