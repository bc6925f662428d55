"""Pulling one stream from a JSON API: records out of pages, an ``updated_at``
cursor for incremental syncs, and checkpoints after every page.

The paged reads of :class:`~c360.connectors.http.api_connector.ApiConnector`
(``web`` and ``social``, and any connector over a paged JSON listing).

State of a stream::

    {"cursor": "2025-03-14T10:00:00+08:00"}                       # between passes
    {"cursor": "...", "pass": {"since": "...", "page": {...},     # inside a pass
                               "max_seen": "..."}}

A pass asks for records updated at or after ``since`` (the previous pass's
``cursor``) and checkpoints after every page with the token of the next page;
a sync interrupted mid-pass resumes at that page. When the pass ends, ``cursor``
becomes the latest ``updated_at`` it saw — never earlier than before, whatever
order the API answers in: a record older than the cursor (a cursor that went
backwards) is still read, but does not move the cursor back. Since ``since`` is
inclusive, the records at exactly the cursor are read again by the next pass;
the platform counts them ``unchanged``.

May import: :mod:`c360.connectors.http` (client, pagination), the built-in header
table of ``c360.connectors.offline`` (``headers``, and the id marker of ``config``)
and ``c360.platform``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from c360.connectors.base import Message
from c360.connectors.http.client import BODY_KEEP, ApiClient
from c360.connectors.http.pagination import Page, Pagination, get_path, page_key, pages
from c360.connectors.offline.config import ID
from c360.connectors.offline.headers import BUILTIN_HEADERS, fold
from c360.platform.normalize import normalize_datetime
from c360.platform.records import ATTRIBUTES_BY_KIND, Checkpoint, IncomingRecord, RecordKind


class StreamSpec(BaseModel):
    """One stream of a JSON API: where to pull it (``path``) and how an item
    becomes a record. A stream without ``path`` is fed by webhooks only."""

    name: str = Field(min_length=1, max_length=128)
    kind: Literal["person", "organization", "event"] = "person"
    path: str | None = Field(default=None, description="listing path, e.g. /api/customers")
    pagination: Pagination = Field(default_factory=Pagination)
    params: dict[str, str] = Field(default_factory=dict, description="extra query parameters")
    id_field: str = Field(default="id", description="dotted path of the record's id")
    updated_field: str | None = Field(
        default="updated_at", description="dotted path of the last-change time (the cursor)"
    )
    updated_since_param: str | None = Field(
        default="updated_since",
        description="query parameter that asks for records changed at or after the cursor; "
        "unset: every pass reads everything",
    )
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="dotted source path -> canonical attribute; merged over the built-in "
        "mapping of top-level keys (name, mobile, email, 手机, 姓名...)",
    )
    auto_map: bool = Field(
        default=True, description="map top-level keys with the built-in header table"
    )
    verified_fields: list[str] = Field(default_factory=list)
    event_type: str | None = Field(
        default=None, description="kind=event: the type of items that do not say"
    )
    subject_field: str | None = Field(
        default=None, description="kind=event: dotted path of the subject's id in this source"
    )
    subject_stream: str | None = Field(
        default=None, description="kind=event: the stream the subject's record is in"
    )

    @field_validator("fields")
    @classmethod
    def _targets_are_attributes(cls, value: dict[str, str], info: Any) -> dict[str, str]:
        kind = info.data.get("kind", "person")
        allowed = set(ATTRIBUTES_BY_KIND[kind])
        for path, target in value.items():
            if target not in allowed:
                raise ValueError(
                    f"{path!r} maps to {target!r}, which is not a {kind} attribute; "
                    f"expected one of {', '.join(ATTRIBUTES_BY_KIND[kind])}"
                )
        return value

    @model_validator(mode="after")
    def _event_settings_only_on_events(self) -> StreamSpec:
        if self.kind != "event" and (self.subject_field or self.event_type):
            raise ValueError("subject_field and event_type only apply to kind=event streams")
        return self


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def _scalar_text(value: Any) -> Any:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class RecordMapper:
    """Turns the JSON items of one stream into :class:`IncomingRecord` objects."""

    def __init__(self, spec: StreamSpec) -> None:
        self.spec = spec
        self.kind: RecordKind = spec.kind
        allowed = set(ATTRIBUTES_BY_KIND[spec.kind])
        builtin = BUILTIN_HEADERS[spec.kind] if spec.auto_map else {}
        self._builtin = {k: a for k, a in builtin.items() if a in allowed or a == ID}
        self._explicit = dict(spec.fields)
        self._verified = frozenset(spec.verified_fields)
        self._targets: dict[str, str | None] = {}  # key -> built-in target, folded once

    def _target(self, key: str) -> str | None:
        try:
            return self._targets[key]
        except KeyError:
            target = self._builtin.get(fold(key))
            if len(self._targets) < 4096:  # an API's items share a few keys
                self._targets[key] = target
            return target

    def problem(self, external_id: str, raw: dict[str, Any], reasons: dict[str, str]) -> Any:
        """A record the platform will quarantine, keeping what was received."""
        return IncomingRecord(
            stream=self.spec.name,
            external_id=external_id[:256],
            kind=self.kind,
            fields={},
            raw=raw,
            problems=reasons,
        )

    def record(self, item: Any) -> IncomingRecord:
        """The record of one item; an item that cannot be one comes back with
        ``problems`` (so it is quarantined, never dropped)."""
        spec = self.spec
        if not isinstance(item, dict):
            shown = json.dumps(item, ensure_ascii=False, default=str)[:BODY_KEEP]
            return self.problem(
                f"_item:{_digest(item)}",
                {"_item": shown},
                {"record": f"expected a JSON object, got {type(item).__name__}"},
            )
        external = get_path(item, spec.id_field)
        if external in (None, "") or isinstance(external, dict | list | bool):
            return self.problem(
                f"_no-id:{_digest(item)}",
                item,
                {"id": f"missing: the item has no usable {spec.id_field!r}"},
            )
        fields: dict[str, Any] = {}
        for key, value in item.items():  # built-in names of top-level keys
            target = self._target(key) if isinstance(key, str) else None
            if (
                target is not None
                and target != ID
                and target not in fields
                and value not in (None, "")
                and not isinstance(value, dict | list)
            ):
                fields[target] = value
        for path, target in self._explicit.items():  # explicit mappings win
            value = get_path(item, path)
            if value is not None:
                fields[target] = _scalar_text(value)
        if self.kind == "event":
            if spec.event_type and "event_type" not in fields:
                fields["event_type"] = spec.event_type
            if spec.subject_field:
                subject = get_path(item, spec.subject_field)
                if subject not in (None, ""):
                    fields["subject_external_id"] = str(subject)
                    if spec.subject_stream:
                        fields["subject_stream"] = spec.subject_stream
        observed = get_path(item, spec.updated_field) if spec.updated_field else None
        return IncomingRecord(
            stream=spec.name,
            external_id=str(external)[:256],
            kind=self.kind,
            fields=fields,
            raw=item,
            verified_fields=self._verified & fields.keys(),
            observed_at=str(observed) if isinstance(observed, str | int | float) else None,
        )


def moment(value: Any) -> datetime | None:
    """An ``updated_at`` value as a comparable moment (``None`` if it is not one)."""
    if value in (None, "") or isinstance(value, bool | dict | list):
        return None
    if isinstance(value, str):  # fast path: ISO 8601 with an offset, as APIs send it
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    try:
        return normalize_datetime(value)
    except (ValueError, TypeError):
        return None


def later(a: str | None, b: str | None) -> str | None:
    """The later of two cursor values (by time, keeping the source's spelling)."""
    ma, mb = moment(a), moment(b)
    if mb is None:
        return a
    if ma is None or mb > ma:
        return b
    return a


Refine = Callable[[IncomingRecord, dict[str, Any]], IncomingRecord]
"""A connector's own last touch on a mapped record (given the item it came from)."""


def read_pull_stream(
    client: ApiClient, spec: StreamSpec, state: dict[str, Any], refine: Refine | None = None
) -> Iterator[Message]:
    """The records of ``spec`` after ``state``, with a checkpoint after every page.
    ``refine`` is applied to every record mapped without problems."""
    assert spec.path is not None
    mapper = RecordMapper(spec)
    cursor = state.get("cursor") if isinstance(state.get("cursor"), str) else None
    in_pass = state.get("pass") if isinstance(state.get("pass"), dict) else None
    since = cursor
    token: dict[str, Any] | None = None
    max_seen = cursor
    if in_pass is not None:
        since = in_pass.get("since") if isinstance(in_pass.get("since"), str) else cursor
        token = in_pass.get("page") if isinstance(in_pass.get("page"), dict) else None
        max_seen = later(cursor, in_pass.get("max_seen"))
    max_moment = moment(max_seen)
    params: dict[str, Any] = dict(spec.params)
    if since and spec.updated_since_param:
        params[spec.updated_since_param] = since
    page: Page
    for page in pages(client, spec.path, spec.pagination, params, token):
        if page.fetched.unreadable is not None:
            # Quarantined with the body; the state stays before this page, so the
            # next sync asks for it again.
            key = page_key(spec.path, params, page.token)
            yield mapper.problem(
                f"_page:{key}",
                {
                    "_url": page.fetched.url,
                    "_page": page.token,
                    "_body": page.fetched.text[:BODY_KEEP],
                },
                {
                    "record": f"{page.fetched.url}: unreadable page after "
                    f"{page.fetched.attempts} attempts: {page.fetched.unreadable}"
                },
            )
            return
        for item in page.items:
            record = mapper.record(item)
            if refine is not None and not record.problems:
                record = refine(record, item)
            yield record
            if spec.updated_field and not record.problems:
                value = get_path(item, spec.updated_field)
                if isinstance(value, str | int | float):  # as later(), parsing each value once
                    seen = moment(str(value))
                    if seen is not None and (max_moment is None or seen > max_moment):
                        max_seen, max_moment = str(value), seen
        if page.next_token is not None:
            yield Checkpoint(
                spec.name,
                {
                    "cursor": cursor,
                    "pass": {"since": since, "page": page.next_token, "max_seen": max_seen},
                },
            )
    yield Checkpoint(spec.name, {"cursor": max_seen} if max_seen else {})
