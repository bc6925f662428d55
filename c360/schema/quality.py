"""The data-quality part of the schema: ``dataQuality``, the report of
:mod:`c360.platform.quality.report` as GraphQL — aggregates only (counts and
rates per source, attribute and check; refusal reasons as patterns without
values), never a customer or a value.

It is policy field ``data_quality``: served to the roles whose cell is clear
(risk, compliance, admin: the people who answer for the data), refused with
``FORBIDDEN`` to the others (front-line agents and marketing, whose work is
one customer or one campaign, not the sources). Not personal data, so reading
it is not a clear read on the audit log; a refusal is recorded like any other.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import strawberry

from c360.auth.policy import Outcome
from c360.platform.quality.cache import current_report
from c360.platform.quality.report import QualityReport
from c360.schema.context import Subject
from c360.schema.errors import Forbidden
from c360.schema.types import Info

POLICY_FIELD = "data_quality"


@strawberry.type(
    description="Of a source's accepted records of a kind, how many hold an attribute."
)
class CompletenessFigure:
    source: str
    kind: str
    attribute: str
    records: int
    present: int
    rate: float


@strawberry.type(
    description="Pass / warn / fail counts of one check of a source's values: an "
    "attribute's validation at ingest (check = the attribute), or a named check of "
    "another capability."
)
class ValidityFigure:
    source: str
    check: str
    passed: int
    warned: int
    failed: int
    pass_rate: float
    warn_rate: float
    fail_rate: float


@strawberry.type(
    description="A source's accepted records per customer they are linked to (source "
    "`*`: all sources together)."
)
class DuplicateFigure:
    source: str
    records: int
    customers: int
    records_per_customer: float
    duplicate_rate: float


@strawberry.type(description="How old one stream's data is (newest and median record).")
class StreamFreshnessFigure:
    stream: str
    records: int
    newest_record_at: datetime | None
    median_record_age_days: float | None


@strawberry.type(
    description="When a source last synced successfully and how old its data is, for the "
    "source and each of its streams."
)
class FreshnessFigure:
    source: str
    connector: str
    records: int
    last_run_at: datetime | None
    last_run_status: str | None
    last_success_at: datetime | None
    hours_since_success: float | None
    newest_record_at: datetime | None
    median_record_age_days: float | None
    streams: list[StreamFreshnessFigure] = strawberry.field(
        description="The same for each stream of the source (people, orders, consents…)."
    )


@strawberry.type(
    description="How many records (scope `record`: quarantined whole) or values (scope "
    "`value`: refused alone) of a source were refused for a field with this reason "
    "(values in reasons replaced by …)."
)
class RefusalFigure:
    scope: str
    source: str
    field: str
    reason: str
    count: int


@strawberry.type(
    description="Of the active customers holding an attribute, how many have sources "
    "that disagree on it."
)
class ConflictFigure:
    attribute: str
    customers: int
    conflicting: int
    rate: float


@strawberry.type(description="The data-quality report: aggregates per source, attribute and check.")
class DataQuality:
    generated_at: datetime
    records: int
    accepted: int
    quarantined: int
    refused_values: int
    customers: int
    conflicting_customers: int
    completeness: list[CompletenessFigure]
    validity: list[ValidityFigure]
    duplicates: list[DuplicateFigure]
    freshness: list[FreshnessFigure]
    refusals: list[RefusalFigure]
    conflicts: list[ConflictFigure]

    @classmethod
    def of(cls, report: QualityReport) -> DataQuality:
        data = report.as_dict()
        totals = report.totals
        return cls(
            generated_at=report.generated_at,
            records=totals.get("records", 0),
            accepted=totals.get("accepted", 0),
            quarantined=totals.get("quarantined", 0),
            refused_values=totals.get("refused_values", 0),
            customers=totals.get("customers", 0),
            conflicting_customers=totals.get("conflicting_customers", 0),
            completeness=[CompletenessFigure(**row) for row in data["completeness"]],
            validity=[
                ValidityFigure(**{k: v for k, v in row.items() if k != "total"})
                for row in data["validity"]
            ],
            duplicates=[DuplicateFigure(**row) for row in data["duplicates"]],
            freshness=[
                FreshnessFigure(
                    source=f.source,
                    connector=f.connector,
                    records=f.records,
                    last_run_at=f.last_run_at,
                    last_run_status=f.last_run_status,
                    last_success_at=f.last_success_at,
                    hours_since_success=row["hours_since_success"],
                    newest_record_at=f.newest_record_at,
                    median_record_age_days=row["median_record_age_days"],
                    streams=[
                        StreamFreshnessFigure(
                            stream=s.stream,
                            records=s.records,
                            newest_record_at=s.newest_record_at,
                            median_record_age_days=r["median_record_age_days"],
                        )
                        for s, r in zip(f.streams, row["streams"], strict=True)
                    ],
                )
                for f, row in zip(report.freshness, data["freshness"], strict=True)
            ],
            refusals=[RefusalFigure(**row) for row in data["reasons"]],
            conflicts=[ConflictFigure(**row) for row in data["conflicts"]],
        )


@strawberry.type
class QualityQuery:
    @strawberry.field(
        description="The data-quality report (completeness, validity, duplicates, "
        "freshness, refusal reasons, conflicts): aggregates only. Policy field "
        "`data_quality` (risk, compliance and admin). Computed at most every "
        "C360_QUALITY_REPORT_MAX_AGE_S seconds (see generatedAt); `fresh` computes it now."
    )
    async def data_quality(self, info: Info, fresh: bool = False) -> DataQuality:
        context = info.context
        subject = Subject(None)
        decision = context.decide(POLICY_FIELD, subject)
        if decision.outcome is not Outcome.CLEAR:
            reason = decision.reason or f'"{POLICY_FIELD}" has no mask'
            context.access.refused(subject, decision.field, reason)
            raise Forbidden(decision.field, reason)
        report = await asyncio.to_thread(current_report, context.engine, fresh=fresh)
        return DataQuality.of(report)


__all__ = ["DataQuality", "QualityQuery"]
