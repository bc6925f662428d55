"""The drain that follows each accepted delivery, in the background of the
receiving process, paced so that accepting deliveries comes first."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from c360.connectors.web.drain import DRAIN_BATCH, drain_inbox

log = logging.getLogger(__name__)

BUSY_BATCH = 10
"""Deliveries per transaction for the background drain while deliveries keep arriving."""
BUSY_SHARE = 0.2
"""While deliveries keep arriving, the background drain runs at most this share of the time."""
IDLE_S = 0.5
"""No delivery for this long: the senders stopped, the drain takes full batches."""


class BackgroundDrainer:
    """Drains a source's inbox in the background, one drain per source at a time;
    deliveries that arrive during a drain are picked up by a further loop.

    Intake comes first. Draining (normalize, link, store) costs a few times what
    accepting a delivery does, runs in the same process (the GIL) and holds the
    database's write lock for each batch, which every accepted delivery waits
    for. So while deliveries keep arriving, the drain takes :data:`BUSY_BATCH`
    at a time (a short hold of the lock) and rests between batches, running at
    most :data:`BUSY_SHARE` of the time: that keeps up with a steady trickle,
    and a burst's backlog waits on disk. Once deliveries have stopped for
    :data:`IDLE_S` it drains in full batches."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._locks: dict[str, threading.Lock] = {}
        self._dirty: dict[str, bool] = {}
        self._guard = threading.Lock()
        self.last_delivery = 0.0

    async def nudge(self, source_name: str) -> None:
        """After an answer: start a drain of the source, unless one is running
        (it sees the flag); no thread is taken for that."""
        self.last_delivery = time.monotonic()
        lock = self._locks.get(source_name)
        if lock is not None and lock.locked():
            self._dirty[source_name] = True
            if lock.locked():  # still running after the flag was set: it will loop
                return
        await run_in_threadpool(self.kick, source_name)

    def kick(self, source_name: str) -> None:
        self.last_delivery = time.monotonic()
        with self._guard:
            lock = self._locks.setdefault(source_name, threading.Lock())
            self._dirty[source_name] = True
        while True:
            if not lock.acquire(blocking=False):
                return  # the drain running now will see the flag
            try:
                while self._dirty.get(source_name):
                    self._dirty[source_name] = False
                    try:
                        drain_inbox(self.engine, source_name, pace=self.pacer())
                    except Exception:  # left pending: the scheduler drains it later
                        log.exception("draining the webhook inbox of %s failed", source_name)
                        return
            finally:
                lock.release()
            if not self._dirty.get(source_name):
                return

    def pacer(self) -> Callable[[], int]:
        """The ``pace`` of one drain: waits before each batch; returns its size."""
        last_batch: list[float] = []  # when the previous batch started

        def pace() -> int:
            now = time.monotonic()
            rest = (now - last_batch[0]) * (1 / BUSY_SHARE - 1) if last_batch else 0.0
            resume = now + rest
            while True:
                now = time.monotonic()
                if now - self.last_delivery >= IDLE_S:
                    size = DRAIN_BATCH
                    break
                if now >= resume:
                    size = BUSY_BATCH
                    break
                time.sleep(min(0.05, resume - now))
            last_batch[:] = [now]
            return size

        return pace
