"""The API processes of ``c360 serve --workers N``: the parent listens on the
port, accepts each connection and hands it to the processes in turn (the
descriptor passed over a Unix socket, ``SCM_RIGHTS``), so N keep-alive
connections opened together are served N/workers by each process.

Why not let the processes accept: with one socket shared by every process
(uvicorn's own ``--workers``), whichever wakes first accepts every connection
waiting (asyncio accepts in a loop), and keep-alive clients stay where they
landed: 16 connections opened together could all end on one of two processes.
With a socket each (``SO_REUSEPORT``) the kernel hashes connections to them at
random, and 16 connections often split unevenly: bench/graphql.py served 176-258
pages/s in such runs against 300-326 in runs that split evenly. Handing over costs the
parent one ``accept`` and one ``sendmsg`` a connection, nothing a request.

The parent starts the processes, replaces one that dies (giving up when they keep
dying at once), and on SIGINT or SIGTERM stops accepting and stops them
gracefully (uvicorn finishes the requests in flight), killing any still running
after :data:`STOP_GRACE_S`. A process whose parent has gone stops too. Where
descriptors cannot be passed (no ``socket.send_fds``), uvicorn's supervisor
serves instead.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import socket
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn

log = logging.getLogger(__name__)

STOP_GRACE_S = 30.0
RESTARTS_PER_MINUTE = 5
"""More deaths than this within a minute: the workers cannot run; stop."""
FACTORY = "c360.cli.serve:worker_app"
HANDOFF_TIMEOUT_S = 1.0
"""How long the parent waits for a busy process to take a connection before it
offers the connection to the next one."""


def handoff_supported() -> bool:
    return hasattr(socket, "send_fds") and hasattr(socket, "AF_UNIX")


def listening_socket(host: str, port: int) -> socket.socket:
    """The parent's socket on ``host:port``; a port another program holds is
    refused with the address named."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    return sock


class HandedConnectionsServer(uvicorn.Server):
    """A uvicorn server that listens on nothing itself: it serves the
    connections its parent accepted and passes over ``channel``."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self.channel = channel

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])
        loop = asyncio.get_running_loop()
        config = self.config

        def create_protocol() -> asyncio.Protocol:
            # as uvicorn's own startup builds it for a socket it listens on
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state=self.lifespan.state
            )

        self.channel.setblocking(False)
        loop.add_reader(self.channel.fileno(), self._take, loop, create_protocol)

    def _take(
        self, loop: asyncio.AbstractEventLoop, create_protocol: Callable[[], asyncio.Protocol]
    ) -> None:
        try:
            message, fds, _flags, _address = socket.recv_fds(self.channel, 1, 1)
        except BlockingIOError:
            return
        except OSError:
            message, fds = b"", []
        if not message and not fds:  # the parent has gone: finish and stop
            loop.remove_reader(self.channel.fileno())
            self.should_exit = True
            return
        for fd in fds:
            connection = socket.socket(fileno=fd)
            connection.setblocking(False)
            loop.create_task(loop.connect_accepted_socket(create_protocol, connection))


def _serve_one(channel: socket.socket) -> None:
    """One API process: the app from :data:`FACTORY`, on the connections handed
    over ``channel``."""
    from c360.http_limits import uvicorn_options

    config = uvicorn.Config(FACTORY, factory=True, log_level="warning", **uvicorn_options())
    HandedConnectionsServer(config, channel).run()


class _Workers:
    """The processes and the parent's end of each one's channel."""

    def __init__(self, count: int) -> None:
        self._context = multiprocessing.get_context("spawn")  # no copy of our threads
        self.processes: list[BaseProcess] = []
        self.channels: list[socket.socket] = []
        for _ in range(count):
            process, channel = self._start()
            self.processes.append(process)
            self.channels.append(channel)

    def _start(self) -> tuple[BaseProcess, socket.socket]:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        process = self._context.Process(target=_serve_one, args=(theirs,), name="c360-api")
        process.start()
        theirs.close()  # the process holds its own copy now
        ours.settimeout(HANDOFF_TIMEOUT_S)
        return process, ours

    def replace(self, index: int) -> None:
        old = self.channels[index]
        self.processes[index], self.channels[index] = self._start()
        old.close()

    def hand(self, connection: socket.socket, first: int) -> int | None:
        """Pass ``connection`` to the first process from ``first`` on that takes
        it; the index of that process, or ``None`` when none did."""
        for step in range(len(self.channels)):
            index = (first + step) % len(self.channels)
            try:
                socket.send_fds(self.channels[index], [b"c"], [connection.fileno()])
            except OSError:  # gone (being replaced) or too busy to take it now
                continue
            return index
        return None

    def close_channels(self) -> None:
        for channel in self.channels:
            channel.close()


def _accept(listener: socket.socket, workers: _Workers, stop: threading.Event) -> None:
    """Accept until ``stop``, handing connections to the processes in turn."""
    listener.settimeout(0.5)
    turn = 0
    while not stop.is_set():
        try:
            connection, _address = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            if stop.is_set():
                return
            time.sleep(0.05)  # out of descriptors, say: try again shortly
            continue
        with connection:  # the process has its own copy once handed
            taken = workers.hand(connection, turn)
        if taken is None:
            log.warning("no API process took a connection; it was closed")
        else:
            turn = taken + 1


def serve_workers(host: str, port: int, workers: int) -> int:
    """Serve with ``workers`` processes until interrupted; the exit status."""
    listener = listening_socket(host, port)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    pool = _Workers(workers)
    acceptor = threading.Thread(
        target=_accept, args=(listener, pool, stop), name="c360-accept", daemon=True
    )
    acceptor.start()
    deaths: list[float] = []
    status = 0
    try:
        while not stop.wait(0.5):
            for index, process in enumerate(pool.processes):
                if process.is_alive():
                    continue
                now = time.monotonic()
                deaths = [t for t in deaths if now - t < 60] + [now]
                log.warning(
                    "API process %s ended with %s; starting another", process.pid, process.exitcode
                )
                if len(deaths) > RESTARTS_PER_MINUTE:
                    log.error("API processes keep ending (%d in a minute): stopping", len(deaths))
                    status = 1
                    stop.set()
                    break
                pool.replace(index)
    finally:
        stop.set()
        acceptor.join(2)
        listener.close()
        for process in pool.processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn's graceful shutdown
        deadline = time.monotonic() + STOP_GRACE_S
        for process in pool.processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        pool.close_channels()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return status


__all__ = ["FACTORY", "handoff_supported", "serve_workers"]
