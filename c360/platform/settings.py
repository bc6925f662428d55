"""Runtime settings, read from ``C360_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    batch_size: int = Field(default=1000, ge=1, le=100_000)

    def resolved_database_url(self) -> str:
        """The database URL in force: the configured one or the default SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'c360.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
