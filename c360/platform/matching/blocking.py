"""Blocking keys: which stored records a new record is compared with.

A blocking rule names features (``name_pinyin`` + ``city``); a record that has all
of them gets one key for the rule, a 64-bit hash of kind, feature names and
values. Keys are stored per record in ``match_key`` (indexed), with a running
count per key in ``match_key_count``; a single-feature key doubles as the
term-frequency key of that feature's value, so the count of ``phone=+86138…``
is how many records carry that phone. With field encryption on, the hash is
keyed (:func:`blocking_key`).
"""

from __future__ import annotations

import functools
import hashlib

from c360.platform.field_encryption import derived_index_key, enabled
from c360.platform.matching.features import Features
from c360.platform.matching.settings import MatchSettings

_KIND_CODE = {"person": "p", "organization": "o"}


def key_hash(text: str) -> int:
    """A signed 64-bit hash (fits BIGINT on every database); keyed (a blind
    index) when field encryption is on."""
    return _key_hash(text, blocking_key())


def blocking_key() -> bytes:
    """The BLAKE2b key of blocking and value keys: empty when field encryption is
    off, else derived from the index key, so that a stored key cannot be matched
    against a list of phone numbers by whoever reads the database alone."""
    return derived_index_key("blocking") if enabled() else b""


@functools.lru_cache(maxsize=1 << 18)
def _key_hash(text: str, key: bytes) -> int:
    digest = hashlib.blake2b(text.encode(), digest_size=8, key=key).digest()
    return int.from_bytes(digest, signed=True)


def _key_text(kind: str, parts: list[str]) -> str:
    """``<kind code>|feature=value|…``: what a key hashes (``parts`` as ``feature=value``)."""
    return _KIND_CODE.get(kind, kind) + "|" + "|".join(parts)


def value_key(kind: str, feature: str, value: str, *, secret: bytes | None = None) -> int:
    """The key of one feature value (term frequency, shared identifiers);
    ``secret``: what :func:`blocking_key` gave, when computing many."""
    return _value_key(kind, feature, value, blocking_key() if secret is None else secret)


@functools.lru_cache(maxsize=1 << 18)
def _value_key(kind: str, feature: str, value: str, key: bytes) -> int:
    return _key_hash(_key_text(kind, [f"{feature}={value}"]), key)


def records_key(kind: str) -> int:
    """The key whose count is the number of records of ``kind``."""
    return key_hash(_KIND_CODE.get(kind, kind) + "|*")


_Plan = tuple[tuple[tuple[str, tuple[str, ...]], ...], tuple[str, ...]]
_plans: dict[tuple[int, str], tuple[MatchSettings, _Plan]] = {}


def _plan(settings: MatchSettings, kind: str) -> _Plan:
    """The rules (name, features) and value features for ``kind``, as plain tuples:
    settings are pydantic models, and reading them per record costs more than
    the hashing."""
    held = _plans.get((id(settings), kind))
    if held is not None and held[0] is settings:
        return held[1]
    rules = tuple((rule.name, tuple(rule.features)) for rule in settings.blocking_for(kind))
    features = tuple(dict.fromkeys((*settings.tf_features(kind), *settings.shared_features)))
    if len(_plans) > 64:  # settings come and go with model versions; keep the few in use
        _plans.clear()
    _plans[(id(settings), kind)] = (settings, (rules, features))
    return rules, features


def record_keys(
    settings: MatchSettings, kind: str, features: Features
) -> tuple[dict[int, str], dict[int, tuple[str, str]]]:
    """``(blocking, values)``: blocking key → rule name; value key → (feature, value)
    for every term-frequency and shared-identifier feature the record has."""
    rules, value_features = _plan(settings, kind)
    secret = blocking_key()
    blocking: dict[int, str] = {}
    for name, rule_features in rules:
        parts = []
        for feature in rule_features:
            value = features.get(feature)
            if value is None:
                break
            parts.append(f"{feature}={value}")
        else:
            key = _key_hash(_key_text(kind, parts), secret)
            if key not in blocking:
                blocking[key] = name
    values: dict[int, tuple[str, str]] = {}
    for feature in value_features:
        value = features.get(feature)
        if value is not None:
            values[_value_key(kind, feature, value, secret)] = (feature, value)
    return blocking, values


__all__ = ["blocking_key", "key_hash", "record_keys", "records_key", "value_key"]
