"""``/metrics`` over real HTTP: token-protected, stable metric names and labels,
request and GraphQL-operation counts, state read from the database (backlog,
indexer lag, business events, SLA breaches, alerts, deliveries), and request ids
propagated or generated and echoed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from c360.platform.business_events import record_event
from c360.platform.cases.sla import evaluate
from c360.platform.models import utcnow
from c360.platform.risk.alerts import raise_alert
from c360.platform.sources import save_source
from c360.platform.sync_runs import record_run
from tests.api_helpers import PURPOSE, Server, make_settings, serve
from tests.cases_helpers import add_customer, at, new_case

TOKEN = "metrics-test-token-8f3a"

STABLE: dict[str, tuple[str, frozenset[str]]] = {
    "c360_http_requests": ("counter", frozenset({"route", "method", "status"})),
    "c360_http_request_duration_seconds": ("histogram", frozenset({"route", "method"})),
    "c360_graphql_operations": ("counter", frozenset({"operation"})),
    "c360_graphql_operation_duration_seconds": ("histogram", frozenset({"operation"})),
    "c360_audit_write_failures": ("counter", frozenset()),
    "c360_sync_runs": ("counter", frozenset({"source", "status"})),
    "c360_backlog_depth": ("gauge", frozenset()),
    "c360_backlog_oldest_age_seconds": ("gauge", frozenset()),
    "c360_indexer_lag_changes": ("gauge", frozenset()),
    "c360_indexer_lag_seconds": ("gauge", frozenset()),
    "c360_business_events": ("counter", frozenset({"event_type"})),
    "c360_sla_breaches": ("counter", frozenset()),
    "c360_credit_alerts": ("counter", frozenset()),
    "c360_outbound_deliveries": ("gauge", frozenset({"endpoint", "status"})),
    "c360_sync_records": ("counter", frozenset({"source", "outcome"})),
    "c360_sync_last_success_timestamp_seconds": ("gauge", frozenset({"source"})),
    "c360_case_sla_alerts": ("counter", frozenset({"kind"})),
    "c360_cases_open": ("gauge", frozenset({"sla"})),
    "c360_credit_alerts_raised": ("counter", frozenset({"kind", "severity"})),
    "c360_credit_alerts_unacknowledged": ("gauge", frozenset({"severity"})),
    "c360_outbound_endpoints": ("gauge", frozenset({"state"})),
    "c360_outbound_oldest_pending_age_seconds": ("gauge", frozenset()),
}
"""Names, types and label sets dashboards and alerts are built on: changing one
is a breaking change for operators."""


@pytest.fixture(scope="module")
def metered(module_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    os.environ["C360_METRICS_TOKEN"] = TOKEN
    try:
        yield from serve(module_engine, make_settings(tmp_path_factory.mktemp("metrics")))
    finally:
        del os.environ["C360_METRICS_TOKEN"]


def _scrape(server: Server) -> dict[str, object]:
    response = httpx.get(
        f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def test_metrics_need_the_token(metered: Server) -> None:
    assert httpx.get(f"{metered.url}/metrics").status_code == 401
    wrong = httpx.get(f"{metered.url}/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "C360_METRICS_TOKEN" in wrong.text
    # An API token is not a metrics token.
    api = httpx.get(
        f"{metered.url}/metrics", headers={"Authorization": f"Bearer {metered.token('admin')}"}
    )
    assert api.status_code == 401


def test_metrics_are_off_without_a_token(
    module_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("C360_METRICS_TOKEN", raising=False)
    for server in serve(module_engine, make_settings(tmp_path)):
        response = httpx.get(f"{server.url}/metrics", headers={"Authorization": "Bearer x"})
        assert response.status_code == 404 and "C360_METRICS_TOKEN" in response.text


def _capability_state(engine: Engine) -> None:
    """A finished sync run, a case past its SLA (evaluated: warning and breach
    alerts) and a credit alert, written by the packages' own functions."""
    save_source(engine, "metrics-shop", "csv", {"path": "unused.csv"})
    with engine.begin() as conn:
        record_run(
            conn,
            "metrics-shop",
            started_at=utcnow(),
            status="succeeded",
            counts={"read": 7, "new": 5, "updated": 1, "unchanged": 0, "quarantined": 1},
        )
        record_run(conn, "metrics-shop", started_at=utcnow(), status="running", counts={"read": 2})
        customer = add_customer(conn)
        new_case(conn, customer, at(2026, 3, 2, 9))
        evaluate(conn, at(2026, 3, 20, 9))
        raise_alert(conn, customer, "score_drop", "high", "score fell", {}, "metrics-test-1")


def test_names_labels_and_counts_are_stable(metered: Server, module_engine: Engine) -> None:
    _capability_state(module_engine)
    with module_engine.begin() as conn:
        record_event(conn, "case.sla_breached", None, {"case_id": 1})
        record_event(conn, "case.sla_breached", None, {"case_id": 2})
        record_event(conn, "credit.alert", None, {"code": "R1"})
    api = metered.api("admin", purpose=PURPOSE)
    page = "query CustomerPage { customers(first: 5) { edges { node { customerId } } } }"
    for _ in range(3):
        assert api.post(page).status_code == 200
    assert api.post("{ customers(first: 1) { edges { node { customerId } } } }")
    httpx.get(f"{metered.url}/healthz")
    httpx.get(f"{metered.url}/no/such/route/12345")
    families = _scrape(metered)
    for name, (kind, labels) in STABLE.items():
        family = families.get(name)
        assert family is not None, f"{name} missing"
        assert family.type == kind, name  # type: ignore[attr-defined]
        for sample in family.samples:  # type: ignore[attr-defined]
            extra = {"le"} if kind == "histogram" else set()
            assert set(sample.labels) - extra == labels, (name, sample.labels)

    def value(name: str, suffix: str = "_total", **labels: str) -> float:
        family = families[name]
        return sum(
            s.value
            for s in family.samples  # type: ignore[attr-defined]
            if s.name == name + suffix and all(s.labels.get(k) == v for k, v in labels.items())
        )

    assert value("c360_graphql_operations", operation="CustomerPage") == 3
    assert value("c360_graphql_operations", operation="anonymous") >= 1
    assert value("c360_http_requests", route="/graphql", method="POST", status="200") >= 4
    assert value("c360_http_requests", route="/healthz", method="GET", status="200") >= 1
    assert value("c360_http_requests", route="unmatched", status="404") >= 1
    assert not any("12345" in str(s.labels) for f in families.values() for s in f.samples)  # type: ignore[attr-defined]
    assert value("c360_graphql_operation_duration_seconds", "_count", operation="CustomerPage") == 3
    assert value("c360_sla_breaches") >= 2 and value("c360_credit_alerts") >= 1
    assert value("c360_business_events", event_type="case.sla_breached") >= 2
    assert value("c360_backlog_depth", "") >= 0
    # From the capabilities' tables: a running run's counts count, unfolded.
    assert value("c360_sync_records", source="metrics-shop", outcome="read") == 9
    assert value("c360_sync_records", source="metrics-shop", outcome="quarantined") == 1
    assert value("c360_sync_last_success_timestamp_seconds", "", source="metrics-shop") > 0
    assert value("c360_case_sla_alerts", kind="sla_breach") >= 1
    assert value("c360_cases_open", "", sla="breached") >= 1
    assert value("c360_credit_alerts_raised", kind="score_drop", severity="high") == 1
    assert value("c360_credit_alerts_unacknowledged", "", severity="high") == 1
    assert value("c360_outbound_endpoints", "", state="disabled") == 0


def test_request_ids_are_propagated_or_generated(metered: Server) -> None:
    given = httpx.get(f"{metered.url}/healthz", headers={"X-Request-Id": "req-42.a"})
    assert given.headers["x-request-id"] == "req-42.a"
    fresh = httpx.get(f"{metered.url}/healthz", headers={"X-Request-Id": "x" * 300})
    generated = fresh.headers["x-request-id"]
    assert len(generated) == 32 and generated != "x" * 300
    assert httpx.get(f"{metered.url}/healthz").headers["x-request-id"] != generated
