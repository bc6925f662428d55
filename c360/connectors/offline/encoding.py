"""Which text encoding a CSV or JSON export is in.

Exports from Chinese point-of-sale and registration systems arrive in UTF-8, UTF-8
with a BOM (Excel's "CSV UTF-8"), UTF-16 (Excel's "Unicode text") or GBK/GB18030.
The cheap decisions come first — a BOM; the whole file decoding as strict UTF-8;
as strict GB18030 (a superset of GBK and GB2312) — and only then is
``charset-normalizer`` asked for its best guess.

A file that is UTF-8 apart from a few bad bytes (a file cut mid-character, a
corrupted sector) is still read as UTF-8, not misread as GB18030 mojibake: the
result is then *inexact*, the bad bytes decode to U+FFFD and the connector
quarantines the rows that contain one.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_path

CHUNK = 1 << 20
UTF8_EVIDENCE = 8
"""Non-ASCII characters decoded as valid UTF-8 before the first bad byte that make
a file "UTF-8 with damage" rather than another encoding."""


@dataclass(frozen=True, slots=True)
class Encoding:
    """How to decode a file."""

    name: str
    exact: bool
    """True when the whole file decodes strictly; False when bad bytes will be
    replaced with U+FFFD (and the rows holding them quarantined)."""
    reason: str

    @property
    def errors(self) -> str:
        """The ``errors=`` argument for :func:`open`."""
        return "strict" if self.exact else "replace"


_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _non_ascii(text: str) -> int:
    return len(text) - len(text.encode("ascii", "ignore"))


def _strict_decode(path: Path, encoding: str) -> tuple[bool, int]:
    """Does the whole file decode? Also counts the non-ASCII characters decoded
    before the first error."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    non_ascii = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                non_ascii += _non_ascii(chunk[: exc.start].decode(encoding, "ignore"))
                return False, non_ascii
            non_ascii += _non_ascii(text)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False, non_ascii
    return True, non_ascii


def detect(path: Path, configured: str | None = None) -> Encoding:
    """The encoding of ``path``; ``configured`` (the spec's ``encoding``) wins."""
    with path.open("rb") as f:
        head = f.read(4)
    if configured:
        name = codecs.lookup(configured).name
        if name == "utf-8" and head.startswith(codecs.BOM_UTF8):
            name = "utf-8-sig"
        return Encoding(name, exact=False, reason="configured")
    for bom, name in _BOMS:
        if head.startswith(bom):
            return Encoding(name, exact=False, reason="byte-order mark")
    ok, non_ascii = _strict_decode(path, "utf-8")
    if ok:
        return Encoding("utf-8", exact=True, reason="decodes as UTF-8")
    if non_ascii >= UTF8_EVIDENCE:
        return Encoding("utf-8", exact=False, reason="UTF-8 with undecodable bytes")
    ok, _ = _strict_decode(path, "gb18030")
    if ok:
        return Encoding("gb18030", exact=True, reason="decodes as GB18030/GBK")
    best = from_path(path).best()
    if best is None:
        raise UnicodeError(f"{path}: not text in any known encoding; set `encoding` in the config")
    return Encoding(codecs.lookup(best.encoding).name, exact=False, reason="charset-normalizer")
