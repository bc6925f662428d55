"""Identity resolution beyond exact keys: the match model (settings, Fellegi–Sunter
scoring, unsupervised training), blocking keys kept in the database, the
incremental probabilistic resolver, human constraints, batch rebuild, explanation
and the relationship graph's edges (read back by :mod:`c360.platform.customers.relationships`).

May import: ``c360.platform`` (never the other subpackages).
"""

from c360.platform.matching.explain import (
    ComparisonWeight,
    Explanation,
    LinkExplanation,
    UnknownCustomerError,
    explain_customer,
    explain_pair,
)

__all__ = [
    "ComparisonWeight",
    "Explanation",
    "LinkExplanation",
    "UnknownCustomerError",
    "explain_customer",
    "explain_pair",
]
