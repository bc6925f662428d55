"""Reading a verified token's claims: dotted claim paths, lists or
space-separated strings, the scopes it grants (fail closed) and the regions it
names (a name or a list of names; anything else refuses the token)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from c360.auth.principal import READ_SCOPE, SCOPES
from c360.auth.token_errors import InvalidToken
from c360.platform.regions import RegionError, check_region_name


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The claim at a dotted ``path`` (``realm_access.roles``)."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str)]
    return []


def when(value: Any) -> str:
    try:
        return datetime.fromtimestamp(float(value), UTC).isoformat(timespec="seconds")
    except (TypeError, ValueError, OverflowError):
        return repr(value)


def granted_scopes(claims: Mapping[str, Any], *, own: bool) -> frozenset[str]:
    """The c360 scopes a token grants. c360's own tokens grant exactly the c360
    scopes their ``scope`` claim names (none named: nothing, never "the role
    decides"); a provider's token that names none of c360's scopes (``openid
    profile``) may read, as its role allows, and never write."""
    named = frozenset(strings(claims.get("scope")) + strings(claims.get("scp"))) & frozenset(SCOPES)
    if named or own:
        return named
    return frozenset({READ_SCOPE})


def regions_of(value: Any, claim: str = "region") -> frozenset[str]:
    """The regions a region claim names: absent (``None``) is none; a region
    name is one; a list of region names (how Keycloak sends a multivalued
    attribute) is several. Anything else — an empty or blank name, ``*``, a
    number, an object, an empty list — is a malformed token: :class:`InvalidToken`."""
    if value is None:
        return frozenset()
    values = value if isinstance(value, list) else [value]
    if not values:
        raise InvalidToken(f"the token's {claim!r} claim is an empty list")
    try:
        return frozenset(check_region_name(v, f"the token's {claim!r} claim") for v in values)
    except RegionError as exc:
        raise InvalidToken(str(exc)) from None


__all__ = ["claim_at", "granted_scopes", "regions_of", "strings", "when"]
