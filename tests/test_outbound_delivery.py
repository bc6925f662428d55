"""Outbound webhooks end to end on both databases: business events fan out to
subscribed endpoints with the payload their role may see, are signed per the
Standard Webhooks specification, retried on an exponential schedule, and an
endpoint that keeps failing is disabled until an operator enables it."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update
from standardwebhooks.webhooks import Webhook

from c360.ops.outbound import PolicyScreen, outbound_worker
from c360.platform import tables as t
from c360.platform.business_events import record_event
from c360.platform.models import utcnow
from c360.platform.outbound.delivery import DeliverySettings, retry_delay, signed_headers
from c360.platform.outbound.endpoints import (
    EndpointError,
    add_endpoint,
    deliveries,
    enable_endpoint,
    get_endpoint,
)
from c360.platform.outbound.models import outbound_cursor, webhook_delivery, webhook_endpoint
from tests.outbound_helpers import receiver

FAST = DeliverySettings(retry_base_s=0.0, max_attempts=3, disable_after_failures=4)


def _customer(engine: Engine, province: str | None = None, city: str | None = None) -> int:
    now = utcnow()
    with engine.begin() as conn:
        cid = conn.execute(
            insert(t.customer).values(kind="person", created_at=now, updated_at=now)
        ).inserted_primary_key[0]
        attributes: dict[str, Any] = {}
        if province:
            attributes["province"] = {"value": province}
        if city:
            attributes["city"] = {"value": city}
        conn.execute(
            insert(t.golden_profile).values(
                customer_id=cid, attributes=attributes, conflicting=False, updated_at=now
            )
        )
    return int(cid)


def _event(engine: Engine, event_type: str, customer_id: int | None, **data: Any) -> int:
    with engine.begin() as conn:
        return record_event(conn, event_type, customer_id, data)


def _add(engine: Engine, name: str, url: str, role: str, *types: str, **kw: Any) -> None:
    add_endpoint(
        engine,
        PolicyScreen(),
        name=name,
        url=url,
        role=role,
        event_types=types,
        allow_private=True,
        **kw,
    )


def test_the_spec_test_vector_signs_as_the_spec_says() -> None:
    # From the Standard Webhooks specification's test vectors.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    msg_id, stamp, body = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    when = datetime.fromtimestamp(stamp, UTC)
    assert Webhook(secret).sign(msg_id, when, body) == expected
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{stamp}.{body}".encode(), hashlib.sha256).digest()
    assert "v1," + base64.b64encode(mac).decode() == expected
    headers = signed_headers(secret, msg_id, body)
    assert Webhook(secret).verify(body, headers) == {"test": 2432232314}
    headers["webhook-signature"] = expected  # right signature, wrong (current) timestamp
    with pytest.raises(Exception, match="signature"):
        Webhook(secret).verify(body, headers)


def test_events_reach_subscribers_signed_and_filtered_by_role(engine: Engine) -> None:
    beijing = _customer(engine, "北京市", "北京市")
    shanghai = _customer(engine, "上海市", "上海市")
    with receiver() as hook:
        _add(engine, "risk-desk", hook.url, "risk", "customer.*")
        _add(engine, "credit-desk", hook.url, "admin", "credit.alert")
        _add(engine, "bj-agents", hook.url, "agent", "customer.*", regions=["北京"])
        _add(engine, "marketing", hook.url, "marketing", "customer.tier_changed")
        _event(engine, "credit.alert", beijing, grade="E", reason_code="R12")
        _event(engine, "customer.tier_changed", beijing, tier="高价值", risk_level="high")
        _event(engine, "customer.tier_changed", shanghai, tier="普通", risk_level="low")
        _event(engine, "case.opened", beijing, case_id=7)  # nobody subscribed
        outbound_worker(engine, FAST).run_until_idle()
        got = list(hook.received)
    by_endpoint: dict[str, list[dict[str, Any]]] = {}
    secrets = {
        name: get_endpoint(engine, name).secret  # type: ignore[union-attr]
        for name in ("risk-desk", "credit-desk", "bj-agents", "marketing")
    }
    for request in got:
        (name,) = [n for n, s in secrets.items() if _verifies(s, request.body, request.headers)]
        by_endpoint.setdefault(name, []).append(request.payload)
    risk = sorted(by_endpoint["risk-desk"], key=lambda p: p["type"])
    assert [p["type"] for p in risk] == ["customer.tier_changed", "customer.tier_changed"]
    assert {p["data"]["risk_level"] for p in risk} == {"high", "low"}
    (alert,) = by_endpoint["credit-desk"]
    assert alert["type"] == "credit.alert"
    assert alert["data"] == {"grade": "E", "reason_code": "R12"}
    # The Beijing agent hears only of the Beijing customer, without the risk level.
    assert by_endpoint["bj-agents"] == [
        {
            "type": "customer.tier_changed",
            "timestamp": by_endpoint["bj-agents"][0]["timestamp"],
            "data": {"tier": "高价值"},
        }
    ]
    assert sorted(p["data"]["tier"] for p in by_endpoint["marketing"]) == ["普通", "高价值"]
    assert all("risk_level" not in p["data"] for p in by_endpoint["marketing"])
    assert len({r.headers["webhook-id"] for r in got}) == len(got) == 6


def _verifies(secret: str, body: str, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except Exception:
        return False
    return True


def test_a_role_cannot_subscribe_to_what_it_cannot_read(engine: Engine) -> None:
    with receiver() as hook:
        with pytest.raises(EndpointError, match=r"credit_(alert|grade)"):
            _add(engine, "mkt", hook.url, "marketing", "credit.alert")
        # An agent and risk read the grade but not the alerts: an agent never, risk
        # only with a purpose, which a webhook does not declare.
        with pytest.raises(EndpointError, match="credit_alert"):
            _add(engine, "agents", hook.url, "agent", "credit.alert", regions=["北京"])
        with pytest.raises(EndpointError, match="credit_alert"):
            _add(engine, "risk", hook.url, "risk", "credit.*")
        with pytest.raises(EndpointError, match=r"credit_(alert|grade)"):
            _add(engine, "comp", hook.url, "compliance", "credit.*")
        with pytest.raises(EndpointError, match="event_text"):
            _add(engine, "mkt", hook.url, "marketing", "case.opened")
        with pytest.raises(EndpointError, match="role 'boss'"):
            _add(engine, "x", hook.url, "boss", "customer.updated")
        with pytest.raises(EndpointError, match="event type 'Customer'"):
            _add(engine, "x", hook.url, "admin", "Customer")
        with pytest.raises(EndpointError, match="name 'Bad Name'"):
            _add(engine, "Bad Name", hook.url, "admin", "customer.updated")
        with pytest.raises(EndpointError, match="at least one"):
            _add(engine, "x", hook.url, "admin")
        _add(engine, "x", hook.url, "admin", "customer.updated")
        with pytest.raises(EndpointError, match="taken"):
            _add(engine, "x", hook.url, "admin", "customer.updated")


def test_failures_retry_exponentially_then_disable_until_enabled(engine: Engine) -> None:
    settings = DeliverySettings(retry_base_s=5, retry_cap_s=3600, max_attempts=3)
    assert [retry_delay(n, settings) for n in (1, 2, 3, 4, 12)] == [5, 10, 20, 40, 3600]
    cid = _customer(engine)
    with receiver(status=500) as hook:
        _add(engine, "flaky", hook.url, "admin", "customer.updated")
        first = _event(engine, "customer.updated", cid)
        worker = outbound_worker(engine, FAST)
        worker.run_until_idle()
        rows = deliveries(engine, "flaky")
        assert [(r.status, r.attempts, r.last_error) for r in rows] == [("failed", 3, "HTTP 500")]
        assert len(hook.received) == 3
        assert len(set(hook.ids())) == 1  # one webhook-id across the retries
        endpoint = get_endpoint(engine, "flaky")
        assert endpoint is not None and endpoint.enabled and endpoint.failure_streak == 3
        _event(engine, "customer.updated", cid)
        worker.run_until_idle()
        endpoint = get_endpoint(engine, "flaky")
        assert endpoint is not None and not endpoint.enabled
        assert endpoint.disabled_reason == "4 delivery attempts failed in a row"
        _event(engine, "customer.updated", cid)  # kept pending while disabled
        before = len(hook.received)
        worker.run_until_idle()
        assert len(hook.received) == before
        assert {r.status for r in deliveries(engine, "flaky")} == {"failed", "pending"}
        hook.status = 204
        assert enable_endpoint(engine, "flaky") == 1  # the one that gave up
        worker.run_until_idle()
        assert {r.status for r in deliveries(engine, "flaky")} == {"delivered"}
        assert get_endpoint(engine, "flaky").failure_streak == 0  # type: ignore[union-attr]
    assert first > 0


def test_a_gone_endpoint_is_disabled_at_once(engine: Engine) -> None:
    cid = _customer(engine)
    with receiver(status=410) as hook:
        _add(engine, "gone", hook.url, "admin", "customer.updated")
        _event(engine, "customer.updated", cid)
        outbound_worker(engine, FAST).run_until_idle()
    endpoint = get_endpoint(engine, "gone")
    assert endpoint is not None and not endpoint.enabled
    assert endpoint.disabled_reason == "the endpoint answered 410 Gone"


def test_a_delivery_is_not_duplicated_by_a_second_worker_or_a_restart(engine: Engine) -> None:
    cid = _customer(engine)
    with receiver() as hook:
        _add(engine, "once", hook.url, "admin", "customer.updated")
        for _ in range(5):
            _event(engine, "customer.updated", cid)
        outbound_worker(engine, FAST).run_until_idle()
        outbound_worker(engine, FAST).run_until_idle()  # a fresh worker: the cursor held
        assert len(hook.received) == 5
        with engine.begin() as conn:  # the fan-out cursor lost: deliveries stay unique
            conn.execute(update(outbound_cursor).values(last_event_id=0))
        outbound_worker(engine, FAST).run_until_idle()
        assert len(hook.received) == 5


def test_an_event_committed_late_is_still_delivered(engine: Engine) -> None:
    cid = _customer(engine)
    with receiver() as hook:
        _add(engine, "late", hook.url, "admin", "customer.updated")
        worker = outbound_worker(engine, FAST)
        with engine.connect() as slow:
            slow_tx = slow.begin()
            record_event(slow, "customer.updated", cid, {"n": 1})  # id taken, not committed
            if engine.dialect.name == "sqlite":
                slow_tx.commit()  # SQLite has one writer: no later id can commit first
            else:
                _event(engine, "customer.updated", cid, n=2)
                worker.run_until_idle()
                assert [r.payload["data"]["n"] for r in hook.received] == [2]
                slow_tx.commit()
        worker.run_until_idle()
        assert sorted(r.payload["data"]["n"] for r in hook.received) == (
            [1] if engine.dialect.name == "sqlite" else [1, 2]
        )


def test_a_private_target_added_without_permission_is_refused(engine: Engine) -> None:
    with pytest.raises(EndpointError, match="private or loopback"):
        add_endpoint(
            engine,
            PolicyScreen(),
            name="inside",
            url="http://127.0.0.1:9/hook",
            role="admin",
            event_types=["customer.updated"],
        )
    cid = _customer(engine)
    with receiver() as hook:
        _add(engine, "sneaky", hook.url, "admin", "customer.updated")
        with engine.begin() as conn:  # permission withdrawn after adding
            conn.execute(update(webhook_endpoint).values(allow_private=False))
        _event(engine, "customer.updated", cid)
        outbound_worker(engine, FAST).run_until_idle()
        assert hook.received == []
    with engine.connect() as conn:
        error = conn.execute(select(webhook_delivery.c.last_error)).scalar()
    assert error is not None and error.startswith("refused: url host '127.0.0.1' resolves")
