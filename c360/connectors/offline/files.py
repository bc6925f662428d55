"""Which files a spec names, what format each is in, and a fingerprint that says
whether a file changed since a checkpoint."""

from __future__ import annotations

import glob
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from c360.connectors.base import SourceConfigError
from c360.connectors.offline.config import FileSpec
from c360.connectors.offline.roots import confine_file, confine_pattern, glob_base

FORMAT_BY_SUFFIX = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}
UNSUPPORTED_SUFFIX = {
    ".xls": "legacy Excel .xls is not supported; save it as .xlsx or CSV",
    ".et": "WPS .et is not supported; save it as .xlsx or CSV",
    ".numbers": "Numbers files are not supported; export as .xlsx or CSV",
}
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file a spec matched."""

    path: str
    """The path as matched (the key in checkpoint state)."""
    label: str
    """Prefix of row-number ids (``<label>:row-7``); empty for a spec naming one file."""
    real: str = ""
    """The file to open: ``path`` with symlinks resolved, checked to lie under an
    import root (:func:`~c360.connectors.offline.roots.confine_file`)."""


def resolve(spec: FileSpec, where: str) -> list[SourceFile]:
    """The files of ``spec``, sorted; raises :class:`SourceConfigError` naming the
    path when there are none, or when the path or a file it matches (a symlink
    resolved) lies outside the import roots. ``where`` names the spec (``files[0]``)."""
    try:
        confine_pattern(spec.path, f"{where}.path: ")
    except ValueError as exc:
        raise SourceConfigError(str(exc)) from None
    pattern = os.path.expanduser(spec.path)
    if Path(pattern).is_file() or not glob.has_magic(pattern):
        if not Path(pattern).exists():
            raise SourceConfigError(f"{where}.path: file not found: {spec.path}")
        if not Path(pattern).is_file():
            raise SourceConfigError(f"{where}.path: not a file: {spec.path}")
        return [SourceFile(pattern, "", _confined(pattern, where))]
    matches = sorted(p for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
    if not matches:
        raise SourceConfigError(f"{where}.path: no file matches the glob {spec.path}")
    base = glob_base(pattern)
    return [
        SourceFile(p, os.path.relpath(p, base) if base else p, _confined(p, where)) for p in matches
    ]


def _confined(path: str, where: str) -> str:
    try:
        return confine_file(path, f"{where}.path: ")
    except ValueError as exc:
        raise SourceConfigError(str(exc)) from None


def fingerprint(path: str) -> str:
    """``sha256:<hex>`` of the file's bytes: equal exactly when the content is."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def detect_format(path: str, configured: str, where: str) -> str:
    """``csv``, ``xlsx``, ``jsonl`` or ``json``: the configured format, else by suffix,
    else by content. Raises :class:`SourceConfigError` for a format we cannot read."""
    with open(path, "rb") as f:
        head = f.read(4096)
    suffix = Path(path).suffix.lower()
    if configured != "auto":
        found = configured
    elif suffix in UNSUPPORTED_SUFFIX:
        raise SourceConfigError(f"{where}: {path}: {UNSUPPORTED_SUFFIX[suffix]}")
    elif suffix in FORMAT_BY_SUFFIX:
        found = FORMAT_BY_SUFFIX[suffix]
    elif head.startswith(_OLE2):
        raise SourceConfigError(f"{where}: {path}: {UNSUPPORTED_SUFFIX['.xls']}")
    elif head.startswith(_ZIP):
        found = "xlsx"
    else:
        start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        found = {b"[": "json", b"{": "jsonl"}.get(start, "csv")
    if found == "xlsx" and not head.startswith(_ZIP):
        hint = " (it is a legacy .xls file; save it as .xlsx)" if head.startswith(_OLE2) else ""
        raise SourceConfigError(f"{where}: {path}: not a valid XLSX file{hint}")
    return found
