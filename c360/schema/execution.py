"""What makes executing an operation cheaper, measured (py-spy, the list query of
bench/graphql.py) rather than guessed.

Parsed and validated documents are cached by :mod:`c360.schema.limits`
(strawberry's ``ParserCache`` and ``ValidationCache``). Here: strawberry turns
every argument's Python name into its GraphQL name on *every* field call
(``attribute(name:)`` twenty times a page), re-running ``to_camel_case`` each
time — 8% of the list query's time under the GIL. :class:`CachedNames` remembers
each conversion: names are the schema's own identifiers, a fixed, small set.

And each call of a field with a resolver goes through strawberry's general
machinery (argument conversion, the field-extension chain, exception handlers)
even where there is nothing to convert and no extension to run: a hundred times
for one page of ``customers``. :func:`call_resolvers_directly` gives such fields
(no extensions, only scalar arguments or none) a resolver that calls the
Python function with what strawberry would pass it. A field with an extension
(a permission, a connection) keeps strawberry's resolver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLObjectType, GraphQLResolveInfo
from graphql import GraphQLSchema as CoreSchema
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.name_converter import NameConverter
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryOptional
from strawberry.types.field import StrawberryField

PLAIN_ARGUMENT_TYPES: tuple[object, ...] = (str, int, float, bool)
"""Argument types strawberry passes on unchanged (``ID`` is a ``str``)."""


class CachedNames(NameConverter):
    """strawberry's name converter (auto camel case), each name converted once."""

    def __init__(self) -> None:
        super().__init__(auto_camel_case=True)
        self._converted: dict[str, str] = {}

    def apply_naming_config(self, name: str) -> str:
        converted = self._converted.get(name)
        if converted is None:
            converted = self._converted[name] = super().apply_naming_config(name)
        return converted


def _plain(type_: object) -> bool:
    if isinstance(type_, StrawberryOptional):
        type_ = type_.of_type
    return type_ in PLAIN_ARGUMENT_TYPES or getattr(type_, "__supertype__", None) is str


def _direct(
    field: StrawberryField, names: dict[str, str], config: StrawberryConfig
) -> Callable[..., Any]:
    """A graphql-core resolver calling ``field``'s function as strawberry would:
    the source as ``self``, root or parent, an :class:`Info`, and the arguments
    under their Python names."""
    resolver = field.base_resolver
    assert resolver is not None
    function: Callable[..., Any] = resolver.wrapped_func  # type: ignore[assignment]
    takes_self = resolver.self_parameter is not None
    sources = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p]
    info_name = resolver.info_parameter.name if resolver.info_parameter else None
    info_class = config.info_class

    def resolve(source: Any, info: GraphQLResolveInfo, **arguments: Any) -> Any:
        given = {names[name]: value for name, value in arguments.items()}
        for name in sources:
            given[name] = source
        if info_name is not None:
            given[info_name] = info_class(_raw_info=info, _field=field)
        return function(source, **given) if takes_self else function(**given)

    return resolve


def call_resolvers_directly(schema: CoreSchema, config: StrawberryConfig) -> int:
    """Give every object field of ``schema`` that has a resolver, no field
    extension and only plain scalar arguments a direct resolver
    (:func:`_direct`); how many fields got one. Subscriptions keep theirs."""
    changed = 0
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        if type_ is schema.subscription_type:
            continue
        for graphql_field in type_.fields.values():
            field = (graphql_field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if not isinstance(field, StrawberryField) or field.base_resolver is None:
                continue
            if field.extensions or not all(_plain(a.type) for a in field.arguments):
                continue
            names = {config.name_converter.from_argument(a): a.python_name for a in field.arguments}
            if set(names) != set(graphql_field.args):
                continue  # an argument named otherwise than strawberry would: leave it
            graphql_field.resolve = _direct(field, names, config)
            changed += 1
    return changed


def schema_config() -> StrawberryConfig:
    """The strawberry configuration the schema is built with."""
    return StrawberryConfig(name_converter=CachedNames())


__all__ = ["CachedNames", "call_resolvers_directly", "schema_config"]
