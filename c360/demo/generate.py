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
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from c360.demo.exports import ExportWriter
from c360.demo.reference import EXPO_TITLE, TRUTH_FILE
from c360.demo.world import World

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
    world = World(people, companies, seed)
    writer = ExportWriter(world, directory)
    web = writer.write_web()
    store = writer.write_store()
    social = writer.write_social()
    expo = writer.write_expo()
    truth = writer.write_truth()
    paths = {path.name: path for path in (web, store, social, expo)}
    sources = [
        DemoSource(
            name=spec["name"],
            connector=spec["connector"],
            config={
                "files": [
                    {"path": str(paths[f["file"]]), **{k: v for k, v in f.items() if k != "file"}}
                    for f in spec["files"]
                ]
            },
            trust=spec["trust"],
            description=spec["description"],
        )
        for spec in _source_specs()
    ]
    return DemoDataset(
        directory=directory,
        sources=sources,
        truth_path=truth,
        people=people,
        companies=companies,
    )


def _source_specs() -> list[dict[str, Any]]:
    """The demo's sources as data (``sources.json`` beside this module): each file
    names its export by ``file``; the path is filled in where it was written."""
    text = resources.files("c360.demo").joinpath("sources.json").read_text(encoding="utf-8")
    specs: list[dict[str, Any]] = json.loads(text)
    return specs


def load_truth(path: Path) -> dict[tuple[str, str, str], str]:
    """``(source, stream, external_id) -> true entity id`` from a ``truth.csv``."""
    with Path(path).open(encoding="utf-8", newline="") as handle:
        return {
            (row["source"], row["stream"], row["external_id"]): row["entity_id"]
            for row in csv.DictReader(handle)
        }
