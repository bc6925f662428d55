"""The connector contract-test kit: one call checks a connector against the rules
of ``docs/connectors.md`` (what Airbyte's acceptance tests do for its connectors)::

    from c360.connectors.testing import check_connector

    def test_cards_connector_keeps_the_contract(tmp_path):
        check_connector(
            CardsConnector,
            {"path": str(write_cards(tmp_path))},
            malformed_config={"path": str(write_broken_cards(tmp_path))},
        )

It raises :class:`ContractViolation` listing every rule broken, and otherwise
returns a :class:`ContractReport`. The checks, in order:

``spec``         ``name``, ``title`` and ``config_model`` are set; the JSON Schema has
                 properties; the config validates; a config of the wrong type is
                 refused with a ``ValidationError`` (not another exception)
``check``        ``check()`` returns a :class:`CheckResult` that succeeded (and, with
                 ``unreachable_config``, one that failed — without raising)
``streams``      ``streams()`` is a non-empty list of :class:`Stream` with unique
                 names and a valid kind
``full read``    ``read(stream, {})`` yields only records of that stream and kind and
                 checkpoints of that stream; ids are non-empty text of at most 256
                 characters; ``fields`` keys are text; ``raw`` and states are JSON;
                 the stream ends with a checkpoint
``incremental``  reading again from the last state yields no record that is new or
                 different from the full read (re-reading unchanged ones is fine)
``resume``       reading from *every* checkpoint's state yields every record the full
                 read had after that checkpoint (no loss), and nothing it did not have
``malformed``    with ``malformed_config``, reading raises nothing, and at least one
                 record carries ``problems`` (so the platform quarantines it)
``sync``         the connector syncs through the real runner into a scratch SQLite
                 database: the counts balance (read = new + updated + unchanged +
                 quarantined), and a second sync reports nothing new or updated

The data behind the configs must not change while the kit runs.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from c360.connectors.base import CheckResult, Connector, Stream
from c360.connectors.hookspecs import hookimpl
from c360.connectors.registry import connectors, plugin_manager
from c360.connectors.runner import SyncRunner
from c360.platform.db import make_engine, migrate
from c360.platform.ingest import content_hash
from c360.platform.records import Checkpoint, IncomingRecord
from c360.platform.sources import save_source

KINDS = {"person", "organization", "event"}


class ContractViolation(AssertionError):
    """The connector broke one or more rules; the message lists each."""


@dataclass
class StreamRead:
    """One read of one stream: records and checkpoints in order."""

    records: list[IncomingRecord] = field(default_factory=list)
    checkpoints: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    """(how many records came before it, its state)."""

    def keyed(self, records: list[IncomingRecord] | None = None) -> dict[str, str]:
        return {
            r.external_id: content_hash(r) for r in (self.records if records is None else records)
        }


@dataclass
class ContractReport:
    """What the kit saw, for a test to look at further."""

    connector: str
    streams: list[str]
    reads: dict[str, StreamRead] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)
    sync_counts: dict[str, int] = field(default_factory=dict)


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, rule: str, message: str) -> None:
        self.items.append(f"[{rule}] {message}")


def _json_ok(value: Any) -> bool:
    try:
        json.dumps(value, default=None)
    except (TypeError, ValueError):
        return False
    return True


def _read(
    connector: Connector[Any], stream: Stream, state: dict[str, Any], problems: _Problems, rule: str
) -> StreamRead:
    out = StreamRead()
    try:
        messages = list(connector.read(stream.name, dict(state)))
    except Exception as exc:
        problems.add(rule, f"{stream.name}: read raised {type(exc).__name__}: {exc}")
        return out
    for message in messages:
        if isinstance(message, Checkpoint):
            if message.stream != stream.name:
                problems.add(rule, f"{stream.name}: checkpoint for stream {message.stream!r}")
            if not isinstance(message.state, dict) or not _json_ok(message.state):
                problems.add(rule, f"{stream.name}: checkpoint state is not a JSON object")
            out.checkpoints.append((len(out.records), dict(message.state)))
        elif isinstance(message, IncomingRecord):
            r = message
            where = f"{stream.name}/{r.external_id!r}"
            if r.stream != stream.name:
                problems.add(rule, f"{where}: record of stream {r.stream!r}")
            if r.kind != stream.kind:
                problems.add(rule, f"{where}: kind {r.kind!r}, the stream says {stream.kind!r}")
            if not isinstance(r.external_id, str) or not r.external_id or len(r.external_id) > 256:
                problems.add(rule, f"{where}: external_id must be 1-256 characters of text")
            if not all(isinstance(k, str) for k in r.fields):
                problems.add(rule, f"{where}: fields keys must be text")
            if not _json_ok(r.raw):
                problems.add(rule, f"{where}: raw is not JSON-serialisable")
            out.records.append(r)
        else:
            problems.add(rule, f"{stream.name}: yielded a {type(message).__name__}")
    ends_open = not out.checkpoints or out.checkpoints[-1][0] != len(out.records)
    if rule == "full read" and ends_open:
        problems.add(rule, f"{stream.name}: the read must end with a checkpoint")
    return out


def check_connector(
    connector_cls: type[Connector[Any]],
    config: dict[str, Any],
    *,
    malformed_config: dict[str, Any] | None = None,
    unreachable_config: dict[str, Any] | None = None,
    streams: list[str] | None = None,
    sync: bool = True,
    prepare: Callable[[], None] | None = None,
) -> ContractReport:
    """Check ``connector_cls`` with ``config`` against the contract (see the module
    docstring). ``streams`` limits the streams read; ``prepare`` runs before every
    read (to reset a stand-in's request counters, say)."""
    problems = _Problems()
    report = ContractReport(connector=getattr(connector_cls, "name", "?"), streams=[])
    # --- spec
    for attribute in ("name", "title", "config_model"):
        if not getattr(connector_cls, attribute, None):
            problems.add("spec", f"{connector_cls.__name__}.{attribute} is not set")
    model = getattr(connector_cls, "config_model", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ContractViolation(
            f"[spec] {connector_cls.__name__}.config_model is not a pydantic model"
        )
    schema = connector_cls.spec()
    if not isinstance(schema, dict) or "properties" not in schema:
        problems.add("spec", "the config JSON Schema has no properties")
    try:
        connector = connector_cls.from_config(config)
    except ValidationError as exc:
        raise ContractViolation(f"[spec] the config given to the kit is invalid: {exc}") from None
    try:
        connector_cls.from_config(
            {"__not_a_setting__": object()} | dict.fromkeys(schema.get("required", []), object())
        )
        if schema.get("required"):
            problems.add("spec", "a config with unusable required values was accepted")
    except ValidationError:
        pass
    except Exception as exc:
        problems.add(
            "spec", f"a bad config raised {type(exc).__name__}, not ValidationError: {exc}"
        )
    report.checks.append("spec")
    # --- check
    try:
        result = connector.check()
        if not isinstance(result, CheckResult):
            problems.add("check", f"check() returned {type(result).__name__}, not CheckResult")
        elif not result.succeeded:
            problems.add("check", f"check() failed on the good config: {result.message}")
    except Exception as exc:
        problems.add("check", f"check() raised {type(exc).__name__}: {exc}")
    if unreachable_config is not None:
        try:
            result = connector_cls.from_config(unreachable_config).check()
            if not isinstance(result, CheckResult) or result.succeeded:
                problems.add("check", "check() did not fail on the unreachable config")
        except Exception as exc:
            problems.add(
                "check", f"check() raised on the unreachable config: {type(exc).__name__}: {exc}"
            )
    report.checks.append("check")
    # --- streams
    offered = connector.streams()
    if (
        not isinstance(offered, list)
        or not offered
        or not all(isinstance(s, Stream) for s in offered)
    ):
        raise ContractViolation("[streams] streams() must return a non-empty list of Stream")
    names = [s.name for s in offered]
    if len(set(names)) != len(names):
        problems.add("streams", f"stream names repeat: {names}")
    for s in offered:
        if s.kind not in KINDS:
            problems.add("streams", f"{s.name}: kind {s.kind!r} is not one of {sorted(KINDS)}")
    chosen = [s for s in offered if streams is None or s.name in streams]
    report.streams = [s.name for s in chosen]
    report.checks.append("streams")
    # --- full read, incremental, resume
    for stream in chosen:
        if prepare:
            prepare()
        full = _read(connector, stream, {}, problems, "full read")
        report.reads[stream.name] = full
        if not full.checkpoints:
            continue
        everything = full.keyed()
        if prepare:
            prepare()
        again = _read(connector, stream, full.checkpoints[-1][1], problems, "incremental")
        for key, digest in again.keyed().items():
            if everything.get(key) != digest:
                what = "new" if key not in everything else "different"
                problems.add(
                    "incremental",
                    f"{stream.name}: re-read from the last state gave a {what} record {key!r}",
                )
        for position, (before, state) in enumerate(full.checkpoints[:-1]):
            if prepare:
                prepare()
            resumed = _read(connector, stream, state, problems, "resume").keyed()
            expected = full.keyed(full.records[before:])
            lost = [k for k in expected if k not in resumed]
            extra = [k for k in resumed if k not in everything]
            changed = [k for k in resumed if k in everything and resumed[k] != everything[k]]
            if lost:
                problems.add(
                    "resume", f"{stream.name}: resuming from checkpoint {position} loses {lost[:5]}"
                )
            if extra or changed:
                problems.add(
                    "resume",
                    f"{stream.name}: resuming from checkpoint {position} yields records "
                    f"the full read did not have: {(extra + changed)[:5]}",
                )
    report.checks += ["full read", "incremental", "resume"]
    # --- malformed
    if malformed_config is not None:
        bad = connector_cls.from_config(malformed_config)
        flagged = 0
        for stream in bad.streams():
            if streams is not None and stream.name not in streams:
                continue
            if prepare:
                prepare()
            flagged += sum(
                1 for r in _read(bad, stream, {}, problems, "malformed").records if r.problems
            )
        if not flagged:
            problems.add("malformed", "no record with problems was yielded for the malformed input")
        report.checks.append("malformed")
    # --- sync through the runner
    if sync and not problems.items:
        _sync_check(connector_cls, config, chosen, problems, report, prepare)
        report.checks.append("sync")
    if problems.items:
        raise ContractViolation(
            f"connector {report.connector!r} breaks the contract:\n  " + "\n  ".join(problems.items)
        )
    return report


def _sync_check(
    connector_cls: type[Connector[Any]],
    config: dict[str, Any],
    streams: list[Stream],
    problems: _Problems,
    report: ContractReport,
    prepare: Callable[[], None] | None,
) -> None:

    name = connector_cls.name
    if connectors().get(name) is not connector_cls:
        if name in connectors():
            problems.add("sync", f"another connector is installed as {name!r}")
            return

        class _KitPlugin:
            @hookimpl
            def c360_register_connectors(self) -> list[type[Connector[Any]]]:
                return [connector_cls]

        plugin_manager().register(_KitPlugin(), name=f"c360-kit-{name}")
    with tempfile.TemporaryDirectory(prefix="c360-kit-") as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'kit.db'}")
        try:
            migrate(engine)
            save_source(engine, "kit", name, config)
            wanted = [s.name for s in streams]
            for run in (1, 2):
                if prepare:
                    prepare()
                try:
                    result = SyncRunner(engine, batch_size=50, backoff_initial_s=0.01).sync(
                        "kit", wanted
                    )
                except Exception as exc:
                    problems.add("sync", f"sync {run} raised {type(exc).__name__}: {exc}")
                    return
                total = result.total
                if not total.balanced():
                    problems.add("sync", f"sync {run}: counts do not add up: {total.as_dict()}")
                if run == 1:
                    report.sync_counts = total.as_dict()
                elif total.new or total.updated:
                    problems.add(
                        "sync",
                        f"sync 2 of unchanged data found new or updated records: {total.as_dict()}",
                    )
        finally:
            engine.dispose()
