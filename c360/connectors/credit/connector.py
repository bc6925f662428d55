"""The ``credit`` connector: a third-party credit bureau, for lookup enrichment.

A bureau is not listed in bulk: each lookup is one subject, costs money and — for
a person — needs a recorded legal basis for its purpose. So the work happens in
:mod:`c360.connectors.credit.enrich` (``c360 enrich CUSTOMER_ID``, the scheduled
refresh of stale results), which checks the basis, the cache, the daily budget
and the rate limit before it calls the bureau, and keeps every result with its
provenance and retrieval time.

What a *sync* of a credit source does is narrow: its one stream,
``registrations``, looks up the business registration of each organization on
the ``watchlist`` (public register data, no personal lookup) and yields it as an
organization record, at most ``max_lookups_per_run`` per run. The state
remembers when each code was looked up, so a code is looked up again only once
its result is older than ``ttl_s``; a re-read within the TTL yields nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from c360.connectors.base import CheckResult, Message, SourceConfigError, Stream
from c360.connectors.credit.bureau import (
    REGISTRATIONS_STREAM,
    Bureau,
    BureauAnswerError,
    registration_record,
)
from c360.connectors.credit.config import CreditConfig
from c360.connectors.http import ApiClient, ApiConnector, StreamSpec
from c360.platform.records import Checkpoint, IncomingRecord


class CreditConnector(ApiConnector[CreditConfig]):
    """Credit reports, court listings and business registrations from a bureau."""

    name: ClassVar[str] = "credit"
    title: ClassVar[str] = (
        "Credit bureau lookups (resident id / USCC): score, overdue, court listings, "
        "business registration; cached, budgeted, consent-checked"
    )
    config_model = CreditConfig

    def streams(self) -> list[Stream]:
        return [
            Stream(
                REGISTRATIONS_STREAM,
                "organization",
                "business registrations of the watchlist's organizations",
            )
        ]

    def pull_specs(self) -> list[StreamSpec]:
        return []  # a bureau lists nothing: read() looks the watchlist up code by code

    def probe(self, client: ApiClient) -> CheckResult:
        """The account (a free call), not a lookup: a check must not cost money."""
        with Bureau(self.config, client) as bureau:
            account = bureau.account()
        shown = ", ".join(f"{k}={v}" for k, v in sorted(account.items()) if k != "token")
        return CheckResult.ok(f"{self.config.base_url}: account {shown or 'ok'}")

    def read(self, stream: str, state: dict[str, Any]) -> Iterator[Message]:
        if stream != REGISTRATIONS_STREAM:
            raise SourceConfigError(f"stream {stream!r} is not offered; streams: registrations")
        given = state.get("retrieved")
        retrieved = {str(k): str(v) for k, v in given.items()} if isinstance(given, dict) else {}
        now = datetime.now(UTC)
        fresh_after = now - timedelta(seconds=self.config.ttl_s)
        due = [code for code in self.config.watchlist if _older(retrieved.get(code), fresh_after)]
        due = due[: self.config.max_lookups_per_run]
        if not due:
            yield Checkpoint(stream, {"retrieved": retrieved})
            return
        with Bureau(self.config) as bureau:
            for code in due:
                try:
                    answer = bureau.lookup("organization", code, self.config.watch_purpose)
                except BureauAnswerError as exc:
                    yield IncomingRecord(
                        stream=stream,
                        external_id=code,
                        kind="organization",
                        fields={"uscc": code},
                        raw={"_error": str(exc)},
                        problems={"record": f"the bureau's report on {code} is unreadable: {exc}"},
                    )
                else:
                    record = registration_record(answer)
                    if record is not None:
                        yield record
                retrieved[code] = now.isoformat()
                yield Checkpoint(stream, {"retrieved": dict(retrieved)})


def _older(stamp: str | None, limit: datetime) -> bool:
    if not stamp:
        return True
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return True
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when < limit
