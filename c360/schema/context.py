"""What every resolver of one GraphQL request shares: the database, the caller
(the principal its token stands for) and its declared purpose, the request's
dataloaders, and the record of what personal data the request served or
refused (written to the audit log before the response leaves).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from starlette.requests import Request

from c360.auth.policy import Decision, Outcome, RowScope, decide, row_scope, uncovered
from c360.auth.principal import Principal
from c360.platform.audit import AuditEntry
from c360.platform.privacy.consent import covered_customers
from c360.platform.privacy.purposes import DEFAULT_PURPOSE
from c360.schema.loaders import Loaders
from c360.search.contract import SearchBackend


@dataclass(frozen=True, slots=True)
class Subject:
    """Whose data a value is, under which declared purpose it is read, and
    through which of the caller's roles the customer is seen (``None``: not one
    customer, decided by the roles that see every row the caller sees)."""

    customer_id: int | None
    kind: str = "person"
    purpose: str | None = None
    roles: frozenset[str] | None = None


@dataclass
class AccessRecord:
    """What one request read in clear and what it was refused, by customer and
    purpose; becomes audit entries (field names only, never values)."""

    reads: dict[tuple[int | None, str | None], set[str]] = field(default_factory=dict)
    refusals: dict[tuple[int | None, str | None], dict[str, str]] = field(default_factory=dict)
    searches: dict[str | None, set[str]] = field(default_factory=dict)

    def read(self, subject: Subject, field_name: str) -> None:
        self.reads.setdefault((subject.customer_id, subject.purpose), set()).add(field_name)

    def searched(self, purpose: str | None, field_name: str) -> None:
        """A search by a personal field (which customers have this phone?)."""
        self.searches.setdefault(purpose, set()).add(field_name)

    def refused(self, subject: Subject, what: str, reason: str) -> None:
        self.refusals.setdefault((subject.customer_id, subject.purpose), {})[what] = reason

    def entries(self, principal: Principal, detail: dict[str, str]) -> list[AuditEntry]:
        """The audit entries for this request: one per purpose for searches, one
        per customer and purpose for clear reads, and for refusals."""
        base = {**detail, "roles": ",".join(sorted(principal.roles))}

        def entry(
            action: str,
            purpose: str | None,
            fields: Iterable[str],
            customer_id: int | None = None,
            **extra: str,
        ) -> AuditEntry:
            return AuditEntry(
                principal=principal.subject,
                client=principal.client_id,
                action=action,
                purpose=purpose,
                customer_id=customer_id,
                fields=sorted(fields),
                detail={**base, **extra},
            )

        def by_customer(item: tuple[tuple[int | None, str | None], object]) -> tuple[int, str]:
            return (item[0][0] or 0, item[0][1] or "")

        out = [
            entry("search", purpose, fields)
            for purpose, fields in sorted(self.searches.items(), key=lambda i: i[0] or "")
        ]
        out += [
            entry("read", purpose, fields, customer_id)
            for (customer_id, purpose), fields in sorted(self.reads.items(), key=by_customer)
        ]
        out += [
            entry(
                "refuse",
                purpose,
                reasons,
                customer_id,
                reason="; ".join(sorted(set(reasons.values())))[:1000],
            )
            for (customer_id, purpose), reasons in sorted(self.refusals.items(), key=by_customer)
        ]
        return out


@dataclass
class RequestContext:
    """The context of one GraphQL request (``info.context`` in resolvers)."""

    engine: Engine
    principal: Principal
    request: Request | None = None
    purpose: str | None = None
    """The purpose declared in the ``X-Purpose`` header (a ``purpose`` argument
    overrides it for the customers read through that field)."""
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    search_backend: Callable[[], SearchBackend] | None = None
    """Opens (or hands back) the search backend ``customers(search:)`` asks;
    ``None`` when this app serves no search."""
    loaders: Loaders = field(init=False)
    access: AccessRecord = field(init=False, default_factory=AccessRecord)
    _decisions: dict[tuple[str, str, str | None, frozenset[str] | None], Decision] = field(
        init=False, default_factory=dict
    )
    _row_scope: RowScope | None = field(init=False, default=None)
    _covered: dict[tuple[int, str], bool] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.engine)

    def decide(self, attribute: str, subject: Subject) -> Decision:
        """The policy's decision for ``attribute`` of ``subject`` (cached for the
        request: the same question is asked once per value)."""
        key = (attribute, subject.kind, subject.purpose, subject.roles)
        decision = self._decisions.get(key)
        if decision is None:
            decision = decide(
                self.principal,
                attribute,
                subject_kind=subject.kind,
                purpose=subject.purpose,
                roles=subject.roles,
            )
            self._decisions[key] = decision
        if decision.outcome is Outcome.CLEAR and decision.personal and subject.customer_id:
            purpose = subject.purpose or DEFAULT_PURPOSE
            if not self.covers(subject.customer_id, purpose):
                return uncovered(decision, attribute, purpose)
        return decision

    def covers(self, customer_id: int, purpose: str) -> bool:
        """Whether the customer's consent or a legal basis covers ``purpose``
        (read once per request: a withdrawal counts from the next request). A
        standing basis covers everyone but a person whose processing is restricted."""
        key = (customer_id, purpose)
        if key not in self._covered:
            self.prime_coverage([customer_id], purpose)
        return self._covered[key]

    def prime_coverage(self, customer_ids: Iterable[int], purpose: str | None) -> None:
        """Read coverage of ``purpose`` for many customers in one go (a page)."""
        reason = purpose or DEFAULT_PURPOSE
        wanted = [cid for cid in customer_ids if (cid, reason) not in self._covered]
        if not wanted:
            return
        with self.engine.connect() as conn:
            found = covered_customers(conn, wanted, reason)
        self._covered.update({(cid, reason): cid in found for cid in wanted})

    @property
    def row_scope(self) -> RowScope:
        if self._row_scope is None:
            self._row_scope = row_scope(self.principal)
        return self._row_scope

    def release(self) -> None:
        """Drop what the request loaded, once its response is sent. graphql-core's
        execution context is a reference cycle holding this context, so without
        this its rows would wait for the cycle collector instead of being freed
        by reference counting."""
        self.request = None
        self.loaders.forget()
        self._decisions.clear()
        self._covered.clear()

    def refresh_loaders(self) -> None:
        """Forget what this request loaded (after a mutation changed it)."""
        self.loaders = Loaders(self.engine)
