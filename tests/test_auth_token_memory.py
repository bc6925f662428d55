"""A token verified once is remembered for a moment, and never longer than it
would pass verification: not past its expiry, not once the key that verified it
was rotated, not past the memory's own limit."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pytest

from c360.auth import tokens
from c360.auth.config import AuthSettings
from c360.auth.issuing import TokenIssuer
from c360.auth.keys import SigningKeys
from c360.auth.token_errors import InvalidToken
from c360.auth.tokens import TokenVerifier
from tests.api_helpers import shared_signing_key


def _setup(tmp_path: Path, leeway: int = 0) -> tuple[TokenIssuer, TokenVerifier, Path]:
    key_path = tmp_path / "token-signing-key.json"
    shutil.copy(shared_signing_key(), key_path)
    settings = AuthSettings(data_dir=tmp_path, signing_key_path=key_path, clock_leeway=leeway)
    keys = SigningKeys(key_path)
    issuer = TokenIssuer(
        keys, issuer=settings.token_issuer, audience=settings.token_audience, ttl=3600
    )
    return issuer, TokenVerifier(settings, keys), key_path


def test_a_remembered_token_gives_the_same_principal(tmp_path: Path) -> None:
    issuer, verifier, _ = _setup(tmp_path)
    token = issuer.issue(subject="alice", roles=["agent"], region="北京")
    first = asyncio.run(verifier.verify(token))
    again = asyncio.run(verifier.verify(token))
    assert again == first
    assert (again.subject, again.roles, again.regions) == (
        "alice",
        frozenset({"agent"}),
        frozenset({"北京"}),
    )


def test_a_remembered_token_is_refused_once_it_expires(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer, verifier, _ = _setup(tmp_path)
    token = issuer.issue(subject="alice", roles=["agent"], ttl=2)
    asyncio.run(verifier.verify(token))
    later = time.time() + 5
    monkeypatch.setattr(tokens.time, "time", lambda: later)
    with pytest.raises(InvalidToken, match="expired"):
        asyncio.run(verifier.verify(token))


def test_a_remembered_token_is_refused_once_its_key_is_rotated(tmp_path: Path) -> None:
    issuer, verifier, key_path = _setup(tmp_path)
    token = issuer.issue(subject="alice", roles=["agent"])
    asyncio.run(verifier.verify(token))
    key_path.unlink()  # a new key is generated on the next reload
    assert verifier.keys is not None
    verifier.keys.reload()
    with pytest.raises(InvalidToken, match="key id"):
        asyncio.run(verifier.verify(token))


def test_a_remembered_token_is_verified_again_after_a_while(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer, verifier, _ = _setup(tmp_path)
    token = issuer.issue(subject="alice", roles=["agent"])
    asyncio.run(verifier.verify(token))
    calls = 0
    full = verifier._verify

    async def counting(token: str) -> object:
        nonlocal calls
        calls += 1
        return await full(token)

    monkeypatch.setattr(verifier, "_verify", counting)
    asyncio.run(verifier.verify(token))
    assert calls == 0
    later = time.monotonic() + tokens.VERIFIED_CACHE_SECONDS + 1
    monkeypatch.setattr(tokens.time, "monotonic", lambda: later)
    asyncio.run(verifier.verify(token))
    assert calls == 1


def test_the_memory_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "VERIFIED_CACHE_SIZE", 3)
    issuer, verifier, _ = _setup(tmp_path)
    for n in range(5):
        asyncio.run(verifier.verify(issuer.issue(subject=f"user-{n}", roles=["agent"])))
    assert len(verifier._verified) == 3
