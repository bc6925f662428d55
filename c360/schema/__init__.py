"""The GraphQL schema (strawberry): types, queries, mutations, dataloaders and
limits.

May import: ``c360.auth``, ``c360.search``, ``c360.platform``.

:func:`build_schema` makes the executable schema with its limits; ``schema`` is
one with the default limits. ``RequestContext`` is what the ASGI app puts in each
request's context: the engine, the caller, the dataloaders, and the record of
what the request read for the audit log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.types import ExecutionContext

from c360.schema.context import RequestContext, Subject
from c360.schema.errors import CLIENT_ERRORS
from c360.schema.limits import Limits, QueryTooComplex, limit_extensions
from c360.schema.mutations import Mutation
from c360.schema.queries import Query
from c360.schema.types import Customer

log = logging.getLogger(__name__)


def is_client_error(error: GraphQLError) -> bool:
    """Whether ``error`` is the client's doing (bad input, a refusal, a query
    that does not fit the schema or the limits) rather than a server fault."""
    original = error.original_error
    if original is None:
        return True  # syntax and validation errors carry no original error
    return isinstance(original, (*CLIENT_ERRORS, QueryTooComplex))


class Schema(strawberry.Schema):
    """Strawberry's schema, except that a client's bad input is answered, not
    logged as a server error."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        server_errors = [e for e in errors if not is_client_error(e)]
        super().process_errors(server_errors, execution_context)


def _mask_server_errors() -> SchemaExtension:
    """Server faults reach the client as "Internal server error" with nothing of
    the exception (whose text could hold data); they are logged in full."""
    return MaskErrors(
        should_mask_error=lambda error: not is_client_error(error),
        error_message="Internal server error",
    )


def build_schema(limits: Limits | None = None) -> Schema:
    """The executable schema, enforcing ``limits`` (the defaults if omitted)."""
    extensions: list[Callable[[], SchemaExtension]] = [
        *limit_extensions(limits or Limits()),
        _mask_server_errors,
    ]
    return Schema(query=Query, mutation=Mutation, types=[Customer], extensions=extensions)


schema = build_schema()

__all__ = ["Limits", "RequestContext", "Subject", "build_schema", "schema"]
