"""Prometheus metrics at ``/metrics``.

Two kinds:

* **Request metrics**, counted by this process as requests finish:
  ``c360_http_requests_total{route,method,status}``,
  ``c360_http_request_duration_seconds{route,method}``,
  ``c360_graphql_operations_total{operation}``,
  ``c360_graphql_operation_duration_seconds{operation}`` and
  ``c360_audit_write_failures_total``. Under ``c360 serve --workers N`` they are
  summed over the workers (``PROMETHEUS_MULTIPROC_DIR``).
* **State metrics**, read from the database at each scrape, so every worker
  reports the same: ``c360_sync_runs_total{source,status}``,
  ``c360_backlog_depth``, ``c360_backlog_oldest_age_seconds``,
  ``c360_indexer_lag_changes``, ``c360_indexer_lag_seconds``,
  ``c360_outbound_deliveries{endpoint,status}``,
  ``c360_business_events_total{event_type}``, ``c360_sla_breaches_total`` and
  ``c360_credit_alerts_total``; and, from the capabilities' own tables,
  ``c360_sync_records_total{source,outcome}`` (the runs' counts: read, new,
  updated, unchanged, quarantined, suppressed, rejected, invalid_values),
  ``c360_sync_last_success_timestamp_seconds{source}``,
  ``c360_case_sla_alerts_total{kind}`` (sla_warning, sla_breach,
  first_response_breach), ``c360_cases_open{sla}`` (open cases, breached or
  not), ``c360_credit_alerts_raised_total{kind,severity}``,
  ``c360_credit_alerts_unacknowledged{severity}``,
  ``c360_outbound_endpoints{state}`` (enabled, disabled) and
  ``c360_outbound_oldest_pending_age_seconds``.

Labels never carry a value from a request: routes are templates, operation
names are the client's declared names cut to a safe alphabet and to
:data:`MAX_OPERATIONS` distinct ones (the rest count as ``other``).

``/metrics`` answers only a bearer ``C360_METRICS_TOKEN`` (404 when none is set).
"""

from __future__ import annotations

import hmac
import os
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from c360.platform import tables as t
from c360.platform.business_events import business_event
from c360.platform.cases import models as cases
from c360.platform.cases.workflow import OPEN_STATES
from c360.platform.ingest import INGEST_OUTCOMES
from c360.platform.outbound.endpoints import delivery_counts
from c360.platform.outbound.models import webhook_delivery, webhook_endpoint
from c360.platform.risk import models as risk

MAX_OPERATIONS = 200
_OPERATION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SLA_BREACH = "case.sla_breached"
CREDIT_ALERT = "credit.alert"
SYNC_OUTCOMES = INGEST_OUTCOMES
"""The counts of a sync run that ``c360_sync_records_total`` sums, one ``outcome`` each."""


def _age_seconds(oldest: datetime | None) -> float:
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - oldest).total_seconds())


def _epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


class SyncTotals:
    """Records counted by sync runs, per source and outcome, read incrementally:
    a finished run never changes, so its counts are folded in once and only runs
    after the last folded one are read at each scrape (a year of runs is not
    re-read every 15 seconds)."""

    def __init__(self) -> None:
        self.folded_through = 0
        self.totals: dict[tuple[str, str], int] = {}
        self.last_success: dict[str, float] = {}
        self.lock = threading.Lock()

    def read(self, conn: Any) -> tuple[dict[tuple[str, str], int], dict[str, float]]:
        """``({(source, outcome): records}, {source: last success epoch})``."""
        sr = t.sync_run
        with self.lock:
            rows = conn.execute(
                select(sr.c.id, sr.c.source_name, sr.c.status, sr.c.counts, sr.c.finished_at)
                .where(sr.c.id > self.folded_through)
                .order_by(sr.c.id)
            ).all()
            totals = dict(self.totals)
            last = dict(self.last_success)
            contiguous = True
            for run_id, source, status, counts, finished in rows:
                for outcome in SYNC_OUTCOMES:
                    value = (counts or {}).get(outcome)
                    if isinstance(value, int) and value:
                        totals[source, outcome] = totals.get((source, outcome), 0) + value
                when = _epoch(finished)
                if status == "succeeded" and when is not None:
                    last[source] = max(last.get(source, 0.0), when)
                if status == "running":
                    contiguous = False  # its counts may still change: not folded
                if contiguous:
                    self.folded_through = run_id
                    self.totals, self.last_success = dict(totals), dict(last)
            return totals, last


class StateCollector(Collector):
    """The database-derived metrics, read at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sync_totals = SyncTotals()

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        runs = CounterMetricFamily(
            "c360_sync_runs", "Sync runs by source and status", labels=["source", "status"]
        )
        depth = GaugeMetricFamily("c360_backlog_depth", "Landed records not yet resolved")
        age = GaugeMetricFamily(
            "c360_backlog_oldest_age_seconds", "Age of the oldest unresolved landed record"
        )
        lag = GaugeMetricFamily("c360_indexer_lag_changes", "Changes waiting for the indexer")
        lag_s = GaugeMetricFamily(
            "c360_indexer_lag_seconds", "Age of the oldest change waiting for the indexer"
        )
        events = CounterMetricFamily(
            "c360_business_events", "Business events recorded, by type", labels=["event_type"]
        )
        breaches = CounterMetricFamily("c360_sla_breaches", "Cases that breached their SLA")
        alerts = CounterMetricFamily("c360_credit_alerts", "Credit alerts raised")
        outbound = GaugeMetricFamily(
            "c360_outbound_deliveries",
            "Outbound webhook deliveries by endpoint and status",
            labels=["endpoint", "status"],
        )
        with self.engine.connect() as conn:
            for source, status, count in conn.execute(
                select(t.sync_run.c.source_name, t.sync_run.c.status, func.count()).group_by(
                    t.sync_run.c.source_name, t.sync_run.c.status
                )
            ):
                runs.add_metric([source, status], count)
            n, oldest = conn.execute(
                select(func.count(), func.min(t.resolution_backlog.c.queued_at))
            ).one()
            depth.add_metric([], n)
            age.add_metric([], _age_seconds(oldest))
            n, oldest = conn.execute(select(func.count(), func.min(t.outbox.c.created_at))).one()
            lag.add_metric([], n)
            lag_s.add_metric([], _age_seconds(oldest))
            by_type: dict[str, int] = dict(
                conn.execute(
                    select(business_event.c.event_type, func.count()).group_by(
                        business_event.c.event_type
                    )
                ).all()
            )
        for event_type, count in sorted(by_type.items()):
            events.add_metric([event_type], count)
        breaches.add_metric([], by_type.get(SLA_BREACH, 0))
        alerts.add_metric([], by_type.get(CREDIT_ALERT, 0))
        for (endpoint, status), count in sorted(delivery_counts(self.engine).items()):
            outbound.add_metric([endpoint, status], count)
        yield from (runs, depth, age, lag, lag_s, events, breaches, alerts, outbound)
        yield from self._capabilities()

    def _capabilities(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """Sync record counts, case SLAs, credit alerts and endpoint health,
        read from the tables their packages write."""
        records = CounterMetricFamily(
            "c360_sync_records",
            "Records counted by sync runs, by source and outcome",
            labels=["source", "outcome"],
        )
        succeeded = GaugeMetricFamily(
            "c360_sync_last_success_timestamp_seconds",
            "When each source's last successful run finished (Unix time)",
            labels=["source"],
        )
        sla_alerts = CounterMetricFamily(
            "c360_case_sla_alerts",
            "Case SLA warnings and breaches raised, by kind",
            labels=["kind"],
        )
        open_cases = GaugeMetricFamily(
            "c360_cases_open", "Open cases, by whether an SLA is breached", labels=["sla"]
        )
        raised = CounterMetricFamily(
            "c360_credit_alerts_raised",
            "Credit alerts raised, by kind and severity",
            labels=["kind", "severity"],
        )
        unacknowledged = GaugeMetricFamily(
            "c360_credit_alerts_unacknowledged",
            "Credit alerts no one has acknowledged yet, by severity",
            labels=["severity"],
        )
        endpoints = GaugeMetricFamily(
            "c360_outbound_endpoints", "Webhook endpoints by state", labels=["state"]
        )
        pending_age = GaugeMetricFamily(
            "c360_outbound_oldest_pending_age_seconds",
            "Age of the oldest webhook delivery not yet made",
        )
        c, ca, al = cases.case, cases.case_alert, risk.credit_alert
        e, d = webhook_endpoint, webhook_delivery
        with self.engine.connect() as conn:
            totals, last = self.sync_totals.read(conn)
            kinds: dict[str, int] = dict(
                conn.execute(select(ca.c.kind, func.count()).group_by(ca.c.kind)).all()
            )
            breached = (c.c.breached_at.is_not(None)) | (
                c.c.first_response_breached_at.is_not(None)
            )
            open_rows = conn.execute(
                select(breached.label("breached"), func.count())
                .where(c.c.state.in_(sorted(OPEN_STATES)))
                .group_by(breached)
            ).all()
            alert_rows = conn.execute(
                select(al.c.kind, al.c.severity, func.count()).group_by(al.c.kind, al.c.severity)
            ).all()
            waiting: dict[str, int] = dict(
                conn.execute(
                    select(al.c.severity, func.count())
                    .where(al.c.acknowledged_at.is_(None))
                    .group_by(al.c.severity)
                ).all()
            )
            by_state: dict[bool, int] = dict(
                conn.execute(select(e.c.enabled, func.count()).group_by(e.c.enabled)).all()
            )
            oldest = conn.execute(
                select(func.min(d.c.occurred_at)).where(d.c.status == "pending")
            ).scalar()
        for (source, outcome), count in sorted(totals.items()):
            records.add_metric([source, outcome], count)
        for source, when in sorted(last.items()):
            succeeded.add_metric([source], when)
        for kind in ("sla_warning", "sla_breach", "first_response_breach"):
            sla_alerts.add_metric([kind], kinds.pop(kind, 0))
        for kind, count in sorted(kinds.items()):
            sla_alerts.add_metric([kind], count)
        counted = {bool(flag): int(n) for flag, n in open_rows}
        open_cases.add_metric(["breached"], counted.get(True, 0))
        open_cases.add_metric(["within"], counted.get(False, 0))
        for kind, severity, count in sorted(alert_rows):
            raised.add_metric([kind, severity], count)
        for severity in ("high", "medium", "low"):
            unacknowledged.add_metric([severity], waiting.pop(severity, 0))
        for severity, count in sorted(waiting.items()):
            unacknowledged.add_metric([severity], count)
        endpoints.add_metric(["enabled"], by_state.get(True, 0))
        endpoints.add_metric(["disabled"], by_state.get(False, 0))
        pending_age.add_metric([], _age_seconds(oldest))
        yield from (records, succeeded, sla_alerts, open_cases, raised, unacknowledged)
        yield from (endpoints, pending_age)


class Metrics:
    """One app's metrics: its request instruments and its /metrics endpoint."""

    def __init__(self, engine: Engine, token: str | None = None) -> None:
        self.engine = engine
        self.token = token if token is not None else os.environ.get("C360_METRICS_TOKEN", "")
        self.registry = CollectorRegistry(auto_describe=True)
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.requests = Counter(
            "c360_http_requests",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "c360_http_request_duration_seconds",
            "HTTP request duration by route template and method",
            ["route", "method"],
            registry=self.registry,
        )
        self.operations = Counter(
            "c360_graphql_operations",
            "GraphQL operations by declared operation name",
            ["operation"],
            registry=self.registry,
        )
        self.operation_latency = Histogram(
            "c360_graphql_operation_duration_seconds",
            "GraphQL request duration by declared operation name",
            ["operation"],
            registry=self.registry,
        )
        self.audit_failures = Counter(
            "c360_audit_write_failures",
            "Responses withheld because the audit log could not be written",
            registry=self.registry,
        )
        self._names: set[str] = set()
        self._names_lock = threading.Lock()
        self.state = StateCollector(engine)

    def operation_label(self, name: str | None) -> str:
        """A bounded, safe label for a client's operation name."""
        if not name:
            return "anonymous"
        if not _OPERATION.match(name):
            return "invalid"
        with self._names_lock:
            if name in self._names:
                return name
            if len(self._names) >= MAX_OPERATIONS:
                return "other"
            self._names.add(name)
            return name

    def observe(
        self, route: str, method: str, status: int, seconds: float, operation: str | None
    ) -> None:
        """Count one finished request (the logging middleware calls this)."""
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)
        if (route == "/graphql" and method == "POST") or operation:
            label = self.operation_label(operation)
            self.operations.labels(label).inc()
            self.operation_latency.labels(label).observe(seconds)

    def exposition(self) -> bytes:
        """The text format of every metric, request and state."""
        if self.multiprocess:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
        else:
            registry = self.registry
        state = CollectorRegistry()
        state.register(self.state)
        return generate_latest(registry) + generate_latest(state)

    async def endpoint(self, request: Request) -> Response:
        """``GET /metrics``: a bearer token equal to ``C360_METRICS_TOKEN``."""
        if not self.token:
            return PlainTextResponse(
                "metrics are off: set C360_METRICS_TOKEN to serve them", status_code=404
            )
        supplied = request.headers.get("authorization", "")
        expected = f"Bearer {self.token}"
        if not hmac.compare_digest(supplied.encode(), expected.encode()):
            return PlainTextResponse(
                "a bearer token equal to C360_METRICS_TOKEN is required",
                status_code=401,
                headers={"www-authenticate": "Bearer"},
            )
        body = await run_in_threadpool(self.exposition)
        return Response(body, media_type=CONTENT_TYPE)


__all__ = ["Metrics", "StateCollector"]
