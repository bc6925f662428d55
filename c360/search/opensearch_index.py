"""The OpenSearch side of the index, as declared: the index template (explicit
mappings, ``dynamic: strict``, the analyzers of :mod:`c360.search.fields`), a
customer document as OpenSearch keeps it (``_source``, its stored part sealed
when field encryption is on), and a query plan (:mod:`c360.search.plan`)
compiled to ``constant_score`` / ``dis_max`` / ``bool`` queries, so the two
backends rank alike. :mod:`c360.search.opensearch` is the backend that uses them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC
from typing import Any

import orjson

from c360.platform.field_encryption import enabled
from c360.search.blinding import blinded, index_terms, open_stored, seal_stored
from c360.search.contract import MAX_RESULT_WINDOW, SearchFilters
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


def opened_stored(stored: dict[str, Any] | None) -> dict[str, Any]:
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


__all__ = ["compile_query", "index_template", "opened_stored", "to_source"]
