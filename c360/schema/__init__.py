"""The GraphQL schema (strawberry): types, queries, dataloaders and limits.

May import: ``c360.auth``, ``c360.search``, ``c360.platform``.

``schema`` is the executable schema; ``RequestContext`` is what the ASGI app puts
in each request's context (the engine and the request's dataloaders).
"""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from c360.schema.context import RequestContext
from c360.schema.errors import BadUserInput
from c360.schema.queries import Query
from c360.schema.types import Customer


class Schema(strawberry.Schema):
    """Strawberry's schema, except that a client's bad input is answered, not
    logged as a server error."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        server_errors = [
            e
            for e in errors
            if not isinstance(e, BadUserInput) and not isinstance(e.original_error, BadUserInput)
        ]
        super().process_errors(server_errors, execution_context)


schema = Schema(query=Query, types=[Customer])

__all__ = ["RequestContext", "schema"]
