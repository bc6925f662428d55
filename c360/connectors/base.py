"""The connector base class and the messages a connector yields.

A connector is configured by a pydantic model (its JSON Schema is the spec shown
by ``c360 connectors show NAME``), answers ``check()``, lists its ``streams()``
and ``read(stream, state)``-s them, yielding :class:`IncomingRecord` and
:class:`Checkpoint` messages. It never touches the database: the runner commits
records together with the checkpoint that covers them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from c360.platform.records import Checkpoint, IncomingRecord, RecordKind

ConfigT = TypeVar("ConfigT", bound=BaseModel)

Message = IncomingRecord | Checkpoint


class TransientSourceError(Exception):
    """A failure worth retrying (a timeout, a 5xx, a locked file). The runner
    retries the stream from its last committed checkpoint, with backoff."""


class SourceConfigError(ValueError):
    """The source's configuration cannot work (a missing file, a bad mapping).
    Not retried; the message names the setting and the reason."""


@dataclass(frozen=True, slots=True)
class Stream:
    """A stream a connector offers: a named sequence of records of one kind."""

    name: str
    kind: RecordKind
    description: str = ""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The answer to ``check()``: can the connector reach its source?"""

    succeeded: bool
    message: str

    @classmethod
    def ok(cls, message: str = "ok") -> CheckResult:
        return cls(True, message)

    @classmethod
    def failed(cls, message: str) -> CheckResult:
        return cls(False, message)


class Connector(Generic[ConfigT]):
    """Base class of every connector, built-in or plugin."""

    name: ClassVar[str]
    """Unique connector name, e.g. ``offline``."""
    title: ClassVar[str] = ""
    """One line for ``c360 connectors list``."""
    config_model: ClassVar[type[BaseModel]]
    """Pydantic model of the source config; its JSON Schema is the spec."""

    def __init__(self, config: ConfigT) -> None:
        self.config = config

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> Connector[Any]:
        """Validate ``raw`` against :attr:`config_model` (raising pydantic's
        ``ValidationError``, which names each bad field) and build the connector."""
        return cls(cls.config_model.model_validate(raw))  # type: ignore[arg-type]

    @classmethod
    def spec(cls) -> dict[str, Any]:
        """The JSON Schema of the config."""
        return cls.config_model.model_json_schema()

    def check(self) -> CheckResult:
        """Can the source be read with this config? Never raises for an
        unreachable source: returns :meth:`CheckResult.failed` with the reason."""
        raise NotImplementedError

    def streams(self) -> list[Stream]:
        """The streams this source offers."""
        raise NotImplementedError

    def read(self, stream: str, state: dict[str, Any]) -> Iterator[Message]:
        """Yield the records of ``stream`` after ``state`` (``{}`` on the first run),
        with a :class:`Checkpoint` whenever the records so far can be committed.
        Raise :class:`TransientSourceError` for failures worth retrying."""
        raise NotImplementedError
