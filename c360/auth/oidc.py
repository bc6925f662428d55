"""An external OpenID Connect provider's signing keys: found through its discovery
document, cached, refreshed on an unknown key id at a bounded rate. No issuer but
the configured one is ever contacted."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import Key, KeySet

from c360.auth.token_errors import IdentityProviderUnavailable, InvalidToken

log = logging.getLogger(__name__)


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_issuer_url(url: str) -> str:
    """``url`` if it can name an OIDC issuer: https, or http on a loopback
    address (a provider on the same machine, as in tests)."""
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname)):
        return url
    raise ValueError(f"C360_OIDC_ISSUER must be an https URL (or http on loopback), got {url!r}")


class OidcProvider:
    """An OpenID Connect provider's signing keys, found through its discovery
    document and cached; refreshed when they are older than ``cache_seconds``,
    and on a token with an unknown key id, at most once per ``refresh_interval``."""

    def __init__(
        self,
        issuer: str,
        *,
        cache_seconds: float = 600,
        refresh_interval: float = 10,
        timeout: float = 5,
    ) -> None:
        self.issuer = check_issuer_url(issuer)
        self.cache_seconds = cache_seconds
        self.refresh_interval = refresh_interval
        self.timeout = timeout
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0
        """How many times the JWKS was fetched (for operators and tests)."""

    async def _fetch_json(self, client: httpx.AsyncClient, url: str, what: str) -> dict[str, Any]:
        try:
            response = await client.get(url, headers={"accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise IdentityProviderUnavailable(
                f"the identity provider's {what} could not be read ({reason})"
            ) from None
        if not isinstance(document, dict):
            raise IdentityProviderUnavailable(f"the identity provider's {what} is not an object")
        return document

    async def _refresh(self) -> None:
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
            discovery = await self._fetch_json(
                client,
                self.issuer.rstrip("/") + "/.well-known/openid-configuration",
                "discovery document",
            )
            if discovery.get("issuer") != self.issuer:
                raise IdentityProviderUnavailable(
                    "the identity provider's discovery document names issuer "
                    f"{discovery.get('issuer')!r}, not {self.issuer!r}"
                )
            jwks_uri = discovery.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise IdentityProviderUnavailable("the discovery document has no jwks_uri")
            document = await self._fetch_json(client, jwks_uri, "key set")
        self.fetches += 1
        keys: list[Key] = []
        for data in document.get("keys") or ():
            if not isinstance(data, dict) or data.get("use", "sig") != "sig":
                continue
            try:
                keys.append(KeySet.import_key_set({"keys": [data]}).keys[0])
            except (JoseError, ValueError, TypeError, KeyError):
                log.warning("ignoring a key of %s that cannot be read", self.issuer)
        self._keys = KeySet(keys)
        self._fetched_at = time.monotonic()

    async def key(self, kid: str | None) -> Key:
        """The provider's key ``kid`` (the only key, if ``kid`` is None and it has one)."""
        async with self._lock:
            stale = time.monotonic() - self._fetched_at > self.cache_seconds
            if self._keys is None or stale:
                await self._refresh()
            found = self._find(kid)
            if found is None and time.monotonic() - self._fetched_at >= self.refresh_interval:
                await self._refresh()
                found = self._find(kid)
        if found is None:
            raise InvalidToken(f"no signing key of the identity provider has key id {kid!r}")
        return found

    def holds(self, key: Key, kid: str | None) -> bool:
        """Whether ``key`` is still the provider's key ``kid``, and the key set
        it came from is not older than ``cache_seconds``."""
        stale = time.monotonic() - self._fetched_at > self.cache_seconds
        return not stale and self._find(kid) is key

    def _find(self, kid: str | None) -> Key | None:
        if self._keys is None:
            return None
        try:
            return self._keys.get_by_kid(kid)
        except (InvalidKeyIdError, ValueError):
            return None


__all__ = ["OidcProvider", "check_issuer_url"]
