"""Decisions: the policy table turns a grade into a credit limit, payment terms
and required measures; staff may override with a reason.

The policy is data (``policy.json`` beside this module, or any file of the same
shape given to ``c360 credit decide --policy``): organization sizes by registered
capital, and one rule per grade and size with a limit, terms and measures —
a guarantee or collateral for D, refusal for E. Two conditions add a manual review:
points within ``review_margin_points`` of a grade boundary, and an exposure (what
the customer owes now: invoiced minus paid) above the limit.

Every recommendation and every override is a :class:`~.models.CreditDecision` row
with the model and policy versions; a customer's current decision is the latest.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select

from c360.platform.audit import AuditEntry, append
from c360.platform.models import utcnow
from c360.platform.risk.models import credit_decision
from c360.platform.risk.scorecard import GRADES

POLICY_FILE = Path(__file__).with_name("policy.json")
INDIVIDUAL = "individual"


class PolicyError(ValueError):
    """A policy table that cannot be used (the field and the reason)."""


@dataclass(frozen=True, slots=True)
class Recommendation:
    grade: str | None
    org_size: str
    credit_limit: float
    terms_days: int
    measures: tuple[str, ...]
    manual_review: bool
    rule: str


@dataclass(frozen=True, slots=True)
class Policy:
    version: str
    review_margin: float
    sizes: tuple[tuple[str, float | None], ...]
    rules: dict[tuple[str, str], dict[str, Any]]

    @classmethod
    def from_mapping(cls, data: Any) -> Policy:
        if not isinstance(data, dict):
            raise PolicyError("policy: expected an object")
        version = data.get("version")
        if not isinstance(version, str) or not version.strip():
            raise PolicyError("version: a policy needs a version name")
        margin = data.get("review_margin_points", 0)
        if not isinstance(margin, int | float) or margin < 0:
            raise PolicyError("review_margin_points: expected a number ≥ 0")
        sizes: list[tuple[str, float | None]] = []
        for i, item in enumerate(data.get("org_sizes") or []):
            if not isinstance(item, dict) or not isinstance(item.get("size"), str):
                raise PolicyError(f"org_sizes[{i}].size: expected a name")
            below = item.get("capital_below_wan")
            if below is not None and not isinstance(below, int | float):
                raise PolicyError(f"org_sizes[{i}].capital_below_wan: expected a number or null")
            sizes.append((item["size"], None if below is None else float(below)))
        if not sizes or sizes[-1][1] is not None:
            raise PolicyError("org_sizes: the last size must have capital_below_wan null")
        rules: dict[tuple[str, str], dict[str, Any]] = {}
        for i, rule in enumerate(data.get("rules") or []):
            where = f"rules[{i}]"
            if not isinstance(rule, dict) or rule.get("grade") not in GRADES:
                raise PolicyError(f"{where}.grade: expected one of {', '.join(GRADES)}")
            size = rule.get("org_size")
            if size != "*" and size not in {INDIVIDUAL, *(s for s, _ in sizes)}:
                raise PolicyError(f"{where}.org_size: {size!r} is not a size of this policy")
            if "limit" not in rule and "limit_share_of_c" not in rule:
                raise PolicyError(f"{where}: needs limit or limit_share_of_c")
            for key in ("limit", "limit_share_of_c", "terms_days"):
                value = rule.get(key, 0)
                if not isinstance(value, int | float) or value < 0:
                    raise PolicyError(f"{where}.{key}: expected a number ≥ 0")
            measures = rule.get("measures", [])
            if not isinstance(measures, list) or not all(isinstance(m, str) for m in measures):
                raise PolicyError(f"{where}.measures: expected a list of texts")
            rules[(rule["grade"], size)] = rule
        every = [INDIVIDUAL, *(s for s, _ in sizes)]
        for grade in GRADES:
            for size in every:
                if (grade, size) not in rules and (grade, "*") not in rules:
                    raise PolicyError(f"rules: no rule for grade {grade}, size {size}")
        return cls(version.strip(), float(margin), tuple(sizes), rules)

    def org_size(self, kind: str, capital_wan: float | None) -> str:
        if kind != "organization":
            return INDIVIDUAL
        if capital_wan is None or math.isnan(capital_wan):
            return self.sizes[0][0]  # unknown capital: treated as the smallest
        for size, below in self.sizes:
            if below is None or capital_wan < below:
                return size
        return self.sizes[-1][0]

    def _rule(self, grade: str, size: str) -> dict[str, Any]:
        return self.rules.get((grade, size)) or self.rules[(grade, "*")]

    def _limit(self, grade: str, size: str) -> float:
        rule = self._rule(grade, size)
        if "limit" in rule:
            return float(rule["limit"])
        return round(float(rule["limit_share_of_c"]) * self._limit("C", size), 2)

    def recommend(
        self,
        grade: str | None,
        points: float | None,
        grade_cuts: dict[str, float] | None,
        *,
        kind: str,
        capital_wan: float | None,
        exposure: float,
    ) -> Recommendation:
        size = self.org_size(kind, capital_wan)
        if grade is None:
            return Recommendation(
                None, size, 0.0, 0, ("manual review: no credit score yet",), True, "unscored"
            )
        rule = self._rule(grade, size)
        limit = self._limit(grade, size)
        measures = list(rule.get("measures", []))
        review = False
        if points is not None and grade_cuts:
            nearest = min(abs(points - cut) for cut in grade_cuts.values())
            if nearest <= self.review_margin:
                review = True
                measures.append(f"manual review: {nearest:.1f} points from a grade boundary")
        if exposure > limit and grade != "E":
            review = True
            measures.append(
                f"manual review: exposure {exposure:,.0f} is above the limit {limit:,.0f}"
            )
        return Recommendation(
            grade,
            size,
            limit,
            int(rule.get("terms_days", 0)),
            tuple(measures),
            review,
            f"{grade}/{rule['org_size']}",
        )


def load_policy(path: Path | str | None = None) -> Policy:
    """The policy table from ``path`` (default: the shipped ``policy.json``)."""
    file = Path(path) if path is not None else POLICY_FILE
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"policy file {file}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise PolicyError(f"policy file {file}: not JSON ({exc.msg}, line {exc.lineno})") from None
    return Policy.from_mapping(data)


def latest_decision(conn: Connection, customer_id: int) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(credit_decision)
            .where(credit_decision.c.customer_id == customer_id)
            .order_by(credit_decision.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def decisions_of(conn: Connection, customer_id: int) -> list[dict[str, Any]]:
    """Every decision about a customer, newest first."""
    return [
        dict(r)
        for r in conn.execute(
            select(credit_decision)
            .where(credit_decision.c.customer_id == customer_id)
            .order_by(credit_decision.c.id.desc())
        ).mappings()
    ]


def record_recommendation(
    conn: Connection,
    customer_id: int,
    rec: Recommendation,
    *,
    model_version: int | None,
    policy_version: str,
    points: float | None,
    exposure: float,
    decided_by: str,
    only_if_changed: bool = False,
) -> int | None:
    """Store a recommendation; with ``only_if_changed``, nothing when the latest
    recommendation says the same (so recomputing is idempotent)."""
    if only_if_changed:
        last = (
            conn.execute(
                select(credit_decision)
                .where(
                    credit_decision.c.customer_id == customer_id,
                    credit_decision.c.kind == "recommended",
                )
                .order_by(credit_decision.c.id.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        if last is not None and (
            last["grade"],
            last["model_version"],
            last["policy_version"],
            float(last["credit_limit"]),
            int(last["terms_days"]),
            list(last["measures"]),
        ) == (
            rec.grade,
            model_version,
            policy_version,
            rec.credit_limit,
            rec.terms_days,
            list(rec.measures),
        ):
            return None
    return int(
        conn.execute(
            insert(credit_decision)
            .values(
                customer_id=customer_id,
                kind="recommended",
                model_version=model_version,
                policy_version=policy_version,
                grade=rec.grade,
                points=points,
                exposure=round(exposure, 2),
                org_size=rec.org_size,
                credit_limit=rec.credit_limit,
                terms_days=rec.terms_days,
                measures=list(rec.measures),
                manual_review=rec.manual_review,
                rule=rec.rule,
                decided_by=decided_by[:256],
                decided_at=utcnow(),
            )
            .returning(credit_decision.c.id)
        ).scalar_one()
    )


def override(
    conn: Connection,
    customer_id: int,
    *,
    credit_limit: float | None,
    terms_days: int | None,
    measures: list[str] | None,
    reason: str,
    actor: str,
    purpose: str,
) -> int:
    """Record a staff override of the customer's current decision; returns its id."""
    if not reason or not reason.strip():
        raise ValueError("reason: an override needs a reason staff can read later")
    if credit_limit is not None and (not math.isfinite(credit_limit) or credit_limit < 0):
        raise ValueError("limit: expected an amount ≥ 0")
    if terms_days is not None and not 0 <= terms_days <= 3650:
        raise ValueError("terms: expected days between 0 and 3650")
    current = latest_decision(conn, customer_id)
    if current is None:
        raise LookupError(
            f"customer {customer_id} has no credit decision to override "
            "(run c360 credit decide first)"
        )
    decision_id = int(
        conn.execute(
            insert(credit_decision)
            .values(
                customer_id=customer_id,
                kind="override",
                model_version=current["model_version"],
                policy_version=current["policy_version"],
                grade=current["grade"],
                points=current["points"],
                exposure=current["exposure"],
                org_size=current["org_size"],
                credit_limit=current["credit_limit"] if credit_limit is None else credit_limit,
                terms_days=current["terms_days"] if terms_days is None else terms_days,
                measures=list(current["measures"]) if measures is None else list(measures),
                manual_review=False,
                rule=current["rule"],
                overrides=current["id"],
                reason=reason.strip()[:4000],
                decided_by=actor[:256],
                decided_at=utcnow(),
            )
            .returning(credit_decision.c.id)
        ).scalar_one()
    )
    append(
        conn,
        [
            AuditEntry(
                principal=actor,
                action="credit.override",
                purpose=purpose,
                customer_id=customer_id,
                fields=["credit_limit"],
                detail={"decision_id": decision_id, "overrides": current["id"]},
            )
        ],
    )
    return decision_id
