"""Offline source paths are confined to the import roots (issue 12, item 11):
``c360 sources add`` refuses absolute paths outside them, ``..`` escapes, globs
that would escape and symlinks that resolve outside, naming the path and the
roots; a file swapped for such a symlink after the source was added is refused
again when it is read. Real files and symlinks; ``c360`` runs in the test's
process (its answers, not its start-up, are under test)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import Result

from c360.connectors.offline import OfflineConnector
from c360.platform.settings import get_settings
from tests.cli_helpers import InProcessCli, in_process_env


@pytest.fixture
def root(tmp_path: Path) -> Path:
    directory = tmp_path / "exports"
    directory.mkdir()
    members = "编号,姓名,手机\nM1,张伟,13800138000\n"
    (directory / "members.csv").write_text(members, encoding="utf-8")
    return directory


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    directory = tmp_path / "private"
    directory.mkdir()
    (directory / "secret.csv").write_text("编号,姓名,手机\nS1,李娜,13900139000\n", encoding="utf-8")
    return directory


@pytest.fixture
def env(tmp_path: Path, root: Path) -> dict[str, str]:
    found = {k: v for k, v in os.environ.items() if not k.startswith("C360_")}
    found.update({"C360_DATA_DIR": str(tmp_path / "data"), "C360_IMPORT_ROOTS": str(root)})
    return found


def c360(args: list[str], env: dict[str, str]) -> Result:
    """``c360 args`` in this process, as a process with environment ``env`` would run."""
    return InProcessCli()(args, **in_process_env(env))


def add(env: dict[str, str], name: str, path: str) -> tuple[int, str]:
    config = json.dumps({"files": [{"path": path, "stream": "people"}]})
    done = c360(["sources", "add", name, "--connector", "offline", "--config", config], env)
    return done.exit_code, done.stdout + done.stderr


@pytest.fixture
def roots_in_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, root: Path) -> Iterator[None]:
    """This process's settings with ``root`` as the only configured import root."""
    monkeypatch.setenv("C360_IMPORT_ROOTS", str(root))
    monkeypatch.setenv("C360_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "{outside}/secret.csv",
        "{root}/../private/secret.csv",
        "{root}/*/../../private/*.csv",
        "/etc/*",
        "~/*.csv",
        "{root}/link/secret.csv",  # a directory symlink inside the root, pointing out
        "{root}/link/*.csv",
    ],
)
@pytest.mark.usefixtures("roots_in_process")
def test_configs_naming_paths_outside_the_import_roots_are_refused(
    root: Path, outside: Path, path: str
) -> None:
    (root / "link").symlink_to(outside, target_is_directory=True)
    path = path.format(root=root, outside=outside)
    with pytest.raises(ValidationError) as info:
        OfflineConnector.from_config({"files": [{"path": path}]})
    (error,) = info.value.errors()
    assert error["loc"] == ("files", 0, "path")
    if ".." in path:
        assert "'..' is not allowed" in error["msg"]
    else:
        assert path in error["msg"] and str(root) in error["msg"]
        assert "C360_IMPORT_ROOTS" in error["msg"]


def test_sources_add_refuses_a_path_outside_the_roots(env: dict[str, str], root: Path) -> None:
    code, output = add(env, "leak", "/etc/passwd")
    assert code == 2, output
    said = " ".join(output.split())
    assert "/etc/passwd" in said and str(root) in said and "outside the import roots" in said
    assert "leak" not in c360(["sources", "list"], env).stdout


def test_a_file_swapped_for_a_symlink_is_refused_when_read(
    env: dict[str, str], root: Path, outside: Path
) -> None:
    code, output = add(env, "crm", str(root / "members.csv"))
    assert code == 0, output
    checked = c360(["sources", "check", "crm"], env)
    assert checked.exit_code == 0, checked.stderr
    (root / "members.csv").unlink()
    (root / "members.csv").symlink_to(outside / "secret.csv")
    checked = c360(["sources", "check", "crm"], env)
    assert checked.exit_code != 0
    said = " ".join(checked.stderr.split())
    assert "outside the import roots" in said and "secret.csv" in said
    synced = c360(["sync", "crm"], env)
    assert synced.exit_code != 0
    assert "outside the import roots" in " ".join(synced.stderr.split())


def test_a_glob_matching_a_symlink_out_of_the_root_is_refused(
    env: dict[str, str], root: Path, outside: Path
) -> None:
    code, output = add(env, "all", str(root / "*.csv"))
    assert code == 0, output
    (root / "zz.csv").symlink_to(outside / "secret.csv")
    synced = c360(["sync", "all"], env)
    assert synced.exit_code != 0
    said = " ".join(synced.stderr.split())
    assert "outside the import roots" in said and "zz.csv" in said


def test_files_under_the_data_dirs_imports_are_read_by_default(
    env: dict[str, str], tmp_path: Path
) -> None:
    imports = tmp_path / "data" / "imports"
    imports.mkdir(parents=True)
    (imports / "fair.csv").write_text("编号,姓名,手机\nF1,王芳,13700137000\n", encoding="utf-8")
    env = {**env}
    env.pop("C360_IMPORT_ROOTS")
    code, output = add(env, "fair", str(imports / "fair.csv"))
    assert code == 0, output
    synced = c360(["sync", "fair"], env)
    assert synced.exit_code == 0, synced.stderr
