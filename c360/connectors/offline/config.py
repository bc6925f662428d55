"""Configuration of the ``offline`` file connector: which files, what they hold,
and how their columns map onto canonical attributes."""

from __future__ import annotations

import codecs
import glob
import re
from pathlib import PurePath
from typing import Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from c360.connectors.offline.roots import confine_pattern
from c360.platform.records import ATTRIBUTES_BY_KIND, EVENT_ATTRIBUTES

FileFormat = Literal["auto", "csv", "xlsx", "jsonl", "json"]

ID = "id"
"""The pseudo-attribute a column maps to when it holds the source system's record id."""

EVENT_COLUMN_ATTRIBUTES: tuple[str, ...] = tuple(
    a for a in EVENT_ATTRIBUTES if a not in {"subject_external_id", "subject_stream"}
)
"""What an event column of a person/organization file may map to (the subject is
the row's own record, so it is never a column)."""

EVENTS_SUFFIX = "_events"


def _mapping_targets(kind: str) -> tuple[str, ...]:
    return (*ATTRIBUTES_BY_KIND[kind], ID)


class EventColumns(BaseModel):
    """Each row of a person file may also be an interaction (a purchase, a visit):
    this says which event it is and which columns carry it. The event joins the
    timeline of the customer the row's person record resolves to."""

    event_type: str = Field(description="signup | order | message | feedback | visit | ...")
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="source header -> event attribute "
        "(occurred_at, amount, currency, channel, text)",
    )

    @field_validator("event_type")
    @classmethod
    def _event_type_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name the event type, e.g. order or visit")
        return value.strip()

    @field_validator("columns")
    @classmethod
    def _columns_are_event_attributes(cls, value: dict[str, str]) -> dict[str, str]:
        for header, target in value.items():
            if target not in EVENT_COLUMN_ATTRIBUTES:
                raise ValueError(
                    f"column {header!r} maps to {target!r}, which is not an event attribute; "
                    f"expected one of {', '.join(EVENT_COLUMN_ATTRIBUTES)}"
                )
        return value


class FileSpec(BaseModel):
    """One export file (or a glob of files with the same layout)."""

    path: str = Field(
        description="file path or glob, relative to the working directory; it must lie "
        "under an import root (<data_dir>/imports or C360_IMPORT_ROOTS)"
    )
    stream: str | None = Field(default=None, description="stream name; defaults to the file stem")
    kind: Literal["person", "organization", "event"] = "person"
    format: FileFormat = "auto"
    encoding: str | None = Field(default=None, description="e.g. gbk; detected when unset")
    sheet: str | None = Field(default=None, description="XLSX sheet; the first when unset")
    id_column: str | None = Field(
        default=None,
        description="header of the column holding the record's id in the source system; "
        "when unset a column that maps to 'id' is used, else the row number",
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="source header -> canonical attribute; merged over the built-in "
        "mapping (姓名->name, 手机->phone, 身份证号->id_number, 公司->company, ...)",
    )
    verified_columns: list[str] = Field(
        default_factory=list, description="canonical attributes this source vouches for"
    )
    events: EventColumns | None = None
    # --- additions (all optional, so existing configs keep working) ---
    delimiter: str | None = Field(
        default=None,
        description="CSV field separator; sniffed among , ; tab | when unset",
    )
    header_row: int | None = Field(
        default=None,
        ge=1,
        description="1-based row number of the header (CSV/XLSX); when unset the first "
        "row of the first ten with at least two known headers",
    )
    records_key: str | None = Field(
        default=None,
        description="for a .json file holding an object: the key of the list of records; "
        "when unset the one key whose value is a list",
    )
    event_type: str | None = Field(
        default=None,
        description="for kind=event files: the event type of rows without an event-type column",
    )

    @field_validator("path")
    @classmethod
    def _path_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a file")
        confine_pattern(value)  # checked again, file by file, when it is read
        return value

    @field_validator("stream")
    @classmethod
    def _stream_is_a_name(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank (leave it out to use the file stem)")
        return None if value is None else value.strip()

    @field_validator("encoding")
    @classmethod
    def _encoding_known(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return codecs.lookup(value.strip()).name
        except LookupError:
            raise ValueError(f"unknown encoding {value!r} (try utf-8, gbk or gb18030)") from None

    @field_validator("columns")
    @classmethod
    def _columns_are_attributes(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        kind = info.data.get("kind", "person")
        targets = _mapping_targets(kind)
        for header, target in value.items():
            if not header.strip():
                raise ValueError("a column header must not be blank")
            if target not in targets:
                raise ValueError(
                    f"column {header!r} maps to {target!r}, which is not a {kind} attribute; "
                    f"expected one of {', '.join(targets)}"
                )
        return value

    @field_validator("verified_columns")
    @classmethod
    def _verified_are_attributes(cls, value: list[str], info: ValidationInfo) -> list[str]:
        kind = info.data.get("kind", "person")
        for attribute in value:
            if attribute not in ATTRIBUTES_BY_KIND[kind]:
                raise ValueError(
                    f"{attribute!r} is not a {kind} attribute; "
                    f"expected some of {', '.join(ATTRIBUTES_BY_KIND[kind])}"
                )
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is not None and (len(value) != 1 or value in '"\r\n'):
            raise ValueError("must be one character other than a quote or a line break")
        return value

    @model_validator(mode="after")
    def _events_only_on_subject_files(self) -> FileSpec:
        if self.events is not None and self.kind == "event":
            raise ValueError(
                "events: a kind=event file is already a stream of events; "
                "use event_type and columns instead"
            )
        if self.event_type is not None and self.kind != "event":
            raise ValueError("event_type: only applies to kind=event files (else use events)")
        return self

    @property
    def stream_name(self) -> str:
        """The stream this spec's records go to: ``stream``, else the file stem
        (for a glob, the stem with its wildcards removed)."""
        if self.stream:
            return self.stream
        pure = PurePath(self.path)
        stem = pure.stem
        if glob.has_magic(self.path):
            stem = re.sub(r"\[[^\]]*\]|[*?]", "", stem).strip("_-. ")
            if not stem:
                parent = re.sub(r"\[[^\]]*\]|[*?]", "", pure.parent.name).strip("_-. ")
                stem = parent or "files"
        return stem

    @property
    def events_stream_name(self) -> str | None:
        """The second stream of a spec with ``events``: ``<stream>_events``."""
        return self.stream_name + EVENTS_SUFFIX if self.events is not None else None


class OfflineConfig(BaseModel):
    """Config of an ``offline`` source: one or more export files."""

    files: list[FileSpec] = Field(min_length=1)
    checkpoint_every: int = Field(default=1000, ge=1, description="rows between checkpoints")

    @model_validator(mode="after")
    def _stream_names_unique(self) -> OfflineConfig:
        seen: dict[str, int] = {}
        for i, spec in enumerate(self.files):
            for name in (spec.stream_name, spec.events_stream_name):
                if name is None:
                    continue
                if name in seen:
                    raise ValueError(
                        f"files[{i}].stream: stream {name!r} is already used by "
                        f"files[{seen[name]}]; give each file its own stream name"
                    )
                seen[name] = i
        return self
