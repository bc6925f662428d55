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
  ``c360_credit_alerts_total``.

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
from c360.platform.outbound.endpoints import delivery_counts

MAX_OPERATIONS = 200
_OPERATION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SLA_BREACH = "case.sla_breached"
CREDIT_ALERT = "credit.alert"


def _age_seconds(oldest: datetime | None) -> float:
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - oldest).total_seconds())


class StateCollector(Collector):
    """The database-derived metrics, read at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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
