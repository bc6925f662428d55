"""Every hook a c360 plugin can implement, in one place (as Datasette's
``hookspecs.py`` does). Plugins are modules registered under the ``c360``
entry-point group; they implement hooks with :data:`hookimpl`.

A minimal connector plugin, complete::

    # membership_cards/__init__.py
    from collections.abc import Iterator
    from pydantic import BaseModel
    from c360.connectors import hookimpl
    from c360.connectors.base import CheckResult, Connector, Message, Stream
    from c360.platform.records import Checkpoint, IncomingRecord

    class CardsConfig(BaseModel):
        path: str

    class CardsConnector(Connector[CardsConfig]):
        name = "membership-cards"
        title = "Membership-card system export"
        config_model = CardsConfig

        def check(self) -> CheckResult:
            return CheckResult.ok("export found")

        def streams(self) -> list[Stream]:
            return [Stream(name="members", kind="person")]

        def read(self, stream: str, state: dict) -> Iterator[Message]:
            yield IncomingRecord(stream="members", external_id="M001", kind="person",
                                 fields={"name": "张伟", "phone": "13800138000"})
            yield Checkpoint(stream="members", state={"after": "M001"})

    @hookimpl
    def c360_register_connectors():
        return [CardsConnector]

and in its ``pyproject.toml``::

    [project.entry-points.c360]
    membership_cards = "membership_cards"
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from c360.connectors.base import Connector

hookspec = pluggy.HookspecMarker("c360")
hookimpl = pluggy.HookimplMarker("c360")


@hookspec
def c360_register_connectors() -> list[type[Connector[Any]]]:  # type: ignore[empty-body]
    """Called once when c360 loads its plugins; return the connector classes this
    plugin provides.

    Each class subclasses :class:`c360.connectors.base.Connector`, has a unique
    ``name`` (what ``c360 sources add NAME --connector <name>`` refers to), a
    pydantic ``config_model`` whose JSON Schema is the connector's spec, and
    implements ``check()``, ``streams()`` and ``read(stream, state)``.

    Example::

        @hookimpl
        def c360_register_connectors():
            return [CardsConnector]
    """


@hookspec(firstresult=True)
def c360_source_trust(connector_name: str) -> int | None:
    """Called when a source is added without an explicit ``--trust``; return the
    default trust (0-100) for sources of ``connector_name``, or ``None`` to leave
    it to another plugin. The first non-``None`` answer wins; the fallback is 50.

    Trust decides survivorship: when two sources disagree on an attribute, the
    value from the more trusted source becomes the golden value (after verified
    values and before recency).

    Example::

        @hookimpl
        def c360_source_trust(connector_name):
            if connector_name == "membership-cards":
                return 80  # cards are issued against an id document
            return None
    """
