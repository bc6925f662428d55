"""The staff workspace over PostgreSQL: the 360 view for each role walked
against the policy table (the same walk as tests/test_ui_browser.py runs over
SQLite), so the page's masking does not depend on the backend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from c360.auth.principal import ROLES
from tests import ui_helpers
from tests.ui_helpers import Workspace

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.parametrize("module_engine", ["postgresql"], indirect=True),
]


@pytest.fixture(scope="module")
def workspace(
    module_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workspace]:
    ui_helpers.require_chromium()
    yield from ui_helpers.build_workspace(module_engine, tmp_path_factory.mktemp("ui-pg"))


@pytest.fixture
def page(workspace: Workspace, request: pytest.FixtureRequest) -> Iterator[Any]:
    yield from ui_helpers.open_page(workspace, request)


@pytest.mark.parametrize("role", ROLES)
def test_the_360_view_shows_each_field_as_the_policy_says(
    workspace: Workspace, page: Any, role: str
) -> None:
    ui_helpers.walk_policy_matrix(workspace, page, role)
