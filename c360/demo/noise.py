"""The demo's noise: how real exports misspell phones, e-mails, names and
timestamps, in the proportions :mod:`c360.demo.generate` documents."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from c360.demo.reference import FULL_WIDTH, HOMOPHONES


def exact_count(total: int, share: float) -> int:
    """``round(share * total)``, but at least one when there is anything at all."""
    if total <= 0 or share <= 0:
        return 0
    return min(total, max(1, round(share * total)))


def spell_phone(rng: random.Random, digits: str) -> str:
    """An 11-digit mobile the way people type it (see the module docstring)."""
    roll = rng.random()
    if roll < 0.75:
        return digits
    if roll < 0.82:
        return f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"
    if roll < 0.89:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if roll < 0.93:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if roll < 0.96:
        return f"0086 {digits}"
    if roll < 0.98:
        return f"+86{digits}"
    return digits.translate(FULL_WIDTH)


def recase_email(rng: random.Random, email: str, syllables: Sequence[str]) -> str:
    local, _, domain = email.partition("@")
    style = rng.randrange(3)
    if style == 0:
        for syllable in syllables:
            local = local.replace(syllable, syllable.capitalize(), 1)
        label, dot, rest = domain.partition(".")
        return f"{local}@{label.upper()}{dot}{rest}"
    if style == 1:
        return email.upper()
    return local.capitalize() + "@" + domain


def break_email(rng: random.Random, email: str) -> str:
    local, _, domain = email.partition("@")
    label = domain.partition(".")[0]
    return rng.choice(
        (
            f"{local}@{label}",
            f"{local}@@{domain}",
            f"{local}{domain}",
            f"{local}@{domain.replace('.', ',', 1)}",
            f"{local[: len(local) // 2]} {local[len(local) // 2 :]}@{domain}",
        )
    )


def typo(rng: random.Random, surname: str, given: str) -> str | None:
    """The name with one given-name character swapped for a homophone, if any has one."""
    positions = [i for i, ch in enumerate(given) if ch in HOMOPHONES]
    if not positions:
        return None
    i = rng.choice(positions)
    return surname + given[:i] + rng.choice(HOMOPHONES[given[i]]) + given[i + 1 :]


def timestamp(rng: random.Random, start: date, end: date) -> datetime:
    span = (end - start).days * 86400
    moment = datetime(start.year, start.month, start.day) + timedelta(seconds=rng.randrange(span))
    # business hours are busier
    if moment.hour < 8 and rng.random() < 0.8:
        moment += timedelta(hours=10)
    return moment
