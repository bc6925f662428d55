"""Page cursors of the connections that page by a number (a customer id, an
alert id, an offset): ``base64("<prefix>:<number>")``, so each connection's
cursors are its own and a cursor from another, or a made-up one, is refused
with :class:`~c360.schema.errors.BadUserInput` naming the argument."""

from __future__ import annotations

from strawberry import relay

from c360.schema.errors import BadUserInput

MAX_DIGITS = len(str(2**63 - 1))
"""The digits of the largest id a database column holds."""


def number_cursor(prefix: str, number: int) -> str:
    """The cursor after ``number`` in the connection named ``prefix``."""
    return relay.to_base64(prefix, number)


def cursor_number(
    cursor: str,
    prefix: str,
    connection: str,
    *,
    argument: str = "after",
    max_digits: int = MAX_DIGITS,
) -> int:
    """The number a cursor of the connection ``prefix`` stands for, or
    :class:`BadUserInput` saying it is not a cursor of ``connection``."""
    try:
        found, number = relay.from_base64(cursor)
    except ValueError:
        found, number = "", ""
    if found != prefix or not number.isdigit() or not number.isascii() or len(number) > max_digits:
        raise BadUserInput(argument, f"{cursor!r} is not a cursor of {connection}")
    return int(number)


__all__ = ["MAX_DIGITS", "cursor_number", "number_cursor"]
