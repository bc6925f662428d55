"""Pagination of a JSON listing: cursor, page number or ``next`` link (a body
field or the ``Link`` header), resumable from a token kept in checkpoints.

:class:`Pagination` is a stream's ``pagination`` block; :func:`pages` walks the
pages from a token. A cursor that comes back to a page already read in the
same pass is refused instead of looping forever.

May import: :mod:`c360.connectors.http.auth` and :mod:`~c360.connectors.http.client`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from c360.connectors.http.auth import RemoteApiError
from c360.connectors.http.client import BODY_KEEP, ApiClient, Fetched


def get_path(document: Any, path: str) -> Any:
    """The value at a dotted ``path`` (``data.items``; ``""`` is the document)."""
    if not path:
        return document
    current = document
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


class Pagination(BaseModel):
    """How the API splits a listing into pages."""

    style: Literal["cursor", "page", "next_link", "none"] = "cursor"
    records_path: str = Field(
        default="data", description="dotted path of the records list in the body; '' = the body"
    )
    page_size: int = Field(default=100, ge=1, le=10_000)
    size_param: str | None = Field(default="limit", description="query parameter for page size")
    cursor_param: str = "cursor"
    cursor_path: str = Field(default="next_cursor", description="body path of the next cursor")
    page_param: str = "page"
    first_page: int = 1
    next_path: str = Field(
        default="next", description="body path of the next page's URL (else the Link header)"
    )

    @field_validator("records_path", "cursor_path", "next_path")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


@dataclass(slots=True)
class Page:
    """One page: its records (or why it could not be read) and where the next one is."""

    items: list[Any]
    token: dict[str, Any] | None
    """Where this page was read from (resume here to read it again)."""
    next_token: dict[str, Any] | None
    """Where the next page is; ``None`` when this was the last."""
    fetched: Fetched


def page_key(path: str, params: dict[str, Any], token: dict[str, Any] | None) -> str:
    """A short stable id for a page request (names quarantined unreadable pages)."""
    text = json.dumps([path, params, token], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def pages(
    client: ApiClient,
    path: str,
    pagination: Pagination,
    params: dict[str, Any] | None = None,
    token: dict[str, Any] | None = None,
) -> Iterator[Page]:
    """The pages of a listing from ``token`` (``None``: the first page). A page
    whose body cannot be read is yielded with ``fetched.unreadable`` set and
    ends the listing (its ``next_token`` is ``None``). A next token already
    visited in this pass raises :class:`RemoteApiError`."""
    base = dict(params or {})
    p = pagination
    if p.size_param and p.style != "none":
        base[p.size_param] = p.page_size
    seen: set[str] = set()
    while True:
        url, query = path, dict(base)
        if token is not None:
            if p.style == "cursor":
                query[p.cursor_param] = token["cursor"]
            elif p.style == "page":
                query[p.page_param] = token["page"]
            elif p.style == "next_link":
                url, query = str(token["url"]), {}
        elif p.style == "page":
            query[p.page_param] = p.first_page
        fetched = client.get_json(url, query)
        if fetched.unreadable is not None:
            yield Page([], token, None, fetched)
            return
        raw_items = get_path(fetched.body, p.records_path) if fetched.body is not None else []
        if raw_items is None:
            raw_items = []
        if not isinstance(raw_items, list):
            fetched.unreadable = (
                f"expected a list of records at {p.records_path or 'the top level'!r}, "
                f"got {type(raw_items).__name__}"
            )
            fetched.text = json.dumps(fetched.body, ensure_ascii=False)[:BODY_KEEP]
            yield Page([], token, None, fetched)
            return
        next_token = _next_token(p, fetched, raw_items, token)
        if next_token is not None:
            key = json.dumps(next_token, sort_keys=True, default=str)
            if key in seen or next_token == token:
                raise RemoteApiError(
                    f"GET {client.shown(path)}: pagination went back to a page already read "
                    f"in this pass ({key}); the API's cursor went backwards, stopping here"
                )
            seen.add(key)
        yield Page(raw_items, token, next_token, fetched)
        if next_token is None:
            return
        token = next_token


def _next_token(
    p: Pagination, fetched: Fetched, items: list[Any], token: dict[str, Any] | None
) -> dict[str, Any] | None:
    if p.style == "none":
        return None
    if p.style == "cursor":
        cursor = get_path(fetched.body, p.cursor_path)
        has_more = get_path(fetched.body, "has_more")
        if cursor in (None, "") or has_more is False or not items:
            return None
        return {"cursor": cursor}
    if p.style == "page":
        if len(items) < p.page_size or not items:
            return None
        current = token["page"] if token else p.first_page
        return {"page": int(current) + 1}
    link = get_path(fetched.body, p.next_path) if isinstance(fetched.body, dict) else None
    if not isinstance(link, str) or not link:
        link = fetched.next_link()
    if not link or not items:
        return None
    return {"url": link}
