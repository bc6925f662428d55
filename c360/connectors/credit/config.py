"""Configuration of a ``credit`` source: the bureau's API, prices, budget, cache."""

from __future__ import annotations

from pydantic import Field, field_validator

from c360.connectors.http import ApiConfig, HttpOptions
from c360.platform.normalize import NormalizationError, normalize_uscc
from c360.platform.privacy.purposes import UnknownPurpose, check_purpose

LEGACY_PURPOSES = {
    "loan_application": "credit_assessment",
    "risk_review": "risk_control",
    "business_monitoring": "risk_control",
}
"""The connector's own purpose names before the catalogue, read as catalogue
codes so that sources saved with them keep working."""


def _catalogue(code: str) -> str:
    code = LEGACY_PURPOSES.get(code, code)
    try:
        return check_purpose(code)
    except UnknownPurpose as exc:
        raise ValueError(str(exc)) from None


class CreditConfig(ApiConfig):
    """Config of a ``credit`` source: a third-party credit bureau queried per subject."""

    base_url: str = Field(description="the bureau's API, e.g. https://api.bureau.example")
    provider: str = Field(default="credit-bureau", max_length=128, description="provenance label")
    person_path: str = "/v1/persons/report"
    organization_path: str = "/v1/enterprises/report"
    account_path: str = "/v1/account"
    ttl_s: int = Field(
        default=30 * 86_400, ge=60, description="how long a result is served from the cache"
    )
    not_found_ttl_s: int = Field(default=7 * 86_400, ge=60)
    person_cost: float = Field(default=5.0, ge=0, description="price of a person lookup")
    organization_cost: float = Field(default=2.0, ge=0)
    daily_budget: float = Field(
        default=500.0, ge=0, description="most that lookups may cost per day (China time)"
    )
    lookups_per_s: float = Field(default=5.0, gt=0, description="rate limit on bureau calls")
    purposes: list[str] = Field(
        default_factory=lambda: ["credit_assessment", "risk_control", "identity_verification"],
        description="catalogue purposes lookups may be made for (c360.platform.privacy.purposes)",
    )
    watchlist: list[str] = Field(
        default_factory=list,
        description="unified social credit codes whose business registration a sync keeps "
        "fresh (organizations only: a person is never looked up in bulk)",
    )
    watch_purpose: str = "risk_control"
    max_lookups_per_run: int = Field(
        default=200, ge=0, description="most lookups one sync of the watchlist makes"
    )

    @field_validator("purposes", mode="before")
    @classmethod
    def _catalogue_purposes(cls, value: object) -> object:
        if not isinstance(value, list):
            return value
        return [_catalogue(str(code)) for code in value]

    @field_validator("watch_purpose", mode="before")
    @classmethod
    def _catalogue_watch_purpose(cls, value: object) -> str:
        return _catalogue(str(value))

    @field_validator("watchlist")
    @classmethod
    def _valid_codes(cls, value: list[str]) -> list[str]:
        codes = []
        for i, code in enumerate(value):
            try:
                codes.append(normalize_uscc(code))
            except NormalizationError as exc:
                raise ValueError(f"[{i}] {code!r}: {exc.reason}") from None
        return codes

    def client_options(self) -> HttpOptions:
        """``http``, its rate limit defaulting to ``lookups_per_s``: every bureau call
        is a lookup the provider counts."""
        if self.http.rate_limit_per_s is not None:
            return self.http
        return self.http.model_copy(update={"rate_limit_per_s": self.lookups_per_s})
