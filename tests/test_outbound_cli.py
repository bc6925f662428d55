"""``c360 webhooks``: add (bad input named, nothing half-created), list, test (a
signed message to a real receiver), deliveries, enable; and the SSRF rules an
endpoint URL is checked against."""

from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook

from c360.platform.outbound.ssrf import UnsafeTarget, check_url, is_private, resolve_target
from tests.cli_helpers import InProcessCli
from tests.outbound_helpers import receiver


def test_add_list_test_deliveries_enable(cli: InProcessCli) -> None:
    with receiver() as hook:
        refused = cli(["webhooks", "add", "crm", hook.url, "--role", "admin", "-e", "customer.*"])
        assert refused.exit_code == 2 and "private or loopback" in refused.output
        added = cli(
            [
                "webhooks", "add", "crm", hook.url, "--role", "agent", "--region", "北京",
                "-e", "customer.*", "-e", "case.opened", "--allow-private",
            ]
        )  # fmt: skip
        assert added.exit_code == 0, added.output
        secret = added.output.split("signing secret (shown once): ")[1].split()[0]
        listed = cli(["webhooks", "list"])
        assert "crm" in listed.output and "case.opened, customer.*" in listed.output
        assert secret not in listed.output
        tested = cli(["webhooks", "test", "crm"])
        assert tested.exit_code == 0 and "HTTP 200" in tested.output
        (got,) = hook.received
        assert Webhook(secret).verify(got.body, got.headers)["type"] == "webhook.test"
        assert cli(["webhooks", "deliveries", "crm"]).exit_code == 0
        bad = cli(["webhooks", "deliveries", "crm", "--status", "lost"])
        assert bad.exit_code == 2 and "--status 'lost'" in bad.output
        enabled = cli(["webhooks", "enable", "crm"])
        assert enabled.exit_code == 0 and "0 failed deliveries" in enabled.output
        missing = cli(["webhooks", "enable", "nope"])
        assert missing.exit_code == 2 and "no endpoint called 'nope'" in missing.output
        marketing = cli(
            ["webhooks", "add", "m", hook.url, "--role", "marketing", "-e", "credit.alert",
             "--allow-private"]
        )  # fmt: skip
        assert marketing.exit_code == 2 and "may not read credit_alert" in marketing.output
        hook.status = 500
        failed = cli(["webhooks", "test", "crm"])
        assert failed.exit_code == 2 and "HTTP 500" in failed.output


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
        "100.64.0.1", "0.0.0.0", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1",
        "224.0.0.1", "240.0.0.1",
    ],
)  # fmt: skip
def test_private_and_special_addresses_are_private(address: str) -> None:
    assert is_private(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1111", "8.8.8.8"])
def test_public_addresses_are_not(address: str) -> None:
    assert not is_private(address)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/", "scheme must be http or https"),
        ("http:///nohost", "no host"),
        ("http://user:pw@example.com/", "must not carry credentials"),
        ("http://example.com:99999/", "port is invalid"),
        ("", "must be an http or https URL"),
        ("http://" + "a" * 2050 + ".com/", "longer than 2048"),
    ],
)
def test_bad_urls_are_named(url: str, reason: str) -> None:
    with pytest.raises(UnsafeTarget, match=reason):
        check_url(url)


def test_names_resolving_inside_are_refused_unless_allowed() -> None:
    with pytest.raises(UnsafeTarget, match=r"localhost.*private or loopback"):
        resolve_target("http://localhost:8080/hook", allow_private=False)
    with pytest.raises(UnsafeTarget, match="private or loopback"):
        resolve_target("http://[::1]:8080/hook", allow_private=False)
    assert resolve_target("http://localhost:8080/hook", allow_private=True).address in (
        "127.0.0.1",
        "::1",
    )
