"""The house's rules, read from the source with :mod:`ast`: dependencies point
down (assembly → schema → auth, search, connectors → platform), ``platform``
imports nothing else in c360, and there is no import cycle anywhere, function-
local and ``TYPE_CHECKING`` imports included."""

from __future__ import annotations

from pathlib import Path

import c360
from tests.import_graph import cycles, import_graph

ROOT = Path(c360.__file__).parent

ASSEMBLY = (
    "c360.app",
    "c360.graphql_app",
    "c360.http_limits",
    "c360.cli",
    "c360.demo",
    "c360.ops",
    "c360.observability",
)
"""The top floor: it may import anything, and only it imports itself."""

MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "c360.platform": ("c360.platform",),
    "c360.connectors": ("c360.connectors", "c360.platform"),
    "c360.auth": ("c360.auth", "c360.platform"),
    "c360.search": ("c360.search", "c360.platform"),
    "c360.schema": ("c360.schema", "c360.auth", "c360.search", "c360.platform"),
    "c360.ui": ("c360.ui", "c360.auth", "c360.platform"),
}
"""Each floor below the assembly, and the packages its modules may import."""


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


GRAPH = import_graph(ROOT, "c360")


def test_the_graph_sees_the_whole_tree() -> None:
    assert "c360.platform.db" in GRAPH and "c360.cli.support" in GRAPH
    assert "c360.platform.db" in GRAPH["c360.cli.support"]
    assert not any("migrations.versions" in name for name in GRAPH)


def test_every_package_and_module_of_c360_is_on_a_floor() -> None:
    # a new top-level package would otherwise import anything, unchecked
    tops = {
        f"c360.{path.stem}"
        for path in ROOT.iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").exists())
    }
    assert "c360.platform" in tops and "c360.app" in tops
    assert sorted(tops - set(ASSEMBLY) - set(MAY_IMPORT)) == []
    unpackaged = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*")
        if path.is_dir()
        and path.name != "__pycache__"
        and any(path.glob("*.py"))
        and not (path / "__init__.py").exists()
        and "migrations" not in path.parts
    ]
    assert unpackaged == []


def test_each_floor_imports_only_the_floors_below_it() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for floor, allowed in MAY_IMPORT.items()
        if _within(module, (floor,))
        for target in sorted(targets)
        if target != "c360" and not _within(target, allowed)
    ]
    assert wrong == []


def test_only_the_assembly_imports_the_assembly() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if not _within(module, ASSEMBLY)
        for target in sorted(targets)
        if _within(target, ASSEMBLY)
    ]
    assert wrong == []


def test_there_is_no_import_cycle() -> None:
    assert cycles(GRAPH) == []


def test_the_cycle_check_finds_cycles_even_through_function_local_imports(
    tmp_path: Path,
) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text("from . import c\n")
    (package / "sub" / "c.py").write_text(
        "def late():\n    from pkg import a  # dodging the cycle does not hide it\n"
    )
    (package / "d.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.e import E\n"
    )
    (package / "e.py").write_text("import pkg.d\n")
    (package / "f.py").write_text("import pkg.a\n")  # depends on a cycle, is not in one
    graph = import_graph(package, "pkg")
    assert cycles(graph) == [["pkg.a", "pkg.sub.b", "pkg.sub.c"], ["pkg.d", "pkg.e"]]
    (package / "sub" / "c.py").write_text("x = 1\n")
    assert cycles(import_graph(package, "pkg")) == [["pkg.d", "pkg.e"]]
