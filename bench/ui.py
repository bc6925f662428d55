"""The staff workspace in a browser: how long from the keystroke that completes a
query to its results rendered on the page, on the demo data.

    python -m bench.ui            # demo of 1,000 people and 100 companies, 200 queries
    python -m bench.ui --smoke    # 200 people, 20 queries (CI)

It runs ``c360 demo --no-serve`` in a temporary ``C360_DATA_DIR``, creates an
admin account (``c360 users create``), serves the app (``c360 serve``),
signs in through the form in headless Chromium (``/usr/bin/chromium``, as the
browser tests do), and types staff-style queries seeded from the demo's own
customers: a name, a name's pinyin initials, a name with its last character
dropped (typed so far), a phone's last four digits. For each query the text
minus its last character is typed and its results awaited, then the last
character is typed; the time runs from that ``input`` event to the moment the
result list says it shows that text (``data-rendered-for``), measured in the
page with ``performance.now()`` — the debounce, the request, the server, the
JSON and the DOM update all included. Prints p50/p99 and, last::

    keystroke_to_results_p50_ms=… p99_ms=…
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

CHROMIUM = os.environ.get("C360_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

MEASURE = """async (q) => {
  const box = document.querySelector('#q');
  const list = document.querySelector('#results');
  const rendered = (text) => new Promise((resolve) => {
    if (list.dataset.renderedFor === text) { resolve(); return; }
    const watch = new MutationObserver(() => {
      if (list.dataset.renderedFor === text) { watch.disconnect(); resolve(); }
    });
    watch.observe(list, { attributes: true, attributeFilter: ['data-rendered-for'] });
  });
  const before = q.slice(0, -1);
  box.value = before;
  box.dispatchEvent(new Event('input', { bubbles: true }));
  await rendered(before.trim());
  const started = performance.now();
  box.value = q;
  box.dispatchEvent(new Event('input', { bubbles: true }));
  await rendered(q.trim());
  return [performance.now() - started, list.children.length];
}"""


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _c360(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "c360.cli", *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"c360 {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _queries(url: str, cookies: dict[str, str], csrf: str, count: int, seed: int) -> list[str]:
    """Staff-style queries from the demo's customers (their names and phones as
    an administrator reads them)."""
    body = {
        "query": "{ customers(first: 100, kind: PERSON) { edges { node { displayName "
        'attribute(name: "phone") { value } } } } }'
    }
    answer = httpx.post(
        f"{url}/ui/graphql",
        json=body,
        cookies=cookies,
        headers={"X-CSRF-Token": csrf, "Origin": url, "X-Purpose": "service"},
        timeout=30,
    ).json()
    from pypinyin import Style, lazy_pinyin

    people = [e["node"] for e in answer["data"]["customers"]["edges"] if e["node"]["displayName"]]
    rng = random.Random(seed)
    queries: list[str] = []
    while len(queries) < count:
        person = rng.choice(people)
        name: str = person["displayName"]
        phone = re.sub(r"\D", "", (person.get("attribute") or {}).get("value") or "")
        kind = rng.randrange(4)
        if kind == 0:
            queries.append(name)
        elif kind == 1:
            queries.append("".join(s[0] for s in lazy_pinyin(name, style=Style.NORMAL) if s))
        elif kind == 2 and len(name) >= 3:
            queries.append(name[:-1])
        elif len(phone) >= 4:
            queries.append(phone[-4:])
    return [q for q in queries if len(q) >= 2]


def _screenshots(page: Any, query: str, where: Path) -> None:
    """The docs' pictures of the demo: the search page with ``query`` typed,
    the first hit's 360 view, and the data-quality dashboard."""
    where.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 860})
    page.evaluate(MEASURE, query)
    page.screenshot(path=str(where / "ui-search.png"))
    page.locator("#q").press("ArrowDown")
    page.locator("#q").press("Enter")
    page.locator("#profile tbody tr").first.wait_for()
    page.screenshot(path=str(where / "ui-360.png"), full_page=True)
    page.goto(page.url.split("#")[0] + "#/quality")
    page.locator("#completeness-chart svg").wait_for()
    page.screenshot(path=str(where / "ui-quality.png"), full_page=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny demo, 20 queries")
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--companies", type=int, default=100)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=360)
    parser.add_argument(
        "--screenshots",
        type=Path,
        help="afterwards, save the search page, a 360 view and the data-quality page "
        "here (ui-search.png, ui-360.png, ui-quality.png: the docs' pictures)",
    )
    args = parser.parse_args()
    if args.smoke:
        args.people, args.companies, args.queries = 200, 20, 20
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="c360-bench-ui-") as tmp:
        root = Path(tmp)
        port = _port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("C360_")},
            "C360_DATA_DIR": str(root / "data"),
            "C360_DATABASE_URL": f"sqlite:///{root / 'c360.db'}",
            "C360_PORT": str(port),
        }
        started = time.perf_counter()
        _c360(
            env,
            "demo",
            "--people",
            str(args.people),
            "--companies",
            str(args.companies),
            "--no-serve",
        )
        print(f"demo_s={time.perf_counter() - started:.1f}", flush=True)
        made = _c360(env, "users", "create", "bench-admin", "--role", "admin")
        password = made.split("password (shown once): ")[1].split()[0]
        server = subprocess.Popen(
            [sys.executable, "-m", "c360.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("c360 serve did not start")
                time.sleep(0.2)
            with sync_playwright() as playwright:
                context = playwright.chromium.launch_persistent_context(
                    str(root / "profile"), executable_path=CHROMIUM, headless=True, args=ARGS
                )
                page = context.new_page()
                page.goto(f"{url}/signin")
                page.fill("#name", "bench-admin")
                page.fill("#password", password)
                page.click("#signin-button")
                page.wait_for_url(f"{url}/")
                page.locator("#results[data-rendered-for]").wait_for(state="attached")
                cookies = {c["name"]: c["value"] for c in context.cookies()}
                csrf = page.evaluate("async () => (await (await fetch('/ui/session')).json()).csrf")
                queries = _queries(url, cookies, csrf, args.queries, args.seed)
                for q in queries[:5]:  # warm up: caches, the JIT
                    page.evaluate(MEASURE, q)
                times: list[float] = []
                found = 0
                for q in queries:
                    ms, hits = page.evaluate(MEASURE, q)
                    times.append(float(ms))
                    found += hits > 0
                if args.screenshots is not None:
                    _screenshots(page, queries[0], args.screenshots)
                context.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    values = np.array(times)
    p50, p99 = float(np.percentile(values, 50)), float(np.percentile(values, 99))
    print(f"queries={len(times)} with_results={found} max_ms={values.max():.1f}")
    print(f"loadavg={Path('/proc/loadavg').read_text().split()[0]}")
    print(f"keystroke_to_results_p50_ms={p50:.1f} p99_ms={p99:.1f}")


if __name__ == "__main__":
    main()
