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


def check_page_size(value: int | None, argument: str = "first", maximum: int = 100) -> int:
    """``value`` if it is a page size in 1..``maximum``, else :class:`BadUserInput`
    (``null`` included: a variable may send one for an argument with a default)."""
    if value is None:
        raise BadUserInput(argument, f"must be a number between 1 and {maximum}, got null")
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


_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""Characters that reorder how text is displayed (a note that reads one way and
says another)."""


def check_text(value: str | None, argument: str, *, maximum: int, minimum: int = 1) -> str:
    """``value`` stripped, if it is ``minimum``..``maximum`` characters of
    well-formed text: no control characters, no lone surrogates (they cannot be
    stored or encoded), no bidirectional overrides; else :class:`BadUserInput`
    naming ``argument``."""
    if value is None:
        raise BadUserInput(argument, "must be text, got null")
    text = value.strip()
    if not minimum <= len(text) <= maximum:
        raise BadUserInput(argument, f"must be {minimum}-{maximum} characters, got {len(text)}")
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text) or "\x7f" in text:
        raise BadUserInput(argument, "must not contain control characters")
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        raise BadUserInput(argument, "is not well-formed Unicode (it holds a lone surrogate)")
    if any(ch in _BIDI_CONTROLS for ch in text):
        raise BadUserInput(argument, "must not contain bidirectional control characters")
    return text
