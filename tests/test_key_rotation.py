"""Rotating c360's signing key (``c360 keys rotate``, run in the test's process:
it shares only the key files with the server) while a server runs: the server
signs with the new key within a second, publishes both keys, keeps accepting
tokens the old key signed until their grace period ends, and refuses them at
once when the old key is dropped as leaked."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from c360.auth.keys import SigningKeys, load_or_create_signing_key, rotate_signing_key
from tests.api_helpers import Server, make_settings, serve
from tests.cli_helpers import InProcessCli

QUERY = "{ customers(first: 1) { totalCount } }"


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "token-signing-key.json"
    load_or_create_signing_key(path)
    return path


@pytest.fixture
def server(engine: Engine, tmp_path: Path, key_path: Path) -> Iterator[Server]:
    yield from serve(engine, make_settings(tmp_path, signing_key_path=key_path))


def rotate(key_path: Path, db_url: str, *flags: str) -> str:
    done = InProcessCli()(
        ["keys", "rotate", *flags], C360_SIGNING_KEY_PATH=str(key_path), C360_DATABASE_URL=db_url
    )
    assert done.exit_code == 0, done.output
    return done.stdout


def status(server: Server, token: str) -> int:
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": QUERY},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    return response.status_code


def published(server: Server) -> list[str]:
    return [k["kid"] for k in httpx.get(f"{server.url}/.well-known/jwks.json").json()["keys"]]


def test_rotation_keeps_old_tokens_working_until_they_expire(
    server: Server, key_path: Path, db_url: str
) -> None:
    old_kid = published(server)[0]
    old_token = server.token("agent")
    assert status(server, old_token) == 200
    printed = rotate(key_path, db_url)
    assert "new key id" in printed and old_kid in printed
    deadline = time.monotonic() + 5
    while (kids := published(server))[0] == old_kid:  # picked up within a second or so
        assert time.monotonic() < deadline, "the server did not pick up the new key"
        time.sleep(0.1)
    assert kids == [kids[0], old_kid]
    new_token = server.token("agent")
    assert new_token != old_token
    assert status(server, new_token) == 200
    assert status(server, old_token) == 200  # still in its grace period
    # No private part is ever published, nor kept for the retired key.
    retired = key_path.with_name("token-signing-key.retired.json").read_text()
    assert '"d"' not in retired
    assert all(
        "d" not in k for k in httpx.get(f"{server.url}/.well-known/jwks.json").json()["keys"]
    )


def test_a_leaked_key_is_dropped_at_once(server: Server, key_path: Path, db_url: str) -> None:
    old_token = server.token("agent")
    assert status(server, old_token) == 200  # (and now remembered as verified)
    printed = rotate(key_path, db_url, "--drop-old")
    assert "refused from now on" in printed
    deadline = time.monotonic() + 5
    while status(server, old_token) != 401:
        assert time.monotonic() < deadline, "tokens of a dropped key were still accepted"
        time.sleep(0.1)
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": QUERY},
        headers={"Authorization": f"Bearer {old_token}"},
    )
    assert "key id" in response.text
    assert len(published(server)) == 1


class Clock:
    """A Unix clock the test moves by hand (key generation and file writes take
    no time on it, however slow the machine)."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_retired_keys_lapse_after_their_grace_period(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    first = load_or_create_signing_key(path)
    clock = Clock()
    keys = SigningKeys(path, keep_retired_for=60, check_interval=0, clock=clock)
    assert keys.verification_key(first.kid) is not None
    rotate_signing_key(path, keep_retired_for=60, clock=clock)
    assert keys.key.kid != first.kid
    clock.now += 59
    assert keys.verification_key(first.kid) is not None  # still in its grace period
    assert [k["kid"] for k in keys.public_jwks()["keys"]] == [keys.key.kid, first.kid]  # type: ignore[index]
    clock.now += 2
    assert keys.verification_key(first.kid) is None
    assert [k["kid"] for k in keys.public_jwks()["keys"]] == [keys.key.kid]  # type: ignore[index]
    # The next rotation drops the lapsed key from the retired file.
    second = keys.key.kid
    rotate_signing_key(path, keep_retired_for=60, clock=clock)
    retired = json.loads(path.with_name("k.retired.json").read_text())["keys"]
    assert [entry["jwk"]["kid"] for entry in retired] == [second]
