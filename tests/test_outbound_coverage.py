"""Every kind of business event reaches the endpoints whose role may hear it, and
no delivery ever carries a field the endpoint's role cannot read in clear; the
Standard Webhooks specification's published test vector, checked both ways
(signing and the receiver's verification rules)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from c360.auth.events import revealed_fields
from c360.auth.policy import field_access
from c360.auth.policy_table import FIELDS, Access
from c360.auth.principal import ROLES
from c360.ops.outbound import PolicyScreen, outbound_worker
from c360.platform.business_events import record_event
from c360.platform.cases.sla import evaluate
from c360.platform.outbound.delivery import DeliverySettings
from c360.platform.outbound.endpoints import EndpointError, add_endpoint, get_endpoint
from c360.platform.risk.alerts import raise_alert
from tests.cases_helpers import add_customer, add_team, at, new_case
from tests.outbound_helpers import receiver

FAST = DeliverySettings(retry_base_s=0.0, max_attempts=2)
AREAS = ("customer.*", "case.*", "credit.*")


def _hearable(role: str) -> list[str]:
    """The subscriptions ``role`` may take: each area unless it reveals a field
    the role does not read in clear (then the endpoint must be refused)."""
    allowed = []
    for area in AREAS:
        if all(field_access(role, f) is Access.CLEAR for f in revealed_fields(area)):
            allowed.append(area)
    return allowed


def _all_fields_payload() -> dict[str, str]:
    """An event carrying every policy field by name: what a careless capability
    might one day put in an event."""
    return {field: f"value-of-{field}" for field in FIELDS}


def test_every_event_kind_reaches_whom_it_may_and_no_field_leaks(engine: Engine) -> None:
    with engine.begin() as conn:
        add_team(conn)
        beijing = add_customer(conn, "北京市", "张伟")
        shanghai = add_customer(conn, "上海市", "李娜")
    with receiver() as hook:
        for role in ROLES:
            kw: dict[str, Any] = {"regions": ["北京"]} if role == "agent" else {}
            allowed = _hearable(role)
            add_endpoint(
                engine,
                PolicyScreen(),
                name=f"all-{role}",
                url=hook.url,
                role=role,
                event_types=allowed,
                allow_private=True,
                **kw,
            )
            for area in set(AREAS) - set(allowed):
                with pytest.raises(EndpointError, match="may not read"):
                    add_endpoint(
                        engine,
                        PolicyScreen(),
                        name=f"no-{role}",
                        url=hook.url,
                        role=role,
                        event_types=[area],
                        allow_private=True,
                        **kw,
                    )
        # Real events from the capabilities' own functions ...
        with engine.begin() as conn:
            case_id = new_case(conn, beijing, at(2026, 3, 2, 9), team="beijing-care")
            evaluate(conn, at(2026, 3, 20, 9))  # warning, breach: case.sla_breached, escalated
            raise_alert(conn, beijing, "score_drop", "high", "score fell 80", {}, "cov-1")
            raise_alert(conn, shanghai, "court_listing", "high", "listed", {}, "cov-2")
            # ... and those whose paths other tests drive, in the shapes they record.
            record_event(
                conn,
                "customer.unmerged",
                beijing,
                {"customer_id": beijing, "unmerged_from": shanghai, "records": 1},
            )
            record_event(conn, "customer.erased", shanghai, {"customer_ids": [shanghai]})
            record_event(conn, "customer.updated", beijing, _all_fields_payload())
        outbound_worker(engine, FAST).run_until_idle()
        received = list(hook.received)
    secrets = {role: get_endpoint(engine, f"all-{role}").secret for role in ROLES}  # type: ignore[union-attr]
    heard: dict[str, list[dict[str, Any]]] = {role: [] for role in ROLES}
    for request in received:
        (role,) = [r for r, s in secrets.items() if _verifies(s, request)]
        heard[role].append(request.payload)
    types = {role: {p["type"] for p in payloads} for role, payloads in heard.items()}
    # Each kind of event reaches every role that may hear it.
    assert {"case.opened", "case.sla_breached", "credit.alert", "customer.unmerged"} <= types[
        "admin"
    ]
    assert "customer.erased" in types["admin"] and "customer.updated" in types["admin"]
    assert {"case.opened", "case.sla_breached"} <= types["agent"]
    assert not any(t.startswith(("case.", "credit.")) for t in types["marketing"])
    assert "credit.alert" not in types["risk"] and "credit.alert" not in types["agent"]
    # The agent of 北京 hears nothing of the 上海 customer (nor of an erasure, whose
    # place is gone with the profile).
    assert all(p["data"].get("customer_ids") is None for p in heard["agent"])
    assert {p["data"]["alert_id"] for p in heard["admin"] if p["type"] == "credit.alert"} and (
        len([p for p in heard["admin"] if p["type"] == "credit.alert"]) == 2
    )
    assert any(p["data"].get("case_id") == case_id for p in heard["agent"])
    # No delivery carries a field its role does not read in clear.
    for role, payloads in heard.items():
        for payload in payloads:
            for key in payload["data"]:
                if key in FIELDS:
                    assert field_access(role, key) is Access.CLEAR, (role, payload)
        everything = [p for p in payloads if p["type"] == "customer.updated"]
        if role != "agent" or everything:
            (update,) = everything
            clear = {f for f in FIELDS if field_access(role, f) is Access.CLEAR}
            assert set(update["data"]) == clear, role


def _verifies(secret: str, request: Any) -> bool:
    try:
        Webhook(secret).verify(request.body, request.headers)
    except WebhookVerificationError:
        return False
    return True


# The specification's published vector (standard-webhooks, the reference
# libraries' tests): secret, message id, timestamp, body and signature.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
STAMP = 1614265330
BODY = '{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _spec_sign(secret: str, msg_id: str, stamp: int, body: str) -> str:
    """The spec's construction, written out: HMAC-SHA256 over
    ``{id}.{timestamp}.{body}`` with the base64 key after ``whsec_``."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{stamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def _headers(stamp: int, signature: str) -> dict[str, str]:
    return {"webhook-id": MSG_ID, "webhook-timestamp": str(stamp), "webhook-signature": signature}


def test_the_published_vector_signs_and_verifies_per_the_spec() -> None:
    when = datetime.fromtimestamp(STAMP, UTC)
    assert _spec_sign(SECRET, MSG_ID, STAMP, BODY) == SIGNATURE
    assert Webhook(SECRET).sign(MSG_ID, when, BODY) == SIGNATURE
    # The same key with or without the whsec_ prefix.
    assert Webhook(SECRET.removeprefix("whsec_")).sign(MSG_ID, when, BODY) == SIGNATURE


@pytest.mark.parametrize(
    ("case", "signature", "offset_s", "accepted"),
    [
        ("valid now", "fresh", 0, True),
        ("one changed byte", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=", 0, False),
        ("valid among others", "multi", 0, True),
        ("an unknown version only", "v2,fresh", 0, False),
        ("older than the tolerance", "fresh", -(5 * 60 + 1), False),
        ("newer than the tolerance", "fresh", 5 * 60 + 1, False),
        ("the vector at its own, old, time", SIGNATURE, None, False),
    ],
)
def test_a_receiver_applies_the_specs_rules(
    case: str, signature: str, offset_s: int | None, accepted: bool
) -> None:
    stamp = STAMP if offset_s is None else int(datetime.now(UTC).timestamp()) + offset_s
    fresh = _spec_sign(SECRET, MSG_ID, stamp, BODY)
    if signature == "fresh":
        signature = fresh
    elif signature == "multi":
        signature = " ".join(["v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", fresh])
    elif signature == "v2,fresh":
        signature = "v2," + fresh.removeprefix("v1,")
    verify = lambda: Webhook(SECRET).verify(BODY, _headers(stamp, signature))  # noqa: E731
    if accepted:
        assert verify() == {"test": 2432232314}, case
    else:
        with pytest.raises(WebhookVerificationError):
            verify()
