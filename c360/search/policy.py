"""The access-control hook of search: which fields a caller may search and filter
by, and which display values the hits may carry.

Search must never become an oracle: a caller who may not read a customer's id
number must not learn whose it is by searching for it. So a query fragment that
can only mean a field the caller may not search (an 18-character id number for a
role without id numbers) is refused with :class:`SearchForbiddenError`, decided by
the *shape of the query alone*, never by what the index holds; and a fragment that
could mean several fields (six digits: a phone tail, a member number, the end of
an id number) simply does not consult the forbidden ones.

:class:`FieldPolicy` is a plain table implementing the contract's
:class:`~c360.search.contract.SearchPolicy` (two methods); the API's role-based
policy (``c360.schema.searching.CallerSearchPolicy``) implements it too and is
passed to :meth:`SearchBackend.search <c360.search.contract.SearchBackend.search>`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from c360.search.contract import FACET_FIELDS, SearchError, SearchPolicy

__all__ = [
    "ALL_FIELDS",
    "CARD_FIELDS",
    "DEFAULT_POLICY",
    "OPEN_POLICY",
    "SEARCH_FIELDS",
    "FieldPolicy",
    "SearchForbiddenError",
    "SearchPolicy",
]

SEARCH_FIELDS: tuple[str, ...] = (
    "name",
    "phone",
    "email",
    "id_number",
    "company",
    "uscc",
    "member_no",
    "wechat_id",
    "region",
)
"""Fields free text is matched against (``name`` covers its pinyin and initials:
they are readings of the name)."""

CARD_FIELDS: tuple[str, ...] = (
    "kind",
    "name",
    "phone",
    "email",
    "company",
    "province",
    "city",
    "id_number",
    "uscc",
)
"""Display values a hit can carry."""

ALL_FIELDS = frozenset(SEARCH_FIELDS) | frozenset(FACET_FIELDS) | frozenset(CARD_FIELDS)


class SearchForbiddenError(SearchError, PermissionError):
    """The caller may not search or filter by ``field``."""

    def __init__(self, field: str, policy: str, detail: str = "") -> None:
        self.field = field
        self.policy = policy
        message = f"searching by {field} is not allowed for {policy}"
        super().__init__(f"{message}: {detail}" if detail else message)


@dataclass(frozen=True, slots=True)
class FieldPolicy:
    """A policy as two sets of field names."""

    name: str
    searchable: frozenset[str]
    visible: frozenset[str]

    @classmethod
    def allowing(
        cls, name: str, *, except_fields: Iterable[str] = (), hidden: Iterable[str] = ()
    ) -> FieldPolicy:
        """Everything but ``except_fields`` (neither searchable nor visible) and
        ``hidden`` (searchable, not visible)."""
        denied = frozenset(except_fields)
        return cls(
            name=name,
            searchable=ALL_FIELDS - denied,
            visible=ALL_FIELDS - denied - frozenset(hidden),
        )

    def may_search(self, field: str) -> bool:
        return field in self.searchable

    def may_see(self, field: str) -> bool:
        return field in self.visible


DEFAULT_POLICY = FieldPolicy.allowing("the default search policy", except_fields=["id_number"])
"""For callers that bring no policy of their own (tools, tests): everything but
id numbers."""

OPEN_POLICY = FieldPolicy.allowing("an unrestricted caller")
"""Everything, id numbers included (operators, tests)."""


def check_filters(policy: SearchPolicy, fields: Iterable[str]) -> None:
    """Refuse filtering or counting by a field the policy does not allow."""
    for field in fields:
        if not policy.may_search(field):
            raise SearchForbiddenError(field, policy.name, "it cannot be filtered or counted")
