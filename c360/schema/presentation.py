"""How stored values are shown to the reader of a response.

:func:`present_value` is the policy seam: every personal value the schema serves
passes through it, and nowhere else decides between clear and masked. Until the
auth issue lands there are no tokens and so no reader entitled to clear values:
everything with a mask is masked. The auth issue replaces the body of
:func:`present_value` with a lookup in the policy table for ``context``'s reader
(clear, masked, or refused) plus the audit of clear reads, and nothing else in
the schema has to change.
"""

from __future__ import annotations

from typing import Any

from c360.auth.masking import mask_value
from c360.platform.records import ORGANIZATION_ATTRIBUTES, PERSON_ATTRIBUTES
from c360.schema.context import RequestContext

ATTRIBUTE_NAMES = frozenset(PERSON_ATTRIBUTES) | frozenset(ORGANIZATION_ATTRIBUTES)


def present_value(
    attribute: str, value: Any, context: RequestContext, *, subject_kind: str = "person"
) -> str | None:
    """``value`` of ``attribute`` (a canonical attribute name such as ``phone``) of
    a subject of ``subject_kind`` (``person`` / ``organization``), as the reader
    of ``context`` may see it. Non-string values are shown as strings.

    THE POLICY SEAM: the one place where clear-or-masked is decided."""
    if value is None:
        return None
    return mask_value(attribute, value if isinstance(value, str) else str(value), kind=subject_kind)


def present_evidence(
    evidence: Any, context: RequestContext, *, subject_kind: str = "person", attribute: str = ""
) -> Any:
    """Match evidence (JSON) with every string that sits under an attribute's
    key, at any depth (``{"fields": {"phone": {"left": "+86…"}}}``), presented as
    that attribute through :func:`present_value`; numbers, flags and strings under
    other keys (rule names, ``keys: ["ric"]``) stay as they are."""
    if isinstance(evidence, dict):
        return {
            key: present_evidence(
                item,
                context,
                subject_kind=subject_kind,
                attribute=key if key in ATTRIBUTE_NAMES else attribute,
            )
            for key, item in evidence.items()
        }
    if isinstance(evidence, list):
        return [
            present_evidence(item, context, subject_kind=subject_kind, attribute=attribute)
            for item in evidence
        ]
    if isinstance(evidence, str) and attribute:
        return present_value(attribute, evidence, context, subject_kind=subject_kind)
    return evidence
