"""The verification policy as data: the score's base and the weight of every
contribution (reason code), the band cut-offs, each fraud flag's weight and
severity, the thresholds of the shared-identifier and velocity flags, the
re-verification interval per attribute kind (days), and e-mail domains the
business accepts whatever the disposable list says.

The shipped ``policy.json`` is the default; ``C360_VERIFICATION_POLICY`` names
another JSON file of the same shape (keys it leaves out keep their defaults).
A bad file is refused with the key and the reason, never half-used.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

POLICY_ENV = "C360_VERIFICATION_POLICY"
BANDS = ("pass", "review", "fail")


class PolicyError(ValueError):
    """A verification policy that cannot be used; the message names the key."""


@dataclass(frozen=True, slots=True)
class FlagRule:
    weight: int
    severity: str


@dataclass(frozen=True, slots=True)
class VerificationPolicy:
    version: str
    base: int
    pass_at: int
    review_at: int
    contributions: dict[str, int]
    caps: dict[str, int]
    flags: dict[str, FlagRule]
    high_severity_cap: str
    thresholds: dict[str, int]
    reverify_days: dict[str, int]
    allowed_email_domains: frozenset[str]

    def weight(self, code: str) -> int:
        return self.contributions[code]

    def band(self, score: int, *, high_flag: bool = False) -> str:
        """``pass`` / ``review`` / ``fail`` for ``score``; a high-severity flag caps
        the band (a dishonest debtor never passes on documents alone)."""
        band = "pass" if score >= self.pass_at else "review" if score >= self.review_at else "fail"
        if high_flag and BANDS.index(band) < BANDS.index(self.high_severity_cap):
            return self.high_severity_cap
        return band

    def reverify_after(self, attribute: str) -> timedelta:
        """How long a verification of ``attribute`` holds."""
        days = self.reverify_days.get(attribute, self.reverify_days["default"])
        return timedelta(days=days)


def _merged(default: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(default)
    for key, value in override.items():
        if key not in default:
            raise PolicyError(f"unknown key {key!r}")
        if isinstance(default[key], dict) and isinstance(value, dict):
            out[key] = {**default[key], **value}
        else:
            out[key] = value
    return out


def _int(data: dict[str, Any], key: str, where: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise PolicyError(f"{where}.{key}: expected a whole number, got {value!r}")
    return value


def parse_policy(data: dict[str, Any]) -> VerificationPolicy:
    """A policy from its JSON shape; :class:`PolicyError` naming the bad key."""
    bands = data["bands"]
    pass_at, review_at = _int(bands, "pass", "bands"), _int(bands, "review", "bands")
    if not 0 <= review_at <= pass_at <= 100:
        raise PolicyError("bands: expected 0 <= review <= pass <= 100")
    flags = {}
    for name, rule in data["flags"].items():
        severity = rule.get("severity")
        if severity not in ("high", "medium", "low"):
            raise PolicyError(f"flags.{name}.severity: expected high, medium or low")
        flags[name] = FlagRule(_int(rule, "weight", f"flags.{name}"), severity)
    cap = data["high_severity_caps_band_at"]
    if cap not in BANDS:
        raise PolicyError("high_severity_caps_band_at: expected pass, review or fail")
    days = {k: _int(data["reverify_days"], k, "reverify_days") for k in data["reverify_days"]}
    if any(v <= 0 for v in days.values()):
        raise PolicyError("reverify_days: every interval must be at least one day")
    return VerificationPolicy(
        version=str(data["version"]),
        base=_int(data, "base", "policy"),
        pass_at=pass_at,
        review_at=review_at,
        contributions={
            k: _int(data["contributions"], k, "contributions") for k in data["contributions"]
        },
        caps={k: _int(data["caps"], k, "caps") for k in data["caps"]},
        flags=flags,
        high_severity_cap=cap,
        thresholds={k: _int(data["thresholds"], k, "thresholds") for k in data["thresholds"]},
        reverify_days=days,
        allowed_email_domains=frozenset(str(d).lower() for d in data["allowed_email_domains"]),
    )


def _default() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("policy.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


@functools.cache
def _load(path: str | None) -> VerificationPolicy:
    data = _default()
    if path:
        try:
            override = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise PolicyError(f"{POLICY_ENV}={path}: {error}") from None
        if not isinstance(override, dict):
            raise PolicyError(f"{POLICY_ENV}={path}: expected a JSON object")
        data = _merged(data, override)
    return parse_policy(data)


def load_policy(path: str | None = None) -> VerificationPolicy:
    """The policy in force: ``path``, else ``C360_VERIFICATION_POLICY``, else the
    shipped default (read once per path)."""
    return _load(path or os.environ.get(POLICY_ENV) or None)
