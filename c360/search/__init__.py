"""Customer search: the search contract, backends, analyzers and the indexer.

- :mod:`~c360.search.contract` — :class:`SearchBackend` and its types (what the
  GraphQL schema and the staff tools call);
- :mod:`~c360.search.query` — query understanding shared by the backends, with
  :mod:`~c360.search.name_clauses` (names, readings, company names) and
  :mod:`~c360.search.plan` (the plan they compile, and how a hit is explained);
- :mod:`~c360.search.blinding` — blind index terms and sealed stored parts when
  field encryption is on;
- :mod:`~c360.search.documents` — the customer search document, built in bulk;
- :mod:`~c360.search.fields` — the index fields and their analysis;
- :mod:`~c360.search.embedded` (tantivy) and :mod:`~c360.search.opensearch`;
- :mod:`~c360.search.indexer` — outbox draining, lag, ``reindex``;
- :mod:`~c360.search.policy` — the access-control hook;
- :mod:`~c360.search.settings` — ``C360_SEARCH_*`` settings and
  :func:`~c360.search.settings.open_backend`;
- :mod:`~c360.cli.search` — ``reindex``, ``indexer``, ``search``, ``status``.

May import: ``c360.platform``; ``cli`` alone also uses ``c360.auth.masking`` to
show results masked.
"""

from c360.search.contract import (
    FacetCount,
    FieldMatch,
    IndexStats,
    InvalidCursorError,
    MatchKind,
    SearchBackend,
    SearchError,
    SearchFilters,
    SearchHit,
    SearchPage,
    SearchUnavailableError,
    SortOrder,
)
from c360.search.policy import DEFAULT_POLICY, FieldPolicy, SearchForbiddenError, SearchPolicy

__all__ = [
    "DEFAULT_POLICY",
    "FacetCount",
    "FieldMatch",
    "FieldPolicy",
    "IndexStats",
    "InvalidCursorError",
    "MatchKind",
    "SearchBackend",
    "SearchError",
    "SearchFilters",
    "SearchForbiddenError",
    "SearchHit",
    "SearchPage",
    "SearchPolicy",
    "SearchUnavailableError",
    "SortOrder",
]
