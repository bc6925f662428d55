"""Opening a case: from staff (GraphQL, the CLI), from a ``case`` stream of any
source (web form, call-centre export, webhook) and from the file connector.

Every entry point validates through :func:`validate`, which names the field and
the reason; a stream record is keyed by (source, external id), so re-reading it
changes nothing. The case's region is the customer's golden province (or city),
the row scope agents are held to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from c360.platform import tables as t
from c360.platform.business_events import record_event
from c360.platform.cases import models as m
from c360.platform.cases import sla
from c360.platform.cases.indexing import queue_for_search
from c360.platform.cases.workflow import ACCEPTED, CHANNELS, KINDS, SEVERITIES
from c360.platform.customers.ids import survivor_of
from c360.platform.models import utcnow

MAX_DESCRIPTION = 20_000
MAX_ATTACHMENTS = 20
CATEGORIES = (
    "billing",
    "delivery",
    "product_quality",
    "service_attitude",
    "privacy",
    "account",
    "other",
)
"""The case categories the SLA targets and the report know."""


class CaseInputError(ValueError):
    """Bad case input: ``field`` names what was wrong and the message says why."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


@dataclass(frozen=True, slots=True)
class NewCase:
    """A validated case to open."""

    customer_id: int
    kind: str
    channel: str
    category: str
    severity: str
    description: str
    attachments: list[str] = field(default_factory=list)
    owner: str | None = None
    team: str | None = None


def _choice(
    data: Mapping[str, Any], name: str, allowed: tuple[str, ...], default: str | None
) -> str:
    value = data.get(name, default)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise CaseInputError(name, "is required")
    if not isinstance(value, str) or value.strip().lower() not in allowed:
        raise CaseInputError(name, f"{value!r} is not one of {', '.join(allowed)}")
    return value.strip().lower()


def _text(data: Mapping[str, Any], name: str, limit: int, required: bool) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise CaseInputError(name, "is required")
        return None
    if not isinstance(value, str):
        raise CaseInputError(name, "must be text")
    if len(value) > limit:
        raise CaseInputError(name, f"is longer than {limit} characters")
    return value.strip()


def validate(data: Mapping[str, Any]) -> NewCase:
    """A :class:`NewCase` from loose input (strings from a file or a payload)."""
    raw_customer = data.get("customer_id")
    try:
        customer_id = int(str(raw_customer).strip())
    except (TypeError, ValueError):
        raise CaseInputError("customer_id", f"{raw_customer!r} is not a customer id") from None
    if customer_id <= 0:
        raise CaseInputError("customer_id", "must be a positive id")
    attachments = data.get("attachments") or []
    if isinstance(attachments, str):
        attachments = [a.strip() for a in attachments.split(";") if a.strip()]
    if not isinstance(attachments, list) or not all(isinstance(a, str) for a in attachments):
        raise CaseInputError("attachments", "must be a list of references (URLs or file keys)")
    if len(attachments) > MAX_ATTACHMENTS:
        raise CaseInputError("attachments", f"more than {MAX_ATTACHMENTS} references")
    if any(len(a) > 1000 for a in attachments):
        raise CaseInputError("attachments", "a reference is longer than 1000 characters")
    return NewCase(
        customer_id=customer_id,
        kind=_choice(data, "kind", KINDS, "complaint"),
        channel=_choice(data, "channel", CHANNELS, None),
        category=_choice(data, "category", CATEGORIES, None),
        severity=_choice(data, "severity", SEVERITIES, "medium"),
        description=_text(data, "description", MAX_DESCRIPTION, True) or "",
        attachments=list(attachments),
        owner=_text(data, "owner", 128, False),
        team=_text(data, "team", 64, False),
    )


def customer_region(conn: Connection, customer_id: int) -> str | None:
    """The customer's golden province (else city): the case's region."""
    attributes = conn.execute(
        select(t.golden_profile.c.attributes).where(t.golden_profile.c.customer_id == customer_id)
    ).scalar()
    for name in ("province", "city"):
        value = ((attributes or {}).get(name) or {}).get("value")
        if value:
            return str(value)
    return None


def open_case(
    conn: Connection,
    new: NewCase,
    *,
    actor: str,
    now: datetime | None = None,
    source_name: str | None = None,
    external_id: str | None = None,
) -> int:
    """Open ``new`` (state 受理 accepted) with its SLA targets and deadlines, its
    first history entry and a ``case.opened`` event; return its id."""
    now = sla.hours.as_utc(now or utcnow())
    survivor = survivor_of(conn, [new.customer_id]).get(new.customer_id)
    if survivor is None:
        raise CaseInputError("customer_id", f"no customer has id {new.customer_id}")
    if (
        new.team is not None
        and conn.execute(select(m.case_team.c.name).where(m.case_team.c.name == new.team)).first()
        is None
    ):
        raise CaseInputError("team", f"no team is named {new.team!r}")
    first_s, resolution_s = sla.targets_for(new.category, new.severity)
    row = {
        "customer_id": new.customer_id,
        "kind": new.kind,
        "channel": new.channel,
        "category": new.category,
        "severity": new.severity,
        "state": ACCEPTED,
        "description": new.description,
        "attachments": new.attachments,
        "owner": new.owner,
        "team": new.team,
        "region": customer_region(conn, survivor),
        "source_name": source_name,
        "external_id": external_id,
        "opened_at": now,
        "updated_at": now,
        "first_response_target_s": first_s,
        "resolution_target_s": resolution_s,
        "paused_s": 0.0,
        "reopen_count": 0,
    }
    row["first_response_due"] = sla.hours.add_working_seconds(now, first_s)
    row["resolution_due"] = sla.hours.add_working_seconds(now, resolution_s)
    key = conn.execute(insert(m.case).values(**row)).inserted_primary_key
    assert key is not None
    case_id = int(key[0])
    conn.execute(
        insert(m.case_change).values(
            case_id=case_id,
            at=now,
            actor=actor,
            action="opened",
            changes={
                "state": [None, ACCEPTED],
                "owner": [None, new.owner],
                "team": [None, new.team],
            },
        )
    )
    queue_for_search(conn, [survivor])
    record_event(
        conn,
        "case.opened",
        survivor,
        {
            "case_id": case_id,
            "kind": new.kind,
            "category": new.category,
            "severity": new.severity,
            "channel": new.channel,
        },
        at=now,
    )
    return case_id


@dataclass
class StreamResult:
    """What landing a batch of ``case`` stream records did."""

    new: int = 0
    unchanged: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    """(external id, reason) of each record that could not be opened."""


def land_case_records(
    conn: Connection,
    source_name: str,
    records: list[tuple[str, Mapping[str, Any]]],
    *,
    now: datetime | None = None,
) -> StreamResult:
    """Open a case for each ``(external_id, fields)`` of a ``case`` stream not
    seen before from ``source_name``; a record already landed is unchanged (its
    case moves through the workflow, not through re-reads). Each bad record is
    reported with its reason and the valid ones are kept."""
    result = StreamResult()
    seen = set(
        conn.execute(
            select(m.case.c.external_id).where(
                m.case.c.source_name == source_name,
                m.case.c.external_id.in_([e for e, _ in records]),
            )
        ).scalars()
    )
    for external_id, fields in records:
        if external_id in seen:
            result.unchanged += 1
            continue
        try:
            new = validate(fields)
            with conn.begin_nested():
                open_case(
                    conn,
                    new,
                    actor=f"source:{source_name}",
                    now=now,
                    source_name=source_name,
                    external_id=external_id,
                )
        except CaseInputError as error:
            result.rejected.append((external_id, str(error)))
            continue
        seen.add(external_id)
        result.new += 1
    return result
