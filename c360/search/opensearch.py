"""The OpenSearch backend, for deployments that outgrow one machine.

Everything is declared here, nothing by hand in the cluster:

- an **index template** (``<alias>-*``) with explicit mappings (``dynamic:
  strict``) and the analyzers of :mod:`c360.search.fields` — a lowercase keyword
  normalizer, ``edge_ngram`` for prefixes, ``ngram`` for substrings and 2-grams of
  company names; pinyin, initials and phone suffixes are computed in Python, so no
  plugin is needed;
- an **alias** (``C360_OPENSEARCH_INDEX``, default ``c360-customers``) that all
  reads and writes go through, pointing at one concrete index
  ``<alias>-<timestamp>``; ``c360 reindex`` fills a fresh index and moves the
  alias in one atomic ``_aliases`` call, so searches never stop;
- **bulk** writes through ``opensearchpy.helpers.streaming_bulk`` with retries and
  back-off on 429, the client retrying timeouts; a write returns after a refresh,
  so what it wrote is searchable.

The template, the documents and query compilation are
:mod:`c360.search.opensearch_index`'s: queries are the same plan as the embedded
backend's, so the two rank alike.
Paging uses ``search_after`` on (score, customer id).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import secrets
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import (
    ConnectionError as OpenSearchConnectionError,
)
from opensearchpy.exceptions import (
    NotFoundError,
    RequestError,
    TransportError,
)

from c360.search.contract import (
    FACET_SIZE,
    FacetCount,
    IndexStats,
    InvalidCursorError,
    Rebuild,
    SearchBackend,
    SearchError,
    SearchFilters,
    SearchHit,
    SearchPage,
    SearchPolicy,
    SearchUnavailableError,
    SortOrder,
)
from c360.search.documents import CustomerDocument
from c360.search.opensearch_index import compile_query, index_template, opened_stored, to_source
from c360.search.planning import empty_page, plan_search

__all__ = ["OpenSearchSearch", "index_template"]

BULK_CHUNK = 500


def _encode_cursor(sort_values: list[Any]) -> str:
    raw = orjson.dumps({"b": "opensearch", "s": sort_values})
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeEncodeError):
        data = None
    if (
        not isinstance(data, dict)
        or data.get("b") != "opensearch"
        or not isinstance(data.get("s"), list)
    ):
        raise InvalidCursorError(f"after: {cursor[:40]!r} is not a cursor of this search")
    return list(data["s"])


class OpenSearchSearch(SearchBackend):
    """Customer search in OpenSearch behind the alias ``alias``."""

    name = "opensearch"

    def __init__(
        self,
        url: str,
        alias: str = "c360-customers",
        *,
        client: OpenSearch | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.url = url
        self.alias = alias
        self.client = client or OpenSearch(
            hosts=[url],
            timeout=timeout,
            retry_on_timeout=True,
            max_retries=3,
            http_compress=True,
        )
        self._call(self._ensure)

    # ------------------------------------------------------------ plumbing

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except OpenSearchConnectionError as exc:
            raise SearchUnavailableError(f"OpenSearch at {self.url} unreachable: {exc}") from None

    def _ensure(self) -> None:
        """Install the template and, on first use, the first index behind the alias."""
        client = self.client
        client.indices.put_index_template(name=self.alias, body=index_template(self.alias))
        if client.indices.exists_alias(name=self.alias):
            return
        if client.indices.exists(index=self.alias):
            raise SearchError(
                f"{self.alias!r} is a concrete OpenSearch index, not an alias: delete it "
                "(it was probably created by writing to it before c360 set it up) and run "
                "c360 reindex"
            )
        name = self._new_index_name()
        try:
            client.indices.create(index=name)
        except RequestError as exc:  # another process won the race
            if "already_exists" not in str(exc):
                raise
        if not client.indices.exists_alias(name=self.alias):
            client.indices.update_aliases(
                body={
                    "actions": [
                        {"add": {"index": name, "alias": self.alias, "is_write_index": True}}
                    ]
                }
            )

    def _new_index_name(self) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dt%H%M%S")
        return f"{self.alias}-{stamp}-{secrets.token_hex(2)}"

    def _live_indices(self) -> list[str]:
        try:
            return sorted(self.client.indices.get_alias(name=self.alias))
        except NotFoundError:
            return []

    def _bulk(self, actions: list[dict[str, Any]], index: str) -> None:
        errors: list[str] = []
        for ok, item in helpers.streaming_bulk(
            self.client,
            actions,
            index=index,
            chunk_size=BULK_CHUNK,
            max_retries=5,
            initial_backoff=1,
            max_backoff=10,
            raise_on_error=False,
            raise_on_exception=True,
        ):
            if ok:
                continue
            op, result = next(iter(item.items()))
            if op == "delete" and result.get("status") == 404:
                continue  # deleting an absent customer is fine
            errors.append(f"{op} {result.get('_id')}: {result.get('error')}")
        if errors:
            raise SearchError(
                f"{len(errors)} search index writes failed, e.g. {'; '.join(errors[:3])}"
            )

    # ------------------------------------------------------------ writes

    def bulk(self, upserts: Sequence[CustomerDocument] = (), deletes: Iterable[int] = ()) -> None:
        actions: list[dict[str, Any]] = [
            {"_op_type": "delete", "_id": str(int(cid))} for cid in deletes
        ]
        actions += [
            {"_op_type": "index", "_id": str(doc.customer_id), "_source": to_source(doc)}
            for doc in upserts
        ]
        if not actions:
            return
        self._call(self._bulk, actions, self.alias)
        self._call(self.client.indices.refresh, index=self.alias)

    def begin_rebuild(self) -> Rebuild:
        return _OpenSearchRebuild(self)

    # ------------------------------------------------------------ search

    def search(
        self,
        query: str = "",
        filters: SearchFilters | None = None,
        *,
        sort: SortOrder = SortOrder.RELEVANCE,
        first: int = 20,
        after: str | None = None,
        facets: Sequence[str] = (),
        policy: SearchPolicy | None = None,
    ) -> SearchPage:
        started = time.perf_counter()
        plan, policy = plan_search(query, filters, first, facets, policy)
        if plan.matches_nothing:
            return empty_page(plan, facets, started)
        sort = SortOrder(sort)
        scored = sort is SortOrder.RELEVANCE and not plan.empty
        if scored:
            order: list[Any] = [{"_score": "desc"}, {"customer_id": "asc"}]
        elif sort is SortOrder.UPDATED:
            order = [{"updated_at": "desc"}, {"customer_id": "desc"}]
        else:
            order = [{"customer_id": "asc"}]
        body: dict[str, Any] = {
            "query": compile_query(plan, filters),
            "sort": order,
            "size": first + 1,
            "track_total_hits": True,
            "_source": ["customer_id", "stored"],
        }
        if after:
            body["search_after"] = _decode_cursor(after)
        if facets:
            body["aggs"] = {n: {"terms": {"field": n, "size": FACET_SIZE}} for n in facets}
        try:
            response = self._call(self.client.search, index=self.alias, body=body)
        except RequestError as exc:
            raise SearchError(f"OpenSearch refused the search: {exc.error}") from None
        except TransportError as exc:
            raise SearchUnavailableError(f"OpenSearch search failed: {exc}") from None
        raw_hits = response["hits"]["hits"]
        hits = []
        for raw in raw_hits[:first]:
            stored = opened_stored(raw["_source"].get("stored"))
            hits.append(
                SearchHit(
                    customer_id=int(raw["_source"]["customer_id"]),
                    score=float(raw.get("_score") or 0.0) if scored else 0.0,
                    matches=plan.explain(stored["d"]),
                    card={k: v for k, v in stored["c"].items() if policy.may_see(k)},
                )
            )
        next_cursor = None
        if len(raw_hits) > first and hits:
            next_cursor = _encode_cursor(raw_hits[first - 1]["sort"])
        aggs = response.get("aggregations") or {}
        facet_counts = {
            name: [
                FacetCount(str(b["key"]), int(b["doc_count"]))
                for b in aggs.get(name, {}).get("buckets", [])
            ]
            for name in facets
        }
        total = response["hits"]["total"]
        return SearchPage(
            hits=hits,
            total=int(total["value"] if isinstance(total, dict) else total),
            next_cursor=next_cursor,
            facets=facet_counts,
            notes=plan.notes,
            took_ms=(time.perf_counter() - started) * 1000,
        )

    # ------------------------------------------------------------ operations

    def stats(self) -> IndexStats:
        indices = self._call(self._live_indices)
        count = self._call(self.client.count, index=self.alias)["count"]
        stats = self._call(self.client.indices.stats, index=self.alias)
        primaries = stats.get("_all", {}).get("primaries", {})
        return IndexStats(
            backend=self.name,
            documents=int(count),
            index=",".join(indices),
            size_bytes=primaries.get("store", {}).get("size_in_bytes"),
            segments=primaries.get("segments", {}).get("count"),
            detail={"alias": self.alias, "url": self.url},
        )

    def health(self) -> dict[str, Any]:
        try:
            cluster = self.client.cluster.health()
            stats = self.stats()
        except Exception as exc:  # health reports, never raises
            return {"status": "error", "backend": self.name, "url": self.url, "error": str(exc)}
        return {
            "status": "ok" if cluster.get("status") in ("green", "yellow") else "error",
            "backend": self.name,
            "cluster": cluster.get("status"),
            "documents": stats.documents,
            "index": stats.index,
        }

    def close(self) -> None:
        self.client.close()


class _OpenSearchRebuild(Rebuild):
    """A fresh concrete index, filled without refreshes, then put behind the alias."""

    def __init__(self, backend: OpenSearchSearch) -> None:
        self.backend = backend
        self.index = backend._new_index_name()
        backend._call(
            backend.client.indices.create,
            index=self.index,
            body={"settings": {"index": {"refresh_interval": "-1"}}},
        )
        self.done = False

    def add(self, documents: Sequence[CustomerDocument]) -> None:
        if self.done:
            raise SearchError("this rebuild is finished")
        actions = [
            {"_op_type": "index", "_id": str(d.customer_id), "_source": to_source(d)}
            for d in documents
        ]
        if actions:
            self.backend._call(self.backend._bulk, actions, self.index)

    def swap(self) -> str:
        if self.done:
            raise SearchError("this rebuild is finished")
        backend, client = self.backend, self.backend.client
        backend._call(
            client.indices.put_settings,
            index=self.index,
            body={"index": {"refresh_interval": None}},
        )
        backend._call(client.indices.refresh, index=self.index)
        old = backend._call(backend._live_indices)
        actions: list[dict[str, Any]] = [
            {"add": {"index": self.index, "alias": backend.alias, "is_write_index": True}}
        ]
        actions += [{"remove": {"index": name, "alias": backend.alias}} for name in old]
        backend._call(client.indices.update_aliases, body={"actions": actions})
        for name in old:
            if name != self.index:
                with contextlib.suppress(NotFoundError):
                    backend._call(client.indices.delete, index=name)
        self.done = True
        return self.index

    def abandon(self) -> None:
        if self.done:
            return
        self.done = True
        with contextlib.suppress(NotFoundError, OpenSearchConnectionError):
            self.backend.client.indices.delete(index=self.index)
