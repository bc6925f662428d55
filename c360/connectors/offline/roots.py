"""Import roots: the directories an ``offline`` source may read files from.

A source's ``path`` is checked twice:

* when the config is validated (``c360 sources add``, and every sync as it loads
  the stored config): no ``..`` component, and the part before the first wildcard,
  with symlinks resolved, lies under a root;
* when the files are read (:func:`confine_file`): each file, symlinks resolved,
  lies under a root — the file may have been swapped for a symlink since — and it
  is that resolved path which is opened.

The roots are ``<data_dir>/imports`` and ``C360_IMPORT_ROOTS``
(:meth:`~c360.platform.settings.Settings.effective_import_roots`), plus any
directory the running command was given explicitly (:func:`allow_import_root`:
``c360 demo --dir``).
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from c360.platform.settings import get_settings

_ALLOWED: list[Path] = []


def allow_import_root(directory: Path | str) -> None:
    """Let this process read offline files under ``directory`` too (a directory the
    operator named on the command line, such as ``c360 demo --dir``)."""
    path = Path(os.path.realpath(directory))
    if path not in _ALLOWED:
        _ALLOWED.append(path)


def import_roots() -> list[Path]:
    """The roots in force, absolute and with symlinks resolved."""
    roots = [Path(os.path.realpath(r)) for r in get_settings().effective_import_roots()]
    return [*roots, *(r for r in _ALLOWED if r not in roots)]


def _within(path: str, roots: list[Path]) -> bool:
    return any(Path(path).is_relative_to(root) for root in roots)


def _outside(path: str, roots: list[Path], where: str) -> ValueError:
    shown = ", ".join(str(r) for r in roots)
    return ValueError(
        f"{where}{path!r} is outside the import roots ({shown}); put the file under one "
        "of them or add its directory to C360_IMPORT_ROOTS"
    )


def glob_base(pattern: str) -> str:
    """The directory part of a glob before its first wildcard ('' for none)."""
    parts: list[str] = []
    for part in Path(pattern).parent.parts:
        if glob.has_magic(part):
            break
        parts.append(part)
    return str(Path(*parts)) if parts else ""


def confine_pattern(path: str, where: str = "") -> None:
    """Raise :class:`ValueError` (naming ``path`` and the roots) unless the path or
    glob ``path`` stays under an import root."""
    expanded = os.path.expanduser(path)
    if ".." in Path(expanded).parts:
        raise ValueError(f"{where}{path!r}: '..' is not allowed in an offline source path")
    base = glob_base(expanded) if glob.has_magic(expanded) else expanded
    absolute = os.path.abspath(base or ".")
    real = os.path.realpath(absolute)
    roots = import_roots()
    if not _within(real, roots):
        raise _outside(path if real == absolute else f"{path} (-> {real})", roots, where)


def confine_file(path: str, where: str = "") -> str:
    """The resolved path of the file ``path`` (what to open), or :class:`ValueError`
    when it, or the file a symlink points to, lies outside the import roots."""
    real = os.path.realpath(path)
    roots = import_roots()
    if not _within(real, roots):
        shown = path if real == os.path.abspath(path) else f"{path} (-> {real})"
        raise _outside(shown, roots, where)
    return real
