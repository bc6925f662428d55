"""Running ``c360`` as a real process: ``run_cli``, ``kill_sync_when`` (``kill -9``
mid-sync), ``write_members`` (a member CSV of any size) and ``serve_process``
(``c360 serve`` over a migrated SQLite database); ``InProcessCli`` runs ``c360``
in the test's own process, for answers to bad input where a process adds nothing."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from c360.auth.issuing import TokenIssuer
from c360.auth.keys import SigningKeys
from c360.auth.principal import SCOPES
from c360.cli import app as c360_app
from c360.platform.db import make_engine, migrate
from c360.platform.settings import get_settings
from c360.platform.sources import save_source
from tests.api_helpers import free_socket, shared_signing_key
from tests.helpers import resident_id
from tests.webhook_helpers import source_config

C360 = [sys.executable, "-m", "c360.cli"]


def write_members(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["会员卡号", "姓名", "手机", "身份证号", "城市"])
        for i in range(n):
            writer.writerow(
                [
                    f"M{i:06d}",
                    f"张{'伟芳娜敏静'[i % 5]}{i}",
                    f"138{i:08d}",
                    resident_id(seq=f"{i % 1000:03d}", birth=f"19{60 + i % 40}0101"),
                    "北京",
                ]
            )


def run_cli(args: list[str], env: dict[str, str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*C360, *args], env=env, capture_output=True, text=True, timeout=300, **kw
    )


def kill_sync_when(
    env: dict[str, str], source: str, ready: Callable[[], bool], otherwise: str
) -> None:
    """Start ``c360 sync source`` and ``kill -9`` it as soon as ``ready()``; fail
    with ``otherwise`` if that takes 120 s, or if the sync ends first."""
    proc = subprocess.Popen(
        [*C360, "sync", source], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                errors = proc.stderr.read() if proc.stderr else b""
                pytest.fail(f"sync finished before it could be killed: {errors!r}")
            if ready():
                break
            time.sleep(0.02)
        else:
            pytest.fail(f"{otherwise} within 120 s")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()


@dataclass
class Served:
    """A ``c360 serve`` process: its URL, pid, where its stderr goes, and its tokens."""

    url: str
    port: int
    pid: int
    stderr: Path
    issuer: TokenIssuer

    def token(self, *roles: str) -> str:
        """A token for ``roles`` with every c360 scope."""
        return self.issuer.issue(subject="test-" + "-".join(roles), roles=roles, scopes=SCOPES)

    def log(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")


def serve_process(directory: Path, **env: str) -> Iterator[Served]:
    """``c360 serve`` over a migrated SQLite database in ``directory`` holding
    the webhook source ``shop``, until the caller is done."""
    directory.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{directory / 'c360.db'}"
    engine = make_engine(url)
    migrate(engine)
    save_source(engine, "shop", "web", source_config())
    engine.dispose()
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    stderr = directory / "stderr.log"
    environment = {
        **os.environ,
        "C360_DATABASE_URL": url,
        "C360_DATA_DIR": str(directory / "data"),
        "C360_SIGNING_KEY_PATH": str(shared_signing_key()),
        "C360_SEARCH_BACKEND": "embedded",
        "C360_RATE_LIMIT_PER_MINUTE": "0",
        **env,
    }
    with stderr.open("wb") as errors:
        process = subprocess.Popen(
            [*C360, "serve", "--port", str(port)],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, stderr.read_text()
            assert time.monotonic() < deadline, "c360 serve did not start"
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        keys = SigningKeys(shared_signing_key())
        issuer = TokenIssuer(keys, issuer="urn:c360", audience="c360-api", ttl=600)
        yield Served(base, port, process.pid, stderr, issuer)
    finally:
        process.terminate()
        process.wait(15)


class InProcessCli:
    """``c360`` run through typer's runner in this process: the same commands and
    exit codes without paying a process start (about 2 s of imports) per call.
    The settings are re-read for every call, as a new process would."""

    def __call__(self, args: list[str], **env: str | None) -> Result:
        """``c360 args`` with ``env`` over this process's environment (``None``
        unsets a variable for the call)."""
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(c360_app, args, env=env or None)
        finally:
            get_settings.cache_clear()


def in_process_env(env: Mapping[str, str]) -> dict[str, str | None]:
    """The whole environment ``env`` of a ``c360`` process as overlays for
    :class:`InProcessCli`: the variables whose values differ from this process's,
    and ``None`` for each ``C360_*`` variable of this process that ``env`` leaves
    out (the runner only overlays, so a setting left out would otherwise leak in)."""
    overlays: dict[str, str | None] = {k: v for k, v in env.items() if os.environ.get(k) != v}
    overlays.update({k: None for k in os.environ if k.startswith("C360_") and k not in env})
    return overlays
