"""GraphQL errors a client can act on, each with a stable ``extensions.code``."""

from __future__ import annotations

from graphql import GraphQLError


class BadUserInput(GraphQLError):
    """An argument the client sent is unusable; the message names the argument and
    says why, and ``extensions`` carry ``code: BAD_USER_INPUT`` and ``argument``."""

    def __init__(self, argument: str, reason: str) -> None:
        super().__init__(
            f'Invalid argument "{argument}": {reason}',
            extensions={"code": "BAD_USER_INPUT", "argument": argument},
        )
        self.argument = argument
        self.reason = reason


def check_page_size(value: int, argument: str = "first", maximum: int = 100) -> int:
    """``value`` if it is a page size in 1..``maximum``, else :class:`BadUserInput`."""
    if not 1 <= value <= maximum:
        raise BadUserInput(argument, f"must be between 1 and {maximum}, got {value}")
    return value
