"""SQLAlchemy Core handles on the SQLModel tables, for the bulk paths (ingest,
resolution, golden profiles) where building ORM objects row by row is too slow."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from c360.platform import models


def table_of(model: type) -> Table:
    """The Core ``Table`` behind a SQLModel table class."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


source = table_of(models.Source)
connector_state = table_of(models.ConnectorState)
source_record = table_of(models.SourceRecord)
customer = table_of(models.Customer)
record_link = table_of(models.RecordLink)
identity_key = table_of(models.IdentityKey)
golden_profile = table_of(models.GoldenProfile)
event = table_of(models.Event)
outbox = table_of(models.Outbox)
resolution_backlog = table_of(models.ResolutionBacklog)
audit_log = table_of(models.AuditLog)
sync_run = table_of(models.SyncRun)
