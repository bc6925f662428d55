"""The connector plugin contract (pluggy hookspecs), the runner that syncs a
source into the platform, and the built-in connectors.

May import: ``c360.platform``.
"""

from c360.connectors.hookspecs import hookimpl

__all__ = ["hookimpl"]
