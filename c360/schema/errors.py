"""GraphQL errors a client can act on, each with a stable ``extensions.code``."""

from __future__ import annotations

import logging

from graphql import GraphQLError

log = logging.getLogger(__name__)


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


class Forbidden(GraphQLError):
    """The caller may not have this: ``extensions`` carry ``code: FORBIDDEN`` and
    the ``field`` (a policy field name or a mutation) refused. The message says
    why and never holds a value."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"Forbidden: {reason}", extensions={"code": "FORBIDDEN", "field": what})
        self.what = what
        self.reason = reason


class SearchUnavailable(GraphQLError):
    """The search index cannot answer right now (``code: SEARCH_UNAVAILABLE``);
    the client may retry. Logged as a warning where it is raised."""

    def __init__(self, reason: str) -> None:
        log.warning("search unavailable: %s", reason)
        super().__init__(
            "Search is unavailable right now; try again shortly",
            extensions={"code": "SEARCH_UNAVAILABLE"},
        )


CLIENT_ERRORS: tuple[type[GraphQLError], ...] = (BadUserInput, Forbidden, SearchUnavailable)
"""Errors answered as they are (the client caused them, or can act on them), not
logged as server errors."""


def check_text(value: str, argument: str, *, maximum: int, minimum: int = 1) -> str:
    """``value`` stripped, if it is ``minimum``..``maximum`` characters without
    control characters; else :class:`BadUserInput` naming ``argument``."""
    text = value.strip()
    if not minimum <= len(text) <= maximum:
        raise BadUserInput(argument, f"must be {minimum}-{maximum} characters, got {len(text)}")
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text) or "\x7f" in text:
        raise BadUserInput(argument, "must not contain control characters")
    return text
