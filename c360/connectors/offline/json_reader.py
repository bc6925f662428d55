"""JSON Lines and ``.json`` files as rows.

* JSON Lines: one object per line; row number = line number. A malformed line, a
  line that is not an object or one over ``max_record_bytes`` is a
  :class:`~c360.connectors.offline.rows.BadRow`, never an exception.
* ``.json``: an array of objects, or an object with one list-valued key (or
  ``records_key``); row number = position in the list. A truncated document yields
  the items before the damage, then one ``BadRow``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from c360.connectors.base import SourceConfigError
from c360.connectors.offline.bounded_lines import bounded_lines, too_long_reason
from c360.connectors.offline.config import FileSpec
from c360.connectors.offline.encoding import Encoding
from c360.connectors.offline.rows import LINE_KEEP, BadRow, Row
from c360.platform.records import RecordLimits


def jsonl_rows(f: IO[str], after_row: int, enc: Encoding, limits: RecordLimits) -> Iterator[Row]:
    loads = json.loads
    suspect = not enc.exact
    for number, (line, too_long) in enumerate(bounded_lines(f, limits.max_record_bytes), 1):
        if number <= after_row:
            continue
        if too_long:
            reason = too_long_reason(f"line {number}", limits)
            yield number, BadRow(reason, line), None, None
            continue
        text = line.strip()
        if not text:
            continue
        try:
            value = loads(text)
        except json.JSONDecodeError as exc:
            bad = BadRow(f"malformed JSON at line {number}: {exc}", text[:LINE_KEEP])
            yield number, bad, None, None
            continue
        if type(value) is not dict:
            reason = f"expected a JSON object at line {number}, got {_json_type(value)}"
            yield number, BadRow(reason, text[:LINE_KEEP]), None, None
            continue
        problems = None
        if suspect and "\ufffd" in text:
            problems = {
                "record": f"line {number} has bytes that are not valid {enc.name}; "
                "they were replaced with U+FFFD"
            }
        yield number, value, problems, None


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _records_list(document: Any, spec: FileSpec, path: str) -> list[Any]:
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        raise SourceConfigError(
            f"{path}: expected a JSON array of objects or an object holding one, "
            f"got {_json_type(document)}"
        )
    if spec.records_key is not None:
        found = document.get(spec.records_key)
        if not isinstance(found, list):
            raise SourceConfigError(f"records_key: {path} has no list under {spec.records_key!r}")
        return found
    lists = [k for k, v in document.items() if isinstance(v, list)]
    if len(lists) != 1:
        which = f"keys {', '.join(map(repr, lists))}" if lists else "no key"
        raise SourceConfigError(
            f"{path}: a JSON object must hold exactly one list of records, but {which} "
            "hold a list; set records_key"
        )
    return document[lists[0]]


def json_rows(text: str, spec: FileSpec, path: str, after_row: int) -> Iterator[Row]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        yield from (row for row in _salvage(text, spec, after_row) if row[0] > after_row)
        return
    for number, item in enumerate(_records_list(document, spec, path), 1):
        if number <= after_row:
            continue
        if type(item) is dict:
            yield number, item, None, None
        else:
            reason = f"expected a JSON object at item {number}, got {_json_type(item)}"
            shown = json.dumps(item, ensure_ascii=False)[:LINE_KEEP]
            yield number, BadRow(reason, shown, "item"), None, None


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n\ufeff":
        pos += 1
    return pos


def _salvage(text: str, spec: FileSpec, after_row: int) -> Iterator[Row]:
    """A damaged .json document: the records before the damage, then one BadRow."""
    decoder = json.JSONDecoder()
    pos = _skip_space(text, 0)
    if text.startswith("{", pos):
        # {"total": 3, "data": [ ... -> find the records list and walk into it
        pos = _skip_space(text, pos + 1)
        while True:
            try:
                key, pos = decoder.raw_decode(text, pos)
                pos = _skip_space(text, pos)
                if not text.startswith(":", pos):
                    raise json.JSONDecodeError("expected ':'", text, pos)
                pos = _skip_space(text, pos + 1)
                if text.startswith("[", pos) and spec.records_key in (None, key):
                    break
                _, pos = decoder.raw_decode(text, pos)
                pos = _skip_space(text, pos)
                if not text.startswith(",", pos):
                    raise json.JSONDecodeError("expected ','", text, pos)
                pos = _skip_space(text, pos + 1)
            except json.JSONDecodeError as exc:
                yield 1, BadRow(f"malformed JSON: {exc}", text[:LINE_KEEP], "item"), None, None
                return
    if not text.startswith("[", pos):
        reason = f"malformed JSON: expected an array of objects at char {pos}"
        yield 1, BadRow(reason, text[:LINE_KEEP], "item"), None, None
        return
    pos = _skip_space(text, pos + 1)
    if text.startswith("]", pos):
        return
    number = 0
    while True:
        number += 1
        try:
            item, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            reason = f"malformed JSON at item {number}: {exc}"
            yield number, BadRow(reason, text[pos : pos + LINE_KEEP], "item"), None, None
            return
        if number > after_row:
            if type(item) is dict:
                yield number, item, None, None
            else:
                reason = f"expected a JSON object at item {number}, got {_json_type(item)}"
                yield number, BadRow(reason, text[pos:end][:LINE_KEEP], "item"), None, None
        pos = _skip_space(text, end)
        if pos >= len(text) or text.startswith("]", pos):
            return  # a missing closing bracket loses nothing
        if not text.startswith(",", pos):
            reason = f"malformed JSON after item {number}: expected ',' or ']' at char {pos}"
            yield number + 1, BadRow(reason, text[pos : pos + LINE_KEEP], "item"), None, None
            return
        pos = _skip_space(text, pos + 1)
