"""c360 connector plugin: a membership-card system's JSON export.

The card system writes ``cards.json``, a list of cards::

    [{"card_no": "C-0001", "holder": "张伟", "mobile": "13800138000",
      "id_card": "110101199003076632", "updated": "2024-05-01T10:00:00+08:00"}, ...]

Each card becomes a person record keyed by its card number. Cards are issued
against an id card, so ``id_number`` is verified, and the source's default trust
is 80. Installed with ``pip install ./examples/membership_cards``, it appears in
``c360 connectors list`` as ``membership-cards``, and adds ``c360 cards-sources``
(each card source and what its export holds now).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel, Field

from c360.connectors import (
    Checkpoint,
    CheckResult,
    Connector,
    DatabaseUnavailable,
    IncomingRecord,
    Message,
    SourceConfigError,
    Stream,
    TransientSourceError,
    hookimpl,
    list_sources,
    open_database,
)


class CardsConfig(BaseModel):
    path: str = Field(description="the card system's JSON export (a list of cards)")
    checkpoint_every: int = Field(default=500, ge=1)


class CardsConnector(Connector[CardsConfig]):
    name = "membership-cards"
    title = "Membership-card system (JSON export)"
    config_model = CardsConfig

    def check(self) -> CheckResult:
        try:
            cards = json.loads(self._bytes())
        except (SourceConfigError, TransientSourceError, ValueError) as exc:
            return CheckResult.failed(str(exc))
        if not isinstance(cards, list):
            return CheckResult.failed(f"{self.config.path}: expected a JSON list of cards")
        return CheckResult.ok(f"{len(cards)} cards in {self.config.path}")

    def streams(self) -> list[Stream]:
        return [Stream("cards", "person", "card holders")]

    def read(self, stream: str, state: dict[str, Any]) -> Iterator[Message]:
        data = self._bytes()
        digest = hashlib.sha256(data).hexdigest()
        # Resume an interrupted pass only if the export has not changed since.
        done = state.get("done", 0) if state.get("sha256") == digest else 0
        try:
            cards = json.loads(data)
        except ValueError as exc:  # a damaged export: quarantined whole, with the reason
            yield IncomingRecord(
                stream="cards",
                external_id=f"export-{digest[:16]}",
                kind="person",
                fields={},
                raw={"_text": data[:1000].decode("utf-8", "replace")},
                problems={"record": f"{self.config.path} is not valid JSON: {exc}"},
            )
            yield Checkpoint(stream, {})
            return
        if not isinstance(cards, list):
            cards = [cards]
        for n, card in enumerate(cards, start=1):
            if n <= done:
                continue
            yield self._record(n, card)
            if n % self.config.checkpoint_every == 0:
                yield Checkpoint(stream, {"sha256": digest, "done": n})
        yield Checkpoint(stream, {})  # pass complete: the next sync reads it all again

    def _bytes(self) -> bytes:
        try:
            return Path(self.config.path).read_bytes()
        except FileNotFoundError:
            raise SourceConfigError(f"path: file not found: {self.config.path}") from None
        except PermissionError as exc:  # e.g. the card system is writing the export
            raise TransientSourceError(f"{self.config.path}: {exc.strerror}") from exc

    @staticmethod
    def _record(n: int, card: Any) -> IncomingRecord:
        if not isinstance(card, dict) or not card.get("card_no"):
            return IncomingRecord(
                stream="cards",
                external_id=f"item-{n}",
                kind="person",
                fields={},
                raw={"item": card},
                problems={"card_no": "missing: the card cannot be identified"},
            )
        return IncomingRecord(
            stream="cards",
            external_id=str(card["card_no"]),
            kind="person",
            fields={
                "member_no": card["card_no"],
                "name": card.get("holder"),
                "phone": card.get("mobile"),
                "id_number": card.get("id_card"),
            },
            raw=card,
            verified_fields=frozenset({"id_number"}),  # cards are issued against an id card
            observed_at=card.get("updated"),
        )


@hookimpl
def c360_register_connectors() -> list[type[Connector[Any]]]:
    return [CardsConnector]


@hookimpl
def c360_source_trust(connector_name: str) -> int | None:
    return 80 if connector_name == "membership-cards" else None


@hookimpl
def c360_register_commands(app: typer.Typer) -> None:
    @app.command("cards-sources")
    def cards_sources() -> None:
        """Each membership-card source and what its export holds now."""
        try:
            engine = open_database()
        except DatabaseUnavailable as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        found = [s for s in list_sources(engine) if s.connector == CardsConnector.name]
        for source in found:
            result = CardsConnector.from_config(source.config).check()
            typer.echo(f"{source.name}: {'ok' if result.succeeded else 'FAILED'}: {result.message}")
        if not found:
            typer.echo(
                "no membership-card sources (c360 sources add NAME --connector membership-cards)"
            )
