"""Runtime settings, read from ``C360_*`` environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from c360.platform.records import RecordLimits


class Settings(BaseSettings):
    """Where c360 keeps its data and how it serves it.

    ``C360_DATABASE_URL`` unset means an SQLite file in the data directory.
    """

    model_config = SettingsConfigDict(env_prefix="C360_", extra="ignore")

    data_dir: Path = Field(
        default=Path("c360-data"), description="Directory for the database and index"
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; SQLite file if unset"
    )
    host: str = "127.0.0.1"
    port: int = 8360
    graphql_threads: int = Field(
        default=4,
        ge=1,
        le=256,
        description="threads each API process runs GraphQL operations on; an operation "
        "holds its thread while it waits for the database, so raise it for a database "
        "far away (bench/graphql.py at 100,000 customers, 2 workers: 2-4 served the "
        "most pages a second on 2 cores, 32 about 14% fewer)",
    )
    batch_size: int = Field(default=1000, ge=1, le=100_000)

    # --- input limits for records and files (docs/connectors.md#limits) ---
    # Defaults fit real exports with room to spare: the widest CRM/POS export we
    # have seen has ~150 columns; a free-text note or an address is far below
    # 64 KiB; 500 such values stay under 1 MiB; 1,000 attributes per profile is
    # two wide sources' worth of extras; an XLSX of a million rows is Excel's
    # own ceiling (1,048,576) and real sheets compress 5-20x, never 100x.
    max_record_columns: int = Field(
        default=500, ge=1, description="fields (columns) per record; more are rejected"
    )
    max_value_bytes: int = Field(
        default=64 * 1024, ge=64, description="UTF-8 bytes per value; a longer value is rejected"
    )
    max_record_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="UTF-8 bytes per record (all its values); past it values are rejected, "
        "and a file line longer than this quarantines its row",
    )
    max_profile_attributes: int = Field(
        default=1000, ge=50, description="attributes kept on one golden profile"
    )
    xlsx_max_uncompressed_bytes: int = Field(
        default=200 * 1024 * 1024, ge=1024, description="sum of an XLSX archive's member sizes"
    )
    xlsx_max_ratio: int = Field(
        default=100, ge=2, description="uncompressed/compressed size of any XLSX member"
    )
    xlsx_max_rows: int = Field(default=1_000_000, ge=1, description="rows of an XLSX sheet")

    # --- data quality ---
    quality_report_max_age_s: float = Field(
        default=300.0,
        ge=0,
        le=24 * 3600,
        description="how old the data-quality report GraphQL serves may be before it is "
        "computed again (0: every request; dataQuality(fresh: true) always recomputes)",
    )

    # --- value ---
    segment_evaluate_every_minutes: float = Field(
        default=60.0,
        ge=0,
        le=7 * 24 * 60,
        description="how often the indexer re-evaluates each segment once the index has "
        "changed (0: only when asked, by c360 segments refresh or evaluateSegment)",
    )

    # --- privacy ---
    retention_sweep_every_hours: float = Field(
        default=24.0,
        gt=0,
        le=24 * 366,
        description="how often the scheduler applies the retention rules (a sweep "
        "interrupted by a crash resumes at the next tick)",
    )

    # --- where offline sources may read files from ---
    import_roots: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="directories offline sources may read (os.pathsep-separated in "
        "C360_IMPORT_ROOTS), in addition to <data_dir>/imports",
    )

    @field_validator("import_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: Any) -> Any:
        if isinstance(value, str):  # C360_IMPORT_ROOTS=/srv/exports:/data/crm
            return [part for part in value.split(os.pathsep) if part.strip()]
        return value

    def record_limits(self) -> RecordLimits:
        """The per-record and per-file limits in force."""
        return RecordLimits(
            max_columns=self.max_record_columns,
            max_value_bytes=self.max_value_bytes,
            max_record_bytes=self.max_record_bytes,
            max_profile_attributes=self.max_profile_attributes,
            xlsx_max_uncompressed_bytes=self.xlsx_max_uncompressed_bytes,
            xlsx_max_ratio=self.xlsx_max_ratio,
            xlsx_max_rows=self.xlsx_max_rows,
        )

    def effective_import_roots(self) -> list[Path]:
        """``<data_dir>/imports`` and the configured roots, absolute."""
        return [Path(os.path.abspath(r)) for r in (self.data_dir / "imports", *self.import_roots)]

    def resolved_database_url(self) -> str:
        """The database URL in force: the configured one or the default SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'c360.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
