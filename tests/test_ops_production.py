"""The production profile of docker/compose.yaml, end to end with real processes:
PostgreSQL, an OpenSearch-compatible server (osmem), ``c360 serve`` with two API
workers (its parent runs the scheduler and the webhook deliveries) and a separate
``c360 indexer``, the demo sources synced into it; then search, the 360 view, a
signed webhook delivery and /metrics. And the compose file and the Dockerfile
use only commands and settings that exist."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from standardwebhooks.webhooks import Webhook

from c360.auth.config import AuthSettings
from c360.auth.issuing import TokenIssuer
from c360.auth.keys import SigningKeys
from c360.auth.principal import SCOPES
from c360.http_limits import HttpLimits
from c360.ops.outbound import PolicyScreen
from c360.platform.db import make_engine
from c360.platform.outbound.endpoints import add_endpoint
from c360.platform.settings import Settings
from c360.search.settings import SearchSettings
from tests.api_helpers import free_socket, shared_signing_key
from tests.cli_helpers import C360, InProcessCli
from tests.outbound_helpers import receiver

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker" / "compose.yaml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
METRICS_TOKEN = "production-profile-metrics"


def _until(what: str, check: Callable[[], Any], seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        try:
            found = check()
        except (httpx.TransportError, AssertionError):
            found = None
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _compose_env(service: dict[str, Any], anchors: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    return {**anchors, **env} if isinstance(env, dict) else anchors


@pytest.fixture
def processes(
    request: pytest.FixtureRequest, db_url: str, tmp_path: Path
) -> Iterator[dict[str, Any]]:
    """The compose services as processes over ``db_url`` (PostgreSQL) and osmem."""
    osmem = request.getfixturevalue("osmem_instance").clone()
    request.addfinalizer(osmem.close)
    port_sock = free_socket()
    port = port_sock.getsockname()[1]
    port_sock.close()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("C360_")},
        # What the compose file's x-c360-env sets, pointed at the test's services.
        "C360_DATABASE_URL": db_url,
        "C360_SEARCH_BACKEND": "opensearch",
        "C360_OPENSEARCH_URL": osmem.url,
        "C360_DATA_DIR": str(tmp_path / "data"),
        "C360_SIGNING_KEY_PATH": str(shared_signing_key()),
        "C360_METRICS_TOKEN": METRICS_TOKEN,
        "C360_WORKERS": "2",
        "C360_RATE_LIMIT_PER_MINUTE": "0",
    }
    logs = {name: (tmp_path / f"{name}.log").open("wb") for name in ("app", "indexer")}
    started: dict[str, subprocess.Popen[bytes]] = {}
    try:
        started["app"] = subprocess.Popen(
            [*C360, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=logs["app"],
        )
        started["indexer"] = subprocess.Popen(
            _compose()["services"]["indexer"]["command"],
            env={**env, "PATH": f"{Path(C360[0]).parent}:{env.get('PATH', '')}"},
            stdout=subprocess.DEVNULL,
            stderr=logs["indexer"],
        )
        yield {"env": env, "url": f"http://127.0.0.1:{port}", "procs": started, "dir": tmp_path}
    finally:
        for process in started.values():
            process.terminate()
        for process in started.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        for handle in logs.values():
            handle.close()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_compose_profile_serves_searches_delivers_and_reports(
    processes: dict[str, Any],
) -> None:
    env, base, procs, directory = (
        processes["env"],
        processes["url"],
        processes["procs"],
        processes["dir"],
    )

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*C360, *args], env=env, capture_output=True, text=True, timeout=900, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    engine = make_engine(env["C360_DATABASE_URL"])
    with receiver() as hook:
        endpoint = add_endpoint(
            engine,
            PolicyScreen(),
            name="crm",
            url=hook.url,
            role="admin",
            event_types=["customer.*"],
            allow_private=True,
        )
        engine.dispose()
        cli("demo", "--people", "40", "--companies", "4", "--no-serve", "--dir", str(directory))
        _until(
            "c360 serve --workers 2",
            lambda: httpx.get(f"{base}/healthz", timeout=2).status_code == 200,
            60,
        )
        assert all(p.poll() is None for p in procs.values())
        assert len(_children(procs["app"].pid)) >= 2  # the two API workers

        keys = SigningKeys(shared_signing_key())
        issuer = TokenIssuer(keys, issuer="urn:c360", audience="c360-api", ttl=600)
        token = issuer.issue(subject="production-test", roles=["admin"], scopes=SCOPES)
        headers = {"Authorization": f"Bearer {token}", "X-Purpose": "service"}

        def graphql(query: str, **variables: Any) -> dict[str, Any]:
            response = httpx.post(
                f"{base}/graphql",
                json={"query": query, "variables": variables},
                headers=headers,
                timeout=30,
            )
            body = response.json()
            assert response.status_code == 200 and "errors" not in body, body
            return body["data"]

        first = graphql("{ customers(first: 1) { edges { node { customerId displayName } } } }")
        node = first["customers"]["edges"][0]["node"]
        # Search, answered by OpenSearch once the separate indexer has caught up.
        search = (
            "query($q: String!) { customers(search: $q, first: 10) "
            "{ edges { node { customerId } } } }"
        )
        _until(
            "the indexer to fill OpenSearch",
            lambda: (
                node["customerId"]
                in [
                    e["node"]["customerId"]
                    for e in graphql(search, q=node["displayName"])["customers"]["edges"]
                ]
            ),
        )
        # The 360 view.
        view = graphql(
            "query($id: ID!) { customer(id: $id) { customerId displayName "
            "attributes { name } timeline(first: 5) { __typename } } }",
            id=str(node["customerId"]),
        )["customer"]
        assert view["customerId"] == node["customerId"] and view["attributes"]
        # A signed webhook delivery, from the serving parent's delivery worker.
        _until("a webhook delivery", lambda: hook.received, 30)
        delivery = hook.received[0]
        assert (
            Webhook(endpoint.secret)
            .verify(delivery.body, delivery.headers)["type"]
            .startswith("customer.")
        )
        metrics = httpx.get(
            f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
        )
    assert metrics.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(metrics.text)}
    sources = {s.labels["source"] for s in families["c360_sync_runs"].samples}
    assert "store_pos" in sources, sources
    assert any(s.labels.get("route") == "/graphql" for s in families["c360_http_requests"].samples)
    assert families["c360_outbound_deliveries"].samples


def _known_settings() -> set[str]:
    """Every ``C360_*`` name c360 reads: its settings classes' fields and the
    names its code reads from the environment directly."""
    names = {
        f"C360_{field.upper()}"
        for model in (Settings, AuthSettings, SearchSettings, HttpLimits)
        for field in model.model_fields
    }
    for path in (ROOT / "c360").rglob("*.py"):
        names |= set(re.findall(r"\"(C360_[A-Z0-9_]+)\"", path.read_text(encoding="utf-8")))
    return names


def _c360_commands(cli: InProcessCli) -> set[str]:
    done = cli(["--help"])
    assert done.exit_code == 0, done.output
    return set(re.findall(r"│ ([a-z][a-z0-9-]+)\s", done.output))


def test_compose_and_dockerfile_use_only_what_exists() -> None:
    cli = InProcessCli()
    known = _known_settings()
    commands = _c360_commands(cli)
    compose = _compose()
    anchors = compose.get("x-c360-env") or {}
    used: dict[str, set[str]] = {}
    for name, service in compose["services"].items():
        if "build" not in service:
            continue  # postgres, opensearch: not c360
        for variable in _compose_env(service, anchors):
            if variable.startswith("C360_"):
                used.setdefault(variable, set()).add(name)
        command = service.get("command") or ["c360", "serve"]
        assert command[0] == "c360" and command[1] in commands, (name, command)
        help_run = cli([*command[1:], "--help"])
        assert help_run.exit_code == 0, (name, command, help_run.output)
    docker = DOCKERFILE.read_text()
    for variable in re.findall(r"\b(C360_[A-Z0-9_]+)=", docker):
        used.setdefault(variable, set()).add("Dockerfile")
    cmd = re.search(r'^CMD \["c360", "([a-z-]+)"', docker, re.MULTILINE)
    assert cmd and cmd.group(1) in commands
    unknown = {v: sorted(s) for v, s in used.items() if v not in known}
    assert not unknown, f"settings c360 does not read: {unknown}"
    assert {"C360_DATABASE_URL", "C360_SEARCH_BACKEND", "C360_WORKERS"} <= set(used)
