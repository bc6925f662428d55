"""The GraphQL schema (strawberry): types, queries, mutations, dataloaders and
limits.

May import: ``c360.auth``, ``c360.search``, ``c360.platform``.

:func:`build_schema` makes the executable schema with its limits; ``schema`` is
one with the default limits. ``RequestContext`` is what the ASGI app puts in each
request's context: the engine, the caller, the dataloaders, and the record of
what the request read for the audit log.
"""

from __future__ import annotations

import hashlib
import logging
import traceback
from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from c360.schema import case_mutations, mutations, queries, risk, ui_support
from c360.schema import cases as cases_schema
from c360.schema import privacy as privacy_schema
from c360.schema import quality as quality_schema
from c360.schema import value as value_schema
from c360.schema import verification as verification_schema
from c360.schema.context import RequestContext, Subject
from c360.schema.errors import CLIENT_ERRORS
from c360.schema.execution import call_resolvers_directly, schema_config
from c360.schema.limits import (
    Limits,
    QueryTooComplex,
    ResponseTooLarge,
    count_list_items,
    limit_extensions,
)
from c360.schema.subscriptions import Subscription
from c360.schema.types import Customer

log = logging.getLogger(__name__)


def is_client_error(error: GraphQLError) -> bool:
    """Whether ``error`` is the client's doing (bad input, a refusal, a query
    that does not fit the schema or the limits) rather than a server fault."""
    original = error.original_error
    if original is None:
        return True  # syntax and validation errors carry no original error
    if type(original) is GraphQLError and original.original_error is None:
        return True  # graphql-core's own refusal of an argument (first: null for an Int!)
    return isinstance(original, (*CLIENT_ERRORS, QueryTooComplex, ResponseTooLarge))


def query_digest(query: str | None) -> str:
    """A short digest naming a query text in logs (the text itself may hold a
    phone or an e-mail in a literal argument, so it is never logged)."""
    return "sha256:" + hashlib.sha256((query or "").encode("utf-8", "replace")).hexdigest()[:16]


def log_server_error(error: GraphQLError, execution_context: ExecutionContext | None) -> None:
    """Log a server fault by the operation's name, the query's digest, the field
    path and the exception's type and stack — never the query text, the
    variables or the exception's message (a database error quotes its
    statement's parameters: the values searched for)."""
    query = execution_context.query if execution_context is not None else None
    operation = (execution_context.operation_name if execution_context else None) or "-"
    path = ".".join(str(p) for p in error.path or ()) or "-"
    original = error.original_error
    kind = type(original).__name__ if original is not None else type(error).__name__
    stack = ""
    if original is not None and original.__traceback__ is not None:
        stack = "\n" + "".join(traceback.format_tb(original.__traceback__)).rstrip()
    log.error(
        "server error in operation %s (query %s) at %s: %s%s",
        operation,
        query_digest(query),
        path,
        kind,
        stack,
    )


class Schema(strawberry.Schema):
    """Strawberry's schema, except that a client's bad input is answered, not
    logged as a server error, and a server error is logged without the query or
    anything it holds (:func:`log_server_error`)."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if not is_client_error(error):
                log_server_error(error, execution_context)


def _mask_server_errors() -> SchemaExtension:
    """Server faults reach the client as "Internal server error" with nothing of
    the exception (whose text could hold data); they are logged by
    :func:`log_server_error`."""
    return MaskErrors(
        should_mask_error=lambda error: not is_client_error(error),
        error_message="Internal server error",
    )


QUERY_PARTS: tuple[type, ...] = (
    queries.Query,
    risk.RiskQuery,
    cases_schema.CasesQuery,
    ui_support.Query,
    quality_schema.QualityQuery,
    verification_schema.VerificationQuery,
    value_schema.ValueQuery,
    privacy_schema.PrivacyQuery,
    # each capability's query type (verification, credit, value, cases, …) joins here
)
MUTATION_PARTS: tuple[type, ...] = (
    mutations.Mutation,
    risk.RiskMutation,
    verification_schema.VerificationMutation,
    case_mutations.CasesMutation,
    privacy_schema.PrivacyMutation,
    # each capability's mutation type joins here
)
Query = merge_types("Query", QUERY_PARTS)
Mutation = merge_types("Mutation", MUTATION_PARTS)


def build_schema(limits: Limits | None = None) -> Schema:
    """The executable schema, enforcing ``limits`` (the defaults if omitted)."""
    extensions: list[Callable[[], SchemaExtension]] = [
        *limit_extensions(limits or Limits()),
        _mask_server_errors,
    ]
    built = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,  # over WebSockets: c360.schema.subscriptions
        types=[Customer],
        extensions=extensions,
        config=schema_config(),  # names converted once (c360.schema.execution)
    )
    call_resolvers_directly(built._schema, built.config)  # c360.schema.execution
    count_list_items(built._schema)  # the response's size counts as the query runs
    return built


schema = build_schema()

__all__ = ["Limits", "RequestContext", "Subject", "build_schema", "schema"]
