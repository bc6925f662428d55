"""Limits that reject abusive queries before they run: depth, cost, page size,
token count and aliases.

Depth, tokens and aliases are strawberry's own checks (validation results are
cached by document, so a repeated query is validated once). Cost and page size
need the request's variables, so :class:`QueryCostLimiter` checks them after
validation and answers instead of executing: it walks the operation (fragments
included), takes every ``first`` argument's value (literal or variable) and

* rejects a ``first`` outside 1..:data:`MAX_PAGE_SIZE` with ``BAD_USER_INPUT``
  naming the argument, as the resolvers would, but before any of them runs;
* adds up a cost: an object field costs 1 plus its selections, times the page
  size for a field with ``first`` (its default when not given), times
  :data:`LIST_ESTIMATE` for another list; scalars are free. Over the maximum,
  the query is refused with ``code: QUERY_TOO_COMPLEX`` and its cost.

The estimate cannot know how long a list really is (a profile may hold
thousands of attributes), so the response's size is counted again while the
query runs (:class:`ResponseBudget`): every list a field returns adds its
length, and once the lists of one response hold more than
``max_response_items`` in all, the field that passed it is refused with
``code: RESPONSE_TOO_LARGE`` (naming it) instead of being completed. The
encoded response is bounded too (``max_response_bytes``, checked by the ASGI
app, which encodes off the event loop).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sized
from contextvars import ContextVar
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    VariableNode,
    default_field_resolver,
    get_named_type,
    value_from_ast_untyped,
)
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from c360.schema.errors import BadUserInput

MAX_PAGE_SIZE = 100
LIST_ESTIMATE = 10
"""What a list without ``first`` (attributes, lineage…) is assumed to hold."""


@dataclass(frozen=True)
class Limits:
    """The limits of one schema."""

    max_depth: int = 12
    max_cost: int = 10_000
    max_tokens: int = 4_000
    max_aliases: int = 30
    max_page_size: int = MAX_PAGE_SIZE
    max_response_items: int = 50_000
    """List items one response may hold in all, counted as the query runs."""
    max_response_bytes: int = 16_000_000
    """Largest encoded response."""


class QueryTooComplex(GraphQLError):
    """A query over the cost limit."""

    def __init__(self, cost: int, maximum: int) -> None:
        super().__init__(
            f"Query too complex: it could return about {cost} objects, the limit is {maximum}; "
            "ask for smaller pages (first) or fewer nested lists",
            extensions={"code": "QUERY_TOO_COMPLEX", "cost": cost, "maxCost": maximum},
        )


class ResponseTooLarge(GraphQLError):
    """A field whose list would take the response past ``max_response_items``."""

    def __init__(self, path: str, items: int, maximum: int) -> None:
        super().__init__(
            f"Response too large: {path} would bring it to {items} list items, the limit "
            f"is {maximum}; ask for fewer nested lists or smaller pages",
            extensions={
                "code": "RESPONSE_TOO_LARGE",
                "field": path,
                "items": items,
                "maxItems": maximum,
            },
        )


def _unwrap(type_: GraphQLOutputType) -> tuple[GraphQLNamedType, bool]:
    """The named type and whether it is a list."""
    is_list = False
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        if isinstance(type_, GraphQLList):
            is_list = True
        type_ = type_.of_type
    return get_named_type(type_), is_list


class _CostWalker:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: dict[str, Any],
        limits: Limits,
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.limits = limits
        self.fragments: dict[str, FragmentDefinitionNode] = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.errors: list[GraphQLError] = []

    def _first(self, node: FieldNode, default: Any) -> int | None:
        for argument in node.arguments or ():
            if argument.name.value == "first":
                if isinstance(argument.value, VariableNode):
                    value = self.variables.get(argument.value.name.value, default)
                else:
                    value = value_from_ast_untyped(argument.value, self.variables)
                break
        else:
            value = default
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            return None  # a type error the normal validation reports
        maximum = self.limits.max_page_size
        if not 1 <= value <= maximum:
            self.errors.append(
                BadUserInput("first", f"must be between 1 and {maximum}, got {value}")
            )
        return value

    def _selections(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType, seen: frozenset[str]
    ) -> Iterator[tuple[FieldNode, GraphQLNamedType]]:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, InlineFragmentNode):
                on = parent
                if selection.type_condition is not None:
                    found = self.schema.get_type(selection.type_condition.name.value)
                    on = found if found is not None else parent
                yield from self._selections(selection.selection_set, on, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue
                found = self.schema.get_type(fragment.type_condition.name.value)
                yield from self._selections(fragment.selection_set, found or parent, seen | {name})

    def cost(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType,
        seen: frozenset[str] = frozenset(),
    ) -> int:
        total = 0
        for node, owner in self._selections(selection_set, parent, seen):
            if node.name.value.startswith("__") or not isinstance(owner, GraphQLObjectType):
                continue
            definition = owner.fields.get(node.name.value)
            if definition is None:
                continue
            named, is_list = _unwrap(definition.type)
            first = None
            if "first" in definition.args:
                default = definition.args["first"].default_value
                first = self._first(node, None if default is Undefined else default)
            if node.selection_set is None:
                continue
            inner = 1 + self.cost(node.selection_set, named, seen)
            if first is not None:
                multiplier = min(max(first, 1), self.limits.max_page_size)
            elif is_list and not owner.name.endswith("Connection"):
                multiplier = LIST_ESTIMATE
            else:
                multiplier = 1
            total += inner * multiplier
        return total


def check_operation(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any],
    limits: Limits,
) -> list[GraphQLError]:
    """The page-size and cost errors of the operation that would run."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    errors: list[GraphQLError] = []
    for operation in operations:
        root = schema.get_root_type(operation.operation)
        if root is None:
            continue
        defaults = {
            d.variable.name.value: value_from_ast_untyped(d.default_value)
            for d in operation.variable_definitions or ()
            if d.default_value is not None
        }
        walker = _CostWalker(schema, document, {**defaults, **variables}, limits)
        cost = walker.cost(operation.selection_set, root)
        errors += walker.errors[:1]
        if cost > limits.max_cost:
            errors.append(QueryTooComplex(cost, limits.max_cost))
    return errors[:1]


class QueryCostLimiter(SchemaExtension):
    """Checks page sizes and cost with this request's variables once the
    document is valid, and answers instead of executing when they are over."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and not context.result:
            errors = check_operation(
                context.schema._schema,
                context.graphql_document,
                context.operation_name,
                dict(context.variables or {}),
                self.limits,
            )
            if errors:
                context.result = ExecutionResult(data=None, errors=errors)
        yield


class _Count:
    __slots__ = ("items", "maximum")

    def __init__(self, maximum: int) -> None:
        self.items = 0
        self.maximum = maximum


_response_count: ContextVar[_Count | None] = ContextVar("c360_response_count", default=None)
"""The list items of the response being computed (set per operation by
:class:`ResponseBudget`; resolvers run in tasks that share it)."""


class ResponseBudget(SchemaExtension):
    """Counts the response's list items while the operation runs (the lists are
    counted by the resolvers :func:`count_list_items` wraps)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def on_execute(self) -> Iterator[None]:
        token = _response_count.set(_Count(self.limits.max_response_items))
        try:
            yield
        finally:
            _response_count.reset(token)


def _charge(result: Any, info: GraphQLResolveInfo) -> None:
    count = _response_count.get()
    if count is None or not isinstance(result, Sized) or isinstance(result, str | bytes):
        return
    count.items += len(result)
    if count.items > count.maximum:
        path = ".".join(str(p) for p in info.path.as_list())
        raise ResponseTooLarge(path, count.items, count.maximum)


async def _charge_later(result: Awaitable[Any], info: GraphQLResolveInfo) -> Any:
    value = await result
    _charge(value, info)
    return value


def _counting(resolve: Callable[..., Any]) -> Callable[..., Any]:
    def counted(root: Any, info: GraphQLResolveInfo, **arguments: Any) -> Any:
        result = resolve(root, info, **arguments)
        if isawaitable(result):
            return _charge_later(result, info)
        _charge(result, info)
        return result

    return counted


def count_list_items(schema: GraphQLSchema) -> None:
    """Wrap the resolver of every list field of ``schema`` so that what it returns
    is counted against the response's budget (:class:`ResponseBudget`). Only
    list fields are wrapped: scalars resolve as fast as before."""
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for field in type_.fields.values():
            if _unwrap(field.type)[1]:
                field.resolve = _counting(field.resolve or default_field_resolver)


class StaticRules(SchemaExtension):
    """Adds validation rules that do not depend on the request (depth, aliases),
    the same rule classes every time so validation results can be cached."""

    def __init__(self, rules: tuple[type[ASTValidationRule], ...]) -> None:
        self.rules = rules

    def on_operation(self) -> Iterator[None]:
        self.execution_context.validation_rules = (
            *self.execution_context.validation_rules,
            *self.rules,
        )
        yield


def limit_extensions(limits: Limits) -> list[Callable[[], SchemaExtension]]:
    """Factories of the schema extensions that enforce ``limits`` (one instance
    per request, so concurrent requests share nothing)."""
    rules = (
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    )
    return [
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: ParserCache(maxsize=512),
        lambda: StaticRules(rules),
        lambda: ValidationCache(maxsize=512),
        lambda: QueryCostLimiter(limits),
        lambda: ResponseBudget(limits),
    ]
