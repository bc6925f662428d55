"""``c360 serve --workers 2`` as real processes: two API workers answer, share
the connections of clients that open them together, the metrics are summed over
them, and the background work — webhook deliveries among it — runs once."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from c360.ops.outbound import PolicyScreen
from c360.platform import tables as t
from c360.platform.business_events import record_event
from c360.platform.db import make_engine, migrate
from c360.platform.models import utcnow
from c360.platform.outbound.endpoints import add_endpoint
from tests.api_helpers import free_socket, shared_signing_key
from tests.cli_helpers import C360
from tests.outbound_helpers import receiver


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _connections_held(pids: list[int], port: int) -> dict[int, int]:
    """How many established connections to ``port`` each process holds (from
    /proc: the sockets of ``/proc/net/tcp*`` matched to each one's descriptors)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01":  # ESTABLISHED, server side
                inodes.add(fields[9])
    held: dict[int, int] = {}
    for pid in pids:
        count = 0
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(fd) if fd.is_symlink() else ""
            if target.startswith("socket:[") and target[8:-1] in inodes:
                count += 1
        held[pid] = count
    return held


def test_two_workers_serve_and_deliver_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c360.db'}"
    engine = make_engine(url)
    migrate(engine)
    now = utcnow()
    with engine.begin() as conn:
        cid = conn.execute(
            insert(t.customer).values(kind="person", created_at=now, updated_at=now)
        ).inserted_primary_key[0]
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = {
        **os.environ,
        "C360_DATABASE_URL": url,
        "C360_DATA_DIR": str(tmp_path / "data"),
        "C360_SIGNING_KEY_PATH": str(shared_signing_key()),
        "C360_METRICS_TOKEN": "workers-token",
        "C360_RATE_LIMIT_PER_MINUTE": "0",
    }
    with receiver() as hook:
        add_endpoint(
            engine,
            PolicyScreen(),
            name="once",
            url=hook.url,
            role="admin",
            event_types=["customer.*"],
            allow_private=True,
        )
        stderr = (tmp_path / "serve.log").open("wb")
        process = subprocess.Popen(
            [*C360, "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                assert process.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "c360 serve --workers 2 did not start"
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            time.sleep(2)  # both workers up
            workers = _children(process.pid)
            assert len(workers) >= 2, workers  # uvicorn's worker processes
            for _ in range(40):
                assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
            # 16 keep-alive connections opened at once are served 8 by each
            # worker (the parent hands them out in turn), not all accepted by
            # whichever woke first (one shared socket) or split as a hash falls
            # (a socket each)
            burst = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(16)]
            try:
                for conn in burst:
                    conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: c360\r\n\r\n")
                for conn in burst:
                    assert conn.recv(64).startswith(b"HTTP/1.1 200")
                held = sorted(_connections_held(workers, port).values())
                assert held[-2:] == [8, 8], held
            finally:
                for conn in burst:
                    conn.close()
            with engine.begin() as conn:
                record_event(conn, "customer.updated", cid, {"customer_id": cid})
            deadline = time.monotonic() + 30
            while not hook.received and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(2)  # a second deliverer would have sent it by now
            assert len(hook.received) == 1
            text = httpx.get(
                f"{base}/metrics", headers={"Authorization": "Bearer workers-token"}, timeout=10
            ).text
        finally:
            process.terminate()
            process.wait(30)
            stderr.close()
    samples = [
        s
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "c360_http_requests_total" and s.labels.get("route") == "/healthz"
    ]
    assert sum(s.value for s in samples) >= 40  # counted in both workers, summed
    engine.dispose()
