"""The facts of one customer's background-check report, read in one
transaction: :func:`gather`.

Sections (each a plain dataclass of :mod:`c360.platform.background.sections`,
values as stored):

* the customer: id, kind, name, when c360 first knew them, the ids merged in;
* attributes: the golden profile — each value with whether a source vouches
  for it (verified by source) and every source's value with its date (the
  lineage), so agreement and contradiction across sources can be shown;
* sources: every source record of the customer with its status and dates
  (first seen, last stored, the source's own change time);
* refused values and warnings from ingest (reasons as patterns without the
  values: :func:`~c360.platform.quality.reasons.reason_pattern`);
* bureau answers: score, band, overdue, defaults, court enforcements (被执行人)
  and dishonest-debtor listings (失信被执行人), registration, provider and
  retrieval date; shareholders of an organization as edges, linked to the
  customers they are when c360 knows them;
* the internal credit score (grade, points) if risk has computed one;
* related customers (the relationship graph).

Verification results and the authenticity score belong to the verification
package; they are handed in by the caller as a :class:`VerificationSection`
(so this module does not depend on that package's tables).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, select

from c360.platform import tables as t
from c360.platform.background.sections import (
    AttributeFact,
    BackgroundFacts,
    BureauFact,
    CourtListing,
    IngestNote,
    InternalCredit,
    RelatedFact,
    ShareholderFact,
    SourceFact,
    SourceValue,
    VerificationReader,
)
from c360.platform.connector_tables import CreditResult, OrgShareholder
from c360.platform.customers.ids import absorbed_by, survivor
from c360.platform.customers.relationships import related
from c360.platform.identity_rules import identity_key
from c360.platform.quality.reasons import reason_pattern
from c360.platform.record_identity import RECORD_IDENTITY_COLUMNS, identity_of
from c360.platform.rejections import field_rejection
from c360.platform.risk.models import credit_score
from c360.platform.tables import table_of

credit_result = table_of(CreditResult)
org_shareholder = table_of(OrgShareholder)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def gather(
    conn: Connection,
    customer_id: int,
    *,
    verification: VerificationReader | None = None,
    now: datetime | None = None,
) -> BackgroundFacts:
    """The report's facts of the customer ``customer_id`` resolves to;
    :class:`~c360.platform.customers.ids.UnknownCustomerError` if none."""
    active = survivor(conn, customer_id)
    cu = t.customer
    row = conn.execute(
        select(cu.c.kind, cu.c.display_name, cu.c.created_at).where(cu.c.id == active)
    ).one()
    facts = BackgroundFacts(
        customer_id=active,
        asked_id=customer_id,
        kind=row.kind,
        display_name=row.display_name,
        created_at=_aware(row.created_at),
        absorbed=tuple(sorted(absorbed_by(conn, [active]).get(active, ()))),
        gathered_at=_aware(now or datetime.now(UTC)),
    )
    _attributes(conn, facts)
    _sources(conn, facts)
    _bureau(conn, facts)
    _credit(conn, facts)
    _related(conn, facts)
    _shareholders(conn, facts)
    if verification is not None:
        facts.verification = verification(conn, active, facts)
    return facts


def _attributes(conn: Connection, facts: BackgroundFacts) -> None:
    gp = t.golden_profile
    stored = conn.execute(
        select(gp.c.attributes).where(gp.c.customer_id == facts.customer_id)
    ).scalar_one_or_none()
    for name, golden in sorted((stored or {}).items()):
        if not isinstance(golden, dict):
            continue
        facts.attributes[name] = AttributeFact(
            name=name,
            value=str(golden.get("value")),
            verified=bool(golden.get("verified")),
            conflicting=bool(golden.get("conflicting")),
            lineage=tuple(
                SourceValue(
                    value=str(item.get("value")),
                    source=str(item.get("source")),
                    external_id=str(item.get("external_id")),
                    observed_at=item.get("observed_at"),
                    chosen=bool(item.get("chosen")),
                    verified=bool(item.get("verified")),
                )
                for item in golden.get("lineage") or ()
            ),
        )


def _sources(conn: Connection, facts: BackgroundFacts) -> None:
    sr, rl = t.source_record, t.record_link
    ids = [facts.customer_id, *facts.absorbed]
    rows = conn.execute(
        select(
            *RECORD_IDENTITY_COLUMNS,
            sr.c.first_seen_at,
            sr.c.updated_at,
            sr.c.observed_at,
            sr.c.warnings,
        )
        .join(rl, rl.c.record_id == sr.c.id)
        .where(rl.c.customer_id.in_(ids))
        .order_by(sr.c.source_name, sr.c.id)
    ).all()
    for r in rows:
        facts.sources.append(
            SourceFact(
                **identity_of(r),
                first_seen_at=_aware(r.first_seen_at),
                updated_at=_aware(r.updated_at),
                observed_at=_aware(r.observed_at) if r.observed_at else None,
            )
        )
        for name, note in sorted((r.warnings or {}).items()):
            facts.notes.append(
                IngestNote("warning", r.source_name, name, reason_pattern(str(note)))
            )
    by_record = {r.id: r.source_name for r in rows}
    if by_record:
        fr = field_rejection
        for record_id, name, reason in conn.execute(
            select(fr.c.record_id, fr.c.field, fr.c.reason)
            .where(fr.c.record_id.in_(sorted(by_record)))
            .order_by(fr.c.record_id, fr.c.field)
        ):
            facts.notes.append(
                IngestNote("refused", by_record[record_id], name, reason_pattern(reason))
            )


def _listings(kind: str, items: Sequence[dict[str, Any]]) -> list[CourtListing]:
    out = []
    for item in items:
        amount = item.get("amount")
        out.append(
            CourtListing(
                kind=kind,
                case_no=_text(item.get("case_no")),
                court=_text(item.get("court")),
                amount=float(amount) if isinstance(amount, int | float) else None,
                date=_text(item.get("filed_at") or item.get("published_at")),
                detail=_text(item.get("behaviour") or item.get("detail")),
                party=_text(item.get("party")),
            )
        )
    return out


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _bureau(conn: Connection, facts: BackgroundFacts) -> None:
    cr = credit_result
    ids = [facts.customer_id, *facts.absorbed]
    mine: ColumnElement[bool] = cr.c.customer_id.in_(ids)
    code = facts.value("uscc")
    if facts.kind == "organization" and code:  # a watchlist lookup names no customer
        mine = mine | ((cr.c.subject_kind == "organization") & (cr.c.subject_ref == code))
    rows = conn.execute(
        select(cr).where(mine).order_by(cr.c.retrieved_at.desc(), cr.c.id.desc())
    ).all()
    seen: set[tuple[str, str, str]] = set()
    for r in rows:
        key = (r.source_name, r.provider, r.purpose)
        if key in seen:  # the latest answer of each source, provider and purpose
            continue
        seen.add(key)
        facts.bureau.append(
            BureauFact(
                source=r.source_name,
                provider=r.provider,
                purpose=r.purpose,
                found=bool(r.found),
                score=r.score,
                band=r.band,
                overdue_count=r.overdue_count,
                overdue_amount=r.overdue_amount,
                default_count=r.default_count,
                listings=tuple(
                    _listings("enforcement", r.enforcements or ())
                    + _listings("dishonest", r.dishonest or ())
                ),
                registration=dict(r.registration or {}),
                retrieved_at=_aware(r.retrieved_at),
                expires_at=_aware(r.expires_at),
            )
        )


def _credit(conn: Connection, facts: BackgroundFacts) -> None:
    cs = credit_score
    row = conn.execute(select(cs).where(cs.c.customer_id == facts.customer_id)).one_or_none()
    if row is not None:
        facts.credit = InternalCredit(
            status=row.status,
            grade=row.grade,
            points=row.points,
            model_version=row.model_version,
            computed_at=_aware(row.computed_at),
        )


def _related(conn: Connection, facts: BackgroundFacts) -> None:
    edges = related(conn, [facts.customer_id]).get(facts.customer_id, [])
    if not edges:
        return
    others = sorted({e.other_customer_id for e in edges})
    cu, gp = t.customer, t.golden_profile
    about: dict[int, tuple[str, str | None, str | None, str | None]] = {}
    for cid, kind, name, attributes in conn.execute(
        select(cu.c.id, cu.c.kind, cu.c.display_name, gp.c.attributes)
        .join(gp, gp.c.customer_id == cu.c.id, isouter=True)
        .where(cu.c.id.in_(others))
    ):
        attributes = attributes or {}
        about[cid] = (
            kind,
            name,
            (attributes.get("province") or {}).get("value"),
            (attributes.get("city") or {}).get("value"),
        )
    seen: set[tuple[str, str, str, str | None, int]] = set()
    for e in edges:
        key = (e.kind, e.direction, e.attribute, e.value, e.other_customer_id)
        if key in seen:  # the same relationship through several record pairs
            continue
        seen.add(key)
        kind, name, province, city = about.get(e.other_customer_id, ("person", None, None, None))
        facts.related.append(
            RelatedFact(
                kind=e.kind,
                direction=e.direction,
                attribute=e.attribute,
                value=e.value,
                customer_id=e.other_customer_id,
                customer_kind=kind,
                display_name=name,
                province=province,
                city=city,
            )
        )


def _shareholders(conn: Connection, facts: BackgroundFacts) -> None:
    """The shareholders of the organization's latest registration answer, each
    linked to a customer when c360 knows them: an enterprise by its USCC, a
    person who is related to this organization under the same name."""
    code = facts.value("uscc")
    if facts.kind != "organization" or not code:
        return
    sh = org_shareholder
    latest = conn.execute(
        select(sh.c.result_id)
        .where(sh.c.org_uscc == code)
        .order_by(sh.c.retrieved_at.desc(), sh.c.result_id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if latest is None:
        return
    rows = conn.execute(select(sh).where(sh.c.result_id == latest).order_by(sh.c.id)).all()
    codes = sorted({r.shareholder_uscc for r in rows if r.shareholder_uscc})
    by_code: dict[str, int] = {}
    if codes:
        ik = t.identity_key
        code_of = {identity_key("organization", "uscc", c): c for c in codes}
        for key, cid in conn.execute(
            select(ik.c.key, ik.c.customer_id).where(ik.c.key.in_(sorted(code_of)))
        ):
            by_code.setdefault(code_of[key], cid)
    people = {
        r.display_name: r.customer_id
        for r in facts.related
        if r.customer_kind == "person" and r.display_name
    }
    for r in rows:
        linked = by_code.get(r.shareholder_uscc) if r.shareholder_uscc else None
        if linked is None and r.shareholder_kind == "person":
            linked = people.get(r.shareholder_name)
        facts.shareholders.append(
            ShareholderFact(
                name=r.shareholder_name,
                kind=r.shareholder_kind,
                uscc=r.shareholder_uscc,
                share_ratio=r.share_ratio,
                subscribed_capital=r.subscribed_capital,
                provider=r.provider,
                retrieved_at=_aware(r.retrieved_at),
                customer_id=linked,
            )
        )


__all__ = ["gather"]
