"""Writing the demo world as four systems would export it (JSON, GBK CSV, JSON
Lines, XLSX with a title row), plus ``truth.csv``."""

from __future__ import annotations

import csv
import io
import json
import random
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.writer.excel import ExcelWriter

from c360.demo.noise import (
    break_email,
    exact_count,
    recase_email,
    spell_phone,
    timestamp,
    typo,
)
from c360.demo.reference import (
    CITIES,
    COMMENTS,
    ENGLISH_NAMES,
    EXPO_NOTES,
    EXPO_TITLE,
    HOMOPHONES,
    PET_NAMES,
    TODAY,
    TRUTH_FILE,
)
from c360.demo.world import Person, World


class NameNoise:
    """Decides, for the n-th record of a source without id cards, how its name is spelt."""

    def __init__(self, rng: random.Random, people: Sequence[Person]) -> None:
        self.rng = rng
        n = len(people)
        eligible = [i for i, p in enumerate(people) if any(ch in HOMOPHONES for ch in p.given)]
        self.typos = set(rng.sample(eligible, min(len(eligible), exact_count(n, 0.03))))
        self.spaced = set(rng.sample(range(n), exact_count(n, 0.02)))
        self.stray = set(rng.sample(range(n), exact_count(n, 0.015)))

    def spell(self, index: int, person: Person) -> str:
        rng = self.rng
        name = person.name
        if index in self.typos:
            name = typo(rng, person.surname, person.given) or name
        if index in self.spaced:
            name = name[: len(person.surname)] + " " + name[len(person.surname) :]
        if index in self.stray:
            pad = rng.choice((" ", "  ", "\u3000", "\t"))
            name = pad + name if rng.random() < 0.5 else name + pad
        return name


class ExportWriter:
    """Writes the four exports and remembers the ground truth."""

    def __init__(self, world: World, directory: Path) -> None:
        self.world = world
        self.rng = world.rng
        self.directory = directory
        self.truth: list[tuple[str, str, str, str]] = []
        n = len(world.people)
        self.web = world.rng.sample(range(n), exact_count(n, 0.60))
        self.store = world.rng.sample(range(n), exact_count(n, 0.50))
        self.social = world.rng.sample(range(n), exact_count(n, 0.40))
        self.expo = self._expo_visitors(exact_count(n, 0.25))
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

    def company_for(self, person: Person) -> str | None:
        if person.company is None:
            return None
        company = self.world.companies[person.company]
        return company.short_name if self.rng.random() < 0.10 else company.name

    def email_for(self, person: Person) -> str:
        if self.rng.random() < 0.10:
            return recase_email(self.rng, person.email, self.world.pinyin(person.name))
        return person.email

    def city_for(self, person: Person) -> str:
        return person.city.name if self.rng.random() < 0.5 else person.city.short

    def record_truth(self, source: str, stream: str, external_id: str, entity_id: str) -> None:
        self.truth.append((source, stream, external_id, entity_id))

    # --- 1. web sign-ups
    def write_web(self) -> Path:
        rng, people = self.rng, self.world.people
        stamped = sorted((timestamp(rng, date(2021, 1, 1), TODAY), index) for index in self.web)
        noise = NameNoise(rng, [people[i] for _, i in stamped])
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
                    else spell_phone(rng, self.phone_for(index, "web_signups")),
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
        for row in self.rng.sample(rows, exact_count(len(rows), 0.005)):
            row[key] = break_email(self.rng, row[key])

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
                    else spell_phone(rng, self.phone_for(index, "store_pos")),
                    id_number,
                    person.gender,
                    *self._purchase(person),
                ]
            )
            self.record_truth("store_pos", "store_pos", card, person.entity_id)
        for row in rng.sample(rows, exact_count(len(rows), 0.01)):
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

    def _purchase(self, person: Person) -> list[str]:
        rng = self.rng
        if person.city.stores and rng.random() < 0.85:
            store = rng.choice(person.city.stores)
        else:
            store = rng.choice([s for c in CITIES for s in c.stores])
        moment = timestamp(rng, date(2024, 1, 1), TODAY)
        amount = min(max(rng.lognormvariate(5.0, 0.8), 9.9), 20000.0)
        return [store, f"{moment:%Y-%m-%d %H:%M:%S}", f"{amount:.2f}"]

    # --- 3. social
    def write_social(self) -> Path:
        rng, people = self.rng, self.world.people
        stamped = sorted((timestamp(rng, date(2023, 1, 1), TODAY), index) for index in self.social)
        noise = NameNoise(rng, [people[i] for _, i in stamped])
        anonymous = set(rng.sample(range(len(stamped)), exact_count(len(stamped), 0.03)))
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
                    row["phone"] = spell_phone(rng, self.phone_for(index, "social"))
            if rng.random() < 0.90:
                row["wechat_id"] = person.wechat_id
            if rng.random() < 0.90:
                city = person.city
                row["region"] = (
                    city.short
                    if rng.random() < 0.6
                    else (f"{city.province.removesuffix('省')} {city.short}")
                )
            row["comment"] = rng.choice(COMMENTS)
            row["commented_at"] = f"{moment:%Y-%m-%d %H:%M:%S}"
            lines.append(json.dumps(row, ensure_ascii=False))
            self.record_truth("social", "social", uid, person.entity_id)
        path = self.directory / "social.jsonl"
        path.write_text("".join(line + "\n" for line in lines) + '{"uid": "S9', encoding="utf-8")
        return path

    def _nickname(self, person: Person) -> str:
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
                    rng.choice(PET_NAMES),
                    "阿" + person.given[-1],
                    f"小{person.surname}同学",
                    person.surname + ("先生" if person.gender == "男" else "女士"),
                )
            )
        if roll < 0.85:
            return f"{rng.choice(ENGLISH_NAMES)}_{sur.capitalize()}"
        return rng.choice(ENGLISH_NAMES) + str(rng.randrange(1, 100))

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
        noise = NameNoise(rng, [world.people[i] for i in self.expo])
        rows: list[list[Any]] = []
        for n, index in enumerate(self.expo):
            person = world.people[index]
            external_id = f"V{n + 1:05d}"
            phone: str | int | None = None
            if rng.random() >= 0.05:
                phone = spell_phone(rng, self.phone_for(index, "expo_leads"))
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
                    rng.choice(EXPO_NOTES) if rng.random() < 0.4 else None,
                ]
            )
            self.record_truth("expo_leads", "expo_visitors", external_id, person.entity_id)
        with_email = [r for r in rows if r[5]]
        for row in rng.sample(with_email, exact_count(len(with_email), 0.005)):
            row[5] = break_email(rng, row[5])
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
        missing = set(rng.sample(order, exact_count(len(order), 0.10)))
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
        path.write_bytes(xlsx_bytes(workbook))
        return path

    def write_truth(self) -> Path:
        path = self.directory / TRUTH_FILE
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["source", "stream", "external_id", "entity_id"])
            writer.writerows(self.truth)
        return path


def xlsx_bytes(workbook: Workbook) -> bytes:
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
