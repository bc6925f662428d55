"""Talking to the credit bureau: one lookup per subject, answers parsed into
:class:`BureauAnswer`, business registrations turned into records.

The bureau's API (paths configurable)::

    POST /v1/persons/report      {"id_number", "purpose"}  -> 200 report | 404 not found
    POST /v1/enterprises/report  {"uscc", "purpose"}       -> 200 report | 404 not found
    GET  /v1/account                                       -> {"balance", ...} (free)

A report: ``request_id``, ``cost``, ``credit`` {``score``, ``band``, ``overdue``
{``count``, ``amount``}, ``defaults`` {``count``}}, ``court`` {``enforcements``
[...], ``dishonest`` [...]} (被执行人 / 失信被执行人), and for an enterprise
``registration`` {``name``, ``uscc``, ``status`` (存续/在业/注销/吊销...),
``registered_capital``, ``legal_representative``, ``established``, ``address``,
``industry``, ``approved_at``} and ``shareholders`` [{``name``, ``type``
person|enterprise, ``uscc``?, ``ratio``, ``subscribed``}].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from c360.connectors.base import TransientSourceError
from c360.connectors.credit.config import CreditConfig
from c360.connectors.http import ApiClient, RemoteApiError
from c360.platform.records import IncomingRecord

REGISTRATIONS_STREAM = "registrations"


class BureauAnswerError(RemoteApiError):
    """The bureau answered with something that is not a report (named field and reason)."""


@dataclass(slots=True)
class BureauAnswer:
    """What the bureau said about one subject."""

    subject_kind: str
    subject_id: str
    found: bool
    request_id: str | None = None
    cost: float | None = None
    score: int | None = None
    band: str | None = None
    overdue_count: int | None = None
    overdue_amount: float | None = None
    default_count: int | None = None
    enforcements: list[dict[str, Any]] = field(default_factory=list)
    dishonest: list[dict[str, Any]] = field(default_factory=list)
    registration: dict[str, Any] = field(default_factory=dict)
    shareholders: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


def _int(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BureauAnswerError(f"{where}: expected a whole number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise BureauAnswerError(f"{where}: expected a whole number, got {value!r}") from None
    if not number.is_integer():
        raise BureauAnswerError(f"{where}: expected a whole number, got {value!r}")
    return int(number)


def _float(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise BureauAnswerError(f"{where}: expected a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise BureauAnswerError(f"{where}: expected a number, got {value!r}") from None


def _dicts(value: Any, where: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise BureauAnswerError(f"{where}: expected a list of objects")
    return list(value)


def _obj(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BureauAnswerError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def parse_report(kind: str, subject_id: str, body: Any) -> BureauAnswer:
    """A report body as a :class:`BureauAnswer` (raises :class:`BureauAnswerError`)."""
    report = _obj(body, "report")
    credit = _obj(report.get("credit"), "credit")
    court = _obj(report.get("court"), "court")
    overdue = _obj(credit.get("overdue"), "credit.overdue")
    defaults = _obj(credit.get("defaults"), "credit.defaults")
    score = _int(credit.get("score"), "credit.score")
    if score is not None and not 0 <= score <= 1000:
        raise BureauAnswerError(f"credit.score: {score} is outside 0-1000")
    band = credit.get("band")
    if band is not None and not isinstance(band, str):
        raise BureauAnswerError(f"credit.band: expected text, got {band!r}")
    request_id = report.get("request_id")
    return BureauAnswer(
        subject_kind=kind,
        subject_id=subject_id,
        found=True,
        request_id=str(request_id)[:128] if request_id is not None else None,
        cost=_float(report.get("cost"), "cost"),
        score=score,
        band=band,
        overdue_count=_int(overdue.get("count"), "credit.overdue.count"),
        overdue_amount=_float(overdue.get("amount"), "credit.overdue.amount"),
        default_count=_int(defaults.get("count"), "credit.defaults.count"),
        enforcements=_dicts(court.get("enforcements"), "court.enforcements"),
        dishonest=_dicts(court.get("dishonest"), "court.dishonest"),
        registration=_obj(report.get("registration"), "registration"),
        shareholders=_dicts(report.get("shareholders"), "shareholders"),
        raw=report,
    )


class Bureau:
    """The bureau's API for one source (use as a context manager; it closes the
    client it is given, or opens its own from ``config``)."""

    def __init__(self, config: CreditConfig, client: ApiClient | None = None) -> None:
        self.config = config
        self.client = client if client is not None else config.open_client()

    def __enter__(self) -> Bureau:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def account(self) -> dict[str, Any]:
        fetched = self.client.get_json(self.config.account_path)
        if fetched.unreadable:
            raise BureauAnswerError(f"{fetched.url}: {fetched.unreadable}")
        return fetched.body if isinstance(fetched.body, dict) else {}

    def lookup(self, kind: str, subject_id: str, purpose: str) -> BureauAnswer:
        """One lookup. A subject the bureau does not know is ``found=False``."""
        if kind == "person":
            path, payload = self.config.person_path, {"id_number": subject_id, "purpose": purpose}
        else:
            path, payload = self.config.organization_path, {"uscc": subject_id, "purpose": purpose}
        fetched = self.client.request_json("POST", path, json_body=payload, ok_statuses=(404,))
        if fetched.unreadable:
            raise TransientSourceError(
                f"{fetched.url}: unreadable answer after {fetched.attempts} attempts: "
                f"{fetched.unreadable}"
            )
        if fetched.status == 404:
            body = fetched.body if isinstance(fetched.body, dict) else {}
            return BureauAnswer(
                kind,
                subject_id,
                found=False,
                request_id=str(body.get("request_id")) if body.get("request_id") else None,
                cost=_float(body.get("cost"), "cost") if "cost" in body else None,
                raw=body,
            )
        return parse_report(kind, subject_id, fetched.body)


def registration_record(answer: BureauAnswer) -> IncomingRecord | None:
    """The business registration in an organization's report, as an organization
    record of the ``registrations`` stream (keyed by the USCC, so every lookup of
    the same company updates one record)."""
    reg = answer.registration
    if answer.subject_kind != "organization" or not answer.found or not reg:
        return None
    fields: dict[str, Any] = {
        "uscc": reg.get("uscc") or answer.subject_id,
        "name": reg.get("name"),
        "legal_representative": reg.get("legal_representative"),
        "registered_capital": reg.get("registered_capital"),
        "address": reg.get("address"),
        "industry": reg.get("industry"),
        "registration_status": reg.get("status"),
        "established": reg.get("established"),
    }
    fields = {k: v for k, v in fields.items() if v not in (None, "")}
    verified = frozenset({"uscc", "name", "legal_representative", "registered_capital"})
    observed = reg.get("approved_at") or reg.get("updated_at")
    return IncomingRecord(
        stream=REGISTRATIONS_STREAM,
        external_id=answer.subject_id,
        kind="organization",
        fields=fields,
        raw={"registration": reg, "shareholders": answer.shareholders},
        verified_fields=verified & fields.keys(),
        observed_at=str(observed) if observed else None,
    )
