"""The built-in ``credit`` connector: a third-party credit bureau, for lookup
enrichment of persons (by resident id number) and organizations (by unified
social credit code).

Modules, one concern each:

``config``     the source config: API, prices, daily budget, TTL, purposes, watchlist
``bureau``     the bureau's API: one lookup, its answer parsed, registrations as records
``connector``  the :class:`CreditConnector` (a sync refreshes the watchlist's registrations)
``enrich``     lookups for customers: legal basis, cache, budget, rate limit, storage

Its tables (legal bases, results, shareholders, the lookup ledger) are in
:mod:`c360.platform.connector_tables`.

Registered through the ``c360`` entry point ``credit = "c360.connectors.credit"``.

May import: ``c360.connectors`` (base, http, models) and ``c360.platform``.
"""

from __future__ import annotations

from typing import Any

from c360.connectors.credit.config import CreditConfig
from c360.connectors.credit.connector import CreditConnector
from c360.connectors.hookspecs import hookimpl

__all__ = ["CreditConfig", "CreditConnector"]


@hookimpl
def c360_register_connectors() -> list[type[Any]]:
    """The ``credit`` connector."""
    return [CreditConnector]


@hookimpl
def c360_source_trust(connector_name: str) -> int | None:
    """Registrations come from the official register through the bureau."""
    return 85 if connector_name == "credit" else None
