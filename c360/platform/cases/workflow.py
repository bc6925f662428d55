"""The case workflow as data: the states (受理 → 处理中 ⇄ 待客户 → 已解决 → 已关闭,
plus 已升级 escalated and 已重开 reopened) and the moves between them.

:data:`TRANSITIONS` is the whole state machine; :func:`check_move` refuses a
move it does not list, naming the moves that are allowed. Which states pause
the SLA clock and which count as open is data here too.
"""

from __future__ import annotations

ACCEPTED = "accepted"
IN_PROGRESS = "in_progress"
WAITING = "waiting_on_customer"
ESCALATED = "escalated"
RESOLVED = "resolved"
CLOSED = "closed"
REOPENED = "reopened"

STATE_LABELS: dict[str, str] = {
    ACCEPTED: "受理",
    IN_PROGRESS: "处理中",
    WAITING: "待客户",
    ESCALATED: "已升级",
    RESOLVED: "已解决",
    CLOSED: "已关闭",
    REOPENED: "已重开",
}
"""Every state, with the name staff know it by."""

TRANSITIONS: dict[str, tuple[str, ...]] = {
    ACCEPTED: (IN_PROGRESS, ESCALATED),
    IN_PROGRESS: (WAITING, RESOLVED, ESCALATED),
    WAITING: (IN_PROGRESS, RESOLVED, ESCALATED),
    ESCALATED: (IN_PROGRESS, RESOLVED),
    RESOLVED: (CLOSED, REOPENED),
    CLOSED: (REOPENED,),
    REOPENED: (IN_PROGRESS, ESCALATED, RESOLVED),
}
"""From each state, the states a case may move to."""

PAUSED_STATES = frozenset({WAITING, RESOLVED})
"""States in which the resolution clock stands still: waiting on the customer,
and resolved (a reopened case resumes where it stopped)."""

OPEN_STATES = frozenset({ACCEPTED, IN_PROGRESS, WAITING, ESCALATED, REOPENED})
"""States of a case still being handled."""

SUPERVISOR_MOVES = frozenset({ESCALATED})
"""Moves only a supervisor (or the SLA engine) makes."""

KINDS = ("complaint", "suggestion", "inquiry")
SEVERITIES = ("low", "medium", "high", "critical")
CHANNELS = ("phone", "web", "email", "wechat", "store", "app", "letter", "other")


class IllegalMove(ValueError):
    """A move the workflow does not allow from the case's state. (A plain class,
    not a frozen dataclass: raising through ``with engine.begin()`` sets the
    exception's ``__traceback__``, which a frozen instance refuses.)"""

    def __init__(self, state: str, target: str) -> None:
        super().__init__(state, target)
        self.state = state
        self.target = target

    @property
    def allowed(self) -> tuple[str, ...]:
        return TRANSITIONS.get(self.state, ())

    def __str__(self) -> str:
        allowed = ", ".join(f"{s} ({STATE_LABELS[s]})" for s in self.allowed) or "none"
        return (
            f"state: a case in {self.state} ({STATE_LABELS.get(self.state, '?')}) cannot move "
            f"to {self.target}; allowed: {allowed}"
        )


def check_move(state: str, target: str) -> None:
    """Raise :class:`IllegalMove` unless ``state`` → ``target`` is a listed move."""
    if target not in TRANSITIONS.get(state, ()):
        raise IllegalMove(state, target)


def _check_machine() -> None:
    assert set(TRANSITIONS) == set(STATE_LABELS)
    for targets in TRANSITIONS.values():
        assert set(targets) <= set(STATE_LABELS)


_check_machine()
