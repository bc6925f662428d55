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

Queries are the same plan as the embedded backend's (:mod:`c360.search.query`),
compiled to ``constant_score`` / ``dis_max`` / ``bool``: the two rank alike.
Paging uses ``search_after`` on (score, customer id).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
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

from c360.platform.field_encryption import enabled
from c360.search.blinding import blinded, index_terms, open_stored, seal_stored
from c360.search.contract import (
    FACET_SIZE,
    MAX_RESULT_WINDOW,
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
from c360.search.fields import (
    EDGE_MAX,
    FILTER_FIELDS,
    NGRAM_MAX,
    NGRAM_MIN,
    TEXT_FIELDS,
    Analysis,
    text_values,
)
from c360.search.plan import Clause, Op, QueryPlan, Term
from c360.search.planning import empty_page, plan_search

__all__ = ["OpenSearchSearch", "index_template"]

BULK_CHUNK = 500
FUZZY_MAX_EXPANSIONS = 1024


def index_template(alias: str) -> dict[str, Any]:
    """The index template for the concrete indices behind ``alias``."""
    text_mapping = {
        Analysis.KEYWORD: {"type": "keyword", "normalizer": "c360_lower"},
        Analysis.EDGE: {"analyzer": "c360_edge"},
        Analysis.NGRAM: {"analyzer": "c360_ngram"},
        Analysis.BIGRAM: {"analyzer": "c360_bigram"},
    }
    properties: dict[str, Any] = {
        "customer_id": {"type": "long"},
        "updated_at": {"type": "long"},
        "stored": {"type": "object", "enabled": False},
    }
    for spec in TEXT_FIELDS:
        mapping: dict[str, Any] = dict(text_mapping[spec.analysis])
        if "analyzer" in mapping:
            mapping.update(
                type="text",
                search_analyzer="c360_whole",
                index_options="docs",
                norms=False,
            )
        properties[spec.name] = mapping
    for spec in FILTER_FIELDS:
        properties[spec.name] = {"type": "keyword"}
    return {
        "index_patterns": [f"{alias}-*"],
        "priority": 100,
        "template": {
            "settings": {
                "index": {
                    "number_of_shards": 1,
                    "max_ngram_diff": NGRAM_MAX - NGRAM_MIN,
                    "max_result_window": MAX_RESULT_WINDOW + 1,
                },
                "analysis": {
                    "normalizer": {"c360_lower": {"type": "custom", "filter": ["lowercase"]}},
                    "tokenizer": {
                        "c360_edge": {"type": "edge_ngram", "min_gram": 1, "max_gram": EDGE_MAX},
                        "c360_ngram": {
                            "type": "ngram",
                            "min_gram": NGRAM_MIN,
                            "max_gram": NGRAM_MAX,
                        },
                        "c360_bigram": {"type": "ngram", "min_gram": 2, "max_gram": 2},
                    },
                    "analyzer": {
                        "c360_edge": {"tokenizer": "c360_edge", "filter": ["lowercase"]},
                        "c360_ngram": {"tokenizer": "c360_ngram", "filter": ["lowercase"]},
                        "c360_bigram": {"tokenizer": "c360_bigram", "filter": ["lowercase"]},
                        "c360_whole": {"tokenizer": "keyword", "filter": ["lowercase"]},
                    },
                },
            },
            "mappings": {"dynamic": "strict", "properties": properties},
        },
    }


def _stored(doc: CustomerDocument) -> dict[str, Any]:
    """What a hit is shown and explained from, sealed when field encryption is on."""
    plain = {"d": doc.explain_data(), "c": doc.card}
    if not enabled():
        return plain
    return {"sealed": seal_stored(orjson.dumps(plain)).decode("ascii")}


def _opened(stored: dict[str, Any] | None) -> dict[str, Any]:
    if not stored:
        return {"d": {}, "c": {}}
    if "sealed" in stored:
        return open_stored(stored["sealed"])
    return stored


def to_source(doc: CustomerDocument) -> dict[str, Any]:
    """The ``_source`` of a customer document."""
    updated = doc.updated_at
    if updated is not None and updated.tzinfo is None:
        updated = updated.replace(tzinfo=UTC)
    source: dict[str, Any] = {
        "customer_id": doc.customer_id,
        "updated_at": int(updated.timestamp() * 1000) if updated else 0,
        "stored": _stored(doc),
    }
    source.update(text_values(doc))
    for name, values in doc.facet_values().items():
        if values:
            source[name] = values
    return source


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


def _clause_query(clause: Clause) -> dict[str, Any]:
    field = clause.index_field
    if blinded(field):
        clause = replace(clause, values=tuple(index_terms(field, clause.values)))
    query: dict[str, Any]
    if clause.op is Op.TERM:
        if len(clause.values) == 1:
            query = {"term": {field: clause.values[0]}}
        else:
            query = {"terms": {field: list(clause.values)}}
    elif clause.op is Op.ALL:
        query = {"bool": {"filter": [{"term": {field: v}} for v in clause.values]}}
    elif clause.op is Op.OVERLAP:
        query = {
            "bool": {
                "should": [{"term": {field: v}} for v in clause.values],
                "minimum_should_match": clause.minimum,
            }
        }
    else:
        query = {
            "fuzzy": {
                field: {
                    "value": clause.values[0],
                    "fuzziness": clause.distance,
                    "transpositions": True,
                    "prefix_length": 0,
                    "max_expansions": FUZZY_MAX_EXPANSIONS,
                }
            }
        }
    return {"constant_score": {"filter": query, "boost": float(clause.weight)}}


def _term_query(term: Term) -> dict[str, Any]:
    alternatives = [_clause_query(c) for c in term.clauses]
    if term.parts:
        alternatives.append(
            {
                "bool": {
                    "must": [_term_query(p) for p in term.parts],
                    "boost": 1.0 / len(term.parts),
                }
            }
        )
    if len(alternatives) == 1:
        return alternatives[0]
    return {"dis_max": {"queries": alternatives, "tie_breaker": 0.0}}


def compile_query(plan: QueryPlan, filters: SearchFilters | None) -> dict[str, Any]:
    """The OpenSearch query of a plan and filters (filters score nothing)."""
    must = [_term_query(t) for t in plan.terms] or [{"match_all": {}}]
    filter_clauses: list[dict[str, Any]] = [
        {"terms": {name: list(values)}} for name, values in (filters.items() if filters else ())
    ]
    if filters and filters.regions:  # the row scope: province OR city
        regions = list(filters.regions)
        filter_clauses.append(
            {
                "bool": {
                    "should": [{"terms": {name: regions}} for name in ("province", "city")],
                    "minimum_should_match": 1,
                }
            }
        )
    return {"bool": {"must": must, "filter": filter_clauses}}


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
            stored = _opened(raw["_source"].get("stored"))
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
