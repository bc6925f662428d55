"""The background-check report's view model — titled sections of tables of text
(:class:`ReportView`), what :mod:`c360.schema.report_render` renders as HTML or
PDF — and the :class:`Presenter` through which every value of it passes the
schema's one policy seam, remembering what came out masked or refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from c360.auth.masking import MASKS
from c360.auth.policy import Outcome, policy_field
from c360.platform.quality.reasons import reason_pattern
from c360.schema.context import RequestContext, Subject
from c360.schema.errors import Forbidden
from c360.schema.presentation import present_value

NOT_PERMITTED = "（无权查看 not permitted）"
NONE = "—"

OUTCOME_WORDS = {"pass": "通过 pass", "warn": "提示 warn", "fail": "不通过 fail"}
STATE_WORDS = {
    "unverified": "未核验 unverified",
    "verified_source": "来源核验 verified by source",
    "verified_staff": "人工核验 verified by staff",
    "failed": "核验失败 failed",
}
VERDICT_WORDS = {"agree": "一致 agrees", "contradict": "矛盾 contradicts"}
BAND_WORDS = {"pass": "通过 pass", "review": "复核 review", "fail": "不通过 fail"}


class ReportRefused(Exception):
    """The caller may not have this customer's background report; ``reason``
    says why (naming the field, never a value)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ReportNotFound(LookupError):
    """No such customer, or one outside the caller's rows (told apart nowhere)."""


@dataclass(slots=True)
class Table:
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    title: str = ""


@dataclass(slots=True)
class Section:
    title: str
    lines: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


@dataclass(slots=True)
class ReportView:
    """A report ready to render: every string in it is what the caller may see."""

    title: str
    customer_id: int
    kind: str
    purpose: str
    generated_at: datetime
    generated_for: str
    sections: list[Section] = field(default_factory=list)
    masked: set[str] = field(default_factory=set)
    """Policy fields shown masked to this caller."""
    refused: set[str] = field(default_factory=set)
    """Policy fields left out for this caller."""


def when_text(moment: datetime | str | None) -> str:
    if moment is None:
        return NONE
    if isinstance(moment, str):
        return moment[:19].replace("T", " ")
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def band_text(shown: str) -> str:
    return BAND_WORDS.get(shown, shown)


def yes_no(flag: bool) -> str:
    return "是 yes" if flag else "否 no"


class Presenter:
    """Presents values of one subject (and of related subjects) through the
    policy seam, remembering what came out masked or refused."""

    def __init__(self, context: RequestContext, view: ReportView, subject: Subject) -> None:
        self.context = context
        self.view = view
        self.subject = subject

    def show(self, attribute: str, value: Any, subject: Subject | None = None) -> str:
        subject = subject or self.subject
        if value is None or value == "":
            return NONE
        try:
            shown = present_value(attribute, value, self.context, subject)
        except Forbidden as refusal:
            self.view.refused.add(refusal.what)
            return NOT_PERMITTED
        decision = self.context.decide(attribute, subject)
        if decision.outcome is Outcome.MASKED:
            self.view.masked.add(decision.field)
        return shown if shown is not None else NONE

    def may(self, attribute: str, subject: Subject | None = None) -> bool:
        """Whether the field is served at all (clear or masked)."""
        decision = self.context.decide(attribute, subject or self.subject)
        if decision.outcome is Outcome.REFUSED:
            self.view.refused.add(decision.field)
            self.context.access.refused(subject or self.subject, decision.field, decision.reason)
            return False
        return True

    def clear(self, attribute: str) -> bool:
        """Whether the caller reads ``attribute`` of the customer in clear."""
        return self.context.decide(attribute, self.subject).outcome is Outcome.CLEAR

    def explain(self, text: Any, *attributes: str) -> str:
        """A reason or detail written by a check (it may quote the value it is
        about): as written to a caller who reads every one of ``attributes`` in
        clear, else with the values taken out (:func:`reason_pattern`) —
        withheld, never masked by a rule of its own."""
        text = "" if text is None else str(text)
        if "*" in attributes:  # about any attribute: as the schema's evidence rule
            attributes = tuple(a for a in attributes if a != "*") + tuple(sorted(MASKS))
        if attributes and all(self.clear(a) for a in attributes if a):
            for attribute in attributes:
                if attribute and self.context.decide(attribute, self.subject).personal:
                    self.context.access.read(
                        self.subject, policy_field(attribute, self.subject.kind)
                    )
            return text
        return reason_pattern(text)


__all__ = [
    "BAND_WORDS",
    "NONE",
    "NOT_PERMITTED",
    "OUTCOME_WORDS",
    "STATE_WORDS",
    "VERDICT_WORDS",
    "Presenter",
    "ReportNotFound",
    "ReportRefused",
    "ReportView",
    "Section",
    "Table",
    "band_text",
    "when_text",
    "yes_no",
]
