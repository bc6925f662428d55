"""Search settings, read from ``C360_*`` environment variables, and the backend
they choose.

=============================  ==========================================  ===================
variable                       meaning                                     default
=============================  ==========================================  ===================
``C360_SEARCH_BACKEND``        ``embedded`` (tantivy, in-process) or        ``embedded``
                               ``opensearch``
``C360_SEARCH_DIR``            where the embedded index lives              ``<data dir>/search``
``C360_OPENSEARCH_URL``        the OpenSearch cluster (credentials may be  ``http://127.0.0.1:9200``
                               in the URL)
``C360_OPENSEARCH_INDEX``      the alias searches and writes go through    ``c360-customers``
``C360_INDEXER_BATCH_SIZE``    outbox rows per indexer batch               ``500``
``C360_INDEXER_INTERVAL_S``    how often an idle indexer looks again       ``0.2``
=============================  ==========================================  ===================
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from c360.platform.settings import get_settings
from c360.search.contract import SearchBackend


class SearchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="C360_", extra="ignore")

    search_backend: Literal["embedded", "opensearch"] = "embedded"
    search_dir: Path | None = None
    opensearch_url: str = "http://127.0.0.1:9200"
    opensearch_index: str = Field(default="c360-customers", pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    indexer_batch_size: int = Field(default=500, ge=1, le=10_000)
    indexer_interval_s: float = Field(default=0.2, gt=0, le=60)

    def resolved_search_dir(self) -> Path:
        """The embedded index's directory: ``C360_SEARCH_DIR`` or ``<data dir>/search``."""
        return self.search_dir or get_settings().data_dir / "search"


def open_backend(settings: SearchSettings | None = None) -> SearchBackend:
    """The search backend the settings choose, opened (the caller closes it)."""
    settings = settings or SearchSettings()
    if settings.search_backend == "opensearch":
        from c360.search.opensearch import OpenSearchSearch

        return OpenSearchSearch(settings.opensearch_url, settings.opensearch_index)
    from c360.search.embedded import EmbeddedSearch

    return EmbeddedSearch(settings.resolved_search_dir())
