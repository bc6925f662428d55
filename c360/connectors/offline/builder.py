"""Turning the rows of one file into :class:`IncomingRecord` objects."""

from __future__ import annotations

from typing import Any

from c360.connectors.offline.config import FileSpec
from c360.connectors.offline.files import SourceFile
from c360.connectors.offline.mapping import ColumnMapping, Plan, passthrough, pick, text
from c360.connectors.offline.rows import BadRow
from c360.platform.records import IncomingRecord


class RecordBuilder:
    """Builds the records of one file of one spec, for its own stream or its
    ``_events`` stream."""

    def __init__(
        self,
        spec: FileSpec,
        mapping: ColumnMapping,
        source: SourceFile,
        headers: list[str] | None,
    ) -> None:
        self.spec = spec
        self.mapping = mapping
        self.stream = spec.stream_name
        self.events_stream = spec.events_stream_name
        self.kind = spec.kind
        self.prefix = f"{source.label}:" if source.label else ""
        self.verified = frozenset(spec.verified_columns)
        self.default_event_type = spec.event_type
        self.width = len(headers) if headers is not None else -1
        self.base = mapping.plan(tuple(headers)) if headers is not None else None

    def _plan(self, values: dict[str, Any]) -> Plan:
        if self.base is not None and len(values) <= self.width:
            return self.base
        return self.mapping.plan(tuple(values))

    def _external_id(self, number: int, values: dict[str, Any], plan: Plan) -> str:
        if plan.id_header is not None:
            value = values.get(plan.id_header)
            if value is not None:
                found = text(value)
                if found:
                    return found
        return f"{self.prefix}row-{number}"

    def problem(self, number: int, bad: BadRow) -> IncomingRecord:
        """The quarantine-bound record of a row that could not be parsed."""
        return IncomingRecord(
            stream=self.stream,
            external_id=f"{self.prefix}{bad.id_prefix}-{number}",
            kind=self.kind,
            fields={},
            raw={"_line": bad.text},
            problems={"record": bad.reason},
        )

    def record(
        self,
        number: int,
        values: dict[str, Any],
        problems: dict[str, str] | None,
        rejected: dict[str, str] | None = None,
    ) -> IncomingRecord:
        """The row as a record of the spec's own stream."""
        plan = self._plan(values)
        fields = pick(values, plan.canonical)
        if plan.passthrough:
            passthrough(values, plan, fields)
        if self.default_event_type is not None and "event_type" not in fields:
            fields["event_type"] = self.default_event_type
        return IncomingRecord(
            stream=self.stream,
            external_id=self._external_id(number, values, plan),
            kind=self.kind,
            fields=fields,
            raw=values,
            verified_fields=self.verified.intersection(fields) if self.verified else frozenset(),
            problems=problems or {},
            rejected=rejected or {},
        )

    def event(
        self,
        number: int,
        values: dict[str, Any],
        problems: dict[str, str] | None,
        rejected: dict[str, str] | None = None,
    ) -> IncomingRecord | None:
        """The row's event for the ``_events`` stream, or ``None`` when the row has
        no value in any event column."""
        plan = self._plan(values)
        fields = pick(values, plan.event)
        if not fields or self.spec.events is None or self.events_stream is None:
            return None
        subject = self._external_id(number, values, plan)
        fields.setdefault("event_type", self.spec.events.event_type)
        fields["subject_external_id"] = subject
        fields["subject_stream"] = self.stream
        return IncomingRecord(
            stream=self.events_stream,
            external_id=f"{subject}:event",
            kind="event",
            fields=fields,
            raw=values,
            problems=problems or {},
            rejected=rejected or {},
        )
