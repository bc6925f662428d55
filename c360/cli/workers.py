"""The API processes of ``c360 serve --workers N``: each binds its own listening
socket on the same address with ``SO_REUSEPORT``, so the kernel spreads new
connections over the processes.

With one socket shared by every process (uvicorn's own ``--workers``), whichever
process wakes first accepts every connection waiting (asyncio accepts in a loop),
and keep-alive clients stay where they landed: 16 connections opened together
could all end on one of two processes, leaving the other idle. The kernel hashes
each connection to one of the sockets instead.

The parent starts the processes, replaces one that dies (giving up when they keep
dying at once, e.g. on a port already taken by another program), and on SIGINT or
SIGTERM stops them gracefully (uvicorn finishes the requests in flight), killing
any still running after :data:`STOP_GRACE_S`. Where ``SO_REUSEPORT`` does not
exist, uvicorn's supervisor serves instead.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess
from types import FrameType

log = logging.getLogger(__name__)

STOP_GRACE_S = 30.0
RESTARTS_PER_MINUTE = 5
"""More deaths than this within a minute: the workers cannot run; stop."""
FACTORY = "c360.cli.serve:worker_app"


def reuse_port_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` that other processes may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _serve_one(host: str, port: int) -> None:
    """One API process: its own socket, the app from :data:`FACTORY`."""
    import uvicorn

    from c360.http_limits import uvicorn_options

    sock = listening_socket(host, port)
    config = uvicorn.Config(FACTORY, factory=True, log_level="warning", **uvicorn_options())
    uvicorn.Server(config).run(sockets=[sock])


def _check_free(host: str, port: int) -> None:
    """Refuse a port another program listens on: a socket bound without
    ``SO_REUSEPORT`` cannot share it, whoever holds it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None


def serve_workers(host: str, port: int, workers: int) -> int:
    """Serve with ``workers`` processes until interrupted; the exit status."""
    _check_free(host, port)
    context = multiprocessing.get_context("spawn")  # no copy of the parent's threads
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}

    def start() -> BaseProcess:
        process = context.Process(target=_serve_one, args=(host, port), name="c360-api")
        process.start()
        return process

    processes = [start() for _ in range(workers)]
    deaths: list[float] = []
    status = 0
    try:
        while not stop.wait(0.5):
            for index, process in enumerate(processes):
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
                processes[index] = start()
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn's graceful shutdown
        deadline = time.monotonic() + STOP_GRACE_S
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return status


__all__ = ["listening_socket", "reuse_port_supported", "serve_workers"]
