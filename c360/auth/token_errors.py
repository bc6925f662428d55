"""Why a token is refused: the errors the gate answers 401 (or 503, when the
identity provider cannot be asked) with their message."""

from __future__ import annotations


class InvalidToken(Exception):
    """A token that is not accepted: answered 401 with this message."""

    status_code = 401
    error = "invalid_token"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class IdentityProviderUnavailable(InvalidToken):
    """The OIDC provider could not be asked for its keys: answered 503."""

    status_code = 503
    error = "temporarily_unavailable"


__all__ = ["IdentityProviderUnavailable", "InvalidToken"]
