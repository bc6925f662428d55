"""The connector plugin contract (pluggy hookspecs), the runner that syncs a
source into the platform, the scheduler, and the built-in connectors — which
are plugins registered through the same hooks as anyone's.

This package's namespace is the whole plugin API, so a plugin imports from one
place::

    from c360.connectors import Checkpoint, Connector, IncomingRecord, Stream, hookimpl

(the contract-test kit is :mod:`c360.connectors.testing`).

May import: ``c360.platform``.
"""

from c360.connectors.base import (
    CheckResult,
    Connector,
    Message,
    SourceConfigError,
    Stream,
    TransientSourceError,
)
from c360.connectors.hookspecs import DueRun, hookimpl
from c360.platform.db import DatabaseUnavailable, open_database
from c360.platform.models import Source
from c360.platform.records import Checkpoint, IncomingRecord, RecordKind
from c360.platform.sources import get_source, list_sources
from c360.platform.sync_runs import record_run

__all__ = [
    "CheckResult",
    "Checkpoint",
    "Connector",
    "DatabaseUnavailable",
    "DueRun",
    "IncomingRecord",
    "Message",
    "RecordKind",
    "Source",
    "SourceConfigError",
    "Stream",
    "TransientSourceError",
    "get_source",
    "hookimpl",
    "list_sources",
    "open_database",
    "record_run",
]
