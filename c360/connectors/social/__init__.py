"""The built-in ``social`` connector: followers and their interactions from a
social platform's open API (a WeChat-official-account-like API).

``followers``      person records: nickname, avatar hash, union id, phone and real
                   name where the platform shares them, gender, region
``interactions``   comments, likes and direct messages as timeline events of the
                   follower who made them (sentiment is left for later)

Registered through the ``c360`` entry point ``social = "c360.connectors.social"``.

May import: ``c360.connectors`` (base, http) and ``c360.platform``.
"""

from __future__ import annotations

from typing import Any

from c360.connectors.hookspecs import hookimpl
from c360.connectors.social.connector import SocialConfig, SocialConnector

__all__ = ["SocialConfig", "SocialConnector"]


@hookimpl
def c360_register_connectors() -> list[type[Any]]:
    """The ``social`` connector."""
    return [SocialConnector]


@hookimpl
def c360_source_trust(connector_name: str) -> int | None:
    """Nicknames and self-declared regions: low trust."""
    return 30 if connector_name == "social" else None
