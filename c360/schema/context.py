"""What every resolver of one GraphQL request shares: the database and the
request's dataloaders.

The auth issue adds the reader here (the principal a bearer token stands for);
:func:`c360.schema.presentation.present_value` is where it will be consulted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from starlette.requests import Request

from c360.schema.loaders import Loaders


@dataclass
class RequestContext:
    """The context of one GraphQL request (``info.context`` in resolvers)."""

    engine: Engine
    request: Request | None = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.engine)
