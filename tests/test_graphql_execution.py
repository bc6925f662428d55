"""Which fields get a direct resolver (c360.schema.execution): plain fields do,
fields with an extension (a mutation's permission) keep strawberry's. (That
direct resolvers answer as strawberry's did is what every API test checks.)"""

from __future__ import annotations

from c360.schema import build_schema


def test_fields_with_extensions_keep_strawberrys_resolver() -> None:
    core = build_schema()._schema
    customer = core.type_map["Customer"].fields  # type: ignore[union-attr]
    assert customer["displayName"].resolve.__qualname__ == "_direct.<locals>.resolve"
    assert customer["attribute"].resolve.__qualname__ == "_direct.<locals>.resolve"
    mutation = core.mutation_type
    assert mutation is not None
    guarded = [
        f for f in mutation.fields.values() if f.extensions["strawberry-definition"].extensions
    ]
    assert guarded, "some mutation carries a permission extension"
    for field in guarded:
        assert field.resolve is not None
        assert "_direct" not in field.resolve.__qualname__
