"""What makes executing an operation cheaper, measured (py-spy, the list query of
bench/graphql.py) rather than guessed.

Parsed and validated documents are cached by :mod:`c360.schema.limits`
(strawberry's ``ParserCache`` and ``ValidationCache``). Here: strawberry turns
every argument's Python name into its GraphQL name on *every* field call
(``attribute(name:)`` twenty times a page), re-running ``to_camel_case`` each
time — 8% of the list query's time under the GIL. :class:`CachedNames` remembers
each conversion: names are the schema's own identifiers, a fixed, small set.
"""

from __future__ import annotations

from strawberry.schema.config import StrawberryConfig
from strawberry.schema.name_converter import NameConverter


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


def schema_config() -> StrawberryConfig:
    """The strawberry configuration the schema is built with."""
    return StrawberryConfig(name_converter=CachedNames())


__all__ = ["CachedNames", "schema_config"]
