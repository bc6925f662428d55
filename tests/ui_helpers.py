"""The staff workspace's browser tests: headless Chromium (Debian's package at
``/usr/bin/chromium``) driven by Playwright, one browser and one served app per
test module, staff accounts per role, and a screenshot of the page whenever a
test fails (under ``$C360_TEST_SCREENSHOTS`` or the pytest temp dir).

Without Chromium the tests skip locally and *fail* under ``CI=true``."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from c360.auth.masking import MASKS
from c360.auth.policy import policy_field
from c360.auth.policy_table import FIELDS, Access
from c360.auth.principal import ROLES
from c360.auth.staff import create_account
from c360.platform.db import make_engine
from c360.platform.sources import save_source
from c360.platform.value.segments import create_segment, find_segment
from c360.search.embedded import EmbeddedSearch
from c360.search.indexer import Indexer
from c360.search.segments import evaluate_segment
from tests.api_helpers import Server, make_settings, serve
from tests.policy_helpers import (
    ALERT_MESSAGE,
    CREDIT_REASON,
    OVERRIDE_REASON,
    PERSON,
    Matrix,
    seed_credit,
    seed_matrix,
)
from tests.search_helpers import ingest, person

CHROMIUM = os.environ.get("C360_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PASSWORD = "correct horse battery staple"
ROLES_REGION = {"agent": ["北京"]}
"""The matrix's customers live in 北京: the agent serves it."""

DEMO_LIKE = [
    person("fhn", name="冯厚楠", phone="13812345678", city="北京市", email="fhn@example.cn"),
    person("zwd", name="张伟东", phone="13900001111", city="北京市"),
    person("lj", name="刘军", phone="13700002222", city="上海市"),
]


def require_chromium() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    message = f"chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Workspace:
    """A served app with a seeded world, staff accounts and a browser."""

    server: Server
    engine: Engine
    matrix: Matrix
    context: Any
    customers: dict[str, int]

    @property
    def url(self) -> str:
        return self.server.url

    def sign_in(self, page: Any, role: str) -> None:
        page.goto("about:blank")  # a page signed out under it would navigate to /signin itself
        page.goto(f"{self.url}/signin")
        page.get_by_label(re.compile("用户名")).fill(f"ui-{role}")
        page.get_by_label(re.compile("密码")).fill(PASSWORD)
        page.locator("#signin-button").click()
        page.wait_for_url(f"{self.url}/")
        page.locator("#who").filter(has_text=role).wait_for()


def build_workspace(engine: Engine, root: Path) -> Iterator[Workspace]:
    """The app over ``engine`` (migrated, empty) with the policy matrix, a few
    demo-like customers indexed, an account per role, and one Chromium."""
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    matrix = seed_matrix(engine)
    seed_credit(engine, matrix.person)
    save_source(engine, "shop", "offline", {}, trust=60)
    ingest(engine, "shop", DEMO_LIKE)
    # values a source got wrong: the data-quality dashboard's refusal reasons
    ingest(engine, "shop", [person("bad", name="吴效", phone="12", email="not-an-email")])
    backend = EmbeddedSearch(root / "search")
    Indexer(engine, backend).drain(wait=True)
    with engine.begin() as conn:  # a segment for the segments page
        create_segment(
            conn, "北京客户", {"city": ["北京市"]}, actor="ui-test", description="<i>北京</i>"
        )
        segment = find_segment(conn, "北京客户")
    assert segment is not None
    evaluate_segment(engine, backend, segment)
    from tests.search_helpers import customer_of

    customers = {r.external_id: customer_of(engine, "shop", r.external_id) for r in DEMO_LIKE}
    for role in ("agent", "marketing", "risk", "compliance", "admin"):
        create_account(engine, f"ui-{role}", role, ROLES_REGION.get(role, []), PASSWORD)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(root / "profile"), executable_path=executable, headless=True, args=ARGS
        )
        try:
            for served in serve(engine, make_settings(root), search=backend):
                yield Workspace(served, engine, matrix, context, customers)
        finally:
            context.close()
            backend.close()


@pytest.fixture(scope="module")
def workspace(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workspace]:
    """One workspace (:func:`build_workspace`) over a fresh SQLite copy."""
    require_chromium()
    root = tmp_path_factory.mktemp("ui")
    shutil.copyfile(sqlite_template, root / "c360.db")
    engine = make_engine(f"sqlite:///{root / 'c360.db'}")
    try:
        yield from build_workspace(engine, root)
    finally:
        engine.dispose()


@pytest.fixture
def page(workspace: Workspace, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh tab with no cookies; its screenshot is saved if the test fails."""
    yield from open_page(workspace, request)


def open_page(workspace: Workspace, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh tab of ``workspace``'s browser with no cookies; its screenshot is
    saved if the test fails."""
    workspace.context.clear_cookies()
    tab = workspace.context.new_page()
    tab.set_default_timeout(10_000)
    failed_before = request.session.testsfailed
    yield tab
    if request.session.testsfailed > failed_before:
        where = Path(
            os.environ.get("C360_TEST_SCREENSHOTS") or request.config.rootpath / "screenshots"
        )
        where.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-120:]
        tab.screenshot(path=str(where / f"{name}.png"), full_page=True)
    tab.close()


def walk_policy_matrix(workspace: Workspace, page: Any, role: str) -> None:
    """The 360 view of the matrix's person, signed in as ``role``: every
    attribute shown clear, masked or not at all exactly as the policy table's
    ``FIELDS`` row says (as the API's matrix test walks it), and the actions the
    role may run offered, the others not."""
    workspace.sign_in(page, role)
    page.goto(f"{workspace.url}/#/customer/{workspace.matrix.person}")
    page.locator("#profile tbody tr").first.wait_for()
    shown = {
        row.get_attribute("data-field"): row.locator("td.value").inner_text()
        for row in page.locator("#profile tbody tr").all()
    }
    walked = set()
    for attribute, clear in PERSON.items():
        field = policy_field(attribute)
        walked.add(field)
        access = FIELDS[field][ROLES.index(role)]
        if access in (Access.CLEAR, Access.CLEAR_WITH_PURPOSE):  # the page declares one
            assert shown.get(attribute, "").startswith(clear), (role, attribute, shown)
        elif access is Access.MASKED and attribute in MASKS:
            assert attribute in shown and clear not in shown[attribute], (role, attribute)
            assert shown[attribute].startswith(MASKS[attribute](clear)), (role, attribute)
        else:
            assert attribute not in shown, (role, attribute, shown.get(attribute))
    assert walked >= {f for f in FIELDS if f in {policy_field(a) for a in PERSON}}
    notes = page.locator("#notes .note-text").all_inner_texts()
    if FIELDS["note"][ROLES.index(role)] is Access.HIDDEN:
        assert all(n in ("无权查看", "") for n in notes)
    else:
        assert "客户要求下周回访" in notes
    walk_credit(page, role)
    walk_authenticity(page, role)
    assert page.locator("#tag-form").is_visible() == (role in ("agent", "marketing", "admin"))
    assert page.locator("#note-form").is_visible() == (role in ("agent", "risk", "admin"))
    assert page.locator("#admin").is_visible() == (role == "admin")


CREDIT_SHOWN = {
    # policy row: what the 360 view's credit panel shows of the matrix person's credit
    "credit_grade": "D",
    "credit_score": "540.5",
    "credit_pd": "18.34%",
    "credit_limit": "8,000 · 15",
    "credit_measures": "guarantee or collateral",
    "credit_reasons": CREDIT_REASON,
    "credit_decisions": OVERRIDE_REASON,
    "credit_alert": ALERT_MESSAGE,
}


def walk_credit(page: Any, role: str) -> None:
    """The credit panel: each policy row the role reads is shown with the
    seeded credit's value; the others are not on the page at all."""
    text = page.locator("#customer-view").inner_text()
    readable = {
        row
        for row in CREDIT_SHOWN
        if FIELDS[row][ROLES.index(role)] in (Access.CLEAR, Access.CLEAR_WITH_PURPOSE)
    }
    if readable:
        page.locator("#credit tr").first.wait_for()
    for row, shown in CREDIT_SHOWN.items():
        cells = page.locator(f"#credit tr[data-row={row}] td")
        if row in readable:
            assert shown in cells.inner_text(), (role, row, cells.inner_text())
        else:
            assert cells.count() == 0, (role, row)
            assert shown not in text or row in ("credit_grade", "credit_score"), (role, row)
    assert page.locator("#credit-card").is_visible() == bool(readable)


def walk_authenticity(page: Any, role: str) -> None:
    """The authenticity panel: a row for each policy row the role reads
    (authenticity_score or _band, authenticity_reasons, verification_state),
    none for the others; a role reading the band alone sees no score."""

    def reads(row: str) -> bool:
        return FIELDS[row][ROLES.index(role)] in (Access.CLEAR, Access.CLEAR_WITH_PURPOSE)

    rows = page.locator("#authenticity tr")
    shown = {r.get_attribute("data-row") for r in rows.all()}
    expected = {
        "authenticity_score": reads("authenticity_score") or reads("authenticity_band"),
        "authenticity_reasons": reads("authenticity_reasons"),
        "verification_state": reads("verification_state"),
    }
    for row, present in expected.items():
        assert (row in shown) == present, (role, row, shown)
    if not reads("authenticity_score") and "authenticity_score" in shown:
        assert (
            "/100" not in page.locator("#authenticity tr[data-row=authenticity_score]").inner_text()
        )
