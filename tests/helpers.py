"""Test data helpers: valid Chinese identifiers computed, not hard-coded."""

from __future__ import annotations

from stdnum.cn import ric, uscc


def resident_id(region: str = "110101", birth: str = "19900307", seq: str = "123") -> str:
    """A valid 18-digit resident id number (the check digit computed by stdnum)."""
    body = f"{region}{birth}{seq}"
    return body + ric.calc_check_digit(body + "0")


def bad_resident_id(**kwargs: str) -> str:
    """A resident id number whose check digit is wrong."""
    good = resident_id(**kwargs)
    wrong = "0" if good[-1] != "0" else "1"
    return good[:-1] + wrong


def credit_code(body: str = "91110108MA01ABCDE") -> str:
    """A valid unified social credit code."""
    return body + uscc.calc_check_digit(body)
