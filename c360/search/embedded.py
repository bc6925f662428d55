"""The embedded search backend: a tantivy index on disk, in-process, nothing to install.

Layout, under the search directory (default ``<data dir>/search``)::

    CURRENT                       the name of the live index directory
    index-20250101T120000-ab12/   a tantivy index (meta.json, segment files)
    .create.lock                  taken while the first index is created

The schema, the analyzers and query compilation are
:mod:`c360.search.tantivy_index`'s; this module owns the index's life on disk:
directories, readers, snapshots, writes. One process writes at a time (tantivy's
own lock; the indexer's lease orders the processes); any number of processes
read. A reader notices a commit or a swapped ``CURRENT`` by two
``stat`` calls per search and reloads at once, so a write is searchable as soon as
it is committed. ``c360 reindex`` fills a fresh directory beside the live one and
swaps ``CURRENT`` atomically: searches never stop.

Paging keeps a short-lived point-in-time view: a cursor names the reader
generation it came from, and the next page is read from that same snapshot (for
:data:`SNAPSHOT_TTL_S`), so walking the pages yields every hit exactly once even
while the indexer writes. A cursor that outlived its snapshot resumes right
after its last hit in the current view.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import os
import secrets
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import tantivy
from tantivy import Order, Query

from c360.platform.private_files import private_dir
from c360.search.blinding import open_stored
from c360.search.contract import (
    FACET_SIZE,
    MAX_RESULT_WINDOW,
    FacetCount,
    IndexStats,
    InvalidCursorError,
    Rebuild,
    SearchBackend,
    SearchError,
    SearchFilters,
    SearchHit,
    SearchPage,
    SearchUnavailableError,
    SortOrder,
)
from c360.search.documents import CustomerDocument
from c360.search.plan import QueryPlan
from c360.search.planning import empty_page, plan_search
from c360.search.policy import SearchPolicy
from c360.search.tantivy_index import compile_query, index_schema, open_index, to_tantivy

__all__ = ["EmbeddedSearch"]

CURRENT = "CURRENT"
SNAPSHOT_TTL_S = 600.0
SNAPSHOTS_KEPT = 32
WRITER_HEAP = 64_000_000
REBUILD_HEAP = 256_000_000


def _stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _encode_cursor(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).decode("ascii").rstrip("=")


@dataclass(frozen=True, slots=True)
class _Ranked:
    """Hits by score, equal scores by customer id: ``(score, address)`` pairs."""

    hits: list[tuple[float, tantivy.DocAddress]]
    count: int


TIE_DECIMALS = 3
"""Scores equal to this many decimals are a tie (sums of constant scores in
float32 differ in the last bits with the order they were added in)."""


def _ranked(searcher: tantivy.Searcher, compiled: Query, limit: int, offset: int) -> _Ranked:
    """``limit`` hits from ``offset`` ordered by score, then by customer id (tantivy
    breaks ties by where a document sits in the index, which changes as documents
    are rewritten). Every hit tied with the page's last one is read, so a tie
    never depends on which of them the index happened to return first."""
    want = offset + limit
    fetch = max(want, 1)
    while True:
        result = searcher.search(compiled, fetch, count=True)
        hits = result.hits
        if len(hits) < fetch or fetch >= MAX_RESULT_WINDOW:
            break
        if round(hits[-1][0], TIE_DECIMALS) < round(hits[want - 1][0], TIE_DECIMALS):
            break
        fetch = min(fetch * 2, MAX_RESULT_WINDOW)
    ids = [int(v or 0) for v in searcher.fast_field_values("customer_id", [a for _, a in hits])]
    order = sorted(range(len(hits)), key=lambda i: (-round(hits[i][0], TIE_DECIMALS), ids[i]))
    return _Ranked(
        hits=[hits[i] for i in order[offset:want]], count=int(getattr(result, "count", 0) or 0)
    )


def _decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeEncodeError):
        data = None
    if (
        not isinstance(data, dict)
        or data.get("b") != "embedded"
        or not isinstance(data.get("o"), int)
        or data["o"] < 0
    ):
        raise InvalidCursorError(f"after: {cursor[:40]!r} is not a cursor of this search")
    return data


class _Snapshot:
    __slots__ = ("created", "searcher")

    def __init__(self, searcher: tantivy.Searcher) -> None:
        self.searcher = searcher
        self.created = time.monotonic()


class EmbeddedSearch(SearchBackend):
    """Customer search in a tantivy index under ``root``."""

    name = "embedded"

    def __init__(self, root: Path | str) -> None:
        self.root = private_dir(Path(root))
        self._schema = index_schema()
        self._lock = threading.RLock()
        """Guards the reader state (snapshots, generation); held only briefly."""
        self._write_lock = threading.Lock()
        self._write_owner: int | None = None
        self._epoch = secrets.token_hex(4)
        self._generation = 0
        self._snapshots: OrderedDict[int, _Snapshot] = OrderedDict()
        self._writer: tantivy.IndexWriter | None = None
        self._seen: tuple[Any, ...] | None = None
        self._dir = self._ensure_current()
        self._index = open_index(self._dir)
        self._refresh(force=True)

    # ------------------------------------------------------------ files

    def _current_name(self) -> str | None:
        try:
            name = (self.root / CURRENT).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name or None

    def _ensure_current(self) -> Path:
        name = self._current_name()
        if name and (self.root / name / "meta.json").exists():
            return self.root / name
        with open(self.root / ".create.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            name = self._current_name()
            if name and (self.root / name / "meta.json").exists():
                return self.root / name
            path = self._new_dir()
            open_index(path, self._schema)
            self._point_to(path)
            return path

    def _new_dir(self) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.root / f"index-{stamp}-{secrets.token_hex(2)}"
        path.mkdir(parents=True)
        return path

    def _point_to(self, path: Path) -> None:
        tmp = self.root / f".{CURRENT}.{secrets.token_hex(4)}"
        tmp.write_text(path.name + "\n", encoding="utf-8")
        os.replace(tmp, self.root / CURRENT)

    def _fingerprint(self) -> tuple[Any, ...]:
        return (_stat_key(self.root / CURRENT), _stat_key(self._dir / "meta.json"))

    def _check_schema(self) -> None:
        """Refuse an index built with other fields (an older c360): its field
        numbers would not mean what this version's queries mean."""
        if self._index.schema != self._schema:
            raise SearchUnavailableError(
                f"the search index {self._dir} was built with other fields (an older "
                "version of c360): run `c360 reindex` to rebuild it"
            )

    def _refresh(self, force: bool = False) -> tuple[int, tantivy.Searcher]:
        """The current reader generation and searcher, reloading after a commit or a swap."""
        key = self._fingerprint()
        with self._lock:
            if force or key != self._seen or not self._snapshots:
                name = self._current_name()
                if name and name != self._dir.name and self._writer is None:
                    self._dir = self.root / name
                    self._index = open_index(self._dir)
                    key = self._fingerprint()
                else:
                    self._index.reload()
                self._seen = key
                self._generation += 1
                self._snapshots[self._generation] = _Snapshot(self._index.searcher())
                self._expire()
            generation = next(reversed(self._snapshots))
            return generation, self._snapshots[generation].searcher

    def _expire(self) -> None:
        now = time.monotonic()
        newest = next(reversed(self._snapshots))
        for gen in list(self._snapshots):
            snap = self._snapshots[gen]
            too_many = len(self._snapshots) > SNAPSHOTS_KEPT
            if gen != newest and (too_many or now - snap.created > SNAPSHOT_TTL_S):
                del self._snapshots[gen]

    # ------------------------------------------------------------ writes

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold this process's one writer across several :meth:`bulk` calls."""
        if self._writer is not None and self._write_owner == threading.get_ident():
            yield  # nested in this thread's session
            return
        with self._write_lock:  # searches take only the short reader lock meanwhile
            self._refresh()
            self._check_schema()
            try:
                writer = self._index.writer(heap_size=WRITER_HEAP, num_threads=1)
            except ValueError as exc:
                raise SearchUnavailableError(
                    f"the search index {self._dir} is being written by another process: {exc}"
                ) from None
            self._writer, self._write_owner = writer, threading.get_ident()
            try:
                yield
            finally:
                self._writer, self._write_owner = None, None
                writer.wait_merging_threads()

    def bulk(self, upserts: Sequence[CustomerDocument] = (), deletes: Iterable[int] = ()) -> None:
        removed = [int(c) for c in deletes]
        if not upserts and not removed:
            return
        with self.writing():
            writer = self._writer
            if writer is None:  # pragma: no cover - writing() always sets it
                raise SearchError("no writer")
            try:
                for cid in removed:
                    writer.delete_documents_by_term("customer_id", cid)
                for doc in upserts:
                    writer.delete_documents_by_term("customer_id", doc.customer_id)
                for doc in upserts:
                    writer.add_document(to_tantivy(doc))
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            self._refresh(force=True)

    def begin_rebuild(self) -> Rebuild:
        return _EmbeddedRebuild(self)

    # ------------------------------------------------------------ search

    def search(
        self,
        query: str = "",
        filters: SearchFilters | None = None,
        *,
        sort: SortOrder = SortOrder.RELEVANCE,
        first: int = 20,
        after: str | None = None,
        facets: Sequence[str] = (),
        policy: SearchPolicy | None = None,
    ) -> SearchPage:
        started = time.perf_counter()
        plan, policy = plan_search(query, filters, first, facets, policy)
        if plan.matches_nothing:
            return empty_page(plan, facets, started)
        sort = SortOrder(sort)
        compiled = compile_query(self._schema, plan, filters)
        cursor = _decode_cursor(after) if after else None
        searcher, generation, offset = self._page_start(cursor, compiled, plan, sort)
        self._check_schema()
        if offset + first > MAX_RESULT_WINDOW:
            raise SearchError(
                f"cannot page past {MAX_RESULT_WINDOW} hits: narrow the query or the filters"
            )
        result = self._run(searcher, compiled, plan, sort, first + 1, offset)
        page = result.hits[:first]
        addresses = [addr for _, addr in page]
        ids = [int(v) for v in searcher.fast_field_values("customer_id", addresses)]  # type: ignore[arg-type]
        hits = []
        for (score, addr), cid in zip(page, ids, strict=True):
            stored: dict[str, Any] = open_stored(searcher.doc(addr).get_first("stored"))
            card = {k: v for k, v in stored["c"].items() if policy.may_see(k)}
            hits.append(
                SearchHit(
                    customer_id=cid,
                    score=float(score) if self._scored(plan, sort) else 0.0,
                    matches=plan.explain(stored["d"]),
                    card=card,
                )
            )
        next_cursor = None
        if len(result.hits) > first and hits:
            next_cursor = _encode_cursor(
                {
                    "b": "embedded",
                    "e": self._epoch,
                    "g": generation,
                    "o": offset + first,
                    "c": hits[-1].customer_id,
                }
            )
        return SearchPage(
            hits=hits,
            total=int(getattr(result, "count", 0) or 0),
            next_cursor=next_cursor,
            facets=self._facets(searcher, compiled, facets),
            notes=plan.notes,
            took_ms=(time.perf_counter() - started) * 1000,
        )

    @staticmethod
    def _scored(plan: QueryPlan, sort: SortOrder) -> bool:
        return sort is SortOrder.RELEVANCE and not plan.empty

    def _run(
        self,
        searcher: tantivy.Searcher,
        compiled: Query,
        plan: QueryPlan,
        sort: SortOrder,
        limit: int,
        offset: int,
    ) -> tantivy.SearchResult | _Ranked:
        if self._scored(plan, sort):
            return _ranked(searcher, compiled, limit, offset)
        field, order = (
            ("updated_at", Order.Desc) if sort is SortOrder.UPDATED else ("customer_id", Order.Asc)
        )
        return searcher.search(
            compiled, limit, count=True, order_by_field=field, offset=offset, order=order
        )

    def _page_start(
        self,
        cursor: dict[str, Any] | None,
        compiled: Query,
        plan: QueryPlan,
        sort: SortOrder,
    ) -> tuple[tantivy.Searcher, int, int]:
        """The snapshot to read and the offset to start at."""
        generation, searcher = self._refresh()
        if cursor is None:
            return searcher, generation, 0
        offset = int(cursor["o"])
        with self._lock:
            snap = (
                self._snapshots.get(cursor.get("g", -1)) if cursor.get("e") == self._epoch else None
            )
        if snap is not None:
            return snap.searcher, int(cursor["g"]), offset
        # The snapshot is gone: resume right after the cursor's last hit, if still in view.
        last = cursor.get("c")
        window = min(offset + 50, MAX_RESULT_WINDOW)
        found = self._run(searcher, compiled, plan, sort, window, 0).hits
        ids = searcher.fast_field_values("customer_id", [addr for _, addr in found])
        for position, cid in enumerate(ids):
            if cid == last:
                return searcher, generation, position + 1
        return searcher, generation, offset

    def _facets(
        self, searcher: tantivy.Searcher, compiled: Query, facets: Sequence[str]
    ) -> dict[str, list[FacetCount]]:
        if not facets:
            return {}
        aggs = {name: {"terms": {"field": name, "size": FACET_SIZE}} for name in facets}
        result = searcher.aggregate(compiled, aggs)
        return {
            name: [
                FacetCount(str(b["key"]), int(b["doc_count"]))
                for b in result.get(name, {}).get("buckets", [])
            ]
            for name in facets
        }

    # ------------------------------------------------------------ operations

    def stats(self) -> IndexStats:
        generation, searcher = self._refresh()
        size = sum(p.stat().st_size for p in self._dir.iterdir() if p.is_file())
        return IndexStats(
            backend=self.name,
            documents=searcher.num_docs,
            index=str(self._dir),
            size_bytes=size,
            segments=searcher.num_segments,
            detail={"generation": generation},
        )

    def health(self) -> dict[str, Any]:
        try:
            stats = self.stats()
            self._check_schema()
        except Exception as exc:  # health reports, never raises
            return {"status": "error", "backend": self.name, "error": str(exc)}
        return {
            "status": "ok",
            "backend": self.name,
            "documents": stats.documents,
            "index": stats.index,
        }

    def close(self) -> None:
        with self._lock:
            self._snapshots.clear()


class _EmbeddedRebuild(Rebuild):
    """A fresh index directory beside the live one, swapped in through ``CURRENT``."""

    def __init__(self, backend: EmbeddedSearch) -> None:
        self.backend = backend
        self.path = backend._new_dir()
        self.index = open_index(self.path, backend._schema)
        threads = 2 if (os.cpu_count() or 1) > 1 else 1
        self.writer: tantivy.IndexWriter | None = self.index.writer(
            heap_size=REBUILD_HEAP, num_threads=threads
        )
        self.count = 0

    def add(self, documents: Sequence[CustomerDocument]) -> None:
        if self.writer is None:
            raise SearchError("this rebuild is finished")
        for doc in documents:
            self.writer.add_document(to_tantivy(doc))
        self.count += len(documents)

    def swap(self) -> str:
        if self.writer is None:
            raise SearchError("this rebuild is finished")
        writer, self.writer = self.writer, None
        writer.commit()
        writer.wait_merging_threads()
        backend = self.backend
        with backend._lock:
            backend._point_to(self.path)
            backend._refresh(force=True)
        for path in backend.root.glob("index-*"):
            if path.is_dir() and path.name != self.path.name:
                shutil.rmtree(path, ignore_errors=True)
        return self.path.name

    def abandon(self) -> None:
        if self.writer is not None:
            writer, self.writer = self.writer, None
            writer.rollback()
            del writer
        shutil.rmtree(self.path, ignore_errors=True)
