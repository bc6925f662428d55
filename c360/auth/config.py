"""How c360 issues and accepts tokens, read from ``C360_*`` environment variables.

==============================  ==============================================
``C360_TOKEN_ISSUER``           ``iss`` of the tokens c360 issues (``urn:c360``)
``C360_TOKEN_AUDIENCE``         ``aud`` the API accepts (``c360-api``)
``C360_TOKEN_TTL``              lifetime of issued tokens, seconds (3600)
``C360_MAX_TOKEN_LIFETIME``     longest lifetime of any accepted token, seconds (7 days)
``C360_CLIENT_STATUS_SECONDS``  how long "this client is active" is remembered (5)
``C360_SELF_ISSUED_TOKENS``     accept c360's own tokens (true)
``C360_SIGNING_KEY_PATH``       the signing key (``<data dir>/keys/token-signing-key.json``)
``C360_OIDC_ISSUER``            an OpenID Connect provider whose tokens are accepted
``C360_OIDC_AUDIENCE``          ``aud`` its tokens must carry (the token audience)
``C360_OIDC_CLIENT_ID``         the staff workspace's client at the provider (sign-in)
``C360_OIDC_CLIENT_SECRET``     its secret (none: a public client, PKCE only)
``C360_OIDC_ROLES_CLAIM``       claim holding the roles, dotted path (``roles``)
``C360_REGION_CLAIM``           claim holding an agent's region (``region``)
``C360_JWKS_CACHE_SECONDS``     how long the provider's keys are trusted (600)
``C360_JWKS_REFRESH_INTERVAL``  least seconds between refreshes on an unknown key id (10)
``C360_CLOCK_LEEWAY``           seconds of clock skew tolerated for exp/nbf (30)
``C360_RATE_LIMIT_PER_MINUTE``  requests per client per minute, 0 = off (6000)
``C360_RATE_LIMIT_BURST``       requests a client may send at once (600)
==============================  ==============================================
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ALGORITHMS: tuple[str, ...] = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")
"""The signature algorithms a token may use: asymmetric only, so ``none`` and
the HS/RS confusion (an HMAC keyed with a public key) can never verify."""


class AuthSettings(BaseSettings):
    """Token issuing and verification settings."""

    model_config = SettingsConfigDict(env_prefix="C360_", extra="ignore")

    data_dir: Path = Path("c360-data")
    token_issuer: str = "urn:c360"
    token_audience: str = "c360-api"
    token_ttl: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    max_token_lifetime: int = Field(default=7 * 24 * 3600, ge=60, le=30 * 24 * 3600)
    client_status_seconds: float = Field(default=5.0, ge=0, le=300)
    self_issued_tokens: bool = True
    signing_key_path: Path | None = None
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_roles_claim: str = "roles"
    region_claim: str = "region"
    jwks_cache_seconds: int = Field(default=600, ge=0)
    jwks_refresh_interval: float = Field(default=10.0, ge=0)
    clock_leeway: int = Field(default=30, ge=0, le=600)
    rate_limit_per_minute: int = Field(default=6000, ge=0)
    rate_limit_burst: int = Field(default=600, ge=1)

    @model_validator(mode="after")
    def _ttl_within_lifetime(self) -> AuthSettings:
        if self.token_ttl > self.max_token_lifetime:
            raise ValueError(
                f"C360_TOKEN_TTL ({self.token_ttl}) is longer than C360_MAX_TOKEN_LIFETIME "
                f"({self.max_token_lifetime}): c360 would issue tokens it refuses"
            )
        return self

    def key_path(self) -> Path:
        """Where the signing key lives."""
        return self.signing_key_path or self.data_dir / "keys" / "token-signing-key.json"

    @property
    def accepted_oidc_audience(self) -> str:
        return self.oidc_audience or self.token_audience
