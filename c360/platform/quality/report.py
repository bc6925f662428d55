"""The data-quality report: one pass over the stored records, links, golden
profiles and sync runs, answering per source and per attribute

* **completeness** — of a source's accepted person / organization records, how
  many hold each catalogue attribute (``c360.platform.records``);
* **validity** — of the values a source sent for an attribute (every stored
  person / organization record, accepted or quarantined): how many passed,
  passed with a warning (``source_record.warnings``: an id number that says
  another birth date), or failed (``field_rejection``), as rates;
* **duplicates** — a source's accepted records per customer they are linked to
  (2.0: every customer twice in that one source), and across all sources;
* **freshness** — the last successful sync, the last run's status, and how old
  the source's newest and median record is (``observed_at`` when the source
  says, else when c360 last stored it), for the source and for each of its
  streams (a source synced today may carry a stream nothing refreshes);
* **quarantine** — the reasons records were quarantined whole, and values were
  refused alone, with counts (as patterns without values:
  :mod:`c360.platform.quality.reasons`);
* **conflicts** — of the active customers holding an attribute, how many have
  sources that disagree on it (the golden profile's ``conflicting`` lineage).

Checks of other capabilities join validity through :data:`CheckCounter`
functions: by default the verification package's stored document, phone,
e-mail and address checks (:mod:`c360.platform.quality.verification_checks`).

Everything is counted from the rows themselves, so the test can cross-check
each figure against a direct SQL count.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from c360.platform import tables as t
from c360.platform.quality.reasons import reason_pattern
from c360.platform.quality.verification_checks import CheckCounts, verification_validity
from c360.platform.records import ORGANIZATION_ATTRIBUTES, PERSON_ATTRIBUTES
from c360.platform.rejections import RECORD_ERRORS, field_rejection

CATALOGUE: dict[str, tuple[str, ...]] = {
    "person": PERSON_ATTRIBUTES,
    "organization": ORGANIZATION_ATTRIBUTES,
}
"""The attributes completeness is measured on, by record kind."""

_ATTRIBUTES = frozenset((*PERSON_ATTRIBUTES, *ORGANIZATION_ATTRIBUTES))

SUCCEEDED = "succeeded"
"""The status of a sync run that finished without error (``c360.connectors.runner``)."""


@dataclass(frozen=True, slots=True)
class Completeness:
    source: str
    kind: str
    attribute: str
    records: int
    present: int

    @property
    def rate(self) -> float:
        return self.present / self.records if self.records else 0.0


@dataclass(frozen=True, slots=True)
class Validity:
    """Pass / warn / fail counts of one check (``check``: an attribute's
    validation at ingest, or a named check of another capability)."""

    source: str
    check: str
    passed: int
    warned: int
    failed: int

    @property
    def total(self) -> int:
        return self.passed + self.warned + self.failed

    def rate(self, count: int) -> float:
        return count / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class Duplicates:
    source: str
    """A source name, or ``*`` for all sources together."""
    records: int
    customers: int

    @property
    def records_per_customer(self) -> float:
        return self.records / self.customers if self.customers else 0.0

    @property
    def duplicate_rate(self) -> float:
        """The share of records beyond the first of their customer."""
        return (self.records - self.customers) / self.records if self.records else 0.0


@dataclass(frozen=True, slots=True)
class StreamFreshness:
    """How old one stream's data is (a source's people, orders, consents…):
    a source synced today may still carry a stream nothing has refreshed."""

    stream: str
    records: int
    newest_record_at: datetime | None
    median_record_age_days: float | None


@dataclass(frozen=True, slots=True)
class Freshness:
    source: str
    connector: str
    records: int
    last_run_at: datetime | None
    last_run_status: str | None
    last_success_at: datetime | None
    newest_record_at: datetime | None
    median_record_age_days: float | None
    streams: tuple[StreamFreshness, ...] = ()

    def hours_since_success(self, now: datetime) -> float | None:
        if self.last_success_at is None:
            return None
        return (now - _aware(self.last_success_at)).total_seconds() / 3600


@dataclass(frozen=True, slots=True)
class ReasonCount:
    """How many records (``scope="record"``) or values (``scope="value"``) of
    ``source`` were refused for ``field`` with this reason pattern."""

    scope: str
    source: str
    field: str
    reason: str
    count: int


@dataclass(frozen=True, slots=True)
class Conflicts:
    attribute: str
    customers: int
    conflicting: int

    @property
    def rate(self) -> float:
        return self.conflicting / self.customers if self.customers else 0.0


@dataclass(slots=True)
class QualityReport:
    generated_at: datetime
    completeness: list[Completeness] = field(default_factory=list)
    validity: list[Validity] = field(default_factory=list)
    duplicates: list[Duplicates] = field(default_factory=list)
    freshness: list[Freshness] = field(default_factory=list)
    reasons: list[ReasonCount] = field(default_factory=list)
    conflicts: list[Conflicts] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    """``records``, ``accepted``, ``quarantined``, ``refused_values``,
    ``customers`` (active), ``conflicting_customers``."""

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data, rates included (``c360 quality --json``)."""
        now = self.generated_at
        return {
            "generated_at": now.isoformat(),
            "totals": dict(self.totals),
            "completeness": [{**asdict(c), "rate": round(c.rate, 4)} for c in self.completeness],
            "validity": [
                {
                    **asdict(v),
                    "total": v.total,
                    "pass_rate": round(v.rate(v.passed), 4),
                    "warn_rate": round(v.rate(v.warned), 4),
                    "fail_rate": round(v.rate(v.failed), 4),
                }
                for v in self.validity
            ],
            "duplicates": [
                {
                    **asdict(d),
                    "records_per_customer": round(d.records_per_customer, 4),
                    "duplicate_rate": round(d.duplicate_rate, 4),
                }
                for d in self.duplicates
            ],
            "freshness": [
                {
                    "source": f.source,
                    "connector": f.connector,
                    "records": f.records,
                    "last_run_at": _iso(f.last_run_at),
                    "last_run_status": f.last_run_status,
                    "last_success_at": _iso(f.last_success_at),
                    "hours_since_success": _round(f.hours_since_success(now)),
                    "newest_record_at": _iso(f.newest_record_at),
                    "median_record_age_days": _round(f.median_record_age_days),
                    "streams": [
                        {
                            "stream": s.stream,
                            "records": s.records,
                            "newest_record_at": _iso(s.newest_record_at),
                            "median_record_age_days": _round(s.median_record_age_days),
                        }
                        for s in f.streams
                    ],
                }
                for f in self.freshness
            ],
            "reasons": [asdict(r) for r in self.reasons],
            "conflicts": [{**asdict(c), "rate": round(c.rate, 4)} for c in self.conflicts],
        }


CheckCounter = Callable[[Connection], Iterable[CheckCounts]]
"""A capability's own checks as validity rows ``(source, check, passed, warned,
failed)``: the verification results by default
(:mod:`c360.platform.quality.verification_checks`)."""


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive UTC; PostgreSQL aware values."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime | None) -> str | None:
    return _aware(moment).isoformat() if moment is not None else None


def _round(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def quality_report(
    conn: Connection,
    *,
    now: datetime | None = None,
    checks: Iterable[CheckCounter] | None = None,
) -> QualityReport:
    """The data-quality report of everything stored, at ``now`` (default: now);
    ``checks`` add capabilities' validity rows (default: the verification
    package's stored checks)."""
    if checks is None:
        checks = (verification_validity,)
    now = _aware(now or datetime.now(UTC))
    report = QualityReport(generated_at=now)
    _records(conn, report, now)
    _rejections(conn, report)
    _duplicates(conn, report)
    _conflicts(conn, report)
    for counter in checks:
        report.validity.extend(Validity(*counts) for counts in counter(conn))
    report.validity.sort(key=lambda v: (v.source, v.check))
    report.reasons.sort(key=lambda r: (r.scope, r.source, r.field, -r.count, r.reason))
    return report


def _records(conn: Connection, report: QualityReport, now: datetime) -> None:
    """Completeness, the pass / warn part of validity, the quarantine reasons
    and freshness: one streamed pass over ``source_record``."""
    sr = t.source_record
    accepted: Counter[tuple[str, str]] = Counter()
    present: Counter[tuple[str, str, str]] = Counter()
    passed: Counter[tuple[str, str]] = Counter()
    warned: Counter[tuple[str, str]] = Counter()
    quarantine: Counter[tuple[str, str, str]] = Counter()
    ages: dict[tuple[str, str], list[float]] = defaultdict(list)
    newest: dict[tuple[str, str], datetime] = {}
    counts: Counter[str] = Counter()
    stored = Counter[str]()
    rows = conn.execution_options(yield_per=2000).execute(
        select(
            sr.c.source_name,
            sr.c.stream,
            sr.c.kind,
            sr.c.status,
            sr.c.attributes,
            sr.c.warnings,
            sr.c.quarantine_reasons,
            sr.c.observed_at,
            sr.c.updated_at,
        )
    )
    for source, stream, kind, status, attributes, warnings, reasons, observed, updated in rows:
        counts[status] += 1
        stored[source] += 1
        when = _aware(observed or updated)
        ages[(source, stream)].append((now - when).total_seconds() / 86400)
        if (source, stream) not in newest or when > newest[(source, stream)]:
            newest[(source, stream)] = when
        if status == "quarantined":
            for name, reason in (reasons or {}).items():
                quarantine[(source, name, reason_pattern(str(reason)))] += 1
        catalogue = CATALOGUE.get(kind)
        if catalogue is None:
            continue
        attributes = attributes or {}
        warnings = warnings or {}
        if status == "accepted":
            accepted[(source, kind)] += 1
        for name in catalogue:
            if name not in attributes:
                continue
            if status == "accepted":
                present[(source, kind, name)] += 1
            if name in warnings:
                warned[(source, name)] += 1
            else:
                passed[(source, name)] += 1
    report.completeness = [
        Completeness(source, kind, name, n, present[(source, kind, name)])
        for (source, kind), n in sorted(accepted.items())
        for name in CATALOGUE[kind]
    ]
    report.validity = [
        Validity(source, name, passed[(source, name)], warned[(source, name)], 0)
        for source, name in sorted(set(passed) | set(warned))
    ]
    report.reasons = [
        ReasonCount("record", source, name, reason, n)
        for (source, name, reason), n in quarantine.items()
    ]
    report.totals.update(
        records=sum(counts.values()),
        accepted=counts["accepted"],
        quarantined=counts["quarantined"],
    )
    report.freshness = _freshness(conn, stored, newest, ages)


def _freshness(
    conn: Connection,
    stored: Mapping[str, int],
    newest: Mapping[tuple[str, str], datetime],
    ages: Mapping[tuple[str, str], list[float]],
) -> list[Freshness]:
    run = t.sync_run
    last_success = dict(
        conn.execute(
            select(run.c.source_name, func.max(run.c.finished_at))
            .where(run.c.status == SUCCEEDED)
            .group_by(run.c.source_name)
        ).all()
    )
    latest = (
        select(run.c.source_name, func.max(run.c.id).label("id"))
        .group_by(run.c.source_name)
        .subquery()
    )
    last_run = {
        name: (started, status)
        for name, started, status in conn.execute(
            select(run.c.source_name, run.c.started_at, run.c.status).join(
                latest, latest.c.id == run.c.id
            )
        )
    }
    out = []
    for name, connector in conn.execute(
        select(t.source.c.name, t.source.c.connector).order_by(t.source.c.name)
    ):
        started, status = last_run.get(name, (None, None))
        streams = tuple(
            StreamFreshness(
                stream=stream,
                records=len(ages[(name, stream)]),
                newest_record_at=newest[(name, stream)],
                median_record_age_days=statistics.median(ages[(name, stream)]),
            )
            for source, stream in sorted(ages)
            if source == name
        )
        mine = [age for s in streams for age in ages[(name, s.stream)]]
        out.append(
            Freshness(
                source=name,
                connector=connector,
                records=stored.get(name, 0),
                last_run_at=started,
                last_run_status=status,
                last_success_at=last_success.get(name),
                newest_record_at=max((newest[(name, s.stream)] for s in streams), default=None),
                median_record_age_days=statistics.median(mine) if mine else None,
                streams=streams,
            )
        )
    return out


def _rejections(conn: Connection, report: QualityReport) -> None:
    """The fail part of validity and the refused-value reasons, from
    ``field_rejection`` (values refused alone, and those of quarantined records)."""
    fr, sr = field_rejection, t.source_record
    failed: Counter[tuple[str, str]] = Counter()
    reasons: Counter[tuple[str, str, str]] = Counter()
    for source, name, reason, n in conn.execute(
        select(sr.c.source_name, fr.c.field, fr.c.reason, func.count())
        .join(sr, sr.c.id == fr.c.record_id)
        .where(fr.c.field.not_in(sorted(RECORD_ERRORS)))
        .group_by(sr.c.source_name, fr.c.field, fr.c.reason)
    ):
        failed[(source, name)] += int(n)
        reasons[(source, name, reason_pattern(reason))] += int(n)
    by_key = {(v.source, v.check): v for v in report.validity}
    for key, n in failed.items():
        prior = by_key.get(key)
        by_key[key] = Validity(
            key[0],
            key[1],
            prior.passed if prior else 0,
            prior.warned if prior else 0,
            n,
        )
    report.validity = list(by_key.values())
    report.reasons += [
        ReasonCount("value", source, name, reason, n)
        for (source, name, reason), n in reasons.items()
    ]
    report.totals["refused_values"] = sum(failed.values())


def _duplicates(conn: Connection, report: QualityReport) -> None:
    """Accepted person / organization records per linked customer, per source
    and across sources."""
    sr, rl = t.source_record, t.record_link
    linked = (
        select(sr.c.source_name, rl.c.customer_id)
        .join(rl, rl.c.record_id == sr.c.id)
        .where(sr.c.status == "accepted", sr.c.kind.in_(sorted(CATALOGUE)))
        .subquery()
    )
    per_source = conn.execute(
        select(
            linked.c.source_name, func.count(), func.count(linked.c.customer_id.distinct())
        ).group_by(linked.c.source_name)
    ).all()
    report.duplicates = [
        Duplicates(source, int(records), int(customers))
        for source, records, customers in sorted(per_source)
    ]
    records, customers = conn.execute(
        select(func.count(), func.count(linked.c.customer_id.distinct()))
    ).one()
    report.duplicates.append(Duplicates("*", int(records), int(customers)))


def _conflicts(conn: Connection, report: QualityReport) -> None:
    """Per attribute, active customers holding it and those whose sources
    disagree on it (golden lineage)."""
    gp, cu = t.golden_profile, t.customer
    holding: Counter[str] = Counter()
    conflicting: Counter[str] = Counter()
    customers = conflicted = 0
    rows = conn.execution_options(yield_per=2000).execute(
        select(gp.c.attributes, gp.c.conflicting)
        .join(cu, cu.c.id == gp.c.customer_id)
        .where(cu.c.merged_into.is_(None))
    )
    for attributes, any_conflict in rows:
        customers += 1
        conflicted += bool(any_conflict)
        for name, golden in (attributes or {}).items():
            if name not in _ATTRIBUTES:
                continue  # a source's pass-through column
            holding[name] += 1
            if isinstance(golden, dict) and golden.get("conflicting"):
                conflicting[name] += 1
    report.conflicts = [
        Conflicts(name, n, conflicting[name]) for name, n in sorted(holding.items())
    ]
    report.totals.update(customers=customers, conflicting_customers=conflicted)


__all__ = [
    "CATALOGUE",
    "CheckCounter",
    "Completeness",
    "Conflicts",
    "Duplicates",
    "Freshness",
    "QualityReport",
    "ReasonCount",
    "StreamFreshness",
    "Validity",
    "quality_report",
]
