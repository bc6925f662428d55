"""The access table, as data: for every policy field (a personal attribute, a
case, a credit score, a report…) what each role may do with it (clear, clear
with a declared purpose, masked, hidden), each role's rows (every row, or its
regions) and the mutations it may run. :mod:`c360.auth.policy` decides from it;
the role × field matrix test reads it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from c360.auth.masking import MASKS
from c360.auth.principal import ROLES


class Access(Enum):
    """What a role may do with a field."""

    CLEAR = "clear"
    CLEAR_WITH_PURPOSE = "clear, purpose required"
    MASKED = "masked"
    HIDDEN = "hidden"


class Rows(Enum):
    """Which customers a role sees."""

    ALL = "all"
    REGION = "region"
    """Only customers of the token's regions (their golden ``province`` or
    ``city`` is one of the ``region`` claim's names); none when the token names
    no region."""


C = Access.CLEAR
P = Access.CLEAR_WITH_PURPOSE
M = Access.MASKED
H = Access.HIDDEN

# fmt: off
FIELDS: dict[str, tuple[Access, Access, Access, Access, Access]] = {
    #                          agent  marketing  risk  compliance  admin
    "name":                    (C,    M,         C,    P,          C),
    "phone":                   (C,    M,         M,    P,          C),
    "email":                   (C,    M,         M,    P,          C),
    "id_number":               (M,    H,         P,    P,          P),
    "birth_date":              (M,    M,         C,    P,          C),
    "address":                 (C,    M,         M,    P,          C),
    "wechat_id":               (C,    M,         H,    P,          C),
    "legal_representative":    (C,    M,         C,    P,          C),
    "credit_grade":            (C,    H,         C,    P,          C),
    "credit_score":            (H,    H,         C,    P,          C),
    "credit_limit":            (H,    H,         C,    P,          C),
    "risk_level":              (H,    H,         C,    P,          C),
    "credit_pd":               (H,    H,         P,    P,          C),
    "credit_reasons":          (H,    H,         P,    P,          C),
    "credit_measures":         (C,    H,         P,    P,          C),
    "credit_decisions":        (H,    H,         P,    P,          C),
    "credit_alert":            (H,    H,         P,    P,          C),
    "value_rfm":               (C,    C,         C,    P,          C),
    "value_clv":               (H,    C,         C,    P,          C),
    "value_satisfaction":      (C,    C,         H,    P,          C),
    "segment":                 (H,    C,         C,    P,          C),
    "authenticity_score":      (C,    H,         C,    P,          C),
    "authenticity_band":       (C,    C,         C,    P,          C),
    "authenticity_reasons":    (C,    H,         C,    P,          C),
    "verification_state":      (C,    H,         C,    P,          C),
    "case":                    (C,    H,         C,    P,          C),
    "case_text":               (C,    H,         M,    P,          C),
    "case_report":             (C,    C,         C,    C,          C),
    "external_id":             (C,    H,         C,    C,          C),
    "event_text":              (C,    H,         H,    P,          C),
    "note":                    (C,    H,         C,    P,          C),
    "tags":                    (C,    C,         C,    C,          C),
    "data_quality":            (H,    H,         C,    C,          C),
    "background_report":       (P,    H,         P,    P,          P),
    "organization_name":       (C,    C,         C,    C,          C),
    "public":                  (C,    C,         C,    C,          C),
    "other":                   (C,    H,         C,    C,          C),
    "privacy_requests":        (H,    H,         H,    C,          C),
    "consents":                (H,    H,         H,    P,          C),
    "privacy_export":          (H,    H,         H,    P,          P),
}
# fmt: on
"""The field policy, one column per role in :data:`ROLES` order."""


@dataclass(frozen=True, slots=True)
class RolePolicy:
    """What one role may do besides reading fields."""

    rows: Rows
    mutations: frozenset[str]


MUTATIONS: tuple[str, ...] = (
    *("tag", "untag", "note", "merge", "split", "unmerge"),
    *("acknowledge_alert", "override_credit"),
    *("open_privacy_request", "export_person", "erase_person", "restrict_person"),
    *("lift_restriction", "record_consent", "withdraw_consent"),
    "verify",
    *("open_case", "move_case", "assign_case", "escalate_case", "record_survey"),
    *("create_segment", "evaluate_segment"),
)
"""Every mutation the policy knows: tagging, notes, manual merge / split, and
unmerge (admin only: it hands a redirected id back to a person); acknowledging a
credit alert and overriding a credit decision (risk staff, with a reason); the
case workflow (front-line staff; reassigning and escalating only as the team's
supervisor, :data:`SUPERVISED_MUTATIONS`); and saving and evaluating campaign
segments (marketing staff, :data:`SEGMENT_MUTATIONS`)."""

CASE_MUTATIONS = frozenset(
    {"open_case", "move_case", "assign_case", "escalate_case", "record_survey"}
)

PRIVACY_MUTATIONS = frozenset(
    {"open_privacy_request", "export_person", "erase_person", "restrict_person"}
    | {"lift_restriction", "record_consent", "withdraw_consent"}
)
"""Data-subject requests and consents (compliance staff; c360.schema.privacy)."""

SEGMENT_MUTATIONS = frozenset({"create_segment", "evaluate_segment"})
"""Saving a segment and evaluating it now (c360.schema.value); reading what it
holds still needs policy row ``segment``."""

SUPERVISED_MUTATIONS = frozenset({"assign_case", "escalate_case"})
"""Case mutations a region-limited role runs only on the cases of a team whose
supervisor (``case_team.supervisor``) is the caller's token subject; a role that
sees every row runs them on any case (:func:`may_run_on_case`)."""

ROLE_POLICIES: dict[str, RolePolicy] = {
    "agent": RolePolicy(
        rows=Rows.REGION,
        mutations=frozenset({"tag", "untag", "note", "verify", *CASE_MUTATIONS}),
    ),
    "marketing": RolePolicy(
        rows=Rows.ALL, mutations=frozenset({"tag", "untag", *SEGMENT_MUTATIONS})
    ),
    "risk": RolePolicy(
        rows=Rows.ALL, mutations=frozenset({"note", "acknowledge_alert", "override_credit"})
    ),
    "compliance": RolePolicy(rows=Rows.ALL, mutations=PRIVACY_MUTATIONS),
    "admin": RolePolicy(rows=Rows.ALL, mutations=frozenset(MUTATIONS)),
}

PERSONAL_FIELDS = frozenset(FIELDS) - {
    *("tags", "organization_name", "public", "other"),
    "data_quality",  # aggregates of the sources, never a customer's value
    "case_report",  # aggregates of the cases
}
"""Fields whose clear reads are personal data and go on the audit log."""

PUBLIC_ATTRIBUTES = frozenset(
    {
        "uscc",
        "gender",
        "city",
        "province",
        "company",
        "job_title",
        "member_no",
        "registered_capital",
        "industry",
        "website",
        "tier",
        "lifecycle_stage",
    }
)
"""Attributes every role reads in clear (public registration data, or coarse)."""

ORGANIZATION_PUBLIC = frozenset({"name"})
"""Attributes public for an organization though personal for a person."""

FIELD_MASKS = {name: name for name in MASKS}
"""Fields that have a mask, by the attribute whose mask they use."""


def _check_table() -> None:
    assert set(ROLE_POLICIES) == set(ROLES), "every role needs a RolePolicy"
    for policy in ROLE_POLICIES.values():
        assert policy.mutations <= set(MUTATIONS)


_check_table()


__all__ = [
    "CASE_MUTATIONS",
    "FIELDS",
    "FIELD_MASKS",
    "MUTATIONS",
    "ORGANIZATION_PUBLIC",
    "PERSONAL_FIELDS",
    "PRIVACY_MUTATIONS",
    "PUBLIC_ATTRIBUTES",
    "ROLE_POLICIES",
    "SEGMENT_MUTATIONS",
    "SUPERVISED_MUTATIONS",
    "Access",
    "RolePolicy",
    "Rows",
]
