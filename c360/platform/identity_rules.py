"""The deterministic rules: strong identifiers that link records with no score.

A rule names the attributes whose values, together, identify one customer
(``phone`` + ``name_pinyin``); every record carrying them gets the identity key
``<kind code>:<key>:<value>|<value>…`` (stored in ``identity_key``), and records
sharing a key link, strongest rule first. The rules are data, part of the match
settings (``deterministic_rules`` in ``default_settings.json`` and in any
``--settings`` file); :data:`DEFAULT_RULES` are the ones c360 ships.

Two tags are special: ``ric`` (resident id numbers) and ``uscc`` (unified social
credit codes) are *hard* identifiers — two different values never join one
customer (cannot-link) — whichever rules name them. A change of rules applies
to records resolved from then on; ``c360 resolve --rebuild`` applies it to all.
With field encryption on, a key's value part is a keyed blind index of the
values (:func:`identity_key`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field, field_validator

from c360.platform.field_encryption import blind_index, enabled

HARD_KEYS = frozenset({"ric", "uscc"})
"""Tags of the identifiers two of which never join one customer."""
_KIND_CODE = {"person": "p", "organization": "o"}


class DeterministicRule(BaseModel):
    """Records agreeing on every attribute named belong to one customer."""

    name: str
    """How links made by the rule are described (``rule:<name>``)."""
    key: str
    """The tag of the rule's identity keys: stored, so keep it stable."""
    attributes: list[str] = Field(min_length=1)
    kinds: list[str] = Field(default_factory=lambda: ["person"])
    casefold: bool = False
    """Compare the values case-insensitively (WeChat ids, company names)."""
    only_without: list[str] = Field(default_factory=list)
    """The rule links only a record that has none of these attributes (a bare
    phone speaks for a record with no name, never for one with another name)."""
    unique_owner: bool = False
    """The rule links only when one customer holds the key (a family phone links
    nobody)."""

    @field_validator("key")
    @classmethod
    def _key_is_a_tag(cls, value: str) -> str:
        if not value or ":" in value or "|" in value:
            raise ValueError("must be a short tag without ':' or '|' (e.g. ric, email)")
        return value


def _rule(name: str, key: str, *attributes: str, **options: Any) -> DeterministicRule:
    return DeterministicRule(name=name, key=key, attributes=list(attributes), **options)


DEFAULT_RULES: tuple[DeterministicRule, ...] = (
    _rule("id_number", "ric", "id_number"),
    _rule("uscc", "uscc", "uscc", kinds=["organization"]),
    _rule("email", "email", "email", kinds=["person", "organization"]),
    _rule("phone+name", "phone", "phone", "name_pinyin"),
    _rule("wechat_id", "wechat", "wechat_id", casefold=True),
    _rule("name+birth_date", "namedob", "name", "birth_date"),
    _rule(
        "phone (record has no name)",
        "phoneany",
        "phone",
        only_without=["name"],
        unique_owner=True,
    ),
    _rule("company_name", "orgname", "name", kinds=["organization"], casefold=True),
)
"""In order of strength: the first rule that matches names the link."""


def default_rules() -> list[DeterministicRule]:
    return [rule.model_copy() for rule in DEFAULT_RULES]


def identity_keys(
    kind: str,
    attributes: Mapping[str, Any],
    rules: Sequence[DeterministicRule] = DEFAULT_RULES,
) -> list[str]:
    """The strong identifiers of a record, as ``<kind>:<key>:<value>`` keys, in
    the rules' order (a rule's values joined by ``|``)."""
    code = _KIND_CODE.get(kind, kind[:1])
    blind = enabled()
    keys: list[str] = []
    for rule in rules:
        if kind not in rule.kinds:
            continue
        values = []
        for attribute in rule.attributes:
            value = attributes.get(attribute)
            if not value:
                break
            text = str(value)
            values.append(text.casefold() if rule.casefold else text)
        else:
            joined = "|".join(values)
            keys.append(f"{code}:{rule.key}:{_blind(rule.key, joined) if blind else joined}")
    return keys


def _blind(tag: str, value: str) -> str:
    return blind_index(f"identity_key.{tag}", value)


def identity_key(kind: str, tag: str, value: str) -> str:
    """The identity key a record of ``kind`` carrying ``value`` (as normalized,
    a rule's values joined by ``|``) has under the rule tagged ``tag``: what a
    lookup by an identifier compares. With field encryption on, the value part is
    a keyed blind index, so the table holds no identifier in clear."""
    code = _KIND_CODE.get(kind, kind[:1])
    return f"{code}:{tag}:{_blind(tag, value) if enabled() else value}"


def key_tag(key: str) -> str:
    """``p:phone:+86…|zhangwei`` → ``phone``."""
    return key.split(":", 2)[1]


__all__ = [
    "DEFAULT_RULES",
    "HARD_KEYS",
    "DeterministicRule",
    "default_rules",
    "identity_key",
    "identity_keys",
    "key_tag",
]
