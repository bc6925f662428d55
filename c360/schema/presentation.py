"""How stored values are shown to the caller: the policy seam.

Every personal value the schema serves passes through :func:`present_value`,
which asks the policy table (:mod:`c360.auth.policy`) for the caller's decision
and serves the value clear (recording the read for the audit log), masked, or
not at all (null plus a ``FORBIDDEN`` error, also recorded). Nothing else in the
schema decides between clear and masked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from c360.auth.masking import MASKS, mask_value
from c360.auth.policy import Outcome
from c360.platform.records import ORGANIZATION_ATTRIBUTES, PERSON_ATTRIBUTES
from c360.schema.context import RequestContext, Subject
from c360.schema.errors import Forbidden

ATTRIBUTE_NAMES = frozenset(PERSON_ATTRIBUTES) | frozenset(ORGANIZATION_ATTRIBUTES)

DERIVED_ATTRIBUTES = {
    "name_pinyin": "name",
    "name_initials": "name",
    "name_core": "name",
    "company_core": "company",
    "id_region": "id_number",
}
"""Match keys derived from an attribute: they reveal what it does."""

EVIDENCE_WORDS = frozenset(
    {
        "rule",
        "keys",
        "blocked_by",
        "blocking_rules",
        "method",
        "comparison",
        "level",
        "model",
        "model_version",
        "by",
    }
)
"""Evidence keys whose strings describe the match, not the person."""

NAMING_KEYS = ("comparison", "attribute", "field")
"""Keys whose value names the attribute the rest of their object is about
(``{"comparison": "phone", "left": "+86…"}``)."""

UNKNOWN = "*"
"""The attribute of an evidence string under no known key: served clear only to
a caller who reads every personal attribute in clear, else left out."""


def present_value(
    attribute: str,
    value: Any,
    context: RequestContext,
    subject: Subject,
    *,
    known: Iterable[tuple[str, str]] = (),
) -> str | None:
    """``value`` of ``attribute`` (a canonical attribute name such as ``phone``,
    or a policy field such as ``event_text``) of ``subject``, as the caller may
    see it. Non-string values are shown as strings; masked free text also has
    the subject's ``known`` personal values starred (``(attribute, value)``).

    Refused fields raise :class:`Forbidden` whether or not there is a value, so
    the error itself tells nothing about the data."""
    decision = context.decide(attribute, subject)
    if decision.outcome is Outcome.REFUSED:
        context.access.refused(subject, decision.field, decision.reason)
        raise Forbidden(decision.field, decision.reason)
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if decision.outcome is Outcome.MASKED:
        return mask_value(attribute, text, kind=subject.kind, known=known)
    if decision.personal:
        context.access.read(subject, decision.field)
    return text


def present_quietly(
    attribute: str, value: Any, context: RequestContext, subject: Subject
) -> str | None:
    """:func:`present_value` inside a larger value (match evidence): a refused
    value is left out (``None``) without an error of its own."""
    if attribute == UNKNOWN:
        return str(value) if _reads_everything(context, subject) else None
    decision = context.decide(attribute, subject)
    if decision.outcome is Outcome.REFUSED:
        return None
    return present_value(attribute, value, context, subject)


def _reads_everything(context: RequestContext, subject: Subject) -> bool:
    return all(context.decide(attribute, subject).outcome is Outcome.CLEAR for attribute in MASKS)


def present_evidence(
    evidence: Any, context: RequestContext, subject: Subject, *, attribute: str = ""
) -> Any:
    """Match evidence (JSON) with every string that sits under an attribute's
    key, at any depth (``{"fields": {"phone": {"left": "+86…"}}}``), presented as
    that attribute through :func:`present_quietly`. Strings under the words of
    :data:`EVIDENCE_WORDS` (rule names, ``keys: ["ric"]``) stay as they are, and
    so do numbers and flags. An object naming its attribute
    (``{"comparison": "phone", …}``) has its strings presented as that attribute.
    Any other string is served only to a caller who reads every personal
    attribute in clear, so evidence formats to come cannot leak by default."""
    if isinstance(evidence, dict):
        named = next(
            (
                str(evidence[key])
                for key in NAMING_KEYS
                if isinstance(evidence.get(key), str) and evidence[key] in ATTRIBUTE_NAMES
            ),
            None,
        )
        inherited = named or attribute
        return {
            key: present_evidence(item, context, subject, attribute=_evidence_key(key, inherited))
            for key, item in evidence.items()
        }
    if isinstance(evidence, list):
        return [present_evidence(item, context, subject, attribute=attribute) for item in evidence]
    if isinstance(evidence, str) and attribute != "-":
        return present_quietly(attribute or UNKNOWN, evidence, context, subject)
    return evidence


def _evidence_key(key: str, inherited: str) -> str:
    """The attribute strings under ``key`` are presented as (``-``: none)."""
    if key in ATTRIBUTE_NAMES:
        return key
    if key in DERIVED_ATTRIBUTES:
        return DERIVED_ATTRIBUTES[key]
    if key in EVIDENCE_WORDS:
        return "-"
    return inherited
