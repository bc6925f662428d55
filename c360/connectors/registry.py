"""Loads connector plugins from the ``c360`` entry-point group and looks them up by name."""

from __future__ import annotations

from functools import lru_cache

import pluggy

from c360.connectors import hookspecs
from c360.connectors.base import Connector


class UnknownConnectorError(LookupError):
    """No installed plugin provides a connector of that name."""


@lru_cache(maxsize=1)
def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with every installed plugin loaded."""
    pm = pluggy.PluginManager("c360")
    pm.add_hookspecs(hookspecs)
    pm.load_setuptools_entrypoints("c360")
    return pm


def connectors() -> dict[str, type[Connector]]:
    """Every installed connector class by name."""
    found: dict[str, type[Connector]] = {}
    for batch in plugin_manager().hook.c360_register_connectors():
        for cls in batch or []:
            if cls.name in found and found[cls.name] is not cls:
                raise RuntimeError(f"two plugins register a connector named {cls.name!r}")
            found[cls.name] = cls
    return dict(sorted(found.items()))


def get_connector(name: str) -> type[Connector]:
    """The connector class called ``name``."""
    available = connectors()
    try:
        return available[name]
    except KeyError:
        raise UnknownConnectorError(
            f"connector {name!r} is not installed; installed: {', '.join(available) or 'none'}"
        ) from None


def default_trust(connector_name: str) -> int:
    """Default trust for a new source of this connector (plugins may say; else 50)."""
    answer = plugin_manager().hook.c360_source_trust(connector_name=connector_name)
    return 50 if answer is None else int(answer)
