"""The customer search document: every way staff may type a customer, built from
the database in bulk.

One document per active customer (merged-away customers have none). It holds, as
lowercase lists, *every* value the customer's records gave (not only the golden
one: a customer known under two phones is found by either) and every reading of
them that staff type:

- names, with every pinyin reading (the surname read as a surname — 单 ``shan``,
  曾 ``zeng`` — by :func:`c360.platform.normalize.normalize_name`, plus every other
  reading of the first character: staff who say ``dan wei`` find 单伟) and initials;
  for organizations the name without legal-form suffixes (its *core*) too;
- phones as national numbers (``13800138000``) and their suffixes of 4+ digits;
- e-mail addresses and their local parts;
- id numbers (sensitive: only searchable by callers allowed to read them) and
  their last 4 and 6 characters;
- an organization's own name, its core and the core's pinyin; a person's
  employer the same way, in fields of its own (an employee must not outrank the
  company itself);
- province and city, sources, and the insight dimensions (tags, tier, risk level,
  lifecycle stage) once those exist.

:func:`load_documents` reads a batch of customers with a fixed number of queries,
whatever the batch size. :func:`build_document` is the pure part, used by the
benchmark too. How names, companies and phones are read is
:mod:`c360.search.readings`'.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from c360.platform import tables as t
from c360.platform.cases.reading import case_statuses_of
from c360.platform.normalize.china import region_forms
from c360.platform.privacy.restriction import restricted_among
from c360.platform.risk.judgment import grades_of
from c360.platform.value.reading import tiers_and_stages
from c360.platform.verification.judgment import scores_and_bands
from c360.search.readings import (
    company_forms,
    distinct,
    name_skeletons,
    national_number,
    person_readings,
)

__all__ = [
    "ENRICHERS",
    "SEARCHABLE_SOURCES",
    "CustomerDocument",
    "build_document",
    "load_documents",
    "upserts_and_deletes",
]

log = logging.getLogger("c360.search.documents")

PHONE_SUFFIX_LENGTHS = range(4, 9)
"""Phone tails staff type: the last 4 to 8 digits (longer ones search by their
last 8; a whole number is matched exactly)."""
ID_SUFFIX_LENGTHS = (4, 6)
"""Id number tails staff type: the last 4 or 6 characters."""

SEARCHABLE_SOURCES: tuple[str, ...] = (
    "names",
    "name_readings",
    "name_initials",
    "phones",
    "emails",
    "email_locals",
    "id_numbers",
    "usccs",
    "member_nos",
    "wechat_ids",
    "companies",
    "company_cores",
    "company_readings",
    "employers",
    "employer_cores",
    "employer_readings",
    "regions",
)
"""The document's searchable value lists, by the names query plans use."""


@dataclass(slots=True)
class CustomerDocument:
    """What the search index knows about one customer (values lowercase)."""

    customer_id: int
    kind: str
    updated_at: datetime | None = None
    names: list[str] = field(default_factory=list)
    name_readings: list[str] = field(default_factory=list)
    name_initials: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    """National significant numbers (``13800138000``, ``1012345678``)."""
    emails: list[str] = field(default_factory=list)
    email_locals: list[str] = field(default_factory=list)
    id_numbers: list[str] = field(default_factory=list)
    usccs: list[str] = field(default_factory=list)
    member_nos: list[str] = field(default_factory=list)
    wechat_ids: list[str] = field(default_factory=list)
    companies: list[str] = field(default_factory=list)
    """An organization's names as written and their cores (exact and fuzzy matching)."""
    company_cores: list[str] = field(default_factory=list)
    company_readings: list[str] = field(default_factory=list)
    employers: list[str] = field(default_factory=list)
    """A person's employers as written and their cores."""
    employer_cores: list[str] = field(default_factory=list)
    employer_readings: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    """Province and city, with and without their suffix (杭州市, 杭州), for free-text matching."""
    province: str | None = None
    city: str | None = None
    sources: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    tier: str | None = None
    risk_level: str | None = None
    lifecycle_stage: str | None = None
    authenticity_band: str | None = None
    authenticity_score: str | None = None
    """The authenticity score 0-100 as text (a facet value)."""
    case_status: list[str] = field(default_factory=list)
    """``open_case``, ``open_complaint``, ``sla_warning`` / ``sla_breached`` (open cases)."""
    card: dict[str, str] = field(default_factory=dict)
    """Display values in clear (the golden ones); hits carry those the policy allows."""

    def searchable(self) -> dict[str, list[str]]:
        """The searchable lists by source name (what hits are explained from)."""
        return {name: getattr(self, name) for name in SEARCHABLE_SOURCES}

    def phone_suffixes(self) -> list[str]:
        """The last 4 to 8 digits of every phone."""
        if len(self.phones) == 1:  # the usual case: the tails differ in length
            number = self.phones[0]
            return [number[-n:] for n in PHONE_SUFFIX_LENGTHS if n <= len(number)]
        return distinct(
            number[-n:] for number in self.phones for n in PHONE_SUFFIX_LENGTHS if n <= len(number)
        )

    def id_suffixes(self) -> list[str]:
        """The last 4 and 6 characters of every id number."""
        return distinct(number[-n:] for number in self.id_numbers for n in ID_SUFFIX_LENGTHS)

    def name_skeletons(self) -> list[str]:
        """Every name of 3 to 6 characters with one character of the given name
        blanked out (``冯厚楠``: ``冯*楠``, ``冯厚*``; see :func:`name_skeletons`), to
        find a name typed with one wrong character by exact terms."""
        return distinct(s for name in self.names for s in name_skeletons(name))

    def facet_values(self) -> dict[str, list[str]]:
        """The structured dimensions (``c360.search.contract.FACET_FIELDS``)."""

        def one(value: str | None) -> list[str]:
            return [value] if value else []

        return {
            "kind": [self.kind],
            "tags": list(self.tags),
            "tier": one(self.tier),
            "risk_level": one(self.risk_level),
            "lifecycle_stage": one(self.lifecycle_stage),
            "province": one(self.province),
            "city": one(self.city),
            "source": list(self.sources),
            "authenticity_band": one(self.authenticity_band),
            "authenticity_score": one(self.authenticity_score),
            "case_status": list(self.case_status),
        }

    def explain_data(self) -> dict[str, list[str]]:
        """What a backend stores to explain hits: the non-empty searchable lists."""
        return {k: v for k in SEARCHABLE_SOURCES if (v := getattr(self, k))}


@functools.lru_cache(maxsize=4096)
def _region_forms(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(form.lower() for form in region_forms(value)))


# ----------------------------------------------------------------- building


def _attribute_values(golden: Mapping[str, Any], name: str) -> list[str]:
    """The golden value of ``name`` first, then every other value its records gave."""
    item = golden.get(name)
    if not item:
        return []
    value = item.get("value")
    values = {} if value is None else {str(value): None}
    for entry in item.get("lineage") or ():
        other = entry.get("value")
        if other is not None:
            values[other if isinstance(other, str) else str(other)] = None
    values.pop("", None)
    return list(values)


def _golden_value(golden: Mapping[str, Any], name: str) -> str | None:
    item = golden.get(name)
    value = item.get("value") if item else None
    return str(value) if value not in (None, "") else None


def _tags(golden: Mapping[str, Any]) -> list[str]:
    value = _golden_value(golden, "tags")
    if value is None:
        return []
    if value.startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return distinct(str(v).strip() for v in parsed)
    return distinct(part.strip() for part in value.replace("，", ",").split(","))


def _lowerdistinct(values: list[str]) -> list[str]:
    """Distinct non-empty lowercase values (most lists hold one value or none)."""
    if not values:
        return []
    if len(values) == 1:
        value = values[0].lower()
        return [value] if value else []
    return distinct(v.lower() for v in values)


def build_document(
    customer_id: int,
    kind: str,
    golden: Mapping[str, Any],
    *,
    updated_at: datetime | None = None,
) -> CustomerDocument | None:
    """The search document of one customer from its golden attributes
    (``{name: {value, verified, conflicting, lineage}}``, lineage values and
    sources included). ``None`` when there is nothing to find it by."""
    if not golden:
        return None
    names = _attribute_values(golden, "name")
    doc_names: list[str] = []
    readings: list[str] = []
    initials: list[str] = []
    companies: list[str] = []
    cores: list[str] = []
    company_readings: list[str] = []
    employers: list[str] = []
    employer_cores: list[str] = []
    employer_readings: list[str] = []
    if kind == "organization":
        for name in names:
            forms = company_forms(name)
            if forms is None:
                continue
            display, core, reading, core_initials = forms
            doc_names += (display, core)
            companies += (display, core)
            cores.append(core)
            company_readings.append(reading)
            readings.append(reading)
            initials.append(core_initials)
    else:
        for name in names:
            doc_names.append(name.lower())
            person_pinyin, person_initials = person_readings(name)
            readings += person_pinyin
            initials += person_initials
        for company in _attribute_values(golden, "company"):
            forms = company_forms(company)
            if forms is None:
                continue
            display, core, reading, _ = forms
            employers += (display, core)
            employer_cores.append(core)
            employer_readings.append(reading)
    phones = distinct(
        n for n in (national_number(p) for p in _attribute_values(golden, "phone")) if n
    )
    emails = _lowerdistinct(_attribute_values(golden, "email"))
    province = _golden_value(golden, "province")
    city = _golden_value(golden, "city")
    regions = [form for value in (province, city) if value for form in _region_forms(value)]
    sources = {
        source
        for item in golden.values()
        for entry in item.get("lineage") or ()
        if (source := entry.get("source"))
    }
    card = {"kind": kind}
    for name in _CARD:
        item = golden.get(name)
        if item:
            value = item.get("value")
            if value not in (None, ""):
                card[name] = str(value)
    return CustomerDocument(
        customer_id=customer_id,
        kind=kind,
        updated_at=updated_at,
        names=distinct(doc_names),
        name_readings=distinct(readings),
        name_initials=distinct(initials),
        phones=phones,
        emails=emails,
        email_locals=distinct(e.rpartition("@")[0] for e in emails),
        id_numbers=_lowerdistinct(_attribute_values(golden, "id_number")),
        usccs=_lowerdistinct(_attribute_values(golden, "uscc")),
        member_nos=_lowerdistinct(_attribute_values(golden, "member_no")),
        wechat_ids=_lowerdistinct(_attribute_values(golden, "wechat_id")),
        companies=distinct(companies),
        company_cores=distinct(cores),
        company_readings=distinct(company_readings),
        employers=distinct(employers),
        employer_cores=distinct(employer_cores),
        employer_readings=distinct(employer_readings),
        regions=distinct(regions),
        province=province,
        city=city,
        sources=sorted(sources),
        tags=_tags(golden),
        tier=_golden_value(golden, "tier"),
        risk_level=_golden_value(golden, "risk_level"),
        lifecycle_stage=_golden_value(golden, "lifecycle_stage"),
        card=card,
    )


_CARD = ("name", "phone", "email", "company", "province", "city", "id_number", "uscc")

Enricher = Callable[[Connection, Mapping[int, CustomerDocument]], None]
ENRICHERS: list[Enricher] = []
"""Functions that add to a batch of documents in place, in bulk (one or a few
queries per batch): where the insights work fills ``tags``, ``tier``,
``risk_level`` and ``lifecycle_stage`` from its own tables."""


def _credit_grades(conn: Connection, docs: Mapping[int, CustomerDocument]) -> None:
    """``risk_level`` is the customer's credit grade (A-E) where one is computed."""
    for cid, grade in grades_of(conn, docs).items():
        docs[cid].risk_level = grade


ENRICHERS.append(_credit_grades)


def _authenticity(conn: Connection, docs: Mapping[int, CustomerDocument]) -> None:
    """``authenticity_score`` / ``authenticity_band``: the authenticity judgment."""
    for cid, (score, band) in scores_and_bands(conn, docs).items():
        docs[cid].authenticity_score = str(score)
        docs[cid].authenticity_band = band


ENRICHERS.append(_authenticity)


def _value_tiers_and_stages(conn: Connection, docs: Mapping[int, CustomerDocument]) -> None:
    """``tier`` and ``lifecycle_stage`` are the computed value judgment, where one is."""
    for cid, (tier, stage) in tiers_and_stages(conn, docs).items():
        docs[cid].tier = tier
        docs[cid].lifecycle_stage = stage


ENRICHERS.append(_value_tiers_and_stages)


def _case_status(conn: Connection, docs: Mapping[int, CustomerDocument]) -> None:
    """``case_status``: whether the customer has open cases, open complaints, and
    the worst SLA state among them (the cases judgment)."""
    for cid, statuses in case_statuses_of(conn, docs).items():
        docs[cid].case_status = statuses


ENRICHERS.append(_case_status)


def load_documents(
    conn: Connection, customer_ids: Iterable[int], *, chunk: int = 2000
) -> dict[int, CustomerDocument | None]:
    """The current documents of these customers: ``None`` for each one that must
    not be in the index (unknown, merged into another, or with nothing to find it
    by, or whose processing is restricted). One query per ``chunk`` customers,
    plus what :data:`ENRICHERS` add. A customer whose document cannot be built
    is logged and left out of the result (its index entry is left as it was)."""
    ids = sorted({int(c) for c in customer_ids})
    result: dict[int, CustomerDocument | None] = dict.fromkeys(ids)
    cu, gp = t.customer, t.golden_profile
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        rows = conn.execute(
            select(cu.c.id, cu.c.kind, cu.c.merged_into, cu.c.updated_at, gp.c.attributes)
            .outerjoin(gp, gp.c.customer_id == cu.c.id)
            .where(cu.c.id.in_(part))
        )
        built: dict[int, CustomerDocument] = {}
        for row in rows:
            if row.merged_into is not None:
                continue
            try:
                doc = build_document(
                    row.id, row.kind, row.attributes or {}, updated_at=row.updated_at
                )
            except Exception:  # one bad profile must not block every later change
                log.exception("customer %s: cannot build its search document; skipped", row.id)
                result.pop(row.id, None)
                continue
            if doc is not None:
                built[row.id] = doc
        for cid in restricted_among(conn, built):  # stored only: in no result list
            del built[cid]
        for enrich in ENRICHERS:
            enrich(conn, built)
        result.update(built)
    return result


def upserts_and_deletes(
    docs: Mapping[int, CustomerDocument | None],
) -> tuple[list[CustomerDocument], list[int]]:
    """Split a :func:`load_documents` result into (upserts, deletes)."""
    upserts = [d for d in docs.values() if d is not None]
    deletes = [cid for cid, d in docs.items() if d is None]
    return upserts, deletes
