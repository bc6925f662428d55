"""The stream names :mod:`c360.connectors.web` and its webhook import; the
machinery is :mod:`c360.connectors.http.pull`, shared with every API connector."""

from __future__ import annotations

from c360.connectors.http.pull import RecordMapper, StreamSpec

__all__ = ["RecordMapper", "StreamSpec"]
