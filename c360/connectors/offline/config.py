"""Configuration of the ``offline`` file connector: which files, what they hold,
and how their columns map onto canonical attributes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

FileFormat = Literal["auto", "csv", "xlsx", "jsonl", "json"]


class EventColumns(BaseModel):
    """Each row of a person file may also be an interaction (a purchase, a visit):
    this says which event it is and which columns carry it. The event joins the
    timeline of the customer the row's person record resolves to."""

    event_type: str = Field(description="signup | order | message | feedback | visit | ...")
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="source header -> event attribute (occurred_at, amount, currency, channel, text)",
    )


class FileSpec(BaseModel):
    """One export file (or a glob of files with the same layout)."""

    path: str = Field(description="file path or glob, relative to the working directory")
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

    @field_validator("path")
    @classmethod
    def _path_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a file")
        return value


class OfflineConfig(BaseModel):
    """Config of an ``offline`` source: one or more export files."""

    files: list[FileSpec] = Field(min_length=1)
    checkpoint_every: int = Field(default=1000, ge=1, description="rows between checkpoints")
