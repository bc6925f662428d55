"""The background work that must run once however many processes serve: the
scheduler ticks only while holding its lease, on both databases (the indexer's
and the webhook deliveries' leases are tested with them)."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine

from c360.connectors.scheduler import LEASE, BackgroundScheduler
from c360.platform.locks import named_lock


def _until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_scheduler_ticks_only_while_it_holds_the_lease(engine: Engine) -> None:
    first = BackgroundScheduler(engine, tick_s=0.05)
    with named_lock(engine, LEASE) as held:  # another process is the leader
        assert held
        first.start()
        try:
            _until(lambda: first.ticks >= 4)
            assert first.led == 0
        except BaseException:
            first.stop()
            raise
    try:
        _until(lambda: first.led >= 1)  # the leader is gone: this one leads now
    finally:
        first.stop()
