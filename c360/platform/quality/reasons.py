"""A refusal's reason as a countable pattern.

Validation reasons sometimes quote the value they refused (``unrecognised date
format: '1943-01-77'``, ``birth date 1990-13-45 is not a real date``). Counting
reasons by their text would then count values, and showing the counts would
show personal data; :func:`reason_pattern` replaces quoted text and runs of
four or more digits (dates, codes, years) with ``…`` so ``the same reason`` is
the same pattern and the pattern holds no value.
"""

from __future__ import annotations

import re

PLACEHOLDER = "…"

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|「[^」]*」")
_DIGITS = re.compile(r"[+]?\d[\d\-/:.X ]{2,}\d[Xx]?|\d{4,}")
_SPACES = re.compile(r"\s+")


def reason_pattern(reason: str) -> str:
    """``reason`` with quoted values and long digit runs replaced by ``…``:
    ``"unrecognised date format: '1943-01-77'"`` → ``"unrecognised date format: …"``."""
    text = _QUOTED.sub(PLACEHOLDER, reason)
    text = _DIGITS.sub(PLACEHOLDER, text)
    return _SPACES.sub(" ", text).strip()[:300]


__all__ = ["PLACEHOLDER", "reason_pattern"]
