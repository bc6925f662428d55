"""The demo's true entities: people and companies, invented from the reference
data by one seeded random generator (same seed, same world); see
:mod:`c360.demo.generate` for what they look like."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

import phonenumbers
from faker import Faker
from pypinyin import lazy_pinyin
from stdnum.cn import ric, uscc

from c360.demo.noise import exact_count, spell_phone
from c360.demo.reference import (
    BRAND_CHARS,
    CAPITAL_WEIGHTS,
    CAPITALS,
    CITIES,
    FEMALE_CHARS,
    INDUSTRIES,
    JOB_TITLES,
    MAIL_DOMAINS,
    MALE_CHARS,
    MOBILE_PREFIXES,
    REP_TITLES,
    USCC_ALPHABET,
    City,
)


@dataclass
class Person:
    entity_id: str
    surname: str
    given: str
    gender: str  # 男 / 女
    birth_date: date
    birth_city: City
    city: City
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
class Company:
    entity_id: str
    name: str
    short_name: str
    city: City
    industry: str
    uscc: str
    capital: str
    domain: str
    legal_rep: int = -1
    phone: str = ""


class World:
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
        for index in self.rng.sample(range(people), exact_count(people, 0.05)):
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

    def weighted_city(self) -> City:
        return self.rng.choices(CITIES, weights=[c.weight for c in CITIES])[0]

    def new_mobile(self) -> str:
        while True:
            number = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            parsed = phonenumbers.PhoneNumber(country_code=86, national_number=int(number))
            if number not in self._phones and phonenumbers.is_valid_number(parsed):
                self._phones.add(number)
                return number

    # --- people
    def _new_person(self, index: int) -> Person:
        rng = self.rng
        gender = "男" if rng.random() < 0.5 else "女"
        year = int(rng.triangular(1955, 2006.99, 1990))
        born = date(year, 1, 1) + timedelta(days=rng.randrange(365))
        birth_city = self.weighted_city()
        city = birth_city if rng.random() < 0.75 else self.weighted_city()
        return Person(
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
        chars = MALE_CHARS if gender == "男" else FEMALE_CHARS
        first, second = rng.sample(chars, 2)
        return first + second

    def _make_homonyms(self) -> None:
        """2% of people get the name and city of another person of their gender."""
        count = exact_count(len(self.people), 0.02)
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

    def _new_id_number(self, person: Person) -> str:
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
    def _new_company(self, index: int) -> Company:
        rng = self.rng
        city = self.weighted_city()
        industry, words = rng.choice(INDUSTRIES)
        while True:
            if rng.random() < 0.3 and self.faker_brands:
                brand = rng.choice(self.faker_brands)
            else:
                brand = "".join(rng.sample(BRAND_CHARS, 2))
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
        capital = rng.choices(CAPITALS, weights=CAPITAL_WEIGHTS)[0]
        capital_text = f"{capital}万元人民币" if rng.random() < 0.85 else f"{capital}万人民币"
        return Company(
            entity_id=f"O{index + 1:06d}",
            name=name,
            short_name=brand + word,
            city=city,
            industry=industry,
            uscc=self._new_uscc(city),
            capital=capital_text,
            domain=self._new_domain(brand, word, city),
        )

    def _new_uscc(self, city: City) -> str:
        rng = self.rng
        region = rng.choice([c for c, _first, last in city.districts if last >= 2009])
        if rng.random() < 0.6:  # issued after 2015: organization code starts with MA
            stem = "MA" + "".join(rng.choice(USCC_ALPHABET) for _ in range(6))
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

    def _new_domain(self, brand: str, word: str, city: City) -> str:
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
            person.job_title = rng.choice(REP_TITLES)
            if person_index not in self.homonyms:
                person.city = company.city
        target = max(exact_count(len(self.people), 0.30), len(reps))
        sizes = [rng.paretovariate(1.2) for _ in self.companies]
        for person_index in order[len(reps) : target]:
            person = self.people[person_index]
            company_index = rng.choices(range(len(self.companies)), weights=sizes)[0]
            person.company = company_index
            person.job_title = rng.choice(JOB_TITLES)
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

    def _company_phone(self, company: Company) -> str:
        rng = self.rng
        if rng.random() < 0.35:
            return spell_phone(rng, self.people[company.legal_rep].phone)
        area = company.city.area_code
        length = 7 if area == "0592" else 8
        for _ in range(50):
            local = str(rng.randint(2, 8)) + "".join(
                str(rng.randrange(10)) for _ in range(length - 1)
            )
            if phonenumbers.is_valid_number(phonenumbers.parse(area + local, "CN")):
                break
        else:
            return spell_phone(rng, self.people[company.legal_rep].phone)
        roll = rng.random()
        if roll < 0.7:
            return f"{area}-{local}"
        if roll < 0.8:
            return f"({area}){local}"
        if roll < 0.9:
            return f"{area} {local[:-4]} {local[-4:]}"
        return f"+86 {area[1:]} {local[:-4]} {local[-4:]}"

    # --- e-mail and wechat
    def _new_email(self, person: Person) -> str:
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
                [d for d, _ in MAIL_DOMAINS], weights=[w for _, w in MAIL_DOMAINS]
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

    def _new_wechat_id(self, person: Person) -> str:
        rng = self.rng
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        if rng.random() < 0.5:
            return "wxid_" + "".join(rng.choice(alphabet) for _ in range(14))
        base = "".join(self.pinyin(person.name)) or "wx"
        return f"{base}_{rng.randrange(10, 100000)}"
