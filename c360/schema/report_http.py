"""Producing a background-check report for one caller, and serving it over HTTP.

:func:`produce_report` is the one way a report is made (``c360 report`` and
the endpoint both call it): gather the facts, present them to the caller
through the policy (:func:`~c360.schema.background.report_view`), write what
was read or refused to the audit log — before anything is returned, so a
report whose reading cannot be logged is not served — and render.

``GET /reports/background/{customer_id}?format=pdf|html&purpose=P`` serves it
to API clients and the staff workspace behind the same gate as ``/graphql``
(:class:`~c360.auth.gate.Gate`: bearer token, rate limit, ``X-Purpose``); the
``purpose`` parameter, if given, overrides the header. Answers: 200 with the
document (``Cache-Control: no-store``), 400 for a bad format, purpose or id,
403 ``FORBIDDEN`` when the policy refuses the report, 404 for an unknown
customer or one outside the caller's rows, 503 when the audit log cannot be
written or no PDF font is installed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from c360.auth.gate import Gate, header_text
from c360.auth.principal import Principal
from c360.platform.audit import (
    AuditEntry,
    AuditUnavailable,
    InvalidPurpose,
    append_now,
    clean_purpose,
)
from c360.platform.background.facts import gather
from c360.platform.background.sections import VerificationReader
from c360.platform.background.verification import stored_verification
from c360.platform.customers.ids import UnknownCustomerError
from c360.schema.background import report_view
from c360.schema.context import RequestContext
from c360.schema.report_model import ReportNotFound, ReportRefused, ReportView
from c360.schema.report_render import FontMissing, render_html

log = logging.getLogger(__name__)

FORMATS = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}
MAX_ID = 2**63 - 1

HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
"""The HTML report runs nothing and loads nothing."""


class ReportInputError(ValueError):
    """A bad argument, naming it."""


@dataclass(frozen=True, slots=True)
class ProducedReport:
    body: bytes
    media_type: str
    filename: str


def check_format(fmt: str) -> str:
    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise ReportInputError(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
    return fmt


def check_report_purpose(purpose: str | None) -> str | None:
    if purpose is None or not purpose.strip():
        return None
    try:
        return clean_purpose(purpose)
    except InvalidPurpose as exc:
        raise ReportInputError(f"purpose: {exc}") from None


def produce_report(
    engine: Engine,
    principal: Principal,
    customer_id: int,
    *,
    purpose: str | None,
    fmt: str,
    verification: VerificationReader | None = None,
    detail: dict[str, str] | None = None,
) -> ProducedReport:
    """The report of ``customer_id`` for ``principal`` under ``purpose`` in
    ``fmt``, its reading (or refusal) on the audit log first; the verification
    section is read by ``verification`` (default: what the verification
    package stored, :func:`~c360.platform.background.verification.stored_verification`).
    :class:`ReportRefused`, :class:`ReportNotFound`, :class:`ReportInputError`
    or :class:`FontMissing` otherwise."""
    fmt = check_format(fmt)
    purpose = check_report_purpose(purpose)
    if not 0 < customer_id <= MAX_ID:
        raise ReportInputError(f"customer id: {customer_id} is not a customer id")
    context = RequestContext(engine=engine, principal=principal, purpose=purpose)
    logged = {"report": "background", "format": fmt, **(detail or {})}
    try:
        with engine.connect() as conn:
            facts = gather(conn, customer_id, verification=verification or stored_verification)
    except UnknownCustomerError:
        raise ReportNotFound(f"no customer {customer_id}") from None
    context.prime_coverage([facts.customer_id], purpose)
    try:
        view = report_view(context, facts, purpose)
    except (ReportRefused, ReportNotFound):
        _log(engine, context.access.entries(principal, logged))
        raise
    # Rendered first: a font that is missing fails before anything is logged as read.
    body = _pdf(view) if fmt == "pdf" else render_html(view).encode("utf-8")
    _log(engine, context.access.entries(principal, logged))
    return ProducedReport(body, FORMATS[fmt], f"background-report-{facts.customer_id}.{fmt}")


def _pdf(view: ReportView) -> bytes:
    # fpdf2 and fontTools load with the first PDF, not with every server and command.
    from c360.schema.report_pdf import render_pdf

    return render_pdf(view)


def _log(engine: Engine, entries: list[AuditEntry]) -> None:
    try:
        append_now(engine, entries)
    except SQLAlchemyError as exc:
        log.exception("audit log write failed for a background report")
        raise AuditUnavailable(str(exc)) from None


def _problem(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def report_routes(
    engine: Engine, gate: Gate, verification: VerificationReader | None = None
) -> list[Route]:
    """``GET /reports/background/{customer_id}`` behind ``gate``."""

    async def background(request: Request) -> Response:
        admission = await gate.admit(request)
        if isinstance(admission, Response):
            return admission
        raw_id = request.path_params["customer_id"]
        params: dict[str, Any] = dict(request.query_params)
        purpose = params.get("purpose")
        purpose = header_text(purpose) if purpose is not None else admission.purpose
        try:
            if not raw_id.isdigit():
                raise ReportInputError(f"customer id: {raw_id[:40]!r} is not a number")
            produced = await run_in_threadpool(
                produce_report,
                engine,
                admission.principal,
                int(raw_id),
                purpose=purpose,
                fmt=str(params.get("format", "html")),
                verification=verification,
                detail={"request": str(request.scope.get("state", {}).get("request_id", ""))},
            )
        except ReportInputError as exc:
            return _problem(400, "BAD_USER_INPUT", str(exc))
        except ReportRefused as exc:
            return _problem(403, "FORBIDDEN", f"Forbidden: {exc.reason}")
        except ReportNotFound as exc:
            return _problem(404, "NOT_FOUND", str(exc))
        except FontMissing as exc:
            return _problem(503, "PDF_UNAVAILABLE", str(exc))
        except AuditUnavailable:
            return _problem(
                503,
                "AUDIT_UNAVAILABLE",
                "The audit log could not be written, so nothing is served; try again",
            )
        headers = {
            "Cache-Control": "no-store",
            "Content-Disposition": f'inline; filename="{produced.filename}"',
            "X-Content-Type-Options": "nosniff",
        }
        if produced.media_type.startswith("text/html"):
            headers["Content-Security-Policy"] = HTML_CSP
        return Response(produced.body, media_type=produced.media_type, headers=headers)

    return [Route("/reports/background/{customer_id}", background, methods=["GET"])]


__all__ = [
    "FORMATS",
    "ProducedReport",
    "ReportInputError",
    "check_format",
    "check_report_purpose",
    "produce_report",
    "report_routes",
]
