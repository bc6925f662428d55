"""The ``offline`` connector: exports from stores, events and trade shows, as CSV,
XLSX, JSON Lines or JSON files.

Streams
    One per file spec, named ``stream`` or the file stem, of the spec's kind; plus
    ``<stream>_events`` when the spec has ``events``: each row with a value in at
    least one event column becomes an event (id ``<row's id>:event``) whose subject
    is the row's own record.

External ids
    The ``id_column``'s value, else that of a column that maps to ``id`` (编号,
    客户编号, ID...), else ``row-<n>`` with ``n`` the row's number in the file (the
    spreadsheet row; the CSV record; the JSON Lines line; the .json list position).
    For a spec whose path is a glob, row-number ids carry the file's name:
    ``<file>:row-<n>`` — always, not only once the glob matches two files, so ids do
    not change the day a second export appears. A row with an empty id cell falls
    back to its row number. Two rows with the same id in one file are both yielded,
    in file order: the platform's idempotent upsert stores the later one as an
    update of the first (an export listing a customer twice lists the later state
    last), so nothing is dropped here and the read count stays honest.

Bad rows
    A JSON line that does not parse, or is not an object, becomes a record with
    ``problems`` (``raw={"_line": ...}``, id ``line-<n>``) in the spec's own stream,
    so the platform quarantines it; the ``_events`` stream skips it (it is accounted
    for once). Rows decoded with replaced bytes, or holding a spreadsheet number
    that lost digits, are yielded with ``problems`` too.

Limits
    The :class:`~c360.platform.records.RecordLimits` in force (``C360_MAX_*``,
    ``C360_XLSX_*``) bound what is read before it is held in memory (see
    :mod:`.readers`): a record over the record limit becomes a problem record; a
    cell over the value limit, or past the column limit, is left out and named in
    the record's ``rejected``; an XLSX archive over the size, ratio or row limit
    fails ``check`` and the sync, naming the file and the limit.

Import roots
    Every file is read through its resolved path, checked to lie under an import
    root (:mod:`.roots`) when it is read, not only when the source was added.

State
    ``{"file", "row", "fingerprint", "done", "files"}``: the file being read, the last
    row covered, the file's sha256, the files finished in this pass and their
    fingerprints. ``read`` resumes after ``row`` if the file's fingerprint is
    unchanged, else re-reads that file from the top (files already finished in
    this pass are not re-read until the next pass). A pass ends with
    ``{"completed": true, "files": {path: fingerprint}}``; reading from that state
    starts a new full pass (the platform reports unchanged rows as ``unchanged``).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import Any, ClassVar

from c360.connectors.base import (
    CheckResult,
    Connector,
    Message,
    SourceConfigError,
    Stream,
    TransientSourceError,
)
from c360.connectors.offline.builder import RecordBuilder
from c360.connectors.offline.config import FileSpec, OfflineConfig
from c360.connectors.offline.files import SourceFile, detect_format, fingerprint, resolve
from c360.connectors.offline.mapping import ColumnMapping
from c360.connectors.offline.readers import open_rows
from c360.connectors.offline.rows import BadRow, Rows
from c360.platform.records import Checkpoint, RecordLimits
from c360.platform.settings import get_settings


class OfflineConnector(Connector[OfflineConfig]):
    """Reads customer, company and event exports from files."""

    name: ClassVar[str] = "offline"
    title: ClassVar[str] = "Offline exports (CSV, XLSX, JSON Lines): stores, events, trade shows"
    config_model = OfflineConfig

    @cached_property
    def limits(self) -> RecordLimits:
        """The limits in force (``C360_MAX_*``, ``C360_XLSX_*``)."""
        return get_settings().record_limits()

    def streams(self) -> list[Stream]:
        found: list[Stream] = []
        for spec in self.config.files:
            found.append(Stream(spec.stream_name, spec.kind, f"{spec.kind} rows of {spec.path}"))
            if spec.events is not None and spec.events_stream_name is not None:
                description = f"{spec.events.event_type} events in the rows of {spec.path}"
                found.append(Stream(spec.events_stream_name, "event", description))
        return found

    def check(self) -> CheckResult:
        """Every spec matches a file, and every file opens, decodes and has a header
        (and its ``id_column``). Fails with ``files[i]: <path>: <reason>``."""
        notes: list[str] = []
        for index, spec in enumerate(self.config.files):
            where = f"files[{index}]"
            try:
                files = resolve(spec, where)
            except Exception as exc:
                return CheckResult.failed(str(exc))
            mapping = ColumnMapping(spec)
            for source in files:
                try:
                    summary = _check_file(where, spec, mapping, source, self.limits)
                    notes.append(f"{source.path}: {summary}")
                except Exception as exc:
                    message = str(exc) or type(exc).__name__
                    if source.path not in message:
                        message = f"{source.path}: {message}"
                    if not message.startswith(where):
                        message = f"{where}: {message}"
                    return CheckResult.failed(message)
        return CheckResult.ok("; ".join(notes))

    def read(self, stream: str, state: dict[str, Any]) -> Iterator[Message]:
        index, spec, as_events = self._spec_of(stream)
        where = f"files[{index}]"
        files = resolve(spec, where)
        mapping = ColumnMapping(spec)
        resume_file, resume_row, resume_fingerprint, done, seen = _resume_point(state)
        todo = [f for f in files if f.path not in done]
        every = self.config.checkpoint_every
        if not todo:
            yield Checkpoint(stream, {"completed": True, "files": dict(seen)})
            return
        for position, source in enumerate(todo):
            try:
                current = fingerprint(source.real)
            except FileNotFoundError:
                raise SourceConfigError(f"{where}.path: file not found: {source.path}") from None
            resuming = source.path == resume_file and current == resume_fingerprint
            after = resume_row if resuming else 0
            last_row, pending = after, 0
            try:
                fmt = detect_format(source.real, spec.format, where)
                with open_rows(source.real, fmt, spec, mapping.knows, after, self.limits) as rows:
                    _require_id_column(where, mapping, source, rows)
                    build = RecordBuilder(spec, mapping, source, rows.headers)
                    for number, values, problems, rejected in rows.rows:
                        if isinstance(values, BadRow):
                            if not as_events:
                                yield build.problem(number, values)
                        elif as_events:
                            event = build.event(number, values, problems, rejected)
                            if event is not None:
                                yield event
                        else:
                            yield build.record(number, values, problems, rejected)
                        last_row = number
                        pending += 1
                        if pending >= every:
                            pending = 0
                            yield Checkpoint(
                                stream, _position(source.path, last_row, current, done, seen)
                            )
            except FileNotFoundError:
                raise SourceConfigError(f"{where}.path: file not found: {source.path}") from None
            except UnicodeDecodeError as exc:
                raise TransientSourceError(
                    f"{source.path} changed while being read: {exc}"
                ) from exc
            except PermissionError as exc:
                raise TransientSourceError(f"{source.path}: {exc.strerror}") from exc
            done.append(source.path)
            seen[source.path] = current
            if position == len(todo) - 1:
                yield Checkpoint(stream, {"completed": True, "files": dict(seen)})
            else:
                yield Checkpoint(stream, _position(source.path, last_row, current, done, seen))

    def _spec_of(self, stream: str) -> tuple[int, FileSpec, bool]:
        """The spec behind ``stream`` and whether it is the spec's events stream."""
        for index, spec in enumerate(self.config.files):
            if stream == spec.stream_name:
                return index, spec, False
            if stream == spec.events_stream_name:
                return index, spec, True
        known = ", ".join(s.name for s in self.streams())
        raise SourceConfigError(f"stream {stream!r} is not offered; streams: {known}")


def _position(
    path: str, row: int, fingerprint: str, done: list[str], seen: dict[str, str]
) -> dict[str, Any]:
    return {
        "file": path,
        "row": row,
        "fingerprint": fingerprint,
        "done": list(done),
        "files": dict(seen),
    }


Resume = tuple[str | None, int, str | None, list[str], dict[str, str]]


def _resume_point(state: dict[str, Any]) -> Resume:
    """(file, row, fingerprint, done, fingerprints of done) to resume from; a
    completed, empty or unrecognizable state starts a new pass."""
    if not state or state.get("completed"):
        return None, 0, None, [], {}
    file, row, print_, done = (state.get(k) for k in ("file", "row", "fingerprint", "done"))
    files = state.get("files") or {}
    if (
        not isinstance(file, str)
        or not isinstance(row, int)
        or not isinstance(print_, str)
        or not isinstance(done, list)
        or not isinstance(files, dict)
    ):
        return None, 0, None, [], {}
    return file, row, print_, [str(d) for d in done], {str(k): str(v) for k, v in files.items()}


def _require_id_column(where: str, mapping: ColumnMapping, source: SourceFile, rows: Rows) -> None:
    if rows.headers and not mapping.has_id_column(rows.headers):
        raise SourceConfigError(
            f"{where}.id_column: {source.path} has no column {mapping.id_column_label!r} "
            f"(header at row {rows.header_row}: {', '.join(rows.headers)})"
        )


def _check_file(
    where: str, spec: FileSpec, mapping: ColumnMapping, source: SourceFile, limits: RecordLimits
) -> str:
    fmt = detect_format(source.real, spec.format, where)
    with open_rows(source.real, fmt, spec, mapping.knows, limits=limits) as rows:
        _require_id_column(where, mapping, source, rows)
        first = next(rows.rows, None)
        if rows.headers is None:
            if first is None:
                return f"{fmt}, no records"
            if isinstance(first[1], BadRow):
                return f"{fmt}, first record malformed, will be quarantined: {first[1].reason}"
            return f"{fmt}, first record readable"
        if not rows.headers:
            return f"{fmt}, empty"
        plan = mapping.plan(tuple(rows.headers))
        mapped = [a for a, _ in (*plan.canonical, *plan.event)]
        if plan.id_header is not None:
            mapped.insert(0, f"id={plan.id_header}")
        notes = ", ".join(rows.notes)
        return f"{fmt}, {len(rows.headers)} columns, mapped: {', '.join(mapped) or 'none'}; {notes}"
