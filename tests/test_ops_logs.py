"""``c360 serve`` logs JSON lines, one per request with its id, principal,
operation and duration — and never a personal value: the demo is generated and
synced, served, queried (lists, a 360 view, a search by name, a bad query) and
every line the server and the sync wrote is searched for the data's names,
phones, e-mails and id numbers."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from c360.platform import tables as t
from c360.platform.db import make_engine
from tests.cli_helpers import C360, serve_process

PERSONAL = ("name", "phone", "email", "id_number")


def _personal_values(url: str) -> set[str]:
    """Every personal value the database holds, golden and as each source said it."""
    engine = make_engine(url)
    values: set[str] = set()
    with engine.connect() as conn:
        for (attributes,) in conn.execute(select(t.golden_profile.c.attributes)):
            for key in PERSONAL:
                for entry in (attributes or {}).get(key, {}).get("lineage", []):
                    values.add(str(entry["value"]))
        for (attributes,) in conn.execute(select(t.source_record.c.attributes)):
            for key in PERSONAL:
                if (attributes or {}).get(key):
                    values.add(str(attributes[key]))
    engine.dispose()
    phones = {v.removeprefix("+86") for v in values if v.startswith("+86")}
    return {v for v in values | phones if len(v) >= 2}


def test_no_log_line_carries_a_personal_value(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c360.db'}"
    env = {**os.environ, "C360_DATABASE_URL": url, "C360_DATA_DIR": str(tmp_path / "data")}
    demo = subprocess.run(
        [*C360, "demo", "--people", "30", "--companies", "5", "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert demo.returncode == 0, demo.stderr
    for served in serve_process(tmp_path):
        sync = subprocess.run(
            [*C360, "sync", "web_signups", "store_pos", "--full"],
            env={**env, "C360_SIGNING_KEY_PATH": os.environ.get("C360_SIGNING_KEY_PATH", "")},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert sync.returncode == 0, sync.stderr
        headers = {
            "Authorization": f"Bearer {served.token('admin')}",
            "X-Purpose": "service",
            "X-Request-Id": "log-test-1",
        }
        page = httpx.post(
            f"{served.url}/graphql",
            json={
                "query": "query Page { customers(first: 50) { edges { node { customerId "
                'displayName phone: attribute(name: "phone") { value } '
                'email: attribute(name: "email") { value } } } } }'
            },
            headers=headers,
            timeout=30,
        ).json()
        nodes = [edge["node"] for edge in page["data"]["customers"]["edges"]]
        assert nodes and any(n["phone"] and "*" not in n["phone"]["value"] for n in nodes)
        name = next(n["displayName"] for n in nodes if n["displayName"])
        view = httpx.post(
            f"{served.url}/graphql",
            json={
                "query": "query View($id: ID!) { customer(id: $id) { displayName "
                "attributes { name value } } }",
                "variables": {"id": str(nodes[0]["customerId"])},
            },
            headers=headers,
            timeout=30,
        )
        assert view.status_code == 200 and "errors" not in view.json()
        for query, variables in (
            ("query Find($q: String) { customers(search: $q) { totalCount } }", {"q": name}),
            ('{ customers(search: "' + name + '") { nosuchfield } }', {}),
            ("query Bad($id: ID!) { customer(id: $id) { displayName } }", {"id": name}),
        ):
            httpx.post(
                f"{served.url}/graphql",
                json={"query": query, "variables": variables},
                headers=headers,
                timeout=30,
            )
        log = served.log()
    values = _personal_values(url)
    assert name in values and len(values) > 50
    lines = [line for line in log.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is JSON
    requests = [r for r in records if r.get("message") == "request"]
    page_line = next(r for r in requests if r.get("request_id") == "log-test-1")
    assert page_line["principal"] == "test-admin" and page_line["operation"] == "Page"
    assert page_line["status"] == 200 and page_line["duration_ms"] > 0
    assert page_line["route"] == "/graphql" and page_line["level"] == "INFO"
    assert {"time", "level", "request_id", "duration_ms"} <= set(page_line)
    for text in (*lines, sync.stdout, sync.stderr):
        leaked = sorted(v for v in values if v in text)
        assert leaked == [], f"personal values logged: {leaked[:3]} in {text[:300]!r}"


pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
