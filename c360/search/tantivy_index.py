"""The tantivy side of the embedded backend: the index schema and analyzers
(those of :mod:`c360.search.fields`, registered in code on every open, since
tantivy stores only their names), a customer document as tantivy indexes it, and
a query plan (:mod:`c360.search.plan`) compiled into a tantivy query.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import tantivy
from tantivy import Document, Filter, Occur, Query, TextAnalyzerBuilder, Tokenizer

from c360.search.blinding import blinded, index_terms, seal_stored
from c360.search.contract import SearchFilters
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

_TOKENIZERS = {
    Analysis.KEYWORD: "c360_keyword",
    Analysis.EDGE: "c360_edge",
    Analysis.NGRAM: "c360_ngram",
    Analysis.BIGRAM: "c360_bigram",
    Analysis.RAW: "raw",
}


def analyzers() -> dict[str, tantivy.TextAnalyzer]:
    def lower(tokenizer: tantivy.Tokenizer) -> tantivy.TextAnalyzer:
        return TextAnalyzerBuilder(tokenizer).filter(Filter.lowercase()).build()

    return {
        "c360_keyword": lower(Tokenizer.raw()),
        "c360_edge": lower(Tokenizer.ngram(1, EDGE_MAX, prefix_only=True)),
        "c360_ngram": lower(Tokenizer.ngram(NGRAM_MIN, NGRAM_MAX)),
        "c360_bigram": lower(Tokenizer.ngram(2, 2)),
    }


def index_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("customer_id", stored=True, indexed=True, fast=True)
    builder.add_integer_field("updated_at", indexed=False, fast=True)
    for spec in TEXT_FIELDS:
        builder.add_text_field(
            spec.name, tokenizer_name=_TOKENIZERS[spec.analysis], index_option="basic"
        )
    for spec in FILTER_FIELDS:
        builder.add_text_field(spec.name, tokenizer_name="raw", fast=True, index_option="basic")
    builder.add_bytes_field("stored", stored=True, indexed=False)
    return builder.build()


def open_index(path: Path, schema: tantivy.Schema | None = None) -> tantivy.Index:
    """Open (or, with ``schema``, create) an index and register our analyzers on it."""
    index = (
        tantivy.Index(schema, path=str(path))
        if schema is not None
        else tantivy.Index.open(str(path))
    )
    for name, analyzer in analyzers().items():
        index.register_tokenizer(name, analyzer)
    index.config_reader(reload_policy="manual")
    return index


def epoch_ms(value: datetime | None) -> int:
    if value is None:
        return 0
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def to_tantivy(doc: CustomerDocument) -> Document:
    """The tantivy document of a customer document."""
    fields: dict[str, Any] = text_values(doc)
    fields["customer_id"] = doc.customer_id
    fields["updated_at"] = epoch_ms(doc.updated_at)
    for name, values in doc.facet_values().items():
        if values:
            fields[name] = values
    fields["stored"] = [stored_bytes(doc)]
    return Document(**fields)  # one call: each add_* would cross into Rust again


def stored_bytes(doc: CustomerDocument) -> bytes:
    """What a hit is explained and shown from: the searchable lists and the card
    (sealed when field encryption is on)."""
    return seal_stored(orjson.dumps({"d": doc.explain_data(), "c": doc.card}))


def _clause_query(schema: tantivy.Schema, clause: Clause) -> Query:
    field = clause.index_field
    if blinded(field):
        clause = replace(clause, values=tuple(index_terms(field, clause.values)))
    if clause.op is Op.TERM:
        if len(clause.values) == 1:
            query = Query.term_query(schema, field, clause.values[0])
        else:  # a few terms: a disjunction is cheaper than a term set
            query = Query.boolean_query(
                [(Occur.Should, Query.term_query(schema, field, v)) for v in clause.values]
            )
    elif clause.op is Op.ALL:
        if len(clause.values) == 1:
            query = Query.term_query(schema, field, clause.values[0])
        else:
            query = Query.boolean_query(
                [(Occur.Must, Query.term_query(schema, field, v)) for v in clause.values]
            )
    elif clause.op is Op.OVERLAP:
        query = Query.boolean_query(
            [(Occur.Should, Query.term_query(schema, field, v)) for v in clause.values],
            minimum_number_should_match=clause.minimum,
        )
    else:
        query = Query.fuzzy_term_query(
            schema,
            field,
            clause.values[0],
            distance=clause.distance,
            transposition_cost_one=True,
        )
    return Query.const_score_query(query, float(clause.weight))


def _term_query(schema: tantivy.Schema, term: Term) -> Query:
    alternatives = [_clause_query(schema, c) for c in term.clauses]
    if term.parts:
        parts = Query.boolean_query([(Occur.Must, _term_query(schema, p)) for p in term.parts])
        alternatives.append(Query.boost_query(parts, 1.0 / len(term.parts)))
    if len(alternatives) == 1:
        return alternatives[0]
    return Query.disjunction_max_query(alternatives)


def compile_query(schema: tantivy.Schema, plan: QueryPlan, filters: SearchFilters | None) -> Query:
    """The tantivy query of a plan and filters (filters score nothing)."""
    must: list[tuple[Occur, Query]] = [(Occur.Must, _term_query(schema, t)) for t in plan.terms]
    for name, values in filters.items() if filters else ():
        query = Query.term_set_query(schema, name, list(values))
        must.append((Occur.Must, Query.const_score_query(query, 0.0)))
    if filters and filters.regions:  # the row scope: province OR city
        regions = list(filters.regions)
        query = Query.boolean_query(
            [
                (Occur.Should, Query.term_set_query(schema, name, regions))
                for name in ("province", "city")
            ]
        )
        must.append((Occur.Must, Query.const_score_query(query, 0.0)))
    if not must:
        return Query.const_score_query(Query.all_query(), 0.0)
    if len(must) == 1 and plan.terms:
        return must[0][1]
    return Query.boolean_query(must)


__all__ = [
    "analyzers",
    "compile_query",
    "epoch_ms",
    "index_schema",
    "open_index",
    "stored_bytes",
    "to_tantivy",
]
